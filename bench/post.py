#!/usr/bin/env python3
"""End-to-end benchmark of the data path: POST /post -> front -> sender ->
output, on the real ./agent binary (bench/README.md, "End-to-end
benchmark: bench/post").

For each output (nsq over the HTTP API, nsq over TCP protocol V2, the file
output to /dev/null) it starts a fresh agent on loopback with a temp
config (tests/integration/harness.py), and for nsq the nsqd double
(tests/peers/nsqd.py --no-bodies) in a process of its own, then measures:

  throughput  keep-alive client threads (http.client) POST 1 000 points
              per request (8 bodies built in advance) for --duration
              seconds; a 503 is retried after 5 ms and counted.  The rate
              is the sender's "published" counter: points the output
              acknowledged (nsqd's OK, or write(2) returned for the file
              output).  The sender pushes its counters to the master once a
              second; a poller reads GET /me/status every 20 ms and stamps
              each new snapshot with the time it first saw it.  "steady" is
              the difference between the first snapshot 0.5 s into the load
              and the last one before the clients stopped, over the time
              between them (about duration - 1.5 s).  "e2e" is every point
              posted over the time from the first request to the last
              acknowledgement: for nsq the double's own timestamp of its
              last message; for the file output (nothing to watch in
              /dev/null) the last snapshot still short plus what it lacked
              at the steady rate.  Every point answered 200 must be
              published (checked), and the double must hold the sender's
              message count (checked).
  cpu         utime+stime from /proc/PID/stat of the front and the sender
              (pids from GET /me/status), and of the other agent
              processes, the nsqd double and this program, from the start
              of the load to the end of the drain, as CPU seconds per
              million points published.  "CPUs busy" is the whole
              machine's busy share (/proc/stat) during the load phase.
  memory      Rss and Pss from /proc/PID/smaps_rollup of every agent
              process (master + 6 workers), idle after start, and under
              load (the largest of the samples taken once a second).
  latency     at low load: 100 requests of 10 points, one at a time, 20 ms
              apart, each timed from just before it is sent until the
              output has the message: for nsq the double's own record time
              of it (time.time() in both processes, the double polled with
              GET /debug/messages); for the file output a second agent
              writing to a temp file, whose size is polled every 0.5 ms.
              The time to the /post answer (sender accepted) is given too.

Point values matter (see the README): --values mixed (the default) is a
third each of integers, 2-decimal floats and full-precision floats;
--sweep adds the file output with each kind alone.

The sender's spool: --spool off,1000,0 runs each output once per mode:
"off" is [output] spool = "" (memory only), a number is the spool on
(the harness's directory, under the temp dir: the root file system) with
that spoolsync (1000, the default, or 0: a sync before every answer,
group commit).  The default is 1000, the agent's default.

Everything binds 127.0.0.1 only; every process started here is stopped by
pid (harness.Agent.cleanup, the double by its pid); each phase has a
timeout and the whole run a SIGALRM bound; SIGINT/SIGTERM unwind through
the same cleanup.  python3 standard library only.

    python3 bench/post.py                 # 3 outputs, about 55 s
    python3 bench/post.py --sweep         # + file with int/short/full, 75 s
    python3 bench/post.py --only file --duration 5 --lat-requests 0
    python3 bench/post.py --json out.json # also write the raw figures
    python3 bench/post.py --perf DIR      # perf record (dwarf call graphs)
                                          # of the front and the sender
    python3 bench/post.py --spool off,1000,0   # the spool's cost
    python3 bench/post.py --baseline bench/.baseline/agent
                                          # each measurement also with
                                          # that binary, just before
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
os.environ.setdefault("AGENT_BIN", os.path.join(TOP, "agent"))
import harness  # noqa: E402
import benchlib  # noqa: E402

NSQD = os.path.join(TOP, "tests", "peers", "nsqd.py")
NS = "bench.loda"
TOPIC = "collect." + NS
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------ /proc helpers
cpu_ticks = benchlib.cpu_ticks
smaps_rollup = benchlib.smaps_rollup
machine_ticks = benchlib.machine_ticks


def self_ticks():
    t = os.times()
    return round((t.user + t.system) * CLK_TCK)


# ------------------------------------------------------------ HTTP helpers
class Http:
    """One keep-alive connection (http.client), reconnecting on error."""

    def __init__(self, port, timeout=15):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body,
                                  headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, data
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


VALUE_KINDS = ("mixed", "int", "short", "full")


def make_value(rnd, kind, i):
    """int: an integer (a counter); short: a float with 2 decimals (12.25,
    a gauge read from somewhere); full: a float with 16-17 significant
    digits (a computed rate or ratio, 0.1 + 0.2); mixed: a third each."""
    if kind == "mixed":
        kind = VALUE_KINDS[1 + i % 3]
    if kind == "int":
        return rnd.randrange(1 << 31)
    if kind == "short":
        return round(rnd.uniform(0.0, 1000.0), 2)
    return rnd.random() * 1000.0


def make_body(npoints, seed, ts, values="mixed"):
    """A /post body of npoints points shaped like sdk-go's: a name, a
    timestamp, 3 tags, a value; about 110 bytes each."""
    rnd = random.Random(seed)
    pts = []
    for i in range(npoints):
        v = make_value(rnd, values, i)
        pts.append({"name": f"bench.metric{i % 50}", "timestamp": ts,
                    "tags": {"port": str(3306 + i % 8), "dc": "east",
                             "seq": str(seed * 100000 + i)},
                    "value": v})
    return json.dumps(pts, separators=(",", ":")).encode()


# ------------------------------------------------------------ nsqd double
class Double:
    """tests/peers/nsqd.py in its own process (its GIL is not ours)."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, NSQD, "--tcp-port", "0", "--http-port", "0",
             "--no-bodies"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the nsqd double did not start")
        info = json.loads(line)
        self.pid = self.proc.pid
        self.tcp_port = info["tcp_port"]
        self.http_port = info["http_port"]
        self.http = Http(self.http_port)

    def messages(self, since=0):
        code, body = self.http.request(
            "GET", f"/debug/messages?topic={TOPIC}&since={since}")
        if code != 200:
            raise RuntimeError(f"double /debug/messages: {code}")
        return json.loads(body)

    def stop(self):
        self.http.close()
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc.stdout.close()


