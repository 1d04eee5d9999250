#!/usr/bin/env python3
"""The agent's CPU per plugin run (bench/README.md, "Plugin runs:
bench/plugins").

In one run, side by side on this machine:

  agent       ./agent with N plugins (default 60), each a shell script
              printing P points (default 20), every --interval seconds
              (default 10): a standalone registry file names them, real
              git repositories hold them (gitpull clones each once), the
              output is the file output to /dev/null, the system
              collectors are off;
  baseline    optionally (--baseline BINARY) the same from another build
              (`make -C bench baseline`);
  raw         bench/spawn_raw: the same script run N times every
              --interval by posix_spawn() with its output on a pipe,
              read to the end, waitpid(), the runs back to back: the
              floor;
  raw spread  the same with the N runs spread evenly over the interval
              (spawn_raw -s), each on its own, as plugins whose offsets
              are spread fall due;
  raw grouped the same with the N runs falling due in whole seconds of
              the interval, 20 to a second, those of one second back
              to back (spawn_raw -g): the agent's own schedule (a
              host's plugins of one interval start together, 20 to a
              second), so the same work at the same moments.

Once every plugin is checked out and --warmup seconds more, the run
measures --duration seconds (default 60):

  agent CPU   time on a CPU of every thread of the master and the six
              workers (/proc/PID/task/TID/schedstat), not of the plugins:
              a plugin's own time, from the fork on, is its own;
  runs        the sum of every plugin's run counter (GET /plugins/list,
              the scheduler's own count, not a lagging copy);
  raw         spawn_raw's own CPU time (/proc/self/schedstat) and runs,
              for each of the three.

It reports CPU per run of each, and the agent's over the raw loop's.
With --rounds N it measures N such windows one after another (the
agents keep running, the raw loops start anew) and ends with the
median and range of each ratio: on a virtual machine one window's
ratio can swing by a third from the next's.

Everything binds 127.0.0.1; every process started here is stopped by
pid.  python3 standard library only; needs root (the agent switches
users) and git.

    python3 bench/plugins.py                  # about 100 s
    python3 bench/plugins.py --baseline bench/.baseline/agent
    python3 bench/plugins.py -n 20 --duration 20 --warmup 5   # quick
    python3 bench/plugins.py --rounds 5 --duration 45        # a verdict
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import BinAgent

sys.path.insert(0, os.path.join(benchlib.TOP, "tests", "integration"))
from gitrepos import PluginRepos  # noqa: E402

NS = "bench.loda"
GROUP = "plugins"
SPAWN_RAW = os.path.join(benchlib.HERE, "spawn_raw")


def plugin_script(npoints):
    """A plugin as operators write them: sh, one JSON document out."""
    pts = ",".join(
        f'{{"name":"m{i}","timestamp":0,"tags":{{"slot":"{i % 4}"}},'
        f'"value":{i}}}' for i in range(npoints))
    return f"#!/bin/sh\nprintf '%s\\n' '[{pts}]'\n"


def api(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status} {body[:200]!r}")
        return json.loads(body)
    finally:
        c.close()


def plugin_list(a):
    """{"ns|project": plugin} from /plugins/list (a JSON array)."""
    return {f"{p['ns']}|{p['project']}": p
            for p in api(a.port, "/plugins/list")}


def checked_out(a, n):
    lst = plugin_list(a)
    return sum(1 for p in lst.values() if p.get("checkout") == "ok") >= n


def runs_total(a):
    return sum(int(p.get("runs", 0)) for p in plugin_list(a).values())


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="agent-plugins-")
        os.chmod(self.tmp, 0o755)
        self.repos = PluginRepos(os.path.join(self.tmp, "repos"))
        self.script = os.path.join(self.tmp, "plugin.sh")
        with open(self.script, "w") as f:
            f.write(plugin_script(args.points))
        os.chmod(self.script, 0o755)
        self.agents = []
        self.raw = None

    def make_registry(self):
        items = []
        for i in range(self.args.plugins):
            repo = f"{GROUP}/p{i:03d}"
            self.repos.create(repo, plugin_script(self.args.points))
            items.append({"_id": f"id-p{i}", "measurement_type": "PLUGIN",
                          "name": f"PLUGIN.p{i:03d}",
                          "git": self.repos.registry_git(repo),
                          "interval": str(self.args.interval)})
        path = os.path.join(self.tmp, "registry.json")
        with open(path, "w") as f:
            json.dump({"ns": {NS: ""}, "resources": {NS: items}}, f)
        os.chmod(path, 0o644)
        return path

    def start_agent(self, binary, reg):
        a = BinAgent(binary, collect="no", loglevel="INFO",
                     output_name="file", servers="",
                     output_extra='\tpath = "/dev/null"\n',
                     agent_extra=f'\tregistryaddr = "file://{reg}"\n'
                     f'\tgit = "{self.repos.template}"\n'
                     f'\tnamespaces = [ "{NS}" ]\n')
        self.agents.append(a)
        r = a.start()
        if r.returncode != 0:
            raise RuntimeError(f"agent start failed: {r.stderr}")
        a.wait_serving(timeout=30)
        return a

    def run(self):
        args = self.args
        reg = self.make_registry()
        subjects = [("agent", args.agent)]
        if args.baseline:
            subjects.append(("baseline", args.baseline))
        started = [(tag, self.start_agent(b, reg)) for tag, b in subjects]
        deadline = time.monotonic() + 60 + args.plugins
        for tag, a in started:
            while not checked_out(a, args.plugins):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{tag}: plugins not checked out")
                time.sleep(0.5)
        print(f"  {args.plugins} plugins checked out in each agent; "
              f"warm-up {args.warmup:.0f} s, then {args.duration:.0f} s "
              "measured")
        sys.stdout.flush()
        time.sleep(args.warmup)
        pids = {tag: a.pids() for tag, a in started}
        rounds = []
        for i in range(args.rounds):
            if args.rounds > 1:
                print(f"  round {i + 1} of {args.rounds}")
                sys.stdout.flush()
            rounds.append(self.measure(started, pids))
        return rounds

    def measure(self, started, pids):
        """One window of --duration seconds: the raw loops and the
        agents' CPU over the same seconds."""
        args = self.args
        load = benchlib.MachineLoad()
        load.start()
        self.raw = [subprocess.Popen(
            [SPAWN_RAW] + flag + ["-n", str(args.plugins), "-i",
                                  str(args.interval), "-d",
                                  str(args.duration), self.script],
            stdout=subprocess.PIPE, text=True)
            for flag in ([], ["-s"], ["-g"])]
        t0 = time.monotonic()
        cpu0 = {tag: {r: benchlib.cpu_ns(p) for r, p in pp.items()}
                for tag, pp in pids.items()}
        runs0 = {tag: runs_total(a) for tag, a in started}
        outs = [r.communicate(timeout=args.duration + 120)[0]
                for r in self.raw]
        t1 = time.monotonic()
        cpu1 = {tag: {r: benchlib.cpu_ns(p) for r, p in pp.items()}
                for tag, pp in pids.items()}
        runs1 = {tag: runs_total(a) for tag, a in started}
        load.stop()
        for tag, a in started:
            if a.pids() != pids[tag]:
                raise RuntimeError(f"{tag}: a worker restarted")
        for r, out in zip(self.raw, outs):
            if r.returncode != 0:
                raise RuntimeError(f"spawn_raw failed: {out}")
        raw, spread, grouped = (json.loads(out) for out in outs)
        res = {"window_s": t1 - t0, "machine": benchlib.machine_line(),
               "load": load.line(), "plugins": args.plugins,
               "points": args.points, "interval": args.interval,
               "raw": raw, "raw_spread": spread, "raw_grouped": grouped,
               "agents": {}}
        raw_ms = raw["cpu_ns"] / 1e6 / max(1, raw["runs"])
        spread_ms = spread["cpu_ns"] / 1e6 / max(1, spread["runs"])
        grouped_ms = grouped["cpu_ns"] / 1e6 / max(1, grouped["runs"])
        res["raw_ms_per_run"] = raw_ms
        res["raw_spread_ms_per_run"] = spread_ms
        res["raw_grouped_ms_per_run"] = grouped_ms
        for tag, _ in started:
            runs = runs1[tag] - runs0[tag]
            by = {r: (cpu1[tag][r] - cpu0[tag][r]) / 1e6
                  for r in pids[tag]}
            total = sum(by.values())
            res["agents"][tag] = {
                "runs": runs, "cpu_ms": total,
                "ms_per_run": total / max(1, runs),
                "ms_per_run_by_process": {r: v / max(1, runs)
                                          for r, v in by.items()},
                "x_raw": total / max(1, runs) / raw_ms if raw_ms else None,
                "x_raw_spread": total / max(1, runs) / spread_ms
                if spread_ms else None,
                "x_raw_grouped": total / max(1, runs) / grouped_ms
                if grouped_ms else None,
            }
        return res

    def cleanup(self):
        for r in self.raw or []:
            if r.poll() is None:
                r.kill()
                r.wait()
        for a in self.agents:
            a.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)


