"""Too big is not bad.  nsqd run with lower limits than the agent's (an
operator's --max-msg-size=65536 --max-body-size=131072; the agent keeps
its defaults of 1 MiB and 5 MiB) refuses messages and requests for their
size: the agent cuts them smaller, lowers its limits to what nsqd said
(once, logged, in /me/status), and every point arrives, over TCP and over
HTTP.  Only a point no message within the server's limit can hold is
dropped, and counted."""
import json

from nsq_common import NsqTest, make_points


def big_point(seq):
    """One point of about 30 KB: 60 tags of long keys and values."""
    tags = {"seq": str(seq), "dc": "east"}
    for t in range(60):
        tags[f"k{t:02d}" + "k" * 200] = chr(ord("a") + t % 26) * 250
    return {"name": "it.big", "timestamp": 0, "tags": tags, "value": 1}


class TooBig:
    """For NsqTest classes that set server(double)."""

    def server(self, d):
        raise NotImplementedError

    def test_twenty_thousand_points_against_lower_limits(self):
        d = self.double(max_msg_size=65536, max_body_size=131072)
        self.configure([self.server(d)])
        self.start_ok()
        sent = make_points(0, 20000, name="tb.m")
        for i in range(20):
            self.post_ok(sent[i * 1000:(i + 1) * 1000], unix=i % 2 == 1)
        self.assert_arrived([d], sent, timeout=60)
        st = self.wait_stats(lambda s: s.get("published") == 20000,
                             "published == 20000")
        for k in ("dropped_rejected", "dropped_toolarge", "dropped_full",
                  "buffer_points"):
            self.assertEqual(st[k], 0, (k, st))
        self.assertGreaterEqual(st["refused_toobig"], 1, st)
        self.assertLessEqual(st["output_messagebytes"], 65536, st)
        self.assertIsNotNone(st["output_limits_by"], st)
        for b in d.bodies():
            self.assertLessEqual(len(b), 65536)
        self.agent.wait_log(r"refused a message of \d+ bytes as too big")

    def test_a_point_over_the_limit_is_the_only_one_dropped(self):
        # taken before the server said any limit (so with a 200): then
        # the only point dropped, and counted
        d = self.double(max_msg_size=16384, max_body_size=65536)
        self.configure([self.server(d)])
        self.start_ok()
        before = make_points(0, 300, name="tb.s")
        after = make_points(1000, 300, name="tb.s")
        big = big_point(999)
        self.assertGreater(len(json.dumps(big)), 16384)
        self.post_ok([big], unix=True)
        self.post_ok(before)
        self.post_ok(after)
        self.assert_arrived([d], before + after, timeout=30)
        st = self.wait_stats(lambda s: s.get("published") == 600 and
                             s.get("dropped_toolarge") == 1,
                             "600 published, the big one dropped")
        self.assertEqual(st["accepted"], 601, st)
        self.assertEqual(st["dropped_rejected"], 0, st)
        self.assertEqual(st["buffer_points"], 0, st)
        self.agent.wait_log(r"(a point of .* is larger than the output "
                            r"takes|refused a single point as too big)")


class TooBigTcp(TooBig, NsqTest):
    TRANSPORT, COMMANDS = "tcp", ("PUB", "MPUB")

    def server(self, d):
        return f"tcp://{d.tcp_address}"

    def test_limits_are_what_nsqd_said(self):
        # the TCP refusal says the number: the agent takes it as it is
        d = self.double(max_msg_size=65536, max_body_size=131072)
        self.configure([self.server(d)])
        self.start_ok()
        sent = make_points(0, 3000, name="tb.n")
        for i in range(3):
            self.post_ok(sent[i * 1000:(i + 1) * 1000])
        self.assert_arrived([d], sent, timeout=30)
        st = self.wait_stats(lambda s: s.get("published") == 3000,
                             "published == 3000")
        self.assertEqual(st["output_messagebytes"], 65536, st)
        self.assertIn(st["output_requestbytes"], (131072, 5242880), st)
        self.assertRegex(st["output_limits_by"],
                         r"^tcp://127\.0\.0\.1:\d+: .* too big \d+ > ")
        self.agent.wait_log(r"cutting messages within 65536 bytes from now "
                            r"on \(its limit\)")
        self.assertGreaterEqual(
            d.counters()["errors"].get("E_BAD_MESSAGE", 0), 1)


    def test_limits_announced_in_identify_are_cut_for(self):
        # a server that says its limits at IDENTIFY is never sent more
        d = self.double(max_msg_size=65536, max_body_size=131072,
                        announce_limits=True)
        self.configure([self.server(d)])
        self.start_ok()
        sent = make_points(0, 3000, name="tb.i")
        for i in range(3):
            self.post_ok(sent[i * 1000:(i + 1) * 1000])
        self.assert_arrived([d], sent, timeout=30)
        st = self.wait_stats(lambda s: s.get("published") == 3000,
                             "published == 3000")
        self.assertEqual(st["refused_toobig"], 0, st)
        self.assertEqual(st["output_messagebytes"], 65536, st)
        self.assertEqual(st["output_requestbytes"], 131072, st)
        self.assertIn("announced", st["output_limits_by"])
        self.assertEqual(d.counters()["errors"], {})


    def test_a_point_over_a_stated_limit_is_refused_not_dropped(self):
        # once the server has said its limit, a point no message within
        # it can hold is refused at the door (400), not answered 200 and
        # dropped after
        d = self.double(max_msg_size=16384, max_body_size=65536,
                        announce_limits=True)
        self.configure([self.server(d)])
        self.start_ok()
        first = make_points(0, 10, name="tb.r")
        self.post_ok(first)
        self.assert_arrived([d], first)
        self.wait_stats(lambda s: s.get("output_messagebytes") == 16384,
                        "the limit nsqd announced")
        status, _, body = self.post([big_point(1)])
        self.assertEqual(status, 400, body)
        self.assertIn("larger than the output takes (16384 bytes per "
                      "message, said the server)", body)
        st = self.stats()
        self.assertEqual((st["accepted"], st["dropped_toolarge"]), (10, 0),
                         st)


class TooBigHttp(TooBig, NsqTest):
    TRANSPORT, COMMANDS = "http", ("pub", "mpub")

    def server(self, d):
        return d.http_address