# ------------------------------------------------------------ the agent
class BenchAgent:
    """An agent from harness.Agent with the given [output] settings."""

    def __init__(self, binary, output_name, servers=None, path=None,
                 spool="1000"):
        extra = ""
        if path is not None:
            extra = f'\tpath = "{path}"\n'
        kw = {"agent_extra": f'\tnamespaces = [ "{NS}" ]\n',
              "output_name": output_name, "output_extra": extra,
              "loglevel": "INFO"}
        if spool == "off":
            kw["spool"] = ""
        else:
            kw["output_extra"] += f"\tspoolsync = {int(spool)}\n"
        if servers is not None:
            kw["servers"] = servers
        self.a = benchlib.BinAgent(binary, **kw)
        self.http = None
        self.pids = {}

    def start(self):
        r = self.a.start()
        if r.returncode != 0:
            raise RuntimeError(f"agent start failed: {r.stderr}\n"
                               f"{self.a.log_text()[-2000:]}")
        self.http = Http(self.a.port)
        deadline = time.monotonic() + 20
        while True:                # every worker running, sender counting
            st = self.status()
            ws = {w["role"]: w for w in st["workers"]}
            if (all(w["state"] == "running" for w in st["workers"]) and
                    ws["sender"].get("stats") is not None):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"agent not ready: {st}")
            time.sleep(0.05)
        self.pids = {"master": st["pid"]}
        self.pids.update({w["role"]: w["pid"] for w in st["workers"]})
        for pid in self.pids.values():
            self.a.seen_pids.add(pid)

    def status(self):
        code, body = self.http.request("GET", "/me/status")
        if code != 200:
            raise RuntimeError(f"/me/status: {code} {body[:200]}")
        return json.loads(body)

    def sender_stats(self, st=None):
        st = st or self.status()
        for w in st["workers"]:
            if w["role"] == "sender":
                return w.get("stats") or {}
        return {}

    def memory(self):
        return {role: smaps_rollup(pid) for role, pid in self.pids.items()}

    def cpu(self):
        return {role: cpu_ticks(pid) for role, pid in self.pids.items()}

    def stop(self):
        if self.http is not None:
            self.http.close()
        self.a.cleanup()


