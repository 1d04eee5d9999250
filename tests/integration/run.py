#!/usr/bin/env python3
"""Run the integration tests against the real binary.

Usage: run.py [--agent PATH] [-k PATTERN]
Ends with every skipped test and its reason, then one line "N passed,
N failed, N skipped"; exit 1 on any failure.
"""
import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class Result(unittest.TextTestResult):
    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self.stream.write(f"  ({time.monotonic() - self._t0:.1f}s)\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--agent", default="./agent")
    ap.add_argument("-k", dest="pattern", action="append")
    args = ap.parse_args()
    os.environ["AGENT_BIN"] = os.path.abspath(args.agent)
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    if args.pattern:
        loader.testNamePatterns = [f"*{p}*" for p in args.pattern]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=Result,
                                     stream=sys.stdout)
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + \
        len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    # CI shows what did not run, and why, next to the count
    for test, reason in res.skipped:
        print(f"  skipped: {test.id()}: "
              f"{reason.removeprefix('skipped: ')}")
    print(f"integration: {passed} passed, {failed} failed, "
          f"{skipped} skipped")
    return 1 if failed or res.testsRun == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
