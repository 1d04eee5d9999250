"""The collector on the real machine: its sandbox, every metric family at
the output with sane values (system families once per namespace, PORT and
PROC only in their item's namespace), the counters in /me/status, and
GET /me/traffic.  One agent run of about 25 s: the minimum interval is 10
s and rates need two runs.

The test brings what the families look at: a port it listens on and one
nobody does (PORT), a process of a binary of its own (PROC), an SNTP
server double whose clock is OFFSET s ahead (TIME), a core file (COREDUMP).
As root it also runs the agent in a mount namespace of its own with two
mounts it makes (FS: one rw, one ro; a container's overlay "/" is not
reported) and login records it writes over /var/log (KERNEL: wtmp and
btmp), so those checks never compare empty with empty.
"""
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from harness import (AgentTest, FuseStall, free_port, is_root,
                     lock_held_processes, needs_root, proc_alive,
                     proc_status, stuck_in_exec, wait_until)

NSS = ["pool.loda", "b.loda"]
SECURITY_NS = "security.monitor.loda"
# DAC_OVERRIDE (1), DAC_READ_SEARCH (2), SYS_PTRACE (19)
# CAP_DAC_READ_SEARCH | CAP_SYS_PTRACE: reading, never writing
READ_CAPS = (1 << 2) | (1 << 19)
OFFSET = 5.0            # seconds the SNTP double is ahead
NTP_EPOCH = 2208988800  # 1970 - 1900 in seconds
TYPES = ("cpu", "mem", "disk", "net", "fs", "kernel", "time", "coredump",
         "port", "proc")

PERCENTS = {"cpu.idle", "cpu.idle.core", "mem.used.percent",
            "mem.swap.used.percent", "disk.io.util", "net.in.percent",
            "net.out.percent", "fs.space.used.percent",
            "fs.inodes.used.percent", "kernel.files.allocated.percent"}
FAMILIES = {
    "cpu": {"agent.alive", "cpu.idle", "cpu.idle.core", "cpu.loadavg.1",
            "cpu.loadavg.5", "cpu.loadavg.15", "ps.zombies.num",
            "ps.running.num", "ps.total.num"},
    "mem": {"mem.total", "mem.used", "mem.free", "mem.used.percent",
            "mem.buffers", "mem.cached", "mem.swap.used.percent"},
    "disk": {"disk.io.read_requests", "disk.io.write_requests",
             "disk.io.await", "disk.io.util"},
    "net": {"net.in", "net.out", "net.in.dropped", "net.out.dropped",
            "net.speed", "net.sockets.used", "net.tcp.inuse",
            "net.tcp.timewait"},
    "fs.kernel": {"kernel.files.max", "kernel.files.allocated",
                  "kernel.files.allocated.percent", "kernel.files.left"},
    "fs.mount": {"fs.space.used.percent", "fs.space.total",
                 "fs.space.used", "fs.space.free", "fs.inodes.used.percent",
                 "fs.files.rw"},
    "time": {"time.offset"},
    "coredump": {"app.service.coredump"},
}
PROC_SUFFIXES = ("procnum", "mem", "fdnum", "cpu", "io.read", "io.write")
NO_TAG = {"net.sockets.used", "net.tcp.inuse", "net.tcp.timewait",
          "time.offset"} | FAMILIES["fs.kernel"]
DISK_RX = re.compile(r"^((sd|vd|xvd|hio|fio)[a-z]+|nvme\d+n\d+|dm-\d+)$")


def has_disk():
    """Does this machine have a disk the DISK family reports?"""
    with open("/proc/diskstats") as f:
        for line in f:
            v = line.split()
            if len(v) >= 14 and DISK_RX.match(v[2]) and int(v[3]) > 0:
                return True
    return False