def report(res):
    print()
    print(f"window {res['window_s']:.1f} s; {res['machine']}")
    print(res["load"])
    print(f"{res['plugins']} plugins x {res['points']} points every "
          f"{res['interval']} s")
    print()
    base = {"raw": res["raw_ms_per_run"],
            "spread": res["raw_spread_ms_per_run"],
            "grouped": res["raw_grouped_ms_per_run"]}
    rows = [("raw", res["raw"]), ("raw spread", res["raw_spread"]),
            ("raw grouped", res["raw_grouped"])]
    rows = [(t, r["runs"], r["cpu_ns"] / 1e6) for t, r in rows]
    rows += [(t, a["runs"], a["cpu_ms"]) for t, a in res["agents"].items()]
    print(f"{'':<12} {'runs':>6} {'CPU ms':>9} {'ms/run':>8} "
          + " ".join(f"{'x ' + k:>9}" for k in base))
    for tag, runs, ms in rows:
        per = ms / max(1, runs)
        print(f"{tag:<12} {runs:>6} {ms:>9.1f} {per:>8.3f} "
              + " ".join(f"{per / v if v else 0:>9.2f}"
                         for v in base.values()))
    print()
    for tag, a in res["agents"].items():
        print(f"{tag}: ms per run by process: " + ", ".join(
            f"{r} {v:.3f}" for r, v in a["ms_per_run_by_process"].items()))
        print(f"{tag}: {a['x_raw'] or 0:.2f} x the raw loop's CPU per run "
              f"back to back, {a['x_raw_grouped'] or 0:.2f} x on the "
              f"agent's schedule, {a['x_raw_spread'] or 0:.2f} x spread "
              "(target <= 2)")
    sys.stdout.flush()


