"""GET /metrics end to end: lint-clean for Prometheus (promtool), values
that move with what the agent does, counters that survive a worker's
kill -9, and the same figures published as agent.* points.  /me/status
and /metrics show what was done before they were asked, though the
workers push their counters only every few seconds (the master asks them
first), and a stopped worker does not hold them up."""
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import time

import inject
import struct
import unittest

from harness import wait_until
from nsq_common import NS, TOPIC, NsqTest, make_points

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, ((label, value), ...)): value} of a text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = tuple(sorted(LABEL.findall(m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


class Metrics(NsqTest):
    TRANSPORT = "http"
    COMMANDS = ("pub", "mpub")

    def metrics(self, unix=False):
        code, body = self.agent.http("/metrics", unix=unix)
        self.assertEqual(code, 200, body)
        return body

    def value(self, name, **labels):
        return parse(self.metrics()).get(
            (name, tuple(sorted(labels.items()))))

    def promtool(self, text):
        tool = shutil.which("promtool")
        if tool is None:
            self.skipTest("promtool missing (Debian package prometheus, "
                          "make deps installs it)")
        r = subprocess.run([tool, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, f"promtool:\n{r.stdout}"
                         f"{r.stderr}\n--- page:\n{text}")
        # lint warnings also fail: promtool prints them and exits 0 or 1
        self.assertEqual(r.stdout + r.stderr, "", text)

    def test_lint_clean_and_values_move(self):
        d = self.double()
        self.configure([d.http_address])
        self.start_ok()
        self.agent.wait_serving()
        page = self.metrics()
        self.promtool(page)
        self.assertIn("# TYPE agent_points_published_total counter", page)
        self.assertIn("# TYPE agent_worker_up gauge", page)
        m = parse(page)
        for role in ("front", "fetcher", "gitpull", "scheduler", "sender",
                     "collector"):
            self.assertEqual(m[("agent_worker_up", (("role", role),))], 1)
            self.assertEqual(m[("agent_worker_restarts_total",
                                (("role", role),))], 0)
            # each worker's own count, whatever its role pushes: the
            # master read every line
            self.assertEqual(m[("agent_log_lines_stderr_total",
                                (("role", role),))], 0)
        st = self.agent.status()
        for w in st["workers"]:
            self.assertEqual(w["stats"]["log_lines_stderr"], 0, w)
        self.assertEqual(len([k for k in m if k[0] == "agent_build_info"]),
                         1)

        pts = make_points(0, 100, name="met.m")
        self.post_ok(pts[:60])
        self.post_ok(pts[60:], unix=True)
        self.assert_arrived([d], pts)
        wait_until(lambda: (self.value("agent_points_published_total") or 0)
                   >= 100, what="published >= 100 in /metrics")
        # the front pushes its own counters, on its own second: the
        # sender's arriving first says nothing about the front's
        wait_until(lambda: (self.value("agent_points_received_total",
                                       source="post") or 0) >= 100,
                   what="received from post >= 100 in /metrics")
        wait_until(lambda: (self.value("agent_http_requests_total",
                                       code="200") or 0) >= 2,
                   what="two 200s in /metrics")
        # readable over the unix socket too, and still lint-clean with
        # values in it
        self.promtool(self.metrics(unix=True))

        # the sender dies: its counters stay counted
        before = self.value("agent_points_published_total")
        old = self.agent.worker(self.agent.status(), "sender")["pid"]
        os.kill(old, signal.SIGKILL)

        def back():
            st = self.agent.status()
            w = self.agent.worker(st, "sender")
            return w["pid"] not in (0, old) and w["state"] == "running"
        wait_until(back, timeout=20, what="a new sender")
        m = parse(self.metrics())
        self.assertEqual(m[("agent_worker_restarts_total",
                            (("role", "sender"),))], 1)
        self.assertEqual(m[("agent_worker_up", (("role", "sender"),))], 1)
        self.assertGreaterEqual(m[("agent_points_published_total", ())],
                                before)
        # and count on from there
        more = make_points(100, 50, name="met.m")
        self.post_ok(more)
        self.assert_arrived([d], pts + more)
        wait_until(lambda: self.value("agent_points_published_total") >=
                   before + 50, what="published to go on from before")

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_log_lines_over_the_budget_are_counted(self):
        # code run in the collector floods the master with log lines
        # (MSG_LOG on its control edge, descriptor 3): those over its
        # role's budget (a burst of 1000) are dropped, said in the log
        # and counted in /metrics and /me/status, so that an operator
        # sees lines went missing without reading the whole log
        self.configure([self.double().http_address])
        self.start_ok()
        self.agent.wait_serving()
        self.assertEqual(self.value("agent_log_lines_dropped_total",
                                    role="collector"), 0)
        coll = self.agent.worker(self.agent.status(), "collector")["pid"]
        body = b"I" + struct.pack("<I", 1) + b"S" + struct.pack("<I", 1) + \
            b"x"
        # MSG_LOG is 9 (proto.h); frame.h: a 16-byte header
        frame = struct.pack("<IHHII", 16 + len(body), 9, 0, 0, coll) + body
        chunk = frame * 100
        for _ in range(13):
            self.assertEqual(inject.syscall(coll, "write", 3, chunk,
                                            len(chunk)), len(chunk))
        self.agent.wait_log(rf"collector\[{coll}\] logs over its role's "
                            r"budget")
        wait_until(lambda: (self.value("agent_log_lines_dropped_total",
                                       role="collector") or 0) > 0,
                   what="the dropped lines in /metrics")
        n = self.value("agent_log_lines_dropped_total", role="collector")
        self.assertEqual(self.value("agent_log_lines_dropped_total",
                                    role="sender"), 0)
        w = self.agent.worker(self.agent.status(), "collector")
        self.assertGreaterEqual(w["log_lines_dropped"], n)
        self.assertEqual(w["pid"], coll)

    def test_status_shows_what_was_just_done(self):
        d = self.double()
        self.configure([d.http_address])
        self.start_ok()
        self.agent.wait_serving()
        self.agent.status()
        # each read right after the 200 that it must show, no waiting:
        # the workers' own pushes come every 5 s
        posted = []
        for i in range(1, 4):
            pts = make_points(i * 100, 10, name="fresh.m")
            self.post_ok(pts)
            posted += pts
            st = self.agent.status()
            self.assertEqual(
                self.agent.worker(st, "sender")["stats"]["accepted"],
                10 * i, st)
            self.assertEqual(
                self.agent.worker(st, "front")["stats"][
                    "points_received_post"], 10 * i, st)
            self.assertEqual(self.value("agent_points_received_total",
                                        source="post"), 10 * i)

        # many at once (a client in a loop, or several): every one is
        # answered, and shows them all
        def ask(_):
            return self.agent.worker(self.agent.status(), "sender")[
                "stats"]["accepted"]
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            self.assertEqual(set(ex.map(ask, range(64))), {30})

        # a worker that does not answer (stopped) holds nobody up: the
        # status comes after the master's short wait (0.25 s), with that
        # worker's last counters and everybody else's fresh ones
        gp = self.agent.worker(self.agent.status(), "gitpull")["pid"]
        os.kill(gp, signal.SIGSTOP)
        self.addCleanup(os.kill, gp, signal.SIGCONT)
        pts = make_points(900, 5, name="fresh.m")
        self.post_ok(pts)
        posted += pts
        t0 = time.monotonic()
        st = self.agent.status()
        took = time.monotonic() - t0
        self.assertEqual(
            self.agent.worker(st, "sender")["stats"]["accepted"], 35, st)
        self.assertEqual(self.agent.worker(st, "gitpull")["state"],
                         "running")
        # a master that waited for the stopped worker would answer only
        # when it came back; the front would give up with a 504 at 30 s
        self.assertLess(took, 5, "the status waited for a stopped worker")
        os.kill(gp, signal.SIGCONT)
        pts = make_points(950, 5, name="fresh.m")
        self.post_ok(pts)
        posted += pts
        self.assertEqual(self.value("agent_points_received_total",
                                    source="post"), 40)
        self.assert_arrived([d], posted)

    def test_self_metrics_reach_the_output(self):
        d = self.double()
        self.configure([d.http_address])
        self.agent.write_conf(selfmetrics="yes",
                              agent_extra=f'\tnamespaces = [ "{NS}" ]\n'
                              "\tselfmetricsinterval = 1\n")
        self.start_ok()
        self.post_ok(make_points(0, 10, name="self.m"))

        def self_points():
            out = {}
            for msg in d.messages(topic=TOPIC):
                for p in json.loads(msg.body)["points"]:
                    if p["measurement"].startswith("agent."):
                        out.setdefault(p["measurement"], []).append(p)
            return out
        got = wait_until(lambda: (s := self_points()) and any(
            p["fields"]["value"] >= 10 for p in
            s.get("agent.points_published_total", [])) and s, timeout=20,
            what="agent.points_published_total >= 10 at the output")
        up = got["agent.worker_up"]
        self.assertIn({"sender"}, [{p["tags"]["role"]} for p in up])
        self.assertIn("host", up[0]["tags"])
        self.assertIn("agent.build_info", got)
        # they count themselves apart from the system points
        wait_until(lambda: (self.value("agent_points_received_total",
                                       source="self") or 0) > 0,
                   what="points of source self in /metrics")

        # selfmetrics = no by reload stops the timer (the other tests,
        # which count exact points at the output, run with it off)
        self.agent.write_conf(selfmetrics="no")
        self.assertEqual(self.agent.run("reload").returncode, 0)
        self.agent.wait_log(r"selfmetrics = no: no agent\.\* points")
