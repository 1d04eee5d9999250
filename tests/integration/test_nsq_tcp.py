"""The nsq output over nsqd's TCP protocol V2 (servers "tcp://host:port"),
end to end against the nsqd test double (tests/peers/nsqd.py): every point
answered 200 arrives exactly once, several messages per request (MPUB), an
MPUB nsqd refuses, load spread and failover across servers,
a stalled or dropped connection loses nothing and is re-established (and
counted), heartbeats are answered so an idle connection stays up, and a
message over nsqd's size limit is never sent."""
import json
import random
import time

from nsq_common import HOST, MultiMessageTests, NsqTest, make_points, \
    received
from harness import free_port, wait_until


class NsqTcp(MultiMessageTests, NsqTest):

    TRANSPORT, COMMANDS = "tcp", ("PUB", "MPUB")
    SINGLE, MULTI = "PUB", "MPUB"

    @staticmethod
    def tcp(d):
        return f"tcp://{d.tcp_address}"

    def server(self, d):
        return self.tcp(d)

    @staticmethod
    def refusals(d):
        return d.counters()["errors"].get("E_BAD_BODY", 0)

    @staticmethod
    def failures(d):
        return d.counters()["errors"].get("E_MPUB_FAILED", 0)

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
            pts = make_points(n, k, name="tcp.m", dc="west")
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
            pts = make_points(i * 40, 40, name="tcp.m", dc="west")
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
            pts = make_points(i * 50, 50, name="tcp.m", dc="west")
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

    def test_failover_first_server_unresolvable(self):
        # its lookups fail (or time out) in their threads while the
        # other server takes every request
        good = self.double()
        self.failover("tcp://no-such-host.invalid:4150", good)
        self.agent.wait_log(r"nsq: tcp://no-such-host\.invalid:4150: "
                            r"resolving no-such-host\.invalid: ")

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
        before = make_points(0, 100, name="tcp.m", dc="west")
        self.post_ok(before)
        self.assert_arrived([d], before)
        d.set_fault("stall")
        during = []
        for i in range(5):
            pts = make_points(1000 + i * 200, 200, name="tcp.m", dc="west")
            self.post_ok(pts, unix=i % 2 == 0)   # buffered, so 200
            during.extend(pts)
        time.sleep(1.5)
        self.assertEqual(len(received(d, "tcp", self.COMMANDS)),
                         len(before))
        st = self.stats()
        self.assertGreater(st["buffer_points"], 0, st)
        d.set_fault("ok")
        # the stalled connection stays stalled: the 10 s answer timeout
        # notices, then a new connection takes the buffered points
        self.assert_arrived([d], before + during, timeout=30)
        st = self.all_published(len(before) + len(during))
        self.assertGreaterEqual(st["publish_errors"], 1, st)
        self.assertGreaterEqual(st["reconnects"], 1, st)
        self.assertRegex(st["last_error"], r"no answer to M?PUB")
        self.assertGreaterEqual(d.counters()["tcp_connections"], 2)

    def test_drop_reconnects_and_loses_nothing(self):
        d = self.double()
        self.configure([self.tcp(d)])
        self.start_ok()
        before = make_points(0, 100, name="tcp.m", dc="west")
        self.post_ok(before)
        self.assert_arrived([d], before)
        d.set_fault("drop")
        during = make_points(1000, 300, name="tcp.m", dc="west")
        self.post_ok(during, unix=True)
        wait_until(lambda: d.counters()["tcp_dropped"] >= 1,
                   what="a PUB dropped by the double")
        d.set_fault("ok")
        more = make_points(2000, 300, name="tcp.m", dc="west")
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
        first = make_points(0, 50, name="tcp.m", dc="west")
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
        second = make_points(100, 50, name="tcp.m", dc="west")
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
        sent = make_points(0, 200, name="tcp.m", dc="west")
        self.post_ok(sent)
        self.assert_arrived([d], sent)
        st = self.all_published(len(sent))
        self.assertEqual(st["publish_errors"], 0, st)
        # looked up in a thread, off the sender's event loop
        self.agent.wait_log(r"resolving localhost in the background")

    def test_large_batches_are_cut_under_max_msg_size(self):
        d = self.double()
        # 1000 points (batchpoints) of about 1.2 KB each would be one
        # message over nsqd's 1 MiB: the sender cuts by messagebytes too
        self.configure([self.tcp(d)], "\tflushms = 1000\n")
        self.start_ok()
        for i in range(10):
            self.post_ok(make_points(i * 100, 100, bigtags=4, name="tcp.m", dc="west"))
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


    def test_heartbeat_between_pub_and_its_ok(self):
        # nsqd's heartbeat may come while a PUB waits for its OK: answered
        # with NOP, not taken for the answer
        d = self.double(heartbeat_before_ok=True, heartbeat_ms=1000)
        self.configure([self.tcp(d)])
        self.start_ok()
        sent = []
        for i in range(10):
            pts = make_points(i * 200, 200, name="tcp.h", dc="west")
            self.post_ok(pts, unix=i % 2 == 1)
            sent.extend(pts)
        self.assert_arrived([d], sent)
        st = self.all_published(len(sent))
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["reconnects"], 0, st)
        cl = d.clients()
        self.assertEqual(len(cl), 1, cl)
        self.assertGreaterEqual(cl[0]["heartbeats"], 1, cl)
        self.assertTrue(cl[0]["open"], cl)