def fs_mounts(pid="self"):
    """{mount point: "rw", "ro" or other} the FS family may report in the
    mount namespace of `pid` (collect_fs.c's filters; of bind mounts it
    keeps one path)."""
    files = ("/dev", "/sys", "/net", "/misc", "/proc", "/lib",
             "/run/docker/netns")
    out = {}
    with open(f"/proc/{pid}/mounts") as f:
        for line in f:
            v = [re.sub(r"\\([0-3][0-7][0-7])",
                        lambda m: chr(int(m.group(1), 8)), x)
                 for x in line.split()]
            if len(v) < 4 or not v[1].startswith("/"):
                continue
            spec, path, typ, opts = v[:4]
            if spec in ("none", "nodev", "tmpfs") or typ in (
                    "cgroup", "debugfs", "devtmpfs", "rpc_pipefs",
                    "rootfs", "overlay") or typ.startswith("fuse") or any(
                    path == p or path.startswith(p + "/") for p in files):
                continue
            out[path] = opts.split(",")[0]
    return out


def read_points(path):
    """(ns, point) for every point of every message in the file."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                msg = json.loads(line)
                ns = msg["database"][len("collect."):]
                out.extend((ns, p) for p in msg["points"])
    except FileNotFoundError:
        pass
    return out


def registry(path, open_port, closed_port, bin_path):
    """System types every 10 s; an open PORT item and the PROC item in
    NSS[0], the closed PORT item in NSS[1].  PORT says 5: raised to 10."""
    items = [{"measurement_type": t, "name": n, "interval": "10"}
             for t, n in (("CPU", "cpu.idle"), ("MEM", "mem.used"),
                          ("DISK", "disk.io.util"), ("NET", "net.in"),
                          ("FS", "fs.files.rw"),
                          ("KERNEL", "kernel.user.login"),
                          ("TIME", "time.offset"),
                          ("COREDUMP", "app.service.coredump"))]
    items += [{"measurement_type": "PORT", "name": f"PORT.itopen.{open_port}",
               "port": str(open_port), "connect_timeout": "2",
               "interval": "5"},
              {"measurement_type": "PROC", "name": "PROC.itsleep",
               "bin_path": bin_path, "interval": "10"}]
    closed = [{"measurement_type": "PORT",
               "name": f"PORT.itclosed.{closed_port}",
               "port": str(closed_port), "interval": "5"}]
    doc = {"ns": {ns: "" for ns in NSS},
           "resources": {NSS[0]: items, NSS[1]: closed}}
    with open(path, "w") as f:
        json.dump(doc, f)
    os.chmod(path, 0o644)


UT_SIZE = 384


def utmp_record(ut_type, user, line, host, ts):
    """One glibc struct utmp of x86-64 (what wtmp and btmp hold)."""
    r = bytearray(UT_SIZE)
    struct.pack_into("<ii", r, 0, ut_type, 4242)
    r[8:8 + len(line)] = line.encode()
    r[44:44 + len(user)] = user.encode()
    r[76:76 + len(host)] = host.encode()
    struct.pack_into("<ii", r, 340, ts, 0)
    return bytes(r)


def own_mounts_and_logins(a, now):
    """Mounts and login records of the test's own for agent `a`, started
    in a mount namespace (root): {"rw": path, "ro": path, "logins": the
    kernel.user.login points expected, as login_keys() makes them}."""
    rw, ro = os.path.join(a.dir, "mnt-rw"), os.path.join(a.dir, "mnt-ro")
    varlog = os.path.join(a.dir, "varlog")
    for d in (rw, ro, varlog):
        os.makedirs(d)
        os.chmod(d, 0o755)
    ok_ts, bad_ts = now - 60, now - 30
    with open(os.path.join(varlog, "wtmp"), "wb") as f:
        # an old login (out of the 5 minute window), a logout (no user:
        # no point), then a login now
        f.write(utmp_record(7, "itold", "pts/3", "10.9.8.1", now - 7200))
        f.write(utmp_record(8, "", "pts/3", "", now - 90))
        f.write(utmp_record(7, "itlogin", "pts/7", "10.9.8.7", ok_ts))
    with open(os.path.join(varlog, "btmp"), "wb") as f:
        f.write(utmp_record(6, "itguess", "ssh:notty", "203.0.113.5",
                            bad_ts))
    a.in_mount_ns(
        f"mount -t tmpfs -o size=8m agent-it-rw '{rw}'\n"
        f"mount -t tmpfs -o ro,size=4m agent-it-ro '{ro}'\n"
        f"mount --bind '{varlog}' /var/log")
    host = socket.gethostname()
    return {"rw": rw, "ro": ro, "logins": {
        (ok_ts, 1, (("device", "pts/7"), ("host", host),
                    ("remote", "10.9.8.7"), ("success", "true"),
                    ("user", "itlogin"))),
        (bad_ts, 0, (("device", "ssh:notty"), ("host", host),
                     ("remote", "203.0.113.5"), ("success", "false"),
                     ("user", "itguess")))}}


class SntpDouble:
    """An SNTP server on 127.0.0.1 whose clock is `offset` s ahead:
    NTPv4 server replies, stratum 2, origin = the client's transmit."""

    def __init__(self, offset):
        self.offset = offset
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def ntp_now(self):
        t = time.time() + self.offset
        sec = int(t)
        return (sec + NTP_EPOCH) << 32 | int((t - sec) * (1 << 32))

    def serve(self):
        while not self.stop.is_set():
            try:
                req, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(req) < 48 or req[0] & 7 != 3:
                continue
            self.requests += 1
            rx = self.ntp_now()
            # leap 0, version 4, mode 4; stratum 2; poll 4; precision -20
            rep = struct.pack("!BBbbII4sQ8sQQ", 0x24, 2, 4, -20, 0, 0,
                              b"LOCL", rx, req[40:48], rx, self.ntp_now())
            self.sock.sendto(rep, peer)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


