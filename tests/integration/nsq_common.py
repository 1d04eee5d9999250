"""What the nsq output tests share: points to post, how the nsqd double's
messages are decoded and compared, and an AgentTest with the helpers."""
import collections
import http.client
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from harness import AgentTest, free_port, needs_root, wait_until

PEERS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         os.pardir, "peers")
sys.path.insert(0, PEERS_DIR)
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


def received(double, transport, commands):
    """Every point of every message the double holds on TOPIC, each
    received over `transport` with one of `commands`."""
    out = []
    for m in double.messages():
        assert m.topic == TOPIC, m.topic
        assert m.transport == transport and m.command in commands, m
        msg = json.loads(m.body)
        assert msg["database"] == TOPIC, msg["database"]
        assert msg["retentionPolicy"] == "default"
        assert msg["precision"] == "s"
        for p in msg["points"]:
            out.append(key(p["measurement"], p["tags"],
                           p["fields"]["value"], p["timestamp"]))
    return out


def received_lines(double, transport, commands, quotes=False):
    """Every point of every message the double holds on TOPIC, each
    message line protocol (format = "line"), as received() has them.  The
    points of make_points() need no escapes, and a line with one fails;
    `quotes`: tag values may hold '"', which a line does not escape."""
    out = []
    for m in double.messages():
        assert m.topic == TOPIC, m.topic
        assert m.transport == transport and m.command in commands, m
        for line in m.body.decode().splitlines():
            assert "\\" not in line and (quotes or '"' not in line) and \
                line.count(" ") == 2, f"not a line of ours: {line[:120]}"
            series, field, ts = line.split(" ")
            name, *tags = series.split(",")
            assert field.startswith("value="), line
            v = field[len("value="):]
            # numbers as in json (encode.c): no "i", a float has a point
            if v in ("true", "false"):
                value = v == "true"
            elif v.lstrip("-").isdigit():
                value = int(v)
            else:
                value = float(v)
            out.append(key(name, dict(t.split("=", 1) for t in tags),
                           value, int(ts)))
    return out


class NsqTest(AgentTest):
    """Helpers of the nsq output tests; TRANSPORT and COMMANDS say how
    the double must have received every message (one message per
    request or several: PUB or MPUB, /pub or /mpub)."""

    TRANSPORT = COMMANDS = None

    def double(self, **kw):
        d = NsqdDouble(**kw).start()
        self.addCleanup(d.stop)
        return d

    def configure(self, servers, extra="", namespaces=(NS,), **changes):
        self.agent.write_conf(
            agent_extra="\tnamespaces = [ " + ", ".join(
                f'"{n}"' for n in namespaces) + " ]\n",
            output_name="nsq",
            servers=", ".join(f'"{s}"' for s in servers),
            output_extra=extra, **changes)

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

    def post_apart(self, first, last, per, **names):
        """Requests first..last-1 of `per` points each (make_points'
        names), 50 ms apart so that each is a message of its own and
        starts at another server, over TCP and the unix socket in turn;
        the points sent."""
        sent = []
        for i in range(first, last):
            pts = make_points(i * per, per, **names)
            self.post_ok(pts, unix=i % 2 == 1)
            sent.extend(pts)
            time.sleep(0.05)
        return sent

    def assert_none_dropped(self, sent, timeout=15):
        """Every point sent is published, none dropped as too large or
        refused."""
        st = self.wait_stats(lambda s: s.get("published", 0) +
                             s.get("dropped_toolarge", 0) +
                             s.get("dropped_rejected", 0) == len(sent),
                             "every point published or dropped",
                             timeout=timeout)
        self.assertEqual(st["dropped_toolarge"], 0, st)
        self.assertEqual(st["dropped_rejected"], 0, st)
        return st

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
                got.extend(received(d, self.TRANSPORT, self.COMMANDS))
            return got
        wait_until(lambda: len(have()) >= len(points), timeout=timeout,
                   what=f"{len(points)} points at the nsqd double")
        got = collections.Counter(have())
        self.assertEqual(sum(got.values()), len(points))
        self.assertEqual(got - want, collections.Counter(),
                         "points nobody sent (or sent twice)")
        self.assertEqual(want - got, collections.Counter(), "points missing")


