"""The nsq output over nsqd's HTTP API (/pub, and /mpub?binary=true for
several messages per request), end to end against the nsqd test double
(tests/peers/nsqd.py): every point answered 200 arrives exactly once,
several messages per request, an /mpub nsqd refuses, failover across
servers, buffering while nsqd is down, 503 when the buffer is full, a
restarted sender, and a message over nsqd's size limit."""
import json
import os
import random
import re
import signal
import time

from harness import ClosedPort, wait_until
from nsq_common import MultiMessageTests, NsqTest, make_points
from rawpeer import RawServer


class NsqHttp(MultiMessageTests, NsqTest):

    TRANSPORT, COMMANDS = "http", ("pub", "mpub")
    SINGLE, MULTI = "pub", "mpub"

    def server(self, d):
        return d.http_address

    @staticmethod
    def refusals(d):
        return d.counters()["http_errors"].get("413 BODY_TOO_BIG", 0)

    @staticmethod
    def failures(d):
        return d.counters()["http_errors"].get("500 INTERNAL_ERROR", 0)

    def test_ten_thousand_points_tcp_and_unix(self):
        d = self.double()
        self.configure([d.http_address])
        self.start_ok()
        rnd = random.Random(3)
        sent, n, unix = [], 0, False
        while n < 10000:
            k = min(rnd.randint(1, 500), 10000 - n)
            pts = make_points(n, k)
            self.post_ok(pts, unix=unix)
            sent.extend(pts)
            n += k
            unix = not unix
        self.assert_arrived([d], sent)
        self.wait_stats(lambda s: s.get("published") == 10000,
                        "published == 10000")
        st = self.stats()
        self.assertEqual(st["accepted"], 10000, st)
        self.assertEqual(st["published"], 10000, st)
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["buffer_points"], 0, st)
        self.assertEqual(st["messages"], len(d.messages()), st)
        # one easy handle: the kept-alive connection is reused
        peers = {m.peer for m in d.messages()}
        self.assertLessEqual(len(peers), 2, peers)

    def failover(self, first):
        good = self.double()
        self.configure([first, good.http_address])
        self.start_ok()
        sent = []
        for i in range(20):
            pts = make_points(i * 50, 50)
            self.post_ok(pts, unix=i % 2 == 1)
            sent.extend(pts)
            # separate messages, so that each starts at another server
            time.sleep(0.03)
        self.assert_arrived([good], sent)
        st = self.wait_stats(lambda s: s.get("published") == len(sent),
                             "every point published")
        # failing over is within one attempt: no failed message
        self.assertEqual(st["publish_errors"], 0, st)
        return st

    def test_failover_first_server_refusing(self):
        bad = self.double(fault="refuse")
        self.failover(bad.http_address)
        # the refusing server was tried too: messages start in turn
        self.assertGreater(bad.counters()["http_requests"], 0)
        self.assertEqual(bad.message_count(), 0)

    def test_failover_first_server_closed_port(self):
        closed = ClosedPort()
        self.addCleanup(closed.close)
        self.failover(f"127.0.0.1:{closed.port}")
        # the closed port was tried, and refused
        self.agent.wait_log(rf"nsq: (http://)?127\.0\.0\.1:{closed.port}\S*: "
                            r".*([Rr]efused|[Cc]ouldn't connect)")

    def test_a_server_that_never_answers_holds_up_one_request(self):
        """One of two servers accepts and never answers (an nsqd stopped
        with SIGSTOP: its kernel still accepts): after the request that
        found it out ([output] timeout, 2 s here), the others go to the
        other server at once.  Every second request, each starting one
        server further, used to wait the timeout there first."""
        srv = RawServer(self)
        silent = srv.address
        good = self.double()
        self.configure([silent, good.http_address], "\ttimeout = 2\n")
        self.start_ok()
        first = make_points(0, 20)
        self.post_ok(first)
        # the first request starts at the silent server and times out
        self.assert_arrived([good], first, timeout=30)
        self.assertEqual(len(srv.conns), 1)
        sent = first + self.post_apart(1, 11, 20)
        self.assert_arrived([good], sent)
        st = self.wait_stats(lambda s: s.get("published") == len(sent),
                             "every point published")
        self.assertEqual(st["publish_errors"], 0, st)
        # none of them went to the silent server again
        self.assertEqual(len(srv.conns), 1)

    def test_a_large_mpub_over_a_slow_link_goes(self):
        """An nsqd behind a link of 128 KiB/s takes an /mpub body of
        360 KB (about 3 s): the answer is waited for as long as the
        request takes to go at 64 KiB/s, plus [output] timeout (1 s
        here).  A fixed timeout for the whole request (10 s, whatever the
        size) timed large ones out each time: sent again and again,
        forever."""
        bodies = []

        def session(r):
            r.pace(128 * 1024)
            while True:
                bodies.append(r.http_request(pace=True)[1])
                r.http_answer(b"200 OK", b"OK")
        srv = RawServer(self, session, rcvbuf=32768)
        self.configure([srv.address], "\tflushms = 3000\n\ttimeout = 1\n")
        self.start_ok()
        # about 1.2 KB each in json: the 300 wait flushms and go in one
        # request of some 360 KB, about 3 s on the link
        for i in range(2):
            self.post_ok(make_points(i * 150, 150, bigtags=4))
        st = self.wait_stats(lambda s: s.get("published") == 300 or
                             s.get("publish_errors"),
                             "every point published, or an error",
                             timeout=60)
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["published"], 300, st)
        self.assertGreater(max(len(b) for b in bodies), 300000)

    def test_one_server_refusing_every_size_drops_nothing(self):
        """One of two servers refuses every message as too big (413
        MSG_TOO_BIG: a broken nsqd, or a proxy's body limit): the other
        takes them all, none is dropped.  Each refusal went to the
        sender as the request's, which cut smaller down to a point per
        message and dropped the points refused so (120 of 300)."""
        bad = self.double(max_msg_size=10)
        good = self.double()
        self.configure([bad.http_address, good.http_address])
        self.start_ok()
        sent = self.post_apart(0, 10, 30)
        self.assert_none_dropped(sent, timeout=30)
        self.assert_arrived([good], sent)
        # said once, not once a request
        self.assertEqual(len(re.findall(
            r"refused a request: HTTP 413.* trying the other servers",
            self.agent.log_text())), 1)

    def test_an_endless_answer_body_is_not_waited_for(self):
        """nsqd's address answers 200 and then a chunked body that never
        ends, sent as fast as loopback takes it: the 200 decides (the
        points are published), 16 MiB of the body are read at most.
        The sender read on until the request timed out (18 GB in 10 s),
        failed the request, and sent it again, forever."""
        sent_bytes = []

        def session(r):
            r.http_request()
            r.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            block = b"10000\r\n" + b"x" * 65536 + b"\r\n"
            while True:
                r.sendall(block)
                sent_bytes.append(65536)
        srv = RawServer(self, session)
        self.configure([srv.address], "\ttimeout = 2\n")
        self.start_ok()
        self.post_ok(make_points(0, 50))
        st = self.wait_stats(lambda s: s.get("published") == 50 or
                             s.get("publish_errors"),
                             "the points published, or an error",
                             timeout=30)
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["published"], 50, st)

    def test_an_answer_body_trickling_forever_is_not_waited_for(self):
        """nsqd's address answers 200 and then a chunked body of a byte
        a second that never ends: the 200 decides, the points are
        published when the request's time is up ([output] timeout, 2 s
        here).  The request failed on its timeout and was sent again,
        forever."""
        sent_bytes = []

        def session(r):
            r.http_request()
            r.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n")
            while True:
                r.sendall(b"1\r\nx\r\n")
                sent_bytes.append(1)
                time.sleep(1)
        srv = RawServer(self, session)
        self.configure([srv.address], "\ttimeout = 2\n")
        self.start_ok()
        self.post_ok(make_points(0, 50))
        st = self.wait_stats(lambda s: s.get("published") == 50 or
                             s.get("publish_errors"),
                             "the points published, or an error",
                             timeout=30)
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["published"], 50, st)

    def test_nsqd_down_then_up(self):
        d = self.double()
        port = d.http_port
        self.configure([d.http_address])
        self.start_ok()
        before = make_points(0, 300)
        self.post_ok(before)
        self.assert_arrived([d], before)
        # recorded is not yet answered: nsqd stopped before its 200
        # reached the sender would have them sent again
        self.wait_stats(lambda s: s.get("published") == len(before),
                        "the first points published")
        d.stop()
        during = []
        for i in range(5):
            pts = make_points(1000 + i * 100, 100)
            self.post_ok(pts, unix=i % 2 == 0)   # buffered, so 200
            during.extend(pts)
        st = self.wait_stats(lambda s: s.get("publish_errors", 0) > 0 and
                             s.get("buffer_points") == len(during),
                             "failed publishes with the points buffered")
        self.assertIn(f"127.0.0.1:{port}", st["last_error"])
        d2 = self.double(http_port=port)
        self.assert_arrived([d2], during, timeout=20)
        st = self.wait_stats(
            lambda s: s.get("published") == len(before) + len(during),
            "all points published")
        self.assertEqual(st["accepted"], len(before) + len(during), st)
        self.assertEqual(st["buffer_points"], 0, st)
        self.assertGreaterEqual(st["reconnects"], 1, st)

    def test_buffer_full_503_never_drops_a_200(self):
        # memory only: the buffer is all there is
        d = self.double(fault="refuse")
        self.configure([d.http_address], "\tbuffersize = 100\n", spool="")
        self.start_ok()
        rnd = random.Random(5)
        ok, refused, n503, seq = [], 0, 0, 0
        for _ in range(300):
            if n503 >= 8:
                break
            k = rnd.randint(1, 20)
            pts = make_points(seq, k)
            seq += k
            status, retry, body = self.post(pts, unix=seq % 2 == 0)
            if status == 200:
                ok.extend(pts)
            elif status == 503:
                self.assertIsNotNone(retry, "503 without Retry-After")
                self.assertGreater(int(retry), 0)
                refused += k
                n503 += 1
            else:
                self.fail(f"POST /post answered {status}: {body}")
        self.assertGreaterEqual(n503, 8)
        self.assertLessEqual(len(ok), 100)
        st = self.wait_stats(lambda s: s.get("refused_full") == refused and
                             s.get("accepted") == len(ok),
                             f"refused_full == {refused}")
        self.assertEqual(st["dropped_full"], 0, st)
        self.assertEqual(st["published"], 0, st)
        self.assertEqual(d.message_count(), 0)
        d.set_fault("ok")
        self.assert_arrived([d], ok, timeout=20)
        st = self.wait_stats(lambda s: s.get("published") == len(ok),
                             "every accepted point published")
        self.assertEqual(st["refused_full"], refused, st)
        self.assertEqual(st["buffer_points"], 0, st)

    def test_sender_killed_while_idle_restarts(self):
        d = self.double()
        self.configure([d.http_address])
        self.start_ok()
        sent = make_points(0, 50)
        self.post_ok(sent)
        self.assert_arrived([d], sent)
        old = self.agent.worker(self.agent.status(), "sender")["pid"]
        os.kill(old, signal.SIGKILL)

        def restarted():
            st = self.agent.status()
            w = self.agent.worker(st, "sender")
            front = self.agent.worker(st, "front")
            if (w["pid"] not in (0, old) and w["state"] == "running" and
                    front["peers"].get("sender") == w["pid"]):
                return w
            return None
        w = wait_until(restarted, timeout=20, what="a new sender")
        self.assertEqual(w["restarts"], 1, w)
        # the front may answer 503 until it sees the new sender
        pts = make_points(100, 50)
        wait_until(lambda: self.post(pts)[0] == 200, timeout=10,
                   what="a post taken by the new sender")
        sent.extend(pts)
        more = make_points(200, 50)
        self.post_ok(more, unix=True)
        sent.extend(more)
        self.assert_arrived([d], sent)

    def test_large_batches_are_cut_under_max_msg_size(self):
        d = self.double()
        # 1000 points (batchpoints) of about 1.2 KB each would be one
        # message over nsqd's 1 MiB: the sender cuts by messagebytes too
        self.configure([d.http_address], "\tflushms = 1000\n")
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