# ------------------------------------------------------------ load phase
class StatsPoller(threading.Thread):
    """Reads /me/status every `step` s and timestamps each new sender
    snapshot (the sender pushes one every 1.0 s)."""

    def __init__(self, port, step=0.02):
        super().__init__(daemon=True)
        self.http = Http(port)
        self.step = step
        self.snaps = []            # (monotonic time first seen, stats)
        self.stop_ev = threading.Event()
        self.error = None

    def run(self):
        last = None
        try:
            while not self.stop_ev.is_set():
                code, body = self.http.request("GET", "/me/status")
                now = time.monotonic()
                if code == 200:
                    for w in json.loads(body)["workers"]:
                        if w["role"] == "sender" and w.get("stats"):
                            s = w["stats"]
                            key = (s.get("accepted"), s.get("published"),
                                   s.get("messages"),
                                   s.get("buffer_points"),
                                   s.get("refused_full"))
                            if key != last:
                                self.snaps.append((now, s))
                                last = key
                self.stop_ev.wait(self.step)
        except Exception as e:                       # reported by caller
            self.error = e
        finally:
            self.http.close()


def client_loop(port, bodies, npoints, deadline, res, lock):
    h = Http(port, timeout=30)
    ok = full = other = 0
    lat = []
    i = random.randrange(len(bodies))
    hdr = {"Content-Type": "application/json"}
    try:
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            code, body = h.request("POST", "/post", bodies[i], hdr)
            t1 = time.monotonic()
            if code == 200:
                ok += 1
                lat.append(t1 - t0)
                i = (i + 1) % len(bodies)
            elif code == 503:
                full += 1                 # the buffer is full: retry soon
                time.sleep(0.005)
            else:
                other += 1
                if other > 10:
                    raise RuntimeError(f"POST /post: {code} {body[:200]}")
    except Exception as e:            # the main thread reports it
        with lock:
            res["errors"].append(repr(e))
    finally:
        h.close()
        with lock:
            res["ok"] += ok
            res["full"] += full
            res["other"] += other
            res["points"] += ok * npoints
            res["lat"].extend(lat)


