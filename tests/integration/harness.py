"""Driving the real agent binary for the integration tests.

Every agent runs on loopback with a port picked free, a temp directory for
its pidfile, socket, chroot, plugins, logs and spool (the spool is on, as
by default; spool="" where a test is about memory-only behaviour), and is
stopped (and any process it left behind killed, by pid) when the test
ends.

A test that needs what this machine lacks makes it, as root, and removes
it again: a network namespace of its own (NetNs: addresses other than
loopback, on veth pairs inside it) or a mount namespace for the agent
(Agent.in_mount_ns: a hosts file, a CA bundle, mounts, log files of the
test's making).  Nothing outside the test's namespaces changes.
"""
import contextlib
import ctypes
import fcntl
import ipaddress
import itertools
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

AGENT = os.environ.get("AGENT_BIN", "./agent")
DEFAULT_SERVERS = '"127.0.0.1:4151"'
ROLES = ["front", "fetcher", "gitpull", "scheduler", "sender", "collector"]


# Ports for agents and peers come from below the kernel's ephemeral range,
# in a window of their own per test process (run.py --jobs sets
# AGENT_TEST_SLOT).  A port the kernel hands out for bind(0) or as a
# client's source port can be taken again by anyone between our close and
# the agent's bind: CI saw "cannot listen ... Address already in use" that
# way.  Within the window only this process picks, and the probe below
# (no SO_REUSEADDR) also skips a port still in TIME_WAIT.
PORT_WINDOW = 2000
PORT_BASE = 16000


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def _port_candidates():
    slot = int(os.environ.get("AGENT_TEST_SLOT", "0"))
    lo = PORT_BASE + slot * PORT_WINDOW
    if lo + PORT_WINDOW > _ephemeral_low():
        return None     # no room below the ephemeral range: bind(0)
    # from a random place in it: two runs of the suite at once (by hand)
    # then rarely walk the same ports in step
    first = random.randrange(PORT_WINDOW)
    return itertools.cycle([lo + (first + i) % PORT_WINDOW
                            for i in range(PORT_WINDOW)])


_PORTS = _port_candidates()


