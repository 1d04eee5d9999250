"""What the nsq output tests share: points to post, how the nsqd double's
messages are decoded and compared, and an AgentTest with the helpers."""
import collections
import http.client
import json
import os
import socket
import sys
import time

from harness import AgentTest, wait_until

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


def make_points(first, count, bigtags=0, name="it.m", dc="east"):
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
        tags = {"seq": str(i), "dc": dc}
        for t in range(bigtags):
            tags[f"pad{t}"] = chr(ord("a") + t) * 250
        pts.append({"name": f"{name}{i % 13}", "timestamp": base + i,
                    "tags": tags, "value": value})
    return pts


def key(measurement, tags, value, ts):
    # the type is part of the key: True == 1 in Python
    return (measurement, tuple(sorted(tags.items())), type(value).__name__,
            value, ts)


def expected_key(p):
    return key("RUN." + p["name"], dict(p["tags"], host=HOST), p["value"],
               p["timestamp"])


def received(double, transport, command):
    """Every point of every message the double holds on TOPIC."""
    out = []
    for m in double.messages():
        assert m.topic == TOPIC, m.topic
        assert m.transport == transport and m.command == command, m
        msg = json.loads(m.body)
        assert msg["database"] == TOPIC, msg["database"]
        assert msg["retentionPolicy"] == "default"
        assert msg["precision"] == "s"
        for p in msg["points"]:
            out.append(key(p["measurement"], p["tags"],
                           p["fields"]["value"], p["timestamp"]))
    return out


class NsqTest(AgentTest):
    """Helpers of the nsq output tests; TRANSPORT and COMMAND say how
    the double must have received every message."""

    TRANSPORT = COMMAND = None

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

    def post(self, points, unix=False):
        """(status, Retry-After, body) of one POST /post."""
        if unix:
            c = UnixHTTPConnection(self.agent.values["socket"])
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.agent.port,
                                           timeout=10)
        try:
            c.request("POST", "/post", body=json.dumps(points).encode(),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            return r.status, r.getheader("Retry-After"), r.read().decode()
        finally:
            c.close()

    def post_ok(self, points, unix=False):
        status, _, body = self.post(points, unix)
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
                got.extend(received(d, self.TRANSPORT, self.COMMAND))
            return got
        wait_until(lambda: len(have()) >= len(points), timeout=timeout,
                   what=f"{len(points)} points at the nsqd double")
        got = collections.Counter(have())
        self.assertEqual(sum(got.values()), len(points))
        self.assertEqual(got - want, collections.Counter(),
                         "points nobody sent (or sent twice)")
        self.assertEqual(want - got, collections.Counter(), "points missing")
