#!/usr/bin/env python3
"""Run the integration tests against the real binary.

Usage: run.py [--agent PATH] [-k PATTERN] [--jobs N] [--first-slot N]
              [--module NAME]
Ends with every skipped test and its reason, then one line "N passed,
N failed, N skipped"; exit 1 on any failure.

--jobs N runs N test modules at a time, each in a process of its own (a
module's tests stay in order, in one process); a module's output is
printed whole once it ends, so the log reads as a serial run.  Every test
makes its own agent, directories, ports and namespaces, which is what
lets modules share the machine.  The longest modules go first.

Each running module picks its ports in a window of its own (a slot,
harness.py): --first-slot N numbers them from N, so that two runs of the
suite at once (make check runs the plain and the sanitizer builds side
by side) never pick in the same window.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))

# Seconds a module took in a run of make check (2026-12-06, the larger of
# the plain and the sanitized run; both --jobs 2 on 2 cores, at once;
# make check now runs them --jobs 3):
# only the order in which --jobs starts them; a module not listed counts
# as short.
WEIGHT = {
    "test_plugins": 190, "test_spool": 100, "test_collector": 70,
    "test_nsq_tcp": 55, "test_post": 40, "test_fetcher": 35,
    "test_restart": 30, "test_nsq_http": 30, "test_api_guard": 23,
    "test_http": 20, "test_paths": 20, "test_unit": 18,
    "test_signing": 14, "test_metrics": 13, "test_testmode": 13,
    "test_influxdb": 10, "test_api": 9, "test_reload": 9,
    "test_toobig": 9, "test_lifecycle": 8, "test_sandbox": 8,
}


class Result(unittest.TextTestResult):
    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.stream.write(f"  ({time.monotonic() - self._t0:.1f}s)\n")


def run_here(args):
    """Run the tests in this process; the counts and skips as a dict."""
    loader = unittest.TestLoader()
    if args.pattern:
        loader.testNamePatterns = [f"*{p}*" for p in args.pattern]
    if args.module:
        suite = loader.loadTestsFromName(args.module)
    else:
        suite = loader.discover(HERE, pattern="test_*.py",
                                top_level_dir=HERE)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result,
                                     stream=sys.stdout)
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + \
        len(res.unexpectedSuccesses)
    return {"run": res.testsRun, "failed": failed,
            "skipped": [[t.id(), r] for t, r in res.skipped]}


def run_parallel(args):
    """Every module in a child run.py, `args.jobs` at a time."""
    mods = sorted((f[:-3] for f in os.listdir(HERE)
                   if f.startswith("test_") and f.endswith(".py")),
                  key=lambda m: (-WEIGHT.get(m, 0), m))
    total = {"run": 0, "failed": 0, "skipped": []}
    running = {}        # Popen -> (module, output file, port slot)
    base = [sys.executable, os.path.abspath(__file__), "--agent",
            args.agent, "--summary"]
    for p in args.pattern or []:
        base += ["-k", p]
    while mods or running:
        while mods and len(running) < args.jobs:
            mod = mods.pop(0)
            out = open(os.path.join(args.logdir, f"{mod}.log"), "w+")
            # each running module picks its ports in a window of its own
            slot = min(set(range(args.first_slot,
                                 args.first_slot + args.jobs)) -
                       {v[2] for v in running.values()})
            env = dict(os.environ, AGENT_TEST_SLOT=str(slot))
            running[subprocess.Popen(base + ["--module", mod],
                                     stdout=out, stderr=subprocess.STDOUT,
                                     cwd=os.getcwd(), env=env)] = \
                (mod, out, slot)
        pid, status = os.wait()
        done = [p for p in running if p.pid == pid]
        if not done:
            continue        # not ours (a test's stray child)
        proc = done[0]
        proc.returncode = os.waitstatus_to_exitcode(status)
        mod, out, _ = running.pop(proc)
        out.seek(0)
        text = out.read()
        out.close()
        summary = None
        for line in text.splitlines():
            if line.startswith("@@summary "):
                summary = json.loads(line[len("@@summary "):])
        sys.stdout.write(f"==== {mod}\n")
        sys.stdout.write("".join(l + "\n" for l in text.splitlines()
                                 if not l.startswith("@@summary ")))
        sys.stdout.flush()
        if summary is None:
            # the child died before it could count: all of it failed
            print(f"{mod}: the test process ended with "
                  f"{proc.returncode} before its summary")
            total["failed"] += 1
            continue
        for k in ("run", "failed"):
            total[k] += summary[k]
        total["skipped"] += summary["skipped"]
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", default="./agent")
    ap.add_argument("-k", dest="pattern", action="append")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--first-slot", type=int, default=0,
                    help="the first port window of --jobs (harness.py)")
    ap.add_argument("--module", help="run this test module only")
    ap.add_argument("--summary", action="store_true",
                    help="end with a machine-readable summary line "
                    "(for --jobs)")
    args = ap.parse_args()
    os.environ["AGENT_BIN"] = os.path.abspath(args.agent)
    # a serial run picks in the first window; a module that run_parallel
    # started already has its own
    os.environ.setdefault("AGENT_TEST_SLOT", str(args.first_slot))
    sys.path.insert(0, HERE)
    if args.jobs > 1 and not args.module:
        import tempfile
        with tempfile.TemporaryDirectory(prefix="agent-it-logs-") as d:
            args.logdir = d
            res = run_parallel(args)
    else:
        res = run_here(args)
    if args.summary:
        sys.stdout.flush()
        print("@@summary " + json.dumps(res), flush=True)
        return 1 if res["failed"] else 0
    failed, skipped = res["failed"], len(res["skipped"])
    passed = res["run"] - failed - skipped
    # CI shows what did not run, and why, next to the count
    for tid, reason in res["skipped"]:
        print(f"  skipped: {tid}: {reason.removeprefix('skipped: ')}")
    print(f"integration: {passed} passed, {failed} failed, "
          f"{skipped} skipped")
    return 1 if failed or res["run"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
