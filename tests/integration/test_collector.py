"""The collector on the real machine: its sandbox, every metric family it
runs at the output with sane values, once per namespace, and
GET /me/traffic.  One agent run of about 25 s: the minimum interval is 10
s and rates need two runs."""
import json
import os
import re
import socket

from harness import AgentTest, is_root, proc_status, wait_until

NSS = ["pool.loda", "b.loda"]
# DAC_OVERRIDE (1), DAC_READ_SEARCH (2), SYS_PTRACE (19)
READ_CAPS = (1 << 1) | (1 << 2) | (1 << 19)

PERCENTS = {"cpu.idle", "cpu.idle.core", "mem.used.percent",
            "mem.swap.used.percent", "disk.io.util", "net.in.percent",
            "net.out.percent"}
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
}
DISK_RX = re.compile(r"^((sd|vd|xvd|hio|fio)[a-z]+|nvme\d+n\d+|dm-\d+)$")


def has_disk():
    """Does this machine have a disk the DISK family reports?"""
    with open("/proc/diskstats") as f:
        for line in f:
            v = line.split()
            if len(v) >= 14 and DISK_RX.match(v[2]) and int(v[3]) > 0:
                return True
    return False


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


def registry(path):
    items = [{"measurement_type": t, "name": n, "interval": i}
             for t, n, i in (("CPU", "cpu.idle", "3"),   # raised to 10
                             ("MEM", "mem.used", "10"),
                             ("DISK", "disk.io.util", "10"),
                             ("NET", "net.in", "10"))]
    doc = {"ns": {ns: "" for ns in NSS},
           "resources": {NSS[0]: items, NSS[1]: []}}
    with open(path, "w") as f:
        json.dump(doc, f)
    os.chmod(path, 0o644)


class Collector(AgentTest):

    overrides = {"collect": "yes"}

    def test_collector_end_to_end(self):
        a = self.agent
        out = os.path.join(a.dir, "out")
        os.makedirs(out)
        os.chmod(out, 0o777)
        path = os.path.join(out, "points.jsonl")
        reg = os.path.join(a.dir, "registry.json")
        registry(reg)
        a.write_conf(agent_extra=f'\tregistryaddr = "file://{reg}"\n',
                     output_name="file",
                     output_extra=f'\tpath = "{path}"\n')
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
            self.assertEqual(int(s["CapAmb"], 16), 0)
        a.wait_log(r"collector: CPU every 10 s")

        want = set().union(*FAMILIES.values())
        if not has_disk():
            want -= FAMILIES["disk"]

        def complete():
            got = {}
            for ns, p in read_points(path):
                got.setdefault(ns, set()).add(p["measurement"])
            return all(want <= got.get(ns, set()) for ns in NSS) and got
        wait_until(complete, timeout=45, step=0.5,
                   what="every family at the output in both namespaces")

        pts = read_points(path)
        per_ns = {ns: [p for n, p in pts if n == ns] for ns in NSS}
        for ns, ps in per_ns.items():
            for p in ps:
                m, v = p["measurement"], p["fields"]["value"]
                self.assertEqual(p["tags"]["host"], socket.gethostname(),
                                 m)
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
                elif m.startswith("net.") and m not in (
                        "net.sockets.used", "net.tcp.inuse",
                        "net.tcp.timewait"):
                    self.assertEqual(extra, {"interface"}, m)
                    self.assertTrue(p["tags"]["interface"].startswith(
                        ("eth", "lo")), p)
                else:
                    self.assertEqual(extra, set(), m)
            by = {p["measurement"]: p["fields"]["value"] for p in ps}
            self.assertEqual(by["agent.alive"], 1)
            self.assertGreater(by["mem.total"], 0)
            self.assertGreaterEqual(by["ps.total.num"], by["ps.running.num"])
            self.assertGreaterEqual(by["ps.running.num"], 1)
        # the same metrics in every namespace
        self.assertEqual(*[{p["measurement"] for p in per_ns[ns]}
                           for ns in NSS])

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
        w = wait_until(lambda: (lambda w: w if all(
            w.get("stats", {}).get(k, 0) >= 2 for k in (
                "runs_cpu", "runs_mem", "runs_disk", "runs_net")) else
            None)(a.worker(a.status(), "collector")), timeout=10,
            what="two runs of every type in the collector's counters")
        self.assertEqual((w["pid"], w["restarts"]), (pid, 0),
                         "the collector died under its filter")
        c = w["stats"]
        for k in ("runs_cpu", "runs_mem", "runs_disk", "runs_net"):
            self.assertGreaterEqual(c[k], 2, (k, c))
        self.assertEqual(c["errors"], 0, c)
        self.assertEqual(c["points_invalid"], 0, c)
        self.assertEqual(c["points_unsent"], 0, c)
        self.assertGreater(c["points_sent"], 0, c)
        self.assertGreaterEqual(c["traffic_sent"], 1, c)
        self.assertIsNone(c["last_error"], c)
        self.assertEqual(proc_status(pid)["Seccomp"], "2")
        self.assertNotIn("SIGSYS", a.log_text())