class MultiMessageTests:
    """Requests of several messages (HTTP /mpub, TCP MPUB), for NsqTest
    classes that set SINGLE and MULTI (the double's command names) and
    server(double) (the address to configure)."""

    SINGLE = MULTI = None

    def squatter(self, uid, gid, port=None):
        """An nsqd double run as uid:gid on a free loopback port (or
        `port`), as someone taking the port of an output that is down:
        (port, the double's own ports)."""
        port = port or free_port()
        # the double's files where that user can read them (a checkout
        # may be under a directory of root's alone)
        peers = os.path.join(self.agent.dir, "peers")
        os.makedirs(peers, exist_ok=True)
        for f in ("nsqd.py", "peerhttp.py"):
            shutil.copy(os.path.join(PEERS_DIR, f), peers)
        squat = subprocess.Popen(
            ["setpriv", f"--reuid={uid}", f"--regid={gid}",
             "--clear-groups", sys.executable,
             os.path.join(peers, "nsqd.py"),
             f"--{self.TRANSPORT}-port", str(port)],
            stdout=subprocess.PIPE, text=True, cwd="/")
        self.addCleanup(lambda: (squat.poll() is None and squat.kill(),
                                 squat.wait()))
        self.squat = squat
        return port, json.loads(squat.stdout.readline())

    def address(self, port):
        return (f"127.0.0.1:{port}" if self.TRANSPORT == "http"
                else f"tcp://127.0.0.1:{port}")

    @staticmethod
    def squatted(ports):
        """What the squatter took."""
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['http_port']}"
                                    "/debug/messages", timeout=10) as r:
            return json.loads(r.read())

    def refused_squatter(self, uid, why):
        """The agent started on the port of a squatter run as uid: the
        points posted are refused to it, the log saying `why`: (port, the
        squatter's own ports)."""
        needs_root(self)
        port, ports = self.squatter(uid, uid)
        self.configure([self.address(port)])
        self.start_ok()
        self.post_ok(make_points(0, 50, name="squat.m", dc="west"))
        self.agent.wait_log(rf"127\.0\.0\.1:{port}.*the port is served by "
                            + why, timeout=20)
        self.assertEqual(self.squatted(ports), [])
        return port, ports

    def test_a_plugin_on_the_outputs_port_gets_no_points(self):
        """nsqd on loopback is down, and a plugin (pluginsuser, here
        nobody, as the agent's user) listens on its port, answering as
        nsqd: the points answered 200 wait for the real one."""
        needs_root(self)
        pw = pwd.getpwnam(self.agent.values["pluginsuser"])
        port, ports = self.squatter(pw.pw_uid, pw.pw_gid)
        self.configure([self.address(port)])
        self.start_ok()
        pts = make_points(0, 50, name="squat.m", dc="west")
        status, _, body = self.post(pts)
        self.assertEqual(status, 200, body)
        self.agent.wait_log(rf"127\.0\.0\.1:{port}.*the port is served by "
                            rf"uid {pw.pw_uid}, the agent's user or "
                            r"pluginsuser \(a plugin\?\), not by the "
                            r"output: nothing sent to it", timeout=20)
        self.assertEqual(self.squatted(ports), [])
        self.squat.kill()
        self.squat.wait()
        # the real one comes back on its port: everything arrives
        d = self.double(**{f"{self.TRANSPORT}_port": port})
        self.assert_arrived([d], pts, timeout=30)

    def test_a_reloads_pluginsuser_on_the_outputs_port_gets_no_points(self):
        """A reload names another pluginsuser (daemon, a system uid): its
        plugins take the port of a loopback nsqd that is down, and get
        nothing, though the sender started before the reload."""
        needs_root(self)
        pw = pwd.getpwnam("daemon")
        port = free_port()
        self.configure([self.address(port)])
        self.start_ok()
        self.agent.write_conf(pluginsuser="daemon")
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(r"config generation 2 loaded")
        port, ports = self.squatter(pw.pw_uid, pw.pw_gid, port)
        pts = make_points(0, 50, name="squat.m", dc="west")
        self.post_ok(pts)
        self.agent.wait_log(rf"127\.0\.0\.1:{port}.*the port is served by "
                            rf"uid {pw.pw_uid}, the agent's user or "
                            r"pluginsuser", timeout=20)
        self.assertEqual(self.squatted(ports), [])

    def test_a_local_user_on_the_outputs_port_gets_no_points(self):
        """A login account (a uid of 1000-60577, here one without an
        entry) listens on the port of a loopback nsqd that is down: not a
        daemon, so not the output, unless [output] serveruser says it
        is."""
        port, ports = self.refused_squatter(
            4242, r"uid 4242, a login account's, not a daemon's: nothing "
            r"sent to it \(set \[output\] serveruser if it is the "
            r"output\)")
        # the operator says it is the output: a reload, and they go
        self.configure([self.address(port)], '\tserveruser = "4242"\n')
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        wait_until(lambda: len(self.squatted(ports)) > 0, timeout=30,
                   what="the points at the output run as uid 4242")

    def test_a_users_container_on_the_outputs_port_gets_no_points(self):
        """A local user maps their subordinate uids (/etc/subuid) in a
        user namespace that keeps the host's network, and listens on
        the port of a loopback nsqd that is down as one of them (100000,
        the first of the usual ranges): not a daemon either."""
        self.refused_squatter(100000, r"uid 100000, a login account's, "
                              r"not a daemon's: nothing sent to it")

    def server(self, d):
        raise NotImplementedError

    def post_all(self, points, seed):
        """Post `points` in random chunks over TCP and the unix socket."""
        rnd = random.Random(seed)
        n, unix = 0, False
        while n < len(points):
            k = min(rnd.randint(1, 700), len(points) - n)
            self.post_ok(points[n:n + k], unix=unix)
            n += k
            unix = not unix

    def test_ten_thousand_points_several_messages_per_request(self):
        d = self.double()
        self.configure([self.server(d)], "\tbatchpoints = 100\n")
        self.start_ok()
        sent = make_points(0, 10000, name="multi.m")
        self.post_all(sent, 17)
        self.assert_arrived([d], sent)
        st = self.wait_stats(lambda s: s.get("published") == 10000,
                             "published == 10000")
        self.assertEqual(st["accepted"], 10000, st)
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["dropped_rejected"], 0, st)
        self.assertEqual(st["buffer_points"], 0, st)
        msgs = d.messages()
        self.assertEqual(st["messages"], len(msgs), st)
        # several messages went in one request, and the double saw them
        # arrive that way
        self.assertLess(st["requests"], st["messages"], st)
        multi = [m for m in msgs if m.command == self.MULTI]
        self.assertGreater(len(multi), 1, {m.command for m in msgs})
        for m in msgs:
            self.assertLessEqual(len(json.loads(m.body)["points"]), 100)

    def test_mpub_over_the_body_limit_is_cut_smaller(self):
        # nsqd takes 20 000 bytes per MPUB while the agent cuts requests
        # for its default 5 MiB: too big is not bad, the agent lowers its
        # request limit until nsqd takes them, and drops nothing
        d = self.double(max_body_size=20000)
        self.configure([self.server(d)], "\tbatchpoints = 50\n")
        self.start_ok()
        sent = make_points(0, 2000, name="big.m")
        self.post_all(sent, 23)
        self.assert_arrived([d], sent, timeout=40)
        st = self.wait_stats(lambda s: s.get("published") == 2000,
                             "published == 2000", timeout=20)
        self.assertEqual(st["dropped_rejected"], 0, st)
        self.assertEqual(st["dropped_toolarge"], 0, st)
        self.assertEqual(st["buffer_points"], 0, st)
        self.assertGreaterEqual(st["refused_toobig"], 1, st)
        self.assertLessEqual(st["output_requestbytes"], 20000, st)
        self.assertIsNotNone(st["output_limits_by"], st)
        self.assertGreaterEqual(self.refusals(d), 1)
        # still several messages per request, within the limit
        self.assertGreater(len([m for m in d.messages()
                                if m.command == self.MULTI]), 0)
        self.agent.wait_log(r"refused a request of \d+ bytes as too big")

    def test_namespaces_posting_in_turn_share_requests(self):
        """One-point posts of two namespaces in turn, while the output
        fails: once it is back, a request a namespace, not a request a
        post, and every point once, each namespace's in order."""
        other = "other.loda"
        d = self.double(fault="error")
        self.configure([self.server(d)], namespaces=(NS, other))
        self.start_ok()
        sent = {NS: [], other: []}
        c = http.client.HTTPConnection("127.0.0.1", self.agent.port,
                                       timeout=10)
        self.addCleanup(c.close)
        for i in range(300):
            ns = (NS, other)[i % 2]
            pt = make_points(i, 1, name="turn.m")
            c.request("POST", f"/post?ns={ns}", body=json.dumps(pt))
            r = c.getresponse()
            self.assertEqual(r.status, 200, r.read())
            r.read()
            sent[ns].extend(pt)
        self.wait_stats(lambda s: s.get("publish_errors", 0) >= 1,
                        "a failed publish")
        d.set_fault("ok")
        wait_until(lambda: d.message_count() >= 1 and sum(
            len(json.loads(m.body)["points"]) for m in d.messages())
            >= 300, timeout=30, what="300 points at the double")
        st = self.wait_stats(lambda s: s.get("published") == 300,
                             "published == 300")
        # two, one a namespace, unless a post came in between
        self.assertLessEqual(st["requests"], 4, st)
        for ns in (NS, other):
            seqs = [p["tags"]["seq"] for m in d.messages()
                    if m.topic == "collect." + ns
                    for p in json.loads(m.body)["points"]]
            self.assertEqual(seqs, [p["tags"]["seq"] for p in sent[ns]],
                             ns)

    def test_failed_mpub_is_retried_whole(self):
        d = self.double(fault="error")
        self.configure([self.server(d)], "\tbatchpoints = 100\n")
        self.start_ok()
        # one post of 1000 points: a request of 10 messages
        first = make_points(0, 1000, name="err.m")
        self.post_ok(first)
        st = self.wait_stats(lambda s: s.get("publish_errors", 0) >= 1,
                             "a failed publish")
        self.agent.wait_log(r"publish of \d+ points in \d+ messages "
                            r"failed")
        self.assertGreaterEqual(self.failures(d), 1)
        self.assertEqual(d.message_count(), 0)
        self.assertEqual(st["published"], 0, st)
        self.assertEqual(st["buffer_points"], 1000, st)
        more = make_points(1000, 500, name="err.m")
        self.post_ok(more, unix=True)
        d.set_fault("ok")
        # all of them, once: none was taken while nsqd failed them
        self.assert_arrived([d], first + more, timeout=30)
        st = self.wait_stats(lambda s: s.get("published") == 1500,
                             "published == 1500")
        self.assertEqual(st["dropped_rejected"], 0, st)
        self.assertEqual(st["buffer_points"], 0, st)
        self.assertGreater(len([m for m in d.messages()
                                if m.command == self.MULTI]), 1)
