#!/usr/bin/env python3
"""Footprint of the idle agent against collectd (bench/README.md,
"Footprint: bench/footprint").

In one run, side by side on this machine:

  collectd    collectd 5 (Debian's collectd-core) with cpu, memory, load,
              interface, disk, df, processes, users, tcpconns and
              write_http to a local sink, Interval 10;
  agent       ./agent idle with every collector on: a standalone registry
              file gives every system type (CPU, MEM, DISK, NET, FS,
              KERNEL, TIME, COREDUMP) an interval of 10 s, no plugins, no
              /post; output nsq over HTTP to a local sink (the same kind
              of sink collectd writes to).  --registry http serves the
              same items from the registry double of tests/peers, and
              --output tcp publishes over TCP to the nsqd double: with
              both, the agent is configured as etc/agent.conf is (a
              registry over HTTP, nsq over TCP);
  baseline    optionally (--baseline BINARY) the same agent config run
              from another build, e.g. the commit this work started from
              (`make -C bench baseline`).

After every one of them has delivered to its sink and --warmup seconds
more, the run measures --duration seconds:

  memory      Pss, Uss (Private_Clean + Private_Dirty) and Rss from
              /proc/PID/smaps_rollup, summed over the agent's 7 processes
              (master and 6 workers) and over collectd's one; sampled every
              5 s through the window, the largest sum reported (and the
              last).  PSS divides shared pages among every process that
              maps them, so it moves with what else runs on the machine;
              USS does not.
  CPU         time on a CPU of every thread of those processes over the
              window, from the scheduler's accounting (/proc/PID/task/TID/
              schedstat, ns), as ms per minute; and utime+stime ticks from
              /proc/PID/stat (100 Hz samples, dead threads included) as a
              cross-check.

Everything binds 127.0.0.1; every process started here is stopped by pid.
python3 standard library only; collectd from `apt-get install
collectd-core` (the Makefile's `footprint` target installs it when run as
root).

    python3 bench/footprint.py                         # about 100 s
    python3 bench/footprint.py --baseline bench/.baseline/agent
    python3 bench/footprint.py --duration 20 --warmup 5   # quick check
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import BinAgent, Sink

sys.path.insert(0, os.path.join(benchlib.TOP, "tests", "peers"))
from nsqd import NsqdDouble  # noqa: E402
from registry import RegistryDouble  # noqa: E402

NS = "bench.loda"
REG_NS = "pool.loda"    # where the registry double puts a host
COLLECTD = "/usr/sbin/collectd"
COLLECTD_PLUGINS = ("cpu", "memory", "load", "interface", "disk", "df",
                    "processes", "users", "tcpconns", "write_http")
SYS_TYPES = ("CPU", "MEM", "DISK", "NET", "FS", "KERNEL", "TIME",
             "COREDUMP")


def collectd_conf(d, port, interval):
    plugins = "".join(f"LoadPlugin {p}\n" for p in COLLECTD_PLUGINS)
    return f"""Hostname "bench"
FQDNLookup false
BaseDir "{d}"
PIDFile "{d}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval {interval}
{plugins}
<Plugin interface>
	Interface "lo"
	Interface "/^eth/"
</Plugin>
<Plugin write_http>
	<Node "sink">
		URL "http://127.0.0.1:{port}/collectd"
		Format "JSON"
	</Node>