def pct(values, p):
    """Nearest-rank percentile of a list (None when empty)."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def run_perf(pids, outdir, name, seconds):
    """perf record -g of each pid for `seconds` (cpu-clock: this VM has no
    hardware counters).  Returns the Popen objects."""
    procs = []
    for role, pid in pids.items():
        out = os.path.join(outdir, f"{name}-{role}.data")
        procs.append(subprocess.Popen(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", "499",
             "--call-graph", "dwarf,16384",
             "-o", out, "-p", str(pid), "--", "sleep", str(seconds)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def throughput(agent, double, args, bodies, name, values):
    """The load phase and the drain; returns the figures."""
    agent_pids = dict(agent.pids)
    extra = {}
    if double is not None:
        extra["nsqd double"] = double.pid
    mem_idle = agent.memory()
    st0 = agent.sender_stats()
    poller = StatsPoller(agent.a.port)
    poller.start()
    time.sleep(0.05)

    cpu0 = agent.cpu()
    xcpu0 = {k: cpu_ticks(p) for k, p in extra.items()}
    self0 = self_ticks()
    mach0 = machine_ticks()
    res = {"ok": 0, "full": 0, "other": 0, "points": 0, "lat": [],
           "errors": []}
    lock = threading.Lock()
    t_start = time.monotonic()
    wall_start = time.time()
    deadline = t_start + args.duration
    clients = [threading.Thread(target=client_loop, daemon=True,
                                args=(agent.a.port, bodies, args.points,
                                      deadline, res, lock))
               for _ in range(args.clients)]
    for c in clients:
        c.start()
    perf = []
    if args.perf:
        perf = run_perf({"front": agent_pids["front"],
                         "sender": agent_pids["sender"]}, args.perf, name,
                        max(1.0, args.duration - 2.0))
    # memory under load: samples through the load phase, largest kept
    mem_load = {}
    while time.monotonic() < deadline - 0.3:
        time.sleep(min(1.0, max(0.0, deadline - 0.3 - time.monotonic())))
        for role, m in agent.memory().items():
            if m is None:
                continue
            old = mem_load.get(role)
            if old is None or m["Rss"] + m["Pss"] > old["Rss"] + old["Pss"]:
                mem_load[role] = m
    for c in clients:
        c.join(timeout=60)
    t_load_end = time.monotonic()
    mach1 = machine_ticks()                  # the load phase only
    for p in perf:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if res["errors"] or res["other"]:
        raise RuntimeError(f"load clients failed: {res['other']} bad "
                           f"answers; {res['errors'][:3]}")

    # drain: everything the front had accepted is acknowledged by the output
    want = st0.get("accepted", 0) + res["points"]
    t_drain_deadline = time.monotonic() + 30
    while True:
        snaps = list(poller.snaps)
        if poller.error:
            raise RuntimeError(f"status poller: {poller.error}")
        if snaps and snaps[-1][1].get("published", 0) >= want:
            break
        if time.monotonic() > t_drain_deadline:
            raise RuntimeError(f"not drained: want {want}, have "
                               f"{snaps[-1][1] if snaps else None}")
        time.sleep(0.02)
    t_seen_done = next(t for t, s in snaps if s.get("published", 0) >= want)
    cpu1 = agent.cpu()
    xcpu1 = {k: cpu_ticks(p) for k, p in extra.items()}
    self1 = self_ticks()
    poller.stop_ev.set()
    poller.join(timeout=5)
    fin = snaps[-1][1]
    published = fin["published"] - st0.get("published", 0)
    messages = fin["messages"] - st0.get("messages", 0)
    # steady rate: between the first snapshot 0.5 s into the load and the
    # last one taken before the clients stopped
    inside = [(t, s) for t, s in snaps
              if t_start + 0.5 <= t <= t_load_end]
    steady = None
    if len(inside) >= 2:
        (ta, sa), (tb, sb) = inside[0], inside[-1]
        if sb["published"] > sa["published"]:
            steady = (sb["published"] - sa["published"]) / (tb - ta)
    if published != res["points"]:
        raise RuntimeError(f"{res['points']} points answered 200, "
                           f"{published} published")
    end_exact = False
    if double is None:
        # The file output shows nothing but the counters, which come once
        # a second: the end is the last snapshot still short of `want`
        # plus what it lacked at the steady rate (never before the last
        # answer to a client).
        prev = [(t, s) for t, s in snaps if s.get("published", 0) < want]
        t_end = t_seen_done
        if prev and steady:
            tp, sp = prev[-1]
            t_end = max(t_load_end,
                        tp + (want - sp["published"]) / steady)
    else:
        msgs = double.messages()
        if len(msgs) < messages:
            raise RuntimeError(f"the double holds {len(msgs)} messages, "
                               f"the sender says {messages}")
        last_wall = max(m["time"] for m in msgs)
        t_end = t_start + (last_wall - wall_start)
        end_exact = True

    cpu = {}
    for role in cpu0:
        if cpu0[role] is not None and cpu1[role] is not None:
            cpu[role] = (cpu1[role] - cpu0[role]) / CLK_TCK
    for k in extra:
        if xcpu0[k] is not None and xcpu1[k] is not None:
            cpu[k] = (xcpu1[k] - xcpu0[k]) / CLK_TCK
    cpu["bench clients"] = (self1 - self0) / CLK_TCK
    busy = (mach1[0] - mach0[0]) / max(1, mach1[1] - mach0[1])
    steal = (mach1[2] - mach0[2]) / max(1, mach1[1] - mach0[1])
    return {
        "output": name, "values": values, "clients": args.clients,
        "points_per_request": args.points, "duration": args.duration,
        "requests_ok": res["ok"], "requests_503": res["full"],
        "points_accepted": res["points"], "points_published": published,
        "messages": messages,
        "steady_points_per_s": steady,
        "e2e_points_per_s": published / (t_end - t_start),
        "e2e_end_exact": end_exact,
        "elapsed_s": t_end - t_start,
        "post_p50_ms": (pct(res["lat"], 50) or 0) * 1000,
        "post_p99_ms": (pct(res["lat"], 99) or 0) * 1000,
        "max_buffer_points": max(s.get("buffer_points", 0)
                                 for _, s in snaps),
        "cpu_s": cpu,
        "cpu_s_per_mpoints": {k: v / published * 1e6
                              for k, v in cpu.items()},
        "machine_busy": busy, "machine_steal": steal,
        "mem_idle_kb": mem_idle, "mem_load_kb": mem_load,
    }


# ------------------------------------------------------------ latency
def latency(agent, double, args, out_path=None):
    """One request of 10 points at a time; time until the output has it."""
    h = Http(agent.a.port)
    ts = int(time.time())
    hdr = {"Content-Type": "application/json"}
    e2e, post = [], []
    since = 0
    if double is not None:
        msgs = double.messages()
        since = max((m["seq"] for m in msgs), default=0)
    size = os.path.getsize(out_path) if out_path else 0
    try:
        for i in range(args.lat_requests):
            body = make_body(10, 900000 + i, ts)
            t0w = time.time()
            t0 = time.monotonic()
            code, rbody = h.request("POST", "/post", body, hdr)
            t1 = time.monotonic()
            if code != 200:
                raise RuntimeError(f"POST /post: {code} {rbody[:200]}")
            post.append(t1 - t0)
            deadline = t0 + 5
            if double is not None:
                while True:
                    msgs = double.messages(since)
                    if msgs:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError("latency: no message in 5 s")
                    time.sleep(0.001)
                since = max(m["seq"] for m in msgs)
                e2e.append(min(m["time"] for m in msgs) - t0w)
            else:
                while True:
                    n = os.path.getsize(out_path)
                    if n > size:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError("latency: file did not grow")
                    time.sleep(0.0005)
                e2e.append(time.monotonic() - t0)
                size = n
                time.sleep(0.005)        # let the line be written whole
                size = os.path.getsize(out_path)
            time.sleep(0.02)
    finally:
        h.close()
    return {"requests": len(e2e),
            "e2e_p50_ms": pct(e2e, 50) * 1000,
            "e2e_p99_ms": pct(e2e, 99) * 1000,
            "e2e_max_ms": max(e2e) * 1000,
            "post_p50_ms": pct(post, 50) * 1000,
            "post_p99_ms": pct(post, 99) * 1000}


# ------------------------------------------------------------ scenarios
def scenario(name, args, bodies, values, with_latency, binary, tag,
             spool):
    double = agent = None
    tmp = tempfile.mkdtemp(prefix="agent-bench-")
    try:
        if name in ("nsq-http", "nsq-tcp"):
            double = Double()
            servers = (f'"127.0.0.1:{double.http_port}"' if name == "nsq-http"
                       else f'"tcp://127.0.0.1:{double.tcp_port}"')
            agent = BenchAgent(binary, "nsq", servers=servers,
                               spool=spool)
        else:
            agent = BenchAgent(binary, "file", path="/dev/null",
                               spool=spool)
        agent.start()
        r = throughput(agent, double, args, bodies, name, values)
        r["spool"] = spool
        fin = agent.sender_stats()
        r["spool_syncs"] = fin.get("spool_syncs", 0)
        r["spool_sync_usec"] = fin.get("spool_sync_usec", 0)
        r["spool_records_written"] = fin.get("spool_records_written", 0)
        if with_latency and args.lat_requests > 0:
            if name == "file":
                # /dev/null shows nothing: a second agent on a temp file
                agent.stop()
                # the master opens the file: root's directory will do
                os.chmod(tmp, 0o755)
                path = os.path.join(tmp, "out.jsonl")
                agent = BenchAgent(binary, "file", path=path, spool=spool)
                agent.start()
                r["latency"] = latency(agent, None, args, path)
            else:
                r["latency"] = latency(agent, double, args)
        return r
    finally:
        if agent is not None:
            agent.stop()
        if double is not None:
            double.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def fmt_int(v):
    return "-" if v is None else f"{v:,.0f}".replace(",", " ")


def label(r):
    return f"{r['agent']}: {r['output']} ({r['values']}, spool {r['spool']})"


def report(results):
    print()
    print(f"{'agent: output (values, spool)':<40} steady pts/s  e2e pts/s  503s  "
          "front s/Mpt  sender s/Mpt  CPUs busy (steal)  latency p50/p99 ms")
    for r in results:
        c = r["cpu_s_per_mpoints"]
        lat = r.get("latency")
        ls = (f"{lat['e2e_p50_ms']:.1f}/{lat['e2e_p99_ms']:.1f}"
              if lat else "-")
        print(f"{label(r):<40} {fmt_int(r['steady_points_per_s']):>12} "
              f"{fmt_int(r['e2e_points_per_s']):>10} "
              f"{r['requests_503']:>5} {c.get('front', 0):>12.2f} "
              f"{c.get('sender', 0):>13.2f} {r['machine_busy']:>10.0%} "
              f"({r['machine_steal']:>4.0%})  {ls}")
    print()
    for r in results:
        n = label(r)
        print(f"[{n}] CPU s per million points: " +
              ", ".join(f"{k} {v:.2f}"
                        for k, v in r["cpu_s_per_mpoints"].items()
                        if v >= 0.005 or k in ("front", "sender")))
        idle = r["mem_idle_kb"]
        load = r["mem_load_kb"]
        tot = {}
        for lb, m in (("idle", idle), ("load", load)):
            tot[lb] = (sum(v["Rss"] for v in m.values() if v),
                       sum(v["Pss"] for v in m.values() if v))
        print(f"[{n}] memory kB Rss/Pss, idle -> under load: " +
              ", ".join(f"{k} {idle[k]['Rss']}/{idle[k]['Pss']} -> "
                        f"{load.get(k, {}).get('Rss')}/"
                        f"{load.get(k, {}).get('Pss')}"
                        for k in idle if idle[k]) +
              f"; all {len(idle)} processes {tot['idle'][0]}/"
              f"{tot['idle'][1]} -> {tot['load'][0]}/{tot['load'][1]}")
        print(f"[{n}] {r['points_published']} points in "
              f"{r['messages']} messages, {r['requests_ok']} requests "
              f"(answered p50 {r['post_p50_ms']:.1f} ms, p99 "
              f"{r['post_p99_ms']:.1f} ms), largest buffer seen "
              f"{r['max_buffer_points']} points, end of the e2e time "
              f"{'exact (double)' if r['e2e_end_exact'] else 'estimated from the counters'}")
        if r["spool"] != "off":
            print(f"[{n}] spool: {r['spool_records_written']} records "
                  f"written, {r['spool_syncs']} syncs taking "
                  f"{r['spool_sync_usec'] / 1e6:.2f} s in all")
        if r.get("latency"):
            lat = r["latency"]
            print(f"[{n}] low load, {lat['requests']} x 10 points: "
                  f"post->output p50 {lat['e2e_p50_ms']:.1f} ms, p99 "
                  f"{lat['e2e_p99_ms']:.1f} ms, max {lat['e2e_max_ms']:.1f}"
                  f" ms; /post answered p50 {lat['post_p50_ms']:.2f} ms, "
                  f"p99 {lat['post_p99_ms']:.2f} ms")
    sys.stdout.flush()


def ratios(results):
    """agent against baseline, per output and values, same run."""
    base = {(r["output"], r["values"], r["spool"]): r for r in results
            if r["agent"] == "baseline"}
    print()
    for r in results:
        b = base.get((r["output"], r["values"], r["spool"]))
        if r["agent"] == "baseline" or b is None:
            continue
        fa = r["cpu_s_per_mpoints"].get("front", 0)
        fb = b["cpu_s_per_mpoints"].get("front", 0)
        print(f"{r['output']} ({r['values']}, spool {r['spool']}): "
              f"points/s steady "
              f"{(r['steady_points_per_s'] or 0) / max(1, b['steady_points_per_s'] or 0):.2f}"
              f" x the baseline's, e2e "
              f"{r['e2e_points_per_s'] / max(1, b['e2e_points_per_s']):.2f} x;"
              f" front CPU per point {fa / fb if fb else 0:.2f} x")
    sys.stdout.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=10.0,
                    help="seconds of load per output (default 10)")
    ap.add_argument("--clients", type=int, default=8,
                    help="keep-alive client threads (default 8)")
    ap.add_argument("--points", type=int, default=1000,
                    help="points per request (default 1000)")
    ap.add_argument("--values", default="mixed", choices=VALUE_KINDS,
                    help="point values: mixed (default; a third each of "
                    "int, short, full), int, short (2 decimals), full "
                    "(16-17 significant digits)")
    ap.add_argument("--sweep", action="store_true",
                    help="then the file output again with int, short and "
                    "full values only (shorter: --sweep-duration)")
    ap.add_argument("--sweep-duration", type=float, default=5.0)
    ap.add_argument("--lat-requests", type=int, default=100,
                    help="low-load latency requests (default 100; 0 = "
                    "skip)")
    ap.add_argument("--only", default="nsq-http,nsq-tcp,file",
                    help="comma-separated outputs: nsq-http, nsq-tcp, file")
    ap.add_argument("--spool", default="1000",
                    help="comma-separated spool modes per output: off "
                    "(memory only) or a spoolsync in ms (default 1000)")
    ap.add_argument("--json", help="write the raw figures to this file")
    ap.add_argument("--baseline", metavar="BINARY",
                    help="run each measurement with this agent binary too "
                    "(just before the one measured), e.g. the build of the "
                    "commit a change started from (make -C bench "
                    "baseline), and report the ratios")
    ap.add_argument("--perf", metavar="DIR",
                    help="perf record the front and the sender into DIR "
                    "during each load phase (this slows them down)")
    args = ap.parse_args(argv)
    if not os.access(os.environ["AGENT_BIN"], os.X_OK):
        sys.exit(f"{os.environ['AGENT_BIN']}: not built "
                 "(make -C .. agent)")
    binaries = [("agent", os.path.abspath(os.environ["AGENT_BIN"]))]
    if args.baseline:
        binaries.insert(0, ("baseline",
                            benchlib.agent_binary(args.baseline)))
    for d in (args.duration, args.sweep_duration):
        if not 2 <= d <= 60:
            sys.exit("durations must be within [2, 60] s")
    if not 1 <= args.clients <= 64:
        sys.exit("--clients must be within [1, 64]")
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    for n in names:
        if n not in ("nsq-http", "nsq-tcp", "file"):
            sys.exit(f"unknown output {n!r}")
    if args.perf:
        os.makedirs(args.perf, exist_ok=True)
    modes = [m.strip() for m in args.spool.split(",") if m.strip()]
    for m in modes:
        if m != "off" and not m.isdigit():
            sys.exit(f"--spool: {m!r} is neither off nor milliseconds")
    runs = [(n, args.values, args.duration, True, m)
            for n in names for m in modes]
    if args.sweep:
        runs += [("file", v, args.sweep_duration, False, modes[0])
                 for v in VALUE_KINDS if v != args.values]

    # a global bound on the run, whatever hangs
    def on_alarm(signum, frame):
        raise TimeoutError("bench/post.py: global time limit reached")
    signal.signal(signal.SIGALRM, on_alarm)

    # SIGTERM/SIGINT: unwind, so that the finally blocks stop what we run
    def on_stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.alarm(len(binaries) * int(sum(d + 45 for _, _, d, _, _ in runs))
                 + 30)

    ts = int(time.time())
    print(f"bench/post: {args.clients} keep-alive clients, {args.points} "
          f"points per request; {os.cpu_count()} CPUs; "
          f"{len(runs) * len(binaries)} measurements")
    sys.stdout.flush()
    results = []
    bodies = {}
    for n, values, duration, with_lat, mode in runs:
        if values not in bodies:
            bodies[values] = [make_body(args.points, s, ts, values)
                              for s in range(8)]
        for tag, binary in binaries:
            t = time.monotonic()
            a = argparse.Namespace(**vars(args))
            a.duration = duration
            r = scenario(n, a, bodies[values], values, with_lat, binary,
                         tag, mode)
            r["agent"] = tag
            r["binary"] = binary
            r["request_bytes"] = sum(len(b) for b in bodies[values]) / len(
                bodies[values])
            results.append(r)
            print(f"  {label(r)}: {fmt_int(r['steady_points_per_s'])} "
                  f"points/s steady, {fmt_int(r['e2e_points_per_s'])} end "
                  f"to end; {r['request_bytes'] / 1024:.0f} KiB requests "
                  f"({time.monotonic() - t:.1f} s)")
            sys.stdout.flush()
    signal.alarm(0)
    report(results)
    if args.baseline:
        ratios(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