def _port_is_free(fam, host, port):
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    if _PORTS is not None:
        for _ in range(PORT_WINDOW):
            port = next(_PORTS)
            if _port_is_free(fam, host, port):
                return port
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ClosedPort:
    """A port on 127.0.0.1 bound and not listening for as long as the test
    holds it: connects there are refused, and nothing else can take it
    meanwhile."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


PEERS = os.path.normpath(os.path.join(os.path.dirname(__file__),
                                     os.pardir, "peers"))


def is_root():
    return os.geteuid() == 0


def proc_alive(pid):
    """True when pid exists and is not a zombie.  From status, not stat:
    a read of stat waits for a process held in execve (FuseStall)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return False


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def maps_libcurl(test, pid):
    """Whether process `pid` has libcurl mapped (its /proc maps, which
    a worker that is not dumpable shows to root only)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return any("/libcurl" in line for line in f)
    except PermissionError:
        needs_root(test)
        raise


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pipeline(host, port, request, n):
    """Send `request` n times at once on one connection; the status of
    every answer read back."""
    s = socket.create_connection((host, port), timeout=30)
    codes = []
    try:
        s.sendall(request * n)
        data = b""
        while len(codes) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            while True:
                head, sep, rest = data.partition(b"\r\n\r\n")
                if not sep:
                    break
                lines = head.split(b"\r\n")
                length = next(int(v) for k, _, v in
                              (ln.partition(b":") for ln in lines[1:])
                              if k.lower() == b"content-length")
                if len(rest) < length:
                    break
                codes.append(int(lines[0].split()[1]))
                data = rest[length:]
    finally:
        s.close()
    return codes


class FuseStall:
    """tests/peers/fuse_stall.py mounted on `mnt` (made, mode 0755): a
    FUSE file `mnt`/f whose closes wait until let go.  A process that
    holds it open (close-on-exec) and calls execve stays in execve, and
    reads of its /proc/<pid>/stat, exe and io wait with it.  With
    hold_opendir, a listing of `mnt` waits too, as a dead network file
    system holds it.  Root only; a machine without /dev/fuse fails the
    test, saying so."""

    def __init__(self, mnt, hold_opendir=False):
        if not os.path.exists("/dev/fuse"):
            raise AssertionError("/dev/fuse is missing: this test needs "
                                 "FUSE (modprobe fuse, or a container "
                                 "given the device)")
        os.makedirs(mnt, exist_ok=True)
        os.chmod(mnt, 0o755)
        self.mnt = mnt
        self.file = os.path.join(mnt, "f")
        self.flushes = []
        self.opendirs = []
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(PEERS, "fuse_stall.py")] +
            (["--hold-opendir"] if hold_opendir else []) + [mnt],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.stop()
            raise AssertionError(f"fuse_stall.py on {mnt}: {line!r} "
                                 "instead of ready")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("flush "):
                self.flushes.append(int(line.split()[1]))
            elif line.startswith("opendir "):
                self.opendirs.append(int(line.split()[1]))

    def wait_held(self, pid, timeout=15):
        """Until a close by `pid` is held (it is stuck in execve)."""
        wait_until(lambda: pid in self.flushes, timeout=timeout,
                   what=f"a held close of {self.file} by pid {pid}")

    def let_go(self):
        """Answer the held closes, and every later one."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)

    def stop(self):
        """Let go and unmount; idempotent."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        with open("/proc/self/mounts") as f:
            if any(ln.split()[1] == self.mnt for ln in f):
                _libc.umount2(self.mnt.encode(), 2)  # MNT_DETACH


HELD_LOCK = "/tmp/agent-it-held.lock"


def lock_held_processes(test, exclusive):
    """Until `test` ends: a test that holds a process in execve takes this
    lock exclusively, one whose collector must meet no such process takes
    it shared.  Every collector on the machine meets a held process (its
    ps and PROC walks read every /proc/<pid>), in both suites `make check`
    runs side by side, hence a lock file and not a test order.  Take it
    before the FuseStall: its cleanups run first."""
    fd = os.open(HELD_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    test.addCleanup(os.close, fd)


def stuck_in_exec(fuse):
    """A child of this process that opens fuse.file and execs sleep: held
    in execve until fuse lets go.  Returns its pid once held; the caller
    kills it (SIGKILL ends the wait) or lets go."""
    pid = os.fork()
    if pid == 0:
        try:
            os.open(fuse.file, os.O_RDONLY | os.O_CLOEXEC)
            os.execv("/bin/sleep", ["sleep", "300"])
        finally:
            os._exit(127)
    fuse.wait_held(pid)
    return pid


def read_available(fd):
    """What a non-blocking descriptor holds now, to EOF or EAGAIN."""
    data = b""
    try:
        while True:
            more = os.read(fd, 65536)
            if not more:
                break
            data += more
    except BlockingIOError:
        pass
    return data


def wait_until(pred, timeout=15.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # keep polling through transient errors
            last = e
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         f" (last: {last!r})")


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
_netns_seq = itertools.count(1)


def _sh(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r.stdout


class NetNs:
    """A network namespace of the test's own (root only), loopback up.
    veth() adds interfaces with addresses inside it; link_to_host() joins
    it to the host by a veth pair, for a client that is not loopback on
    either side.  delete() removes it (and both ends of its pairs);
    namespaces left by a test process that died are removed the next
    time one is made."""

    # /30s for link_to_host(): a private range nothing here routes
    HOST_NET = ipaddress.ip_network("10.231.0.0/16")

    def __init__(self):
        self._reap_stale()
        self.seq = next(_netns_seq)
        self.name = f"agent-it-{os.getpid()}-{self.seq}"
        self.host_if = None
        _sh("ip", "netns", "add", self.name)
        self.ip("link", "set", "lo", "up")

    @staticmethod
    def _reap_stale():
        r = subprocess.run(["ip", "netns", "list"], capture_output=True,
                           text=True, timeout=30)
        for line in r.stdout.splitlines():
            m = re.match(r"(agent-it-(\d+)-\d+)\b", line)
            if m and not proc_alive(int(m.group(2))):
                subprocess.run(["ip", "netns", "del", m.group(1)],
                               capture_output=True, timeout=30)

    def ip(self, *args):
        return _sh("ip", "-n", self.name, *args)

    def veth(self, name, peer, addrs=(), peer_addrs=()):
        """A veth pair, both ends in here and up, with addresses (CIDR;
        IPv6 ones without duplicate address detection, usable at once)."""
        self.ip("link", "add", name, "type", "veth", "peer", "name", peer)
        for dev, lst in ((name, addrs), (peer, peer_addrs)):
            for a in lst:
                extra = ["nodad"] if ":" in a else []
                self.ip("addr", "add", a, "dev", dev, *extra)
            self.ip("link", "set", dev, "up")

    def link_to_host(self):
        """A veth pair from the host into here on a /30 of HOST_NET no
        interface uses (picked from the pid, so tests running at once do
        not collide): (host address, address in here)."""
        used = set()
        out = _sh("ip", "-4", "-o", "addr", "show")
        for m in re.finditer(r"inet (\d+\.\d+\.\d+\.\d+)/", out):
            used.add(ipaddress.ip_address(m.group(1)))
        subnets = self.HOST_NET.num_addresses // 4
        for i in range(subnets):
            n = (os.getpid() * 8 + self.seq + i) % subnets
            net = ipaddress.ip_network(
                (int(self.HOST_NET.network_address) + 4 * n, 30))
            if not any(a in net for a in used):
                break
        else:
            raise RuntimeError(f"no free /30 in {self.HOST_NET}")
        host, inside = (str(a) for a in list(net.hosts())[:2])
        # interface names: 15 bytes at most
        tag = f"{os.getpid() % 100000}x{self.seq % 100}"
        self.host_if, ns_if = f"ag{tag}h", f"ag{tag}n"
        _sh("ip", "link", "add", self.host_if, "type", "veth", "peer",
            "name", ns_if)
        _sh("ip", "link", "set", ns_if, "netns", self.name)
        _sh("ip", "addr", "add", f"{host}/30", "dev", self.host_if)
        _sh("ip", "link", "set", self.host_if, "up")
        self.ip("addr", "add", f"{inside}/30", "dev", ns_if)
        self.ip("link", "set", ns_if, "up")
        return host, inside

    def prefix(self):
        """What runs a command in here."""
        return ["ip", "netns", "exec", self.name]

    def run(self, *cmd, timeout=30, **kw):
        """Run a command in here (subprocess.run, output captured)."""
        return subprocess.run(self.prefix() + list(cmd),
                              capture_output=True, timeout=timeout, **kw)

    @contextlib.contextmanager
    def entered(self):
        """The calling thread in here: sockets it makes (and threads it
        starts, such as a double's) belong to this namespace."""
        old = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        new = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if _libc.setns(new, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into " + self.name)
            try:
                yield self
            finally:
                if _libc.setns(old, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back")
        finally:
            os.close(old)
            os.close(new)

    def delete(self):
        subprocess.run(["ip", "netns", "del", self.name],
                       capture_output=True, timeout=60)
        if self.host_if is not None:
            # gone with the namespace's end; this is for a half-made pair
            subprocess.run(["ip", "link", "del", self.host_if],
                           capture_output=True, timeout=60)
            self.host_if = None


class Agent:
    """One agent under test with its own config and directories."""

    def __init__(self, **overrides):
        self.dir = tempfile.mkdtemp(prefix="agent-it-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf = os.path.join(self.dir, "agent.conf")
        self.values = {
            "listen": f"127.0.0.1:{self.port}",
            "socket": os.path.join(self.dir, "agent.sock"),
            "pidfile": os.path.join(self.dir, "agent.pid"),
            "chroot": os.path.join(self.dir, "empty"),
            "pluginsdir": os.path.join(self.dir, "plugins"),
            "user": "nobody",
            "pluginsuser": "nobody",
            "logdir": os.path.join(self.dir, "log"),
            "loglevel": "DEBUG",
            "spool": os.path.join(self.dir, "spool"),
        }
        self.values.update(overrides)
        self.seen_pids = set()
        self.fg = None
        self.prefix = []        # what `agent start` runs under
        self.netns = None       # the NetNs it runs in, if any
        self.after = []         # cleanups once the agent is gone
        self.write_conf()

    # -- config -----------------------------------------------------------
    def write_conf(self, raw=None, **changes):
        self.values.update(changes)
        if raw is None:
            v = self.values
            raw = (
                "[agent]\n"
                f"\tlisten = \"{v['listen']}\"\n"
                f"\tsocket = \"{v['socket']}\"\n"
                f"\tpidfile = \"{v['pidfile']}\"\n"
                f"\tchroot = \"{v['chroot']}\"\n"
                f"\tpluginsdir = \"{v['pluginsdir']}\"\n"
                f"\tuser = \"{v['user']}\"\n"
                f"\tpluginsuser = \"{v['pluginsuser']}\"\n"
                "\tifaceprefix = [ \"eth\", \"lo\" ]\n"
                # system metrics would join every test's points at the
                # output: on only where a test asks (collect="yes")
                f"\tcollect = {v.get('collect', 'no')}\n"
                # the agent's own agent.* points likewise (default yes)
                f"\tselfmetrics = {v.get('selfmetrics', 'no')}\n"
                f"{v.get('agent_extra', '')}"
                "[output]\n"
                f"\tname = \"{v.get('output_name', 'nsq')}\"\n"
                f"\tservers = [ {v.get('servers', DEFAULT_SERVERS)} ]\n"
                f"\tspool = \"{v['spool']}\"\n"
                f"{v.get('output_extra', '')}"
                "[log]\n"
                f"\tlogdir = \"{v['logdir']}\"\n"
                f"\tloglevel = \"{v['loglevel']}\"\n"
                f"\tlogrotatenum = {v.get('logrotatenum', 5)}\n"
                f"\tlogrotatesize = {v.get('logrotatesize', 10485760)}\n"
            )
        with open(self.conf, "w") as f:
            f.write(raw)

    # -- namespaces (root only) ------------------------------------------
    def in_netns(self, netns):
        """Start in `netns` (removed after the agent); HTTP through it."""
        self.netns = netns
        self.prefix = netns.prefix() + self.prefix
        self.after.append(netns.delete)

    def in_mount_ns(self, script):
        """Start in a private mount namespace set up by `script` (sh -e,
        as root): bind mounts and mounts there are the agent's alone and
        go with it."""
        self.prefix = self.prefix + [
            "unshare", "--mount", "--propagation", "private", "--",
            "sh", "-ec", script + '\nexec "$@"', "sh"]

    # -- commands ---------------------------------------------------------
    def run(self, *args, timeout=60, conf=True, prefix=False, **kw):
        cmd = [*(self.prefix if prefix else []), AGENT, *args]
        if conf:
            cmd += ["-f", self.conf]
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, **kw)

    def start(self):
        r = self.run("start", prefix=True)
        if r.returncode == 0:
            self.remember_pids()
        return r

    def start_fg(self, preexec=None, binary=None):
        self.fg = subprocess.Popen([*self.prefix, binary or AGENT, "start",
                                    "-F", "-f", self.conf],
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   preexec_fn=preexec)
        self.seen_pids.add(self.fg.pid)
        return self.fg

    def stop(self, *extra):
        return self.run("stop", *extra)

    def master_pid(self):
        with open(self.values["pidfile"]) as f:
            return int(f.read().strip())

    # -- HTTP with the real curl ------------------------------------------
    def http(self, path, method="GET", unix=False, data=None, port=None,
             headers=(), host="127.0.0.1"):
        cmd = ["curl", "-sS", "--max-time", "10", "-X", method,
               "-o", "-", "-w", "\n%{http_code}"]
        if self.netns is not None and not unix:
            cmd = self.netns.prefix() + cmd
        for h in headers:
            cmd += ["-H", h]
        if data is not None:
            # from stdin: a large body does not fit in argv
            cmd += ["--data-binary", "@-"]
            if isinstance(data, str):
                data = data.encode()
        if unix:
            cmd += ["--unix-socket", self.values["socket"],
                    f"http://agent{path}"]
        else:
            h = f"[{host}]" if ":" in host else host
            cmd += ["-g", f"http://{h}:{port or self.port}{path}"]
        r = subprocess.run(cmd, capture_output=True, timeout=30,
                           input=data if data is not None else b"")
        if r.returncode != 0:
            raise ConnectionError(r.stderr.decode(errors="replace").strip())
        body, _, code = r.stdout.decode(errors="replace").rpartition("\n")
        return int(code), body

    def status(self, unix=False):
        code, body = self.http("/me/status", unix=unix)
        if code != 200:
            raise AssertionError(f"/me/status answered {code}: {body}")
        st = json.loads(body)
        self.note_status(st)
        return st

    def note_status(self, st):
        self.seen_pids.add(st["pid"])
        for w in st["workers"]:
            if w["pid"]:
                self.seen_pids.add(w["pid"])

    def worker(self, st, role):
        return next(w for w in st["workers"] if w["role"] == role)

    def remember_pids(self):
        try:
            self.seen_pids.add(self.master_pid())
            self.status()
        except Exception:
            pass

    def wait_serving(self, timeout=15):
        # the front answers before the last worker is ready: wait for all
        def up():
            st = self.status()
            return st if all(w["state"] == "running"
                             for w in st["workers"]) else None
        return wait_until(up, timeout=timeout,
                          what="every worker to be running")

    def log_text(self):
        p = os.path.join(self.values["logdir"], "agent.log")
        try:
            with open(p) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, timeout=15):
        rx = re.compile(pattern)
        return wait_until(lambda: rx.search(self.log_text()),
                          timeout=timeout, what=f"log line /{pattern}/")

    # -- cleanup ----------------------------------------------------------
    def cleanup(self):
        stopped = False
        try:
            if os.path.exists(self.values["pidfile"]):
                stopped = self.run("stop", timeout=60).returncode == 0
        except Exception:
            pass
        if self.fg is not None and self.fg.poll() is None:
            self.fg.send_signal(signal.SIGTERM)
            try:
                self.fg.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.fg.kill()
                self.fg.wait()

        def left():
            return [p for p in self.seen_pids
                    if proc_alive(p) and "agent" in proc_cmdline(p)]
        # `agent stop` returns once the master let go of its pidfile; the
        # master (and, after a kill -9 of it, its workers) may still be
        # exiting then, a sanitizer build checking for leaks: a SIGKILL in
        # that check is a report of its own.  What `agent stop` could not
        # stop (a config left broken) is asked with SIGTERM.  They end on
        # their own (20 s: a bound for a hang only), then what is left is
        # killed.
        if left() and not stopped:
            for pid in left():
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        while left() and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in left():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for fn in self.after:
            fn()
        shutil.rmtree(self.dir, ignore_errors=True)


class AgentTest(unittest.TestCase):
    """Gives each test a fresh agent in self.agent (not started)."""

    overrides = {}

    def setUp(self):
        self.agent = Agent(**self.overrides)
        self.addCleanup(self.agent.cleanup)

    def new_agent(self, **overrides):
        a = Agent(**overrides)
        self.addCleanup(a.cleanup)
        return a

    def start_ok(self, agent=None):
        a = agent or self.agent
        r = a.start()
        self.assertEqual(r.returncode, 0,
                         f"start failed: {r.stderr}\nlog:\n{a.log_text()}")
        return r


def preload(test, shim, env):
    """Start test.agent with the LD_PRELOAD shim tests/peers/SHIM.c,
    built into its directory, and `env` (NAME=VALUE strings)."""
    so = os.path.join(test.agent.dir, shim + ".so")
    r = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", so,
                        os.path.join(PEERS, shim + ".c"), "-ldl"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        test.fail(f"cannot build the shim {shim}: {r.stderr}")
    os.chmod(so, 0o755)
    os.chmod(test.agent.dir, 0o755)
    env = ["env", f"LD_PRELOAD={so}"] + list(env)
    # an ASan build wants its runtime first among the libraries; the
    # shim only passes the calls it wraps on to it
    if "ASAN_OPTIONS" in os.environ:
        env.append("ASAN_OPTIONS=" + os.environ["ASAN_OPTIONS"] +
                   ":verify_asan_link_order=0")
    test.agent.prefix = env + test.agent.prefix


def needs_root(test):
    """Skip `test` (a TestCase) unless root, saying so."""
    if not is_root():
        test.skipTest("skipped: needs root")


def nobody_uid():
    return pwd.getpwnam("nobody").pw_uid