</Plugin>
"""


def registry_file(path, interval):
    res = [{"measurement_type": t, "name": f"{t.lower()}.bench",
            "interval": str(interval)} for t in SYS_TYPES]
    with open(path, "w") as f:
        json.dump({"ns": {NS: ""}, "resources": {NS: res}}, f)
    os.chmod(path, 0o644)


class Collectd:
    def __init__(self, tmp, port, interval):
        self.dir = os.path.join(tmp, "collectd")
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "collectd.conf")
        with open(self.conf, "w") as f:
            f.write(collectd_conf(self.dir, port, interval))
        self.log = open(os.path.join(self.dir, "stderr"), "w+")
        self.proc = subprocess.Popen([COLLECTD, "-f", "-C", self.conf],
                                     stdout=self.log, stderr=self.log)
        self.pid = self.proc.pid

    def pids(self):
        return {"collectd": self.pid}

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.seek(0)
        tail = self.log.read()[-2000:]
        self.log.close()
        return tail


class Subject:
    """One thing measured: its pids and how to tell it delivered."""

    def __init__(self, name, pids, delivered):
        self.name = name
        self.pids = pids
        self.delivered = delivered
        self.mem = []            # [{pid-role: smaps}] samples
        self.cpu0 = self.cpu1 = None

    def cpu_sample(self):
        return {r: (benchlib.cpu_ns(p), benchlib.cpu_ticks(p))
                for r, p in self.pids.items()}

    def mem_sample(self):
        self.mem.append({r: benchlib.smaps_rollup(p)
                         for r, p in self.pids.items()})


class TcpSink:
    """The nsqd double of tests/peers (protocol V2 over TCP) as a Sink:
    count() is its messages and their bytes (an MPUB is several)."""

    def __init__(self):
        self.d = NsqdDouble().start()
        self.port = self.d.tcp_port

    def count(self):
        ms = self.d.messages()
        return len(ms), sum(len(m.body) for m in ms)

    def stop(self):
        self.d.stop()


def http_registry(interval):
    """The registry double of tests/peers with the file's items: the
    host registers into its default namespace and gets them."""
    reg = RegistryDouble().start()
    reg.set_collect(REG_NS, [{"_id": f"id-{t}", "comment": "",
                              "measurement_type": t,
                              "name": f"{t.lower()}.bench",
                              "interval": str(interval)} for t in SYS_TYPES])
    return reg


def start_agent(binary, tmp, tag, sink, interval, registry, output):
    if registry == "http":
        reg = http_registry(interval)
        addr = reg.url
    else:
        reg = None
        addr = "file://" + os.path.join(tmp, f"registry-{tag}.json")
        registry_file(addr[len("file://"):], interval)
    server = (f"tcp://127.0.0.1:{sink.port}" if output == "tcp" else
              f"127.0.0.1:{sink.port}")
    a = BinAgent(binary, collect="yes", loglevel="INFO", output_name="nsq",
                 servers=f'"{server}"',
                 agent_extra=f'\tregistryaddr = "{addr}"\n'
                 f'\tnamespaces = [ "{NS}" ]\n')
    if reg is not None:
        a.after.append(reg.stop)
    r = a.start()
    if r.returncode != 0:
        a.cleanup()
        raise RuntimeError(f"{tag}: agent start failed: {r.stderr}")
    a.wait_serving(timeout=30)
    return a


def totals(sample):
    out = {"Rss": 0, "Pss": 0, "Uss": 0}
    for m in sample.values():
        if m:
            for k in out:
                out[k] += m[k]
    return out


def run(args):
    tmp = tempfile.mkdtemp(prefix="agent-footprint-")
    os.chmod(tmp, 0o755)
    sinks, agents, cd = [], [], None
    subjects = []
    try:
        # collectd
        s = Sink()
        sinks.append(s)
        cd = Collectd(tmp, s.port, args.interval)
        subjects.append(Subject("collectd", cd.pids(),
                                lambda s=s: s.count()[0] > 0))
        # the agents
        for tag, binary in [("agent", args.agent)] + (
                [("baseline", args.baseline)] if args.baseline else []):
            s = TcpSink() if args.output == "tcp" else Sink()
            sinks.append(s)
            a = start_agent(binary, tmp, tag, s, args.interval,
                            args.registry, args.output)
            agents.append(a)
            pids = a.pids()
            subjects.append(Subject(f"{tag}", pids,
                                    lambda s=s: s.count()[0] > 0))
        # every one delivered once, then the warm-up
        deadline = time.monotonic() + 3 * args.interval + 30
        while not all(sj.delivered() for sj in subjects):
            if not cd.alive():
                raise RuntimeError("collectd exited: " + cd.stop())
            if time.monotonic() > deadline:
                late = [sj.name for sj in subjects if not sj.delivered()]
                raise RuntimeError(f"nothing delivered by {late}")
            time.sleep(0.2)
        print(f"  all delivered; warm-up {args.warmup:.0f} s, then "
              f"{args.duration:.0f} s measured")
        sys.stdout.flush()
        time.sleep(args.warmup)
        # the pids again: a worker that restarted would be missed
        for sj, a in zip(subjects[1:], agents):
            if a.pids() != sj.pids:
                raise RuntimeError(f"{sj.name}: a worker restarted")
        sent0 = [s.count() for s in sinks]
        load = benchlib.MachineLoad()
        load.start()
        t0 = time.monotonic()
        for sj in subjects:
            sj.cpu0 = sj.cpu_sample()
            sj.mem_sample()
        end = t0 + args.duration
        while time.monotonic() < end:
            time.sleep(min(5.0, max(0.0, end - time.monotonic())))
            for sj in subjects:
                sj.mem_sample()
        t1 = time.monotonic()
        for sj in subjects:
            sj.cpu1 = sj.cpu_sample()
        load.stop()
        sent1 = [s.count() for s in sinks]
        for sj, a in zip(subjects[1:], agents):
            if a.pids() != sj.pids:
                raise RuntimeError(f"{sj.name}: a worker restarted")
        if not cd.alive():
            raise RuntimeError("collectd exited: " + cd.stop())
        res = {"window_s": t1 - t0, "load": vars(load).copy(),
               "machine": benchlib.machine_line(), "subjects": {}}
        res["load"]["line"] = load.line()
        minutes = (t1 - t0) / 60.0
        for i, sj in enumerate(subjects):
            ns = sum(sj.cpu1[r][0] - sj.cpu0[r][0] for r in sj.pids)
            ticks = sum(sj.cpu1[r][1] - sj.cpu0[r][1] for r in sj.pids)
            per_role_ns = {r: sj.cpu1[r][0] - sj.cpu0[r][0]
                           for r in sj.pids}
            peak = max(sj.mem, key=lambda m: totals(m)["Pss"])
            res["subjects"][sj.name] = {
                "processes": len(sj.pids),
                "cpu_ms_per_min": ns / 1e6 / minutes,
                "cpu_ms_per_min_ticks": ticks * 1000.0 / benchlib.CLK_TCK
                / minutes,
                "cpu_ms_per_min_by_process": {
                    r: v / 1e6 / minutes for r, v in per_role_ns.items()},
                "mem_peak_kb": totals(peak),
                "mem_last_kb": totals(sj.mem[-1]),
                "mem_peak_by_process_kb": peak,
                "posts_per_min": (sent1[i][0] - sent0[i][0]) / minutes,
                "bytes_per_min": (sent1[i][1] - sent0[i][1]) / minutes,
            }
            if args.maps and sj.name != "collectd":
                res["subjects"][sj.name]["maps"] = {
                    r: top_maps(p) for r, p in sj.pids.items()}
            elif args.maps:
                res["subjects"][sj.name]["maps"] = {
                    "collectd": top_maps(cd.pid)}
        return res
    finally:
        for a in agents:
            a.cleanup()
        if cd is not None:
            cd.stop()
        for s in sinks:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def top_maps(pid, n=12):
    m = benchlib.smaps_by_mapping(pid) or {}
    return sorted(((k, v["Pss"], v["Uss"]) for k, v in m.items()),
                  key=lambda x: -x[1])[:n]


def report(res):
    print()
    print(f"window {res['window_s']:.1f} s; {res['machine']}")
    print(res["load"]["line"])
    print()
    print(f"{'':<10} {'procs':>5} {'PSS kB':>8} {'USS kB':>8} "
          f"{'RSS kB':>8} {'CPU ms/min':>11} {'(ticks)':>8} "
          f"{'posts/min':>9} {'kB/min':>7}")
    subj = res["subjects"]
    for name, s in subj.items():
        m = s["mem_peak_kb"]
        print(f"{name:<10} {s['processes']:>5} {m['Pss']:>8} {m['Uss']:>8} "
              f"{m['Rss']:>8} {s['cpu_ms_per_min']:>11.1f} "
              f"{s['cpu_ms_per_min_ticks']:>8.0f} "
              f"{s['posts_per_min']:>9.1f} {s['bytes_per_min'] / 1024:>7.1f}")
    c = subj["collectd"]
    print()
    for name, s in subj.items():
        if name == "collectd":
            continue
        print(f"{name}: PSS {s['mem_peak_kb']['Pss'] / c['mem_peak_kb']['Pss']:.2f}"
              f" x collectd's (target <= 2), CPU "
              f"{s['cpu_ms_per_min'] / max(1e-9, c['cpu_ms_per_min']):.2f}"
              f" x collectd's (target <= 1)")
        print(f"  by process (PSS/USS kB, CPU ms/min): " + ", ".join(
            f"{r} {m['Pss']}/{m['Uss']} {s['cpu_ms_per_min_by_process'][r]:.1f}"
            for r, m in s["mem_peak_by_process_kb"].items() if m))
    for name, s in subj.items():
        if "maps" in s:
            for r, rows in s["maps"].items():
                print(f"  [{name} {r}] largest mappings, PSS/USS kB: " +
                      ", ".join(f"{os.path.basename(k)} {p}/{u}"
                                for k, p, u in rows))
    sys.stdout.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agent", default=os.path.join(benchlib.TOP, "agent"))
    ap.add_argument("--baseline", help="another agent binary, run side by "
                    "side with the same config (make -C bench baseline)")
    ap.add_argument("--duration", type=float, default=60.0,
                    help="seconds measured (default 60)")
    ap.add_argument("--warmup", type=float, default=20.0,
                    help="seconds after the first delivery of each before "
                    "the window (default 20)")
    ap.add_argument("--interval", type=int, default=10,
                    help="collection interval of both, s (default 10)")
    ap.add_argument("--maps", action="store_true",
                    help="also list the largest mappings of each process")
    ap.add_argument("--registry", choices=("file", "http"), default="file",
                    help="the agents' registry: a file (default), or the "
                    "registry double of tests/peers over HTTP")
    ap.add_argument("--output", choices=("http", "tcp"), default="http",
                    help="nsq over HTTP to a sink (default), or over TCP to "
                    "the nsqd double of tests/peers")
    ap.add_argument("--json", help="write the raw figures to this file")
    args = ap.parse_args(argv)
    args.agent = benchlib.agent_binary(args.agent)
    if args.baseline:
        args.baseline = benchlib.agent_binary(args.baseline)
    if not os.access(COLLECTD, os.X_OK):
        sys.exit(f"{COLLECTD}: missing (apt-get install collectd-core)")
    if os.geteuid() != 0:
        sys.exit("bench/footprint.py: needs root (the agent drops to "
                 "nobody; collectd reads what root reads)")
    if not 5 <= args.duration <= 600 or not 0 <= args.warmup <= 300:
        sys.exit("--duration within [5, 600] s, --warmup within [0, 300]")

    def on_alarm(signum, frame):
        raise TimeoutError("bench/footprint.py: global time limit reached")
    signal.signal(signal.SIGALRM, on_alarm)

    def on_stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.alarm(int(args.duration + args.warmup + 3 * args.interval) + 120)

    print(f"bench/footprint: collectd and {args.agent}"
          + (f" and {args.baseline}" if args.baseline else "")
          + f", interval {args.interval} s")
    sys.stdout.flush()
    res = run(args)
    signal.alarm(0)
    report(res)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