class Collector(AgentTest):

    overrides = {"collect": "yes"}

    def start_doubles(self, a):
        """The port, the process, the SNTP server and the core file."""
        lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(lsn.close)
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(64)          # the connects wait in the backlog
        closed = free_port()    # bound, then closed: nothing listens

        # a binary of its own: no other process has this exe
        binp = os.path.realpath(os.path.join(a.dir, "itsleep"))
        shutil.copy("/bin/sleep", binp)
        os.chmod(binp, 0o755)
        proc = subprocess.Popen([binp, "300"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

        def kill():
            proc.kill()         # by its pid
            proc.wait(timeout=10)
        self.addCleanup(kill)

        ntp = SntpDouble(OFFSET)
        self.addCleanup(ntp.close)

        # a run counts the cores of the last COREDUMP interval (10 s
        # here), and the runs come about 10 and 20 s from now: a core
        # stamped now + 20 is in the window of both (a real core's time
        # is when it was dumped, and one run sees it)
        cores = os.path.join(a.dir, "cores")
        os.makedirs(cores)
        os.chmod(cores, 0o755)
        open(os.path.join(cores, f"core.mysvc.1234.{int(time.time()) + 20}"),
             "w").close()
        return lsn.getsockname()[1], closed, binp, ntp, cores

    def test_collector_end_to_end(self):
        a = self.agent
        # no family may fail here: no process held in execve meanwhile
        lock_held_processes(self, exclusive=False)
        out = os.path.join(a.dir, "out")
        os.makedirs(out)
        # the master opens the output file: a directory only root
        # writes in, as the path rules want
        os.chmod(out, 0o755)
        path = os.path.join(out, "points.jsonl")
        reg = os.path.join(a.dir, "registry.json")
        port, closed, binp, ntp, cores = self.start_doubles(a)
        registry(reg, port, closed, binp)
        a.write_conf(agent_extra=f'\tregistryaddr = "file://{reg}"\n'
                     f'\tntpserver = "127.0.0.1:{ntp.port}"\n'
                     f'\tcoredumpdir = "{cores}"\n',
                     output_name="file",
                     output_extra=f'\tpath = "{path}"\n')
        own = None
        if is_root():
            own = own_mounts_and_logins(a, int(time.time()))
        else:
            print("skipped: needs root: mounts and login records of the "
                  "test's own (FS, KERNEL)", file=sys.stderr)
        self.start_ok()
        st = a.wait_serving()
        pid = a.worker(st, "collector")["pid"]

        # before two NET runs there is nothing to show
        self.assertEqual(a.http("/me/traffic"), (200, "null"))

        s = proc_status(pid)
        self.assertEqual(s["NoNewPrivs"], "1")
        self.assertEqual(s["Seccomp"], "2")
        if is_root():
            self.assertEqual(s["Uid"].split(), ["0"] * 4)
            for k in ("CapEff", "CapPrm", "CapBnd"):
                self.assertEqual(int(s[k], 16), READ_CAPS, k)
            self.assertEqual(int(s["CapInh"], 16), 0)
            self.assertEqual(int(s["CapAmb"], 16), 0)
        else:
            print("skipped: needs root: the collector's uid and "
                  "capability sets", file=sys.stderr)
        # every type at 10 s: PORT's 5 raised, PROC's from its item
        for t in ("CPU", "FS", "KERNEL", "TIME", "COREDUMP", "PORT", "PROC"):
            a.wait_log(rf"collector: {t} every 10 s")

        mounts = fs_mounts(pid)
        if own is not None:
            self.assertEqual((mounts.get(own["rw"]), mounts.get(own["ro"])),
                             ("rw", "ro"), mounts)
        want = set().union(*(v for k, v in FAMILIES.items()
                             if k != "fs.mount"))
        if mounts:
            want |= FAMILIES["fs.mount"]
        if not has_disk():
            want -= FAMILIES["disk"]
        popen, pclosed = f"PORT.itopen.{port}", f"PORT.itclosed.{closed}"
        want_ns = {NSS[0]: want | {popen} | {f"PROC.itsleep.{s}"
                                             for s in PROC_SUFFIXES},
                   NSS[1]: want | {pclosed}}

        def complete():
            got = {}
            for ns, p in read_points(path):
                got.setdefault(ns, set()).add(p["measurement"])
            return all(w <= got.get(ns, set())
                       for ns, w in want_ns.items()) and got
        wait_until(complete, timeout=45, step=0.5,
                   what="every family at the output in both namespaces")

        pts = read_points(path)
        per_ns = {ns: [p for n, p in pts if n == ns] for ns in NSS}
        self.assertLessEqual({n for n, _ in pts}, set(NSS) | {SECURITY_NS})
        for ns, ps in per_ns.items():
            for p in ps:
                self.check_point(ns, p)
            by = {}
            for p in ps:
                by.setdefault(p["measurement"], []).append(p)
            last = {m: v[-1]["fields"]["value"] for m, v in by.items()}
            self.assertEqual(last["agent.alive"], 1)
            self.assertGreater(last["mem.total"], 0)
            self.assertGreaterEqual(last["ps.total.num"],
                                    last["ps.running.num"])
            self.assertGreaterEqual(last["ps.running.num"], 1)
            self.check_fs(by, mounts, own)
            # the double's clock is OFFSET ahead; every answer said so
            for p in by["time.offset"]:
                self.assertAlmostEqual(p["fields"]["value"], OFFSET,
                                       delta=1.0, msg=p)
            for p in by["app.service.coredump"]:
                self.assertEqual(p["fields"]["value"], 1, p)
                self.assertEqual(p["tags"]["service"], "mysvc", p)
            for p in by.get("kernel.user.login", []):
                self.assertIn(p["fields"]["value"], (0, 1), p)
                self.assertEqual(p["tags"]["success"],
                                 "true" if p["fields"]["value"] else
                                 "false", p)

        # PORT and PROC only in their item's namespace
        self.assertEqual({p["fields"]["value"] for p in per_ns[NSS[0]]
                          if p["measurement"] == popen}, {1})
        self.assertEqual({p["fields"]["value"] for p in per_ns[NSS[1]]
                          if p["measurement"] == pclosed}, {0})
        self.assertFalse([p for p in per_ns[NSS[0]]
                          if p["measurement"] == pclosed])
        self.assertFalse([p for p in per_ns[NSS[1]]
                          if p["measurement"] == popen or
                          p["measurement"].startswith("PROC.")])
        proc = {}
        for p in per_ns[NSS[0]]:
            if p["measurement"].startswith("PROC.itsleep."):
                proc.setdefault(p["measurement"][len("PROC.itsleep."):],
                                []).append(p["fields"]["value"])
        self.assertEqual(set(proc["procnum"]), {1}, proc)
        for k in ("mem", "fdnum"):
            self.assertTrue(all(v > 0 for v in proc[k]), (k, proc))
        for k in ("cpu", "io.read", "io.write"):
            self.assertTrue(all(v >= 0 for v in proc[k]), (k, proc))
        self.assertLessEqual(max(proc["cpu"]), 100, proc)
        # rates only from the second run on: fewer than the counts
        self.assertLess(len(proc["cpu"]), len(proc["procnum"]), proc)

        # the same system metrics in every namespace
        self.assertEqual(*[{p["measurement"] for p in per_ns[ns]
                            if not p["measurement"].startswith(
                                ("PORT.", "PROC."))} for ns in NSS])
        # KERNEL points also go to security.monitor.loda, once per ns
        def logins(nss):
            return {(p["timestamp"], p["fields"]["value"],
                     tuple(sorted(p["tags"].items()))) for n, p in pts
                    if n in nss and p["measurement"] == "kernel.user.login"}
        if own is not None:
            # exactly the records of the window, in every namespace
            for ns in NSS + [SECURITY_NS]:
                self.assertEqual(logins([ns]), own["logins"], ns)
        self.assertEqual(logins(NSS), logins([SECURITY_NS]))
        self.assertFalse([p for n, p in pts if n == SECURITY_NS and
                          p["measurement"] != "kernel.user.login"])
        self.assertGreaterEqual(ntp.requests, 2)

        code, body = a.http("/me/traffic")
        self.assertEqual(code, 200, body)
        traffic = json.loads(body)
        self.assertIsInstance(traffic, list)
        names = set()
        for m in traffic:
            self.assertEqual(set(m), {"name", "timestamp", "tags", "value"})
            self.assertEqual(m["timestamp"], 0)
            self.assertEqual(set(m["tags"]), {"interface"})
            self.assertGreaterEqual(m["value"], 0)
            self.assertTrue(m["name"].startswith("net."), m)
            names.add((m["name"], m["tags"]["interface"]))
        self.assertIn(("net.in", "lo"), names)
        self.assertIn(("net.speed", "lo"), names)

        # counters reach the master every 2 s
        keys = [f"runs_{t}" for t in TYPES]
        w = wait_until(lambda: (lambda w: w if all(
            w.get("stats", {}).get(k, 0) >= 2 for k in keys) else
            None)(a.worker(a.status(), "collector")), timeout=10,
            what="two runs of every type in the collector's counters")
        self.assertEqual((w["pid"], w["restarts"]), (pid, 0),
                         "the collector died under its filter")
        c = w["stats"]
        for k in keys:
            self.assertGreaterEqual(c[k], 2, (k, c))
        self.assertEqual(c["errors"], 0, c)
        self.assertEqual(c["points_invalid"], 0, c)
        self.assertEqual(c["points_unsent"], 0, c)
        self.assertGreater(c["points_sent"], 0, c)
        self.assertGreaterEqual(c["traffic_sent"], 1, c)
        self.assertIsNone(c["last_error"], c)

        # every point sent is at the output (the counters lag up to 2 s,
        # and a run may come in between: until they agree)
        def agree():
            n = a.worker(a.status(), "collector")["stats"]["points_sent"]
            return n == len(read_points(path)) or (n, len(read_points(path)))
        wait_until(agree, timeout=10, step=0.5,
                   what="points_sent = the points at the output")
        self.assertEqual(proc_status(pid)["Seccomp"], "2")
        self.assertNotIn("SIGSYS", a.log_text())

    def check_point(self, ns, p):
        """Value, tags and timestamp of one point."""
        m, v = p["measurement"], p["fields"]["value"]
        self.assertEqual(p["tags"]["host"], socket.gethostname(), m)
        self.assertIsInstance(v, (int, float), m)
        self.assertGreaterEqual(v, 0, (ns, p))
        if m in PERCENTS:
            self.assertLessEqual(v, 100, (ns, p))
        self.assertGreater(p["timestamp"], 1e9, m)
        extra = set(p["tags"]) - {"host"}
        if m == "cpu.idle.core":
            self.assertEqual(extra, {"core"}, m)
        elif m.startswith("disk.io."):
            self.assertEqual(extra, {"device"}, m)
        elif m.startswith("fs."):
            self.assertEqual(extra, {"mount"}, m)
        elif m == "app.service.coredump":
            self.assertEqual(extra, {"service"}, m)
        elif m == "kernel.user.login":
            self.assertLessEqual({"user", "success"}, extra, m)
            self.assertLessEqual(extra, {"user", "success", "remote",
                                         "device"}, m)
        elif m.startswith("net.") and m not in NO_TAG:
            self.assertEqual(extra, {"interface"}, m)
            self.assertTrue(p["tags"]["interface"].startswith(
                ("eth", "lo")), p)
        else:
            self.assertEqual(extra, set(), m)

    def check_fs(self, by, mounts, own):
        """kernel.files.* agree; the mounts are the ones expected; the
        test's own mounts (own) have the size it gave them and their
        probes pass, the rw one by writing, the ro one by reading; the
        root mount's probe says rw when root may write there."""
        k = {m: by[m][-1]["fields"]["value"] for m in FAMILIES["fs.kernel"]}
        self.assertGreater(k["kernel.files.max"], 0, k)
        self.assertGreater(k["kernel.files.allocated"], 0, k)
        self.assertEqual(k["kernel.files.left"], max(
            k["kernel.files.max"] - k["kernel.files.allocated"], 0), k)
        if not mounts:
            return
        seen = {p["tags"]["mount"] for m in FAMILIES["fs.mount"]
                for p in by[m]}
        self.assertLessEqual(seen, set(mounts))
        for p in by["fs.files.rw"]:
            self.assertIn(p["fields"]["value"], (0, 1), p)
        if own is not None:
            for key, size in (("rw", 8), ("ro", 4)):
                got = {m: [p["fields"]["value"] for p in by[m]
                           if p["tags"]["mount"] == own[key]]
                       for m in FAMILIES["fs.mount"]}
                for m, v in got.items():
                    self.assertTrue(v, f"no {m} for {own[key]}")
                self.assertEqual(set(got["fs.space.total"]), {size}, got)
                self.assertLessEqual(max(got["fs.space.used"]), size, got)
                self.assertEqual(set(got["fs.files.rw"]), {1}, got)
        if "/" not in mounts:
            return
        root = {m: [p["fields"]["value"] for p in by[m]
                    if p["tags"]["mount"] == "/"]
                for m in FAMILIES["fs.mount"]}
        for m, v in root.items():
            self.assertTrue(v, f"no {m} for the root mount")
        self.assertGreater(root["fs.space.total"][-1], 0, root)
        self.assertLessEqual(root["fs.space.used"][-1],
                             root["fs.space.total"][-1], root)
        if is_root() and mounts["/"] == "rw":
            self.assertEqual(set(root["fs.files.rw"]), {1}, root)
        # told without writing: no probe file (the Go agent's) anywhere
        for m in seen:
            self.assertFalse(os.path.lexists(
                os.path.join(m, ".loda-fs-detect")), m)


def start_with_items(test, items, agent_extra=""):
    """The agent started with `items` for the first namespace, from a
    registry file, its points to a file output; the output's path."""
    a = test.agent
    out = os.path.join(a.dir, "out")
    os.makedirs(out)
    # the master opens the output file: a directory only root writes in
    os.chmod(out, 0o755)
    path = os.path.join(out, "points.jsonl")
    reg = os.path.join(a.dir, "registry.json")
    with open(reg, "w") as f:
        json.dump({"ns": {NSS[0]: ""}, "resources": {NSS[0]: items}}, f)
    os.chmod(reg, 0o644)
    a.write_conf(agent_extra=f'\tregistryaddr = "file://{reg}"\n' +
                 agent_extra,
                 output_name="file", output_extra=f'\tpath = "{path}"\n')
    test.start_ok()
    return path


class HeldProcess(AgentTest):
    """A process held in execve (a close on a FUSE file that is never
    answered) makes reads of its /proc/<pid>/stat, exe and io wait: the
    collector gives up on it, names it, skips it, and keeps collecting
    with the same process."""

    overrides = {"collect": "yes"}

    def test_a_process_held_in_execve_does_not_stop_the_collector(self):
        needs_root(self)
        a = self.agent
        lock_held_processes(self, exclusive=True)
        fuse = FuseStall(os.path.join(a.dir, "fuse"))
        held = stuck_in_exec(fuse)

        def reap():
            os.kill(held, signal.SIGKILL)   # by its pid, once let go
            os.waitpid(held, 0)
        # LIFO: the FUSE server lets go first, then the exec ends and
        # the process is killed; both before the agent stops
        self.addCleanup(reap)
        self.addCleanup(fuse.stop)

        items = [{"measurement_type": t, "name": n, "interval": "10"}
                 for t, n in (("CPU", "cpu.idle"), ("MEM", "mem.used"))]
        # PROC looks at every process's exe: the held one's waits too
        items.append({"measurement_type": "PROC", "name": "PROC.itsleep",
                      "bin_path": "/usr/bin/sleep", "interval": "10"})
        path = start_with_items(self, items)
        pid = a.worker(a.wait_serving(), "collector")["pid"]

        # the round that meets it fails, naming it ...
        a.wait_log(rf"/proc/{held} did not answer in 1 s \(a process held "
                   r"in execve\?\): skipped until it does", timeout=30)
        # ... and the next rounds go on without it: ps.*.num (the walk
        # that met it first fails with its round), cpu.idle (a second
        # CPU round), mem and PROC every round
        want = {"ps.total.num", "ps.running.num", "cpu.idle", "mem.used",
                "PROC.itsleep.procnum"}

        def got():
            names = {p["measurement"] for _, p in read_points(path)}
            return want <= names and names
        wait_until(got, timeout=30, step=0.5,
                   what=f"{sorted(want)} at the output")
        total = [p["fields"]["value"] for _, p in read_points(path)
                 if p["measurement"] == "ps.total.num"]
        self.assertGreaterEqual(min(total), 2, total)
        st = a.status()
        c = a.worker(st, "collector")
        self.assertEqual(c["pid"], pid, "the same collector")
        self.assertEqual(c["stats"]["procs_stuck"], 1, c)

        # let go: its read returns, the thread ends, nothing waits
        fuse.let_go()
        wait_until(lambda: a.worker(a.status(), "collector")["stats"][
            "procs_stuck"] == 0, timeout=20, what="procs_stuck back to 0")
        self.assertEqual(a.worker(a.status(), "collector")["pid"], pid)


class HeldCoreDir(AgentTest):
    """A coredumpdir whose listing never answers (a dead NFS server; here
    a FUSE mount that holds every opendir): the COREDUMP round that meets
    it is given up on and names it, and the collector's other families go
    on, in the same process; agent stop still ends, though the collector
    cannot be reaped."""

    overrides = {"collect": "yes"}

    def test_a_coredumpdir_that_hangs_stops_neither_collector_nor_stop(self):
        needs_root(self)
        a = self.agent
        # procs_stuck counts this listing alone: no process held in
        # execve meanwhile (another test's), whose reads wait too
        lock_held_processes(self, exclusive=False)
        fuse = FuseStall(os.path.join(a.dir, "cores"), hold_opendir=True)
        self.addCleanup(fuse.stop)

        items = [{"measurement_type": t, "name": n, "interval": "10"}
                 for t, n in (("MEM", "mem.used"),
                              ("COREDUMP", "app.service.coredump"))]
        path = start_with_items(self, items,
                                f'\tcoredumpdir = "{fuse.mnt}"\n')
        pid = a.worker(a.wait_serving(), "collector")["pid"]
        wait_until(lambda: fuse.opendirs, timeout=30,
                   what="the collector listing the coredumpdir")
        a.wait_log(rf"opendir {re.escape(fuse.mnt)} did not answer in 1 s "
                   r"\(a dead network file system\?\): skipped until it "
                   "does", timeout=30)

        def mems():
            return len([p for _, p in read_points(path)
                        if p["measurement"] == "mem.used"])
        # MEM goes on, in the same collector (a loop stuck in the
        # listing collected nothing more until the master's watchdog
        # killed it, workertimeout later, and again after each restart)
        seen = mems()
        wait_until(lambda: mems() > seen, timeout=30, step=0.5,
                   what="another MEM round with the coredumpdir held")
        c = a.worker(a.status(), "collector")
        self.assertEqual(c["pid"], pid, "the same collector")
        self.assertEqual(c["stats"]["procs_stuck"], 1, c)
        self.assertEqual(len(fuse.opendirs), 1, "skipped while it waits")

        # agent stop meanwhile: the wait holds even SIGKILL (a FUSE
        # request already read by its server), so the collector cannot
        # be reaped; the stop still ends, in its bounds, and says so
        # (the walker's threads let go: HeldProcess)
        master = a.master_pid()
        t0 = time.monotonic()
        r = a.run("stop", "-t", "40")
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertLess(took, 40)
        # the lock is let go just before the end: an ASan build then
        # checks for leaks on its way out
        wait_until(lambda: not proc_alive(master), timeout=20,
                   what="the master gone")
        a.wait_log(rf"collector \(pid {pid}\) .*could not be reaped")
        # said once: the master's last sweep, as it ends, knows it is
        # the collector, not a process the collector left behind
        self.assertNotIn(f"killing process {pid} ", a.log_text())


class PortFlood(AgentTest):
    """A registry's PORT items each connect to 127.0.0.1:<port>: 500
    items of one port opened 500 connections to that service at once,
    every PORT interval (a database's connection limit is a few hundred:
    its own clients were refused).  One connect per port and run."""

    overrides = {"collect": "yes"}

    def test_a_mount_path_over_a_points_limit_is_counted_and_said(self):
        # a mount whose path is longer than a tag value may be (256
        # bytes): its fs.* points are dropped, the rest kept; counted
        # (points_invalid) and said at WARN, where it was said at DEBUG
        needs_root(self)
        a = self.agent
        long = os.path.join(a.dir, "l" * 200, "m" * 100)
        os.makedirs(long)
        a.in_mount_ns(f"mount -t tmpfs -o size=1m agent-it-long '{long}'")
        reg = os.path.join(a.dir, "registry.json")
        with open(reg, "w") as f:
            json.dump({"ns": {NSS[0]: ""}, "resources": {NSS[0]: [
                {"measurement_type": "FS", "name": "fs.files.rw",
                 "interval": "10"}]}}, f)
        os.chmod(reg, 0o644)
        out = os.path.join(a.dir, "out")
        os.makedirs(out)
        os.chmod(out, 0o755)
        a.write_conf(agent_extra=f'\tregistryaddr = "file://{reg}"\n',
                     output_name="file",
                     output_extra=f'\tpath = "{out}/points.jsonl"\n')
        self.start_ok()
        a.wait_log(r"WARN collector\[\d+\]: family_dropped: collector: "
                   r"fs\S*: \d+ points dropped: a name or tag over the "
                   r"limits of a point", timeout=30)
        w = wait_until(lambda: (lambda w: w if w.get("stats", {}).get(
            "points_invalid", 0) > 0 else None)(
                a.worker(a.status(), "collector")),
            what="points_invalid counted")
        # the other mounts' points still go
        self.assertGreater(w["stats"]["points_sent"], 0, w["stats"])

    def test_many_items_of_a_port_connect_once(self):
        a = self.agent
        lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(4096)
        self.addCleanup(lsn.close)
        port = lsn.getsockname()[1]
        items = [{"measurement_type": "PORT", "name": f"PORT.db{i}.{port}",
                  "port": str(port), "interval": "10"} for i in range(500)]
        reg = os.path.join(a.dir, "registry.json")
        with open(reg, "w") as f:
            json.dump({"ns": {NSS[0]: ""}, "resources": {NSS[0]: items}}, f)
        os.chmod(reg, 0o644)
        out = os.path.join(a.dir, "out")
        os.makedirs(out)
        os.chmod(out, 0o755)
        path = os.path.join(out, "points.jsonl")
        a.write_conf(agent_extra=f'\tregistryaddr = "file://{reg}"\n',
                     output_name="file",
                     output_extra=f'\tpath = "{path}"\n')
        self.start_ok()
        a.wait_serving()

        def ports():
            return [p for ns, p in read_points(path)
                    if p["measurement"].startswith("PORT.db")]
        got = wait_until(lambda: len(ports()) >= 500 and ports(),
                         timeout=30, what="a PORT run's 500 points")
        self.assertEqual({p["fields"]["value"] for p in got}, {1})
        # every connect of the run was made (the kernel's handshake)
        # before its point was: all wait in the backlog now, which a
        # thread accepting meanwhile could be behind on under load
        lsn.setblocking(False)
        conns = []
        self.addCleanup(lambda: [c.close() for c in conns])
        while True:
            try:
                conns.append(lsn.accept()[0])
            except BlockingIOError:
                break
        self.assertEqual(len(conns), 1, "connections to one port in a run")
