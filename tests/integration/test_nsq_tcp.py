"""The nsq output over nsqd's TCP protocol V2 (servers "tcp://host:port"),
end to end against the nsqd test double (tests/peers/nsqd.py): every point
answered 200 arrives exactly once, load spread and failover across servers,
a stalled or dropped connection loses nothing and is re-established (and
counted), heartbeats are answered so an idle connection stays up, and a
message over nsqd's size limit is never sent."""
import collections
import http.client
import json
import os
import random
import socket
import sys
import time

from harness import AgentTest, free_port, wait_until

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "peers"))
from nsqd import NsqdDouble  # noqa: E402

NS = "pool.loda"
TOPIC = "collect." + NS
HOST = socket.gethostname()


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over the agent's unix socket."""

    def __init__(self, path, timeout=10):
        super().__init__("agent", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def make_points(first, count, bigtags=0):
    """Points numbered first..first+count-1, each unique by its seq tag;
    values cycle through int, float and bool."""
    base = int(time.time()) - 20000
    pts = []
    for i in range(first, first + count):
        if i % 3 == 0:
            value = i
        elif i % 3 == 1:
            value = i + 0.5
        else:
            value = i % 2 == 0
        tags = {"seq": str(i), "dc": "west"}
        for t in range(bigtags):
            tags[f"pad{t}"] = chr(ord("a") + t) * 250
        pts.append({"name": f"tcp.m{i % 11}", "timestamp": base + i,
                    "tags": tags, "value": value})
    return pts


def key(measurement, tags, value, ts):
    # the type is part of the key: True == 1 in Python
    return (measurement, tuple(sorted(tags.items())), type(value).__name__,
            value, ts)


def expected_key(p):
    return key("RUN." + p["name"], dict(p["tags"], host=HOST), p["value"],
               p["timestamp"])


def received(double):
    """Every point of every message the double holds, decoded."""
    out = []
    for m in double.messages():
        assert m.topic == TOPIC, m.topic
        assert m.transport == "tcp" and m.command == "PUB", m
        msg = json.loads(m.body)
        assert msg["database"] == TOPIC, msg["database"]
        assert msg["retentionPolicy"] == "default"
        assert msg["precision"] == "s"
        for p in msg["points"]:
            out.append(key(p["measurement"], p["tags"],
                           p["fields"]["value"], p["timestamp"]))
    return out


class NsqTcp(AgentTest):

    def double(self, **kw):
        d = NsqdDouble(**kw).start()
        self.addCleanup(d.stop)
        return d

    def configure(self, servers, extra=""):
        self.agent.write_conf(
            agent_extra=f'\tnamespaces = [ "{NS}" ]\n',
            output_name="nsq",
            servers=", ".join(f'"{s}"' for s in servers),
            output_extra=extra)

    @staticmethod
    def tcp(d):
        return f"tcp://{d.tcp_address}"

    def post(self, points, unix=False):
        """(status, body) of one POST /post."""
        if unix:
            c = UnixHTTPConnection(self.agent.values["socket"])
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.agent.port,
                                           timeout=10)
        try:
            c.request("POST", "/post", body=json.dumps(points).encode(),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def post_ok(self, points, unix=False):
        status, body = self.post(points, unix)
        self.assertEqual(status, 200, body)

    def stats(self):
        return self.agent.worker(self.agent.status(), "sender").get(
            "stats") or {}

    def wait_stats(self, pred, what, timeout=15):
        return wait_until(lambda: (lambda s: s if pred(s) else None)(
            self.stats()), timeout=timeout, what=what)

    def assert_arrived(self, doubles, points, timeout=15):
        """The doubles together hold exactly `points`, no more, no less."""
        want = collections.Counter(expected_key(p) for p in points)

        def have():
            got = []
            for d in doubles:
                got.extend(received(d))
            return got
        wait_until(lambda: len(have()) >= len(points), timeout=timeout,
                   what=f"{len(points)} points at the nsqd double")
        got = collections.Counter(have())
        self.assertEqual(sum(got.values()), len(points))
        self.assertEqual(got - want, collections.Counter(),
                         "points nobody sent (or sent twice)")
        self.assertEqual(want - got, collections.Counter(), "points missing")

    def all_published(self, n):
        st = self.wait_stats(lambda s: s.get("published") == n,
                             f"published == {n}")
        self.assertEqual(st["accepted"], n, st)
        self.assertEqual(st["buffer_points"], 0, st)
        return st

    # -----------------------------------------------------------------
    def test_ten_thousand_points_mixed_batches(self):
        d = self.double()
        self.configure([self.tcp(d)])
        self.start_ok()
        rnd = random.Random(11)
        sent, n, unix = [], 0, False
        while n < 10000:
            k = min(rnd.randint(1, 700), 10000 - n)
            pts = make_points(n, k)
            self.post_ok(pts, unix=unix)
            sent.extend(pts)
            n += k
            unix = not unix
        self.assert_arrived([d], sent)
        st = self.all_published(10000)
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["reconnects"], 0, st)
        self.assertEqual(st["messages"], len(d.messages()), st)
        # one connection, kept open and reused for every message
        self.assertEqual(d.counters()["tcp_connections"], 1)
        cl = d.clients()
        self.assertEqual(len(cl), 1, cl)
        self.assertTrue(cl[0]["open"], cl)
        ident = cl[0]["identify"]
        self.assertIs(ident["feature_negotiation"], True, ident)
        self.assertEqual(ident["hostname"], HOST, ident)
        self.assertTrue(ident["user_agent"].startswith("agent/"), ident)

    def test_load_spread_over_two_servers(self):
        a, b = self.double(), self.double()
        self.configure([self.tcp(a), self.tcp(b)])
        self.start_ok()
        sent = []
        for i in range(20):
            pts = make_points(i * 40, 40)
            self.post_ok(pts, unix=i % 2 == 1)
            sent.extend(pts)
            # separate messages, so that each starts at another server
            time.sleep(0.05)
        self.assert_arrived([a, b], sent)
        st = self.all_published(len(sent))
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertGreater(a.message_count(), 0)
        self.assertGreater(b.message_count(), 0)

    def failover(self, first, good):
        self.configure([first, self.tcp(good)])
        self.start_ok()
        sent = []
        for i in range(20):
            pts = make_points(i * 50, 50)
            self.post_ok(pts, unix=i % 2 == 1)
            sent.extend(pts)
            time.sleep(0.05)
        self.assert_arrived([good], sent)
        st = self.all_published(len(sent))
        # failing over is within one attempt: no failed message
        self.assertEqual(st["publish_errors"], 0, st)
        return st

    def test_failover_first_server_refusing(self):
        bad = self.double(fault="refuse")
        good = self.double()
        self.failover(self.tcp(bad), good)
        self.assertGreater(bad.counters()["tcp_refused"], 0)
        self.assertEqual(bad.message_count(), 0)

    def test_failover_first_server_closed_port(self):
        good = self.double()
        self.failover(f"tcp://127.0.0.1:{free_port()}", good)

    def test_failover_first_server_answering_errors(self):
        bad = self.double(fault="error")
        good = self.double()
        self.failover(self.tcp(bad), good)
        # each error is fatal, so nsqd hung up and we reconnected
        self.assertGreater(bad.counters()["errors"].get("E_PUB_FAILED", 0),
                           0)
        self.assertGreater(bad.counters()["tcp_connections"], 1)
        self.assertEqual(bad.message_count(), 0)

    def test_stall_then_recover(self):
        d = self.double()
        self.configure([self.tcp(d)])
        self.start_ok()
        before = make_points(0, 100)
        self.post_ok(before)
        self.assert_arrived([d], before)
        d.set_fault("stall")
        during = []
        for i in range(5):
            pts = make_points(1000 + i * 200, 200)
            self.post_ok(pts, unix=i % 2 == 0)   # buffered, so 200
            during.extend(pts)
        time.sleep(1.5)
        self.assertEqual(len(received(d)), len(before))
        st = self.stats()
        self.assertGreater(st["buffer_points"], 0, st)
        d.set_fault("ok")
        # the stalled connection stays stalled: the 10 s answer timeout
        # notices, then a new connection takes the buffered points
        self.assert_arrived([d], before + during, timeout=30)
        st = self.all_published(len(before) + len(during))
        self.assertGreaterEqual(st["publish_errors"], 1, st)
        self.assertGreaterEqual(st["reconnects"], 1, st)
        self.assertIn("no answer to PUB", st["last_error"])
        self.assertGreaterEqual(d.counters()["tcp_connections"], 2)

    def test_drop_reconnects_and_loses_nothing(self):
        d = self.double()
        self.configure([self.tcp(d)])
        self.start_ok()
        before = make_points(0, 100)
        self.post_ok(before)
        self.assert_arrived([d], before)
        d.set_fault("drop")
        during = make_points(1000, 300)
        self.post_ok(during, unix=True)
        wait_until(lambda: d.counters()["tcp_dropped"] >= 1,
                   what="a PUB dropped by the double")
        d.set_fault("ok")
        more = make_points(2000, 300)
        self.post_ok(more)
        self.assert_arrived([d], before + during + more, timeout=20)
        st = self.all_published(len(before) + len(during) + len(more))
        self.assertGreaterEqual(st["publish_errors"], 1, st)
        self.assertGreaterEqual(st["reconnects"], 1, st)
        self.assertGreaterEqual(d.counters()["tcp_connections"], 2)

    def test_heartbeats_answered(self):
        # the double heartbeats every second (its default, as the agent
        # asks for the server's) and hangs up after two unanswered ones
        d = self.double(heartbeat_ms=1000)
        self.configure([self.tcp(d)])
        self.start_ok()
        first = make_points(0, 50)
        self.post_ok(first)
        self.assert_arrived([d], first)
        time.sleep(5)
        cl = d.clients()
        self.assertEqual(len(cl), 1, cl)
        self.assertTrue(cl[0]["open"], cl)
        self.assertEqual(cl[0]["heartbeat_interval"], 1000, cl)
        self.assertGreaterEqual(cl[0]["heartbeats"], 4, cl)
        c = d.counters()
        self.assertEqual(c["tcp_timeouts"], 0, c)
        self.assertEqual(c["tcp_connections"], 1, c)
        second = make_points(100, 50)
        self.post_ok(second, unix=True)
        self.assert_arrived([d], first + second)
        st = self.all_published(100)
        self.assertEqual(st["reconnects"], 0, st)
        self.assertEqual(d.counters()["tcp_connections"], 1)

    def test_host_name_resolved(self):
        # "localhost" may give ::1 first, where the double does not
        # listen: the next address is tried within the same connect
        d = self.double()
        self.configure([f"tcp://localhost:{d.tcp_port}"])
        self.start_ok()
        sent = make_points(0, 200)
        self.post_ok(sent)
        self.assert_arrived([d], sent)
        st = self.all_published(len(sent))
        self.assertEqual(st["publish_errors"], 0, st)

    def test_large_batches_are_cut_under_max_msg_size(self):
        d = self.double()
        # 1000 points (batchpoints) of about 1.2 KB each would be one
        # message over nsqd's 1 MiB: the sender cuts by messagebytes too
        self.configure([self.tcp(d)], "\tflushms = 1000\n")
        self.start_ok()
        for i in range(10):
            self.post_ok(make_points(i * 100, 100, bigtags=4))
        st = self.wait_stats(lambda s: s.get("published", 0) == 1000,
                             "every point published")
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["buffer_points"], 0, st)
        bodies = d.bodies()
        self.assertGreater(len(bodies), 1)
        for b in bodies:
            self.assertLessEqual(len(b), 1048576)
        self.assertEqual(sum(len(json.loads(b)["points"]) for b in bodies),
                         1000)