def summary(rounds):
    """Over several rounds: each agent's ratios, median and range.  The
    machine's own swing from one minute to the next is as large as the
    differences sought (bench/README.md), so one round proves little."""
    print()
    print(f"{len(rounds)} rounds of {rounds[0]['window_s']:.0f} s")
    for tag in rounds[0]["agents"]:
        for key, what in (("x_raw", "back to back"),
                          ("x_raw_grouped", "on the agent's schedule")):
            xs = sorted(r["agents"][tag][key] or 0 for r in rounds)
            print(f"{tag}: x raw {what}: median {statistics.median(xs):.2f}"
                  f", {xs[0]:.2f}-{xs[-1]:.2f}; under 2 in "
                  f"{sum(1 for x in xs if x <= 2)} of {len(xs)}")
        ms = sorted(r["agents"][tag]["ms_per_run"] for r in rounds)
        print(f"{tag}: ms per run: median {statistics.median(ms):.3f}, "
              f"{ms[0]:.3f}-{ms[-1]:.3f}")
    raw = sorted(r["raw_ms_per_run"] for r in rounds)
    print(f"raw: ms per run: median {statistics.median(raw):.3f}, "
          f"{raw[0]:.3f}-{raw[-1]:.3f}")
    sys.stdout.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agent", default=os.path.join(benchlib.TOP, "agent"))
    ap.add_argument("--baseline", help="another agent binary, run side by "
                    "side with the same plugins (make -C bench baseline)")
    ap.add_argument("-n", "--plugins", type=int, default=60)
    ap.add_argument("-p", "--points", type=int, default=20)
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=15.0)
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure this many windows of --duration one "
                    "after another, with the same agents, and report "
                    "the median and range of the ratios")
    ap.add_argument("--json", help="write the raw figures to this file")
    args = ap.parse_args(argv)
    args.agent = benchlib.agent_binary(args.agent)
    if args.baseline:
        args.baseline = benchlib.agent_binary(args.baseline)
    if not os.access(SPAWN_RAW, os.X_OK):
        sys.exit(f"{SPAWN_RAW}: not built (make -C {benchlib.HERE} "
                 "spawn_raw)")
    if os.geteuid() != 0:
        sys.exit("bench/plugins.py: needs root (the agent switches users)")
    if not (1 <= args.plugins <= 500 and 1 <= args.points <= 10000 and
            1 <= args.interval <= 600 and 5 <= args.duration <= 600 and
            1 <= args.rounds <= 20):
        sys.exit("out of range: -n 1..500, -p 1..10000, --interval "
                 "1..600, --duration 5..600, --rounds 1..20")

    def on_alarm(signum, frame):
        raise TimeoutError("bench/plugins.py: global time limit reached")
    signal.signal(signal.SIGALRM, on_alarm)

    def on_stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.alarm(int((args.duration + 120) * args.rounds + args.warmup +
                     args.plugins) + 120)

    print(f"bench/plugins: {args.agent}" +
          (f" and {args.baseline}" if args.baseline else "") +
          f" against {SPAWN_RAW}")
    sys.stdout.flush()
    b = Bench(args)
    try:
        rounds = b.run()
    finally:
        b.cleanup()
    signal.alarm(0)
    for res in rounds:
        report(res)
    if len(rounds) > 1:
        summary(rounds)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rounds[0] if len(rounds) == 1 else rounds, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
