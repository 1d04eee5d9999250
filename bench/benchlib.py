"""What bench/footprint.py and bench/plugins.py share: reading CPU time and
memory of processes from /proc, the state of the machine, an agent run
from a given binary (the one being measured, or the baseline built by
`make -C bench baseline`), and a sink that answers every HTTP POST.

python3 standard library only.
"""
import http.server
import os
import socket
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
import harness  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# ------------------------------------------------------------ CPU time
def cpu_ticks(pid):
    """utime + stime of pid (every thread, the dead ones too), in clock
    ticks; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    return int(fields[11]) + int(fields[12])


def cpu_children_ticks(pid):
    """cutime + cstime of pid: its children that it has reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[13]) + int(fields[14])


def cpu_ns(pid):
    """Time on a CPU of pid's live threads, in ns, from the scheduler's
    own accounting (/proc/PID/task/TID/schedstat): exact, where the ticks
    of /proc/PID/stat are sampled at 100 Hz.  None when it is gone."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass                # the thread ended meanwhile
    return total


# ------------------------------------------------------------ memory
def smaps_rollup(pid):
    """{"Rss", "Pss", "Uss"} of pid in kB (Uss = Private_Clean +
    Private_Dirty: the memory that would go with the process); None when
    unreadable."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                v = v.split()
                if v and v[0].isdigit():
                    out[k] = int(v[0])
    except OSError:
        return None
    return {"Rss": out.get("Rss", 0), "Pss": out.get("Pss", 0),
            "Uss": out.get("Private_Clean", 0) + out.get("Private_Dirty", 0)}


def smaps_by_mapping(pid):
    """{mapping name: {"Pss", "Uss"}} of pid in kB, from /proc/PID/smaps
    (anonymous mappings as "[anon]")."""
    agg = {}
    cur = None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                if not parts[0].endswith(":"):
                    name = parts[5] if len(parts) > 5 else "[anon]"
                    cur = agg.setdefault(name, {"Pss": 0, "Uss": 0})
                    continue
                if cur is None or len(parts) < 2 or not parts[1].isdigit():
                    continue
                k = parts[0][:-1]
                if k == "Pss":
                    cur["Pss"] += int(parts[1])
                elif k in ("Private_Clean", "Private_Dirty"):
                    cur["Uss"] += int(parts[1])
    except OSError:
        return None
    return agg


# ------------------------------------------------------------ machine
def machine_ticks():
    """(busy, total, steal) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]                       # idle + iowait
    total = sum(v[:8])                       # without guest (in user)
    return total - idle, total, v[7]


def loadavg():
    with open("/proc/loadavg") as f:
        return tuple(float(x) for x in f.read().split()[:3])


def machine_line():
    """One line about the machine for the report."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    u = os.uname()
    return (f"{os.cpu_count()} CPUs ({model}), {u.sysname} {u.release} "
            f"{u.machine}")


class MachineLoad:
    """The machine's busy share of its CPUs between start() and stop(),
    and the load average at both ends: how loaded the run was."""

    def start(self):
        self.t0 = machine_ticks()
        self.la0 = loadavg()

    def stop(self):
        t1 = machine_ticks()
        self.la1 = loadavg()
        total = max(1, t1[1] - self.t0[1])
        self.busy = (t1[0] - self.t0[0]) / total
        self.steal = (t1[2] - self.t0[2]) / total
        return self

    def line(self):
        return (f"machine {self.busy:.0%} busy (steal {self.steal:.0%}), "
                f"load average {self.la0[0]:.2f} -> {self.la1[0]:.2f}")


# ------------------------------------------------------------ the agent
class BinAgent(harness.Agent):
    """harness.Agent run from a binary of our choice, so that the agent
    under test and the baseline can run side by side."""

    def __init__(self, binary, **overrides):
        self.binary = os.path.abspath(binary)
        super().__init__(**overrides)

    def run(self, *args, timeout=60, conf=True, prefix=False, **kw):
        import subprocess
        cmd = [*(self.prefix if prefix else []), self.binary, *args]
        if conf:
            cmd += ["-f", self.conf]
        return subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout, **kw)

    def pids(self):
        """{role: pid} of the master and the six workers."""
        st = self.status()
        out = {"master": st["pid"]}
        out.update({w["role"]: w["pid"] for w in st["workers"]})
        return out

    def stats(self, role):
        st = self.status()
        for w in st["workers"]:
            if w["role"] == role:
                return w.get("stats") or {}
        return {}


def agent_binary(path):
    """An agent binary, checked."""
    if not os.access(path, os.X_OK):
        sys.exit(f"{path}: not built (make -C {TOP} agent, or make -C "
                 f"{HERE} baseline for the baseline)")
    return os.path.abspath(path)


# ------------------------------------------------------------ HTTP sink
class Sink:
    """An HTTP server on 127.0.0.1 that answers every POST 200 "OK" (what
    nsqd's /pub and /mpub answer) and counts requests and bytes: the
    output of the agents and of collectd's write_http."""

    def __init__(self):
        sink = self
        self.lock = threading.Lock()
        self.requests = 0
        self.bytes = 0
        self.bodies = []        # the last few, for checks
        self.keep = 4

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with sink.lock:
                    sink.requests += 1
                    sink.bytes += len(body)
                    sink.bodies.append(body)
                    del sink.bodies[:-sink.keep]
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *a):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            address_family = socket.AF_INET

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return self.requests, self.bytes

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
