"""The influxdb output end to end against the real InfluxDB from Debian
(the influxdb package's influxd, run on loopback with a temp config and
data directory): points posted to /post are queried back with /query and
compared value by value, tag by tag, timestamp by timestamp; the database
is created when InfluxDB says it is missing; points are buffered while
influxd is down and all arrive once it is back; failover; several
messages in one write; a partial write counts only the points InfluxDB
dropped; json messages are reported, not lost silently, and tag values
InfluxDB cannot read back are refused at the door."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import AgentTest, ClosedPort, free_port, wait_until
from rawpeer import RawServer

INFLUXD = shutil.which("influxd") or (
    "/usr/bin/influxd" if os.access("/usr/bin/influxd", os.X_OK) else None)
NS = "pool.loda"
DB = "collect." + NS
HOST = socket.gethostname()


def squeeze(s):
    """The agent's tag normalization: trimmed, inner blanks -> one '-'."""
    return "-".join(s.replace("\t", " ").split())


class Influxd:
    """One influxd on loopback, with everything under a temp directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="influxd-it-")
        self.port = free_port()
        self.rpc_port = free_port()
        self.proc = None
        self.conf = os.path.join(self.dir, "influxdb.conf")
        d = self.dir
        with open(self.conf, "w") as f:
            f.write(
                "reporting-disabled = true\n"
                f'bind-address = "127.0.0.1:{self.rpc_port}"\n'
                "[meta]\n"
                f'  dir = "{d}/meta"\n'
                "[data]\n"
                f'  dir = "{d}/data"\n'
                f'  wal-dir = "{d}/wal"\n'
                "  query-log-enabled = false\n"
                "[monitor]\n"
                "  store-enabled = false\n"
                "[http]\n"
                "  enabled = true\n"
                f'  bind-address = "127.0.0.1:{self.port}"\n'
                "  log-enabled = false\n"
                "[ifql]\n"
                "  enabled = false\n"
                "[continuous_queries]\n"
                "  enabled = false\n"
                "[logging]\n"
                '  level = "warn"\n')
        # no [[udp]], [[graphite]], [[collectd]] or [[opentsdb]]: their
        # services stay off

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=20):
        log = open(os.path.join(self.dir, "influxd.log"), "ab")
        self.proc = subprocess.Popen([INFLUXD, "run", "-config", self.conf],
                                     stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()

        def ping():
            if self.proc.poll() is not None:
                raise AssertionError(f"influxd exited: {self.log()}")
            return self.request("GET", "/ping")[0] == 204
        try:
            wait_until(ping, timeout=timeout, step=0.05,
                       what="influxd to answer /ping with 204")
        except AssertionError:
            self.stop()
            raise
        return self

    def stop(self):
        """SIGTERM by pid, SIGKILL if it does not go."""
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(os.path.join(self.dir, "influxd.log"),
                      errors="replace") as f:
                return f.read()[-2000:]
        except FileNotFoundError:
            return ""

    def request(self, method, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            c.request(method, path)
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def query(self, q, db=None):
        params = {"q": q, "epoch": "s"}
        if db is not None:
            params["db"] = db
        status, body = self.request("GET", "/query?" +
                                    urllib.parse.urlencode(params))
        if status != 200:
            raise AssertionError(f"/query {q!r}: HTTP {status} {body}")
        res = json.loads(body)["results"][0]
        if "error" in res:
            raise AssertionError(f"/query {q!r}: {res['error']}")
        return res

    def databases(self):
        res = self.query("SHOW DATABASES")
        return {v[0] for s in res.get("series", [])
                for v in s.get("values", [])}

    def points(self, measurement, db=DB):
        """(tags, value, time) of every point of `measurement`."""
        q = 'SELECT * FROM "%s"' % measurement.replace('"', '\\"')
        res = self.query(q, db=db)
        out = []
        for s in res.get("series", []):
            cols = s["columns"]
            for row in s["values"]:
                r = dict(zip(cols, row))
                tags = {k: v for k, v in r.items()
                        if k not in ("time", "value") and v is not None}
                out.append((tags, r["value"], r["time"]))
        return out


def key(tags, value, ts):
    # the type is part of the key (True == 1 in Python); numbers are
    # floats in InfluxDB, whatever JSON made of them
    if isinstance(value, bool):
        return (tuple(sorted(tags.items())), "bool", value, ts)
    return (tuple(sorted(tags.items())), "num", float(value), ts)


def expected(p):
    tags = {squeeze(k): squeeze(v) for k, v in p["tags"].items()}
    tags.setdefault("host", HOST)
    return key(tags, p["value"], p["timestamp"])


@unittest.skipUnless(INFLUXD, "influxd is not installed: apt-get install "
                     "influxdb (or make deps) to run the influxdb output "
                     "tests")
class InfluxDB(AgentTest):

    def influxd(self):
        i = Influxd()
        self.addCleanup(i.cleanup)
        return i.start()

    def configure(self, servers, extra=""):
        self.agent.write_conf(
            agent_extra=f'\tnamespaces = [ "{NS}" ]\n',
            output_name="influxdb",
            servers=", ".join(f'"{s}"' for s in servers),
            output_extra=extra)

    def post_ok(self, points):
        code, body = self.agent.http("/post", method="POST",
                                     data=json.dumps(points))
        self.assertEqual(code, 200, body)

    def stats(self):
        return self.agent.worker(self.agent.status(), "sender").get(
            "stats") or {}

    def wait_stats(self, pred, what, timeout=15):
        return wait_until(lambda: (lambda s: s if pred(s) else None)(
            self.stats()), timeout=timeout, what=what)

    def assert_stored(self, influxd, measurement, points, timeout=15):
        """InfluxDB holds exactly `points` in `measurement`."""
        want = sorted(expected(p) for p in points)

        def have():
            if DB not in influxd.databases():
                return None
            got = influxd.points(measurement)
            return got if len(got) >= len(want) else None
        got = wait_until(have, timeout=timeout,
                         what=f"{len(want)} points in {measurement}")
        self.assertEqual(sorted(key(*g) for g in got), want)

    @staticmethod
    def numbers(first, count, base):
        """RUN.x points, numbered by their seq tag: ints and floats."""
        vals = [0, 1, -7, 42, 123456789, 2 ** 40, 0.5, -2.25, 3.14159,
                1e-7, 6.02e23, 0.1]
        return [{"name": "x", "timestamp": base + i,
                 "tags": {"seq": str(i), "dc": "east"},
                 "value": vals[i % len(vals)]}
                for i in range(first, first + count)]

    # -----------------------------------------------------------------
    def test_points_queryable_and_database_created(self):
        ix = self.influxd()
        self.assertNotIn(DB, ix.databases())
        self.configure([ix.url], '\tformat = "line"\n')
        self.start_ok()
        base = int(time.time()) - 86400
        nums = self.numbers(0, 60, base)
        # tags the line protocol must escape, and non-ASCII ones
        odd = [
            {"name": "x", "timestamp": base + 1000,
             "tags": {"seq": "s1", "space": "a b  c"}, "value": 1.5},
            {"name": "x", "timestamp": base + 1001,
             "tags": {"seq": "s2", "comma": "a,b,,c"}, "value": 2},
            {"name": "x", "timestamp": base + 1002,
             "tags": {"seq": "s3", "equals": "k=v=="}, "value": -3},
            {"name": "x", "timestamp": base + 1003,
             "tags": {"seq": "s4", "all": " x, y=z "}, "value": 4.25},
            {"name": "x", "timestamp": base + 1004,
             "tags": {"seq": "s5", "city": "Zürich", "名前": "東京"},
             "value": 5},
            {"name": "x", "timestamp": base + 1005,
             "tags": {"seq": "s6", "emoji": "🙂 ok", "k,e y=": "v"},
             "value": 6.5},
            {"name": "x", "timestamp": base + 1006,
             "tags": {"seq": "s7", "slash": "back\\slash"}, "value": 7},
        ]
        bools = [{"name": "flag", "timestamp": base + i,
                  "tags": {"seq": str(i)}, "value": i % 3 == 0}
                 for i in range(20)]
        self.post_ok(nums[:30])
        self.post_ok(odd + bools[:10])
        self.post_ok(nums[30:] + bools[10:])
        self.assert_stored(ix, "RUN.x", nums + odd)
        self.assert_stored(ix, "RUN.flag", bools)
        st = self.wait_stats(lambda s: s.get("published") ==
                             len(nums) + len(odd) + len(bools),
                             "every point published")
        self.assertEqual(st["accepted"], st["published"], st)
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["buffer_points"], 0, st)
        # made by the agent: it did not exist before the first write
        self.assertIn(DB, ix.databases())
        self.agent.wait_log(r'influxdb: .*created database "%s"' %
                            DB.replace(".", r"\."))

    def test_influxd_down_then_up(self):
        ix = self.influxd()
        # no format key: line is the default for the influxdb output
        self.configure([ix.url])
        self.start_ok()
        base = int(time.time()) - 3600
        before = self.numbers(0, 100, base)
        self.post_ok(before)
        self.assert_stored(ix, "RUN.x", before)
        # stored is not yet answered: influxd stopped before its 200
        # reached the sender would leave them buffered too
        self.wait_stats(lambda s: s.get("published") == len(before),
                        "the first points published")
        ix.stop()
        during = []
        for i in range(5):
            pts = self.numbers(100 + i * 50, 50, base)
            self.post_ok(pts)           # buffered, so 200
            during.extend(pts)
        st = self.wait_stats(lambda s: s.get("publish_errors", 0) > 0 and
                             s.get("buffer_points") == len(during),
                             "failed writes with the points buffered")
        self.assertIn(f"127.0.0.1:{ix.port}", st["last_error"])
        self.assertEqual(st["published"], len(before), st)
        ix.start()
        self.assert_stored(ix, "RUN.x", before + during, timeout=20)
        st = self.wait_stats(
            lambda s: s.get("published") == len(before) + len(during),
            "every point published")
        self.assertEqual(st["accepted"], len(before) + len(during), st)
        self.assertEqual(st["buffer_points"], 0, st)
        self.assertGreaterEqual(st["reconnects"], 1, st)

    def test_failover_from_a_closed_port(self):
        closed = ClosedPort()
        self.addCleanup(closed.close)
        ix = self.influxd()
        self.configure([f"http://127.0.0.1:{closed.port}", ix.url])
        self.start_ok()
        base = int(time.time()) - 7200
        sent = []
        for i in range(6):
            pts = self.numbers(i * 20, 20, base)
            self.post_ok(pts)
            sent.extend(pts)
            # separate messages, so that each starts at another server
            time.sleep(0.05)
        self.assert_stored(ix, "RUN.x", sent)
        st = self.wait_stats(lambda s: s.get("published") == len(sent),
                             "every point published")
        # failing over is within one attempt: no failed message
        self.assertEqual(st["publish_errors"], 0, st)
        # the closed port was tried, and refused
        self.agent.wait_log(rf"influxdb: (http://)?127\.0\.0\.1:"
                            rf"{closed.port}\S*: .*([Rr]efused|"
                            r"[Cc]ouldn't connect)")

    def test_a_server_refusing_every_write_costs_no_point(self):
        """One of two servers answers every write 400 "unable to parse"
        (a broken InfluxDB, a proxy): the other stores them all, none is
        dropped.  A 400 ended the request at once as refused by every
        server: its points were dropped, the other server up."""
        body = b'{"error":"unable to parse \'x\': invalid field format"}'

        def session(r):
            while True:
                r.http_request()
                r.http_answer(b"400 Bad Request", body, b"application/json")
        srv = RawServer(self, session)
        ix = self.influxd()
        self.configure([f"http://{srv.address}", ix.url])
        self.start_ok()
        base = int(time.time()) - 7200
        sent = []
        for i in range(6):
            pts = self.numbers(i * 20, 20, base)
            self.post_ok(pts)
            sent.extend(pts)
            time.sleep(0.05)
        self.assert_stored(ix, "RUN.x", sent)
        st = self.wait_stats(lambda s: s.get("published") == len(sent),
                             "every point published")
        self.assertEqual(st["dropped_rejected"], 0, st)
        self.assertTrue(srv.conns, "the refusing server was never asked")

    def test_trailing_backslash_is_refused_at_the_door(self):
        ix = self.influxd()
        self.configure([ix.url])
        self.start_ok()
        now = int(time.time())
        # InfluxDB 1.x cannot read a tag value ending in a backslash
        # back from line protocol: 400 naming the point and the tag,
        # rather than a 200 and a line InfluxDB refuses
        code, body = self.agent.http("/post", method="POST", data=json.dumps(
            [{"name": "x", "timestamp": now, "tags": {"dc": "a"},
              "value": 1},
             {"name": "x", "timestamp": now, "tags": {"path": "C:\\"},
              "value": 1}]))
        self.assertEqual(code, 400, body)
        err = json.loads(body)
        self.assertEqual(err["index"], 1, err)
        self.assertIn('point 1: name "RUN.x", tag "path": value "C:\\\\" '
                      'ends in a backslash', err["error"])
        # the same from /write: two backslashes and an escaped blank,
        # trimmed, leave a value ending in one
        code, body = self.agent.http(
            "/write", method="POST",
            data="x,path=a\\\\\\  value=1\n")
        self.assertEqual(code, 400, body)
        self.assertIn("ends in a backslash", body)
        # nothing of either reached the sender; what follows goes
        self.post_ok([{"name": "x", "timestamp": now,
                       "tags": {"path": "back\\slash"}, "value": 2}])
        st = self.wait_stats(lambda s: s.get("published", 0) == 1,
                             "the next point published")
        self.assertEqual(st["accepted"], 1, st)
        self.assertEqual(st["dropped_rejected"], 0, st)
        self.assert_stored(ix, "RUN.x", [
            {"name": "x", "timestamp": now, "tags": {"path": "back\\slash"},
             "value": 2}])

    def test_partial_write_counts_only_the_dropped_points(self):
        ix = self.influxd()
        self.configure([ix.url])
        self.start_ok()
        base = int(time.time()) - 600
        floats = [{"name": "y", "timestamp": base + i,
                   "tags": {"seq": str(i)}, "value": i + 0.5}
                  for i in range(5)]
        self.post_ok(floats)
        self.assert_stored(ix, "RUN.y", floats)
        # booleans on a float field: InfluxDB stores the floats of the
        # request, drops the booleans and says "partial write ...
        # dropped=3"
        bools = [{"name": "y", "timestamp": base + 100 + i,
                  "tags": {"seq": "b%d" % i}, "value": True}
                 for i in range(3)]
        more = [{"name": "y", "timestamp": base + 200 + i,
                 "tags": {"seq": "m%d" % i}, "value": i * 2.0}
                for i in range(4)]
        self.post_ok(bools[:1] + more[:2] + bools[1:] + more[2:])
        st = self.wait_stats(lambda s: s.get("dropped_rejected", 0) == 3 and
                             s.get("published", 0) == 9,
                             "3 dropped, 9 published")
        self.assertEqual(st["buffer_points"], 0, st)
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertIn("influxdb partial write", st["last_error"])
        self.assertIn("field type conflict", st["last_error"])
        self.assertIn("dropped=3", st["last_error"])
        self.agent.wait_log(r"the output stored 4 of 7 points and refused 3 "
                            r"for good: influxdb partial write")
        self.assert_stored(ix, "RUN.y", floats + more)
        # nothing is held up, nothing sent again
        last = [{"name": "y", "timestamp": base + 300, "tags": {"seq": "z"},
                 "value": 7.0}]
        self.post_ok(last)
        self.assert_stored(ix, "RUN.y", floats + more + last)
        st = self.wait_stats(lambda s: s.get("published", 0) == 10,
                             "published == 10")
        self.assertEqual(st["dropped_rejected"], 3, st)

    def test_several_messages_in_one_write(self):
        ix = self.influxd()
        self.configure([ix.url], "\tbatchpoints = 10\n")
        self.start_ok()
        base = int(time.time()) - 5000
        sent = self.numbers(0, 400, base)
        self.post_ok(sent)
        self.assert_stored(ix, "RUN.x", sent)
        st = self.wait_stats(lambda s: s.get("published") == 400,
                             "every point published")
        self.assertEqual(st["messages"], 40, st)
        # the messages of a request go in one /write
        self.assertLess(st["requests"], st["messages"], st)
        self.assertEqual(st["publish_errors"], 0, st)

    def test_json_format_is_refused_with_a_clear_error(self):
        # every point would be refused by InfluxDB after its 200: the
        # config is refused instead, at start, check and reload
        self.configure([f"http://127.0.0.1:{free_port()}"],
                       '\tformat = "json"\n')
        for cmd in ("check", "start"):
            r = self.agent.run(cmd)
            self.assertEqual(r.returncode, 2, r.stdout)
            self.assertIn('[output] format = "json": the influxdb output '
                          'writes line protocol only', r.stderr)

    def test_points_waiting_in_json_are_written_after_a_reload(self):
        """Points are encoded once, by their producer: those taken in
        json while the output was nsq (down) and still waiting when a
        reload makes it influxdb are rewritten as lines and stored,
        escapes, floats and booleans alike (they were dropped as refused
        after their 200); what line protocol cannot say is counted as
        refused, not as published."""
        ix = self.influxd()
        down = ClosedPort()
        self.addCleanup(down.close)
        self.agent.write_conf(
            agent_extra=f'\tnamespaces = [ "{NS}" ]\n',
            output_name="nsq", servers=f'"127.0.0.1:{down.port}"')
        self.start_ok()
        base = int(time.time()) - 3600
        nums = self.numbers(0, 300, base)
        odd = [
            {"name": "x", "timestamp": base + 1000,
             "tags": {"seq": "s1", "all": " x, y=z ", "k,e y=": "v"},
             "value": 4.25},
            {"name": "x", "timestamp": base + 1001,
             "tags": {"seq": "s2", "city": "Zürich <&>"}, "value": 6.02e23},
            {"name": "x", "timestamp": base + 1002,
             "tags": {"seq": "s3", "slash": "back\\slash"}, "value": -0.0},
        ]
        flags = [{"name": "flag", "timestamp": base + i,
                  "tags": {"seq": str(i)}, "value": i % 2 == 0}
                 for i in range(10)]
        # taken in json, where a tag may end in a backslash: no line can
        # say it, so it is never sent, and counted as refused
        lost = [{"name": "x", "timestamp": base + 2000,
                 "tags": {"seq": "l1", "path": "C:\\"}, "value": 1}]
        self.post_ok(nums[:150] + odd + lost)
        self.post_ok(nums[150:] + flags)
        n = len(nums) + len(odd) + len(flags) + len(lost)
        self.wait_stats(lambda s: s.get("accepted") == n and
                        s.get("publish_errors", 0) > 0,
                        "points taken in json, the output down")
        self.configure([ix.url])
        self.assertEqual(self.agent.run("reload").returncode, 0)
        self.assert_stored(ix, "RUN.x", nums + odd, timeout=30)
        self.assert_stored(ix, "RUN.flag", flags)
        st = self.wait_stats(lambda s: s.get("published", 0) +
                             s.get("dropped_rejected", 0) == n,
                             "every point published or refused")
        self.assertEqual((st["published"], st["dropped_rejected"]),
                         (n - 1, 1), st)



class InfluxCredentials(AgentTest):
    """An InfluxDB with authentication is written to as
    http://user:password@host:port (libcurl sends them as Basic).  When
    it failed, the sender's last_error named the server as configured,
    password and all, and /me/status, open to every client of the API
    (other hosts too, with no token), showed it."""

    def test_me_status_does_not_show_the_password(self):
        down = ClosedPort()
        self.addCleanup(down.close)
        self.agent.write_conf(
            agent_extra=f'\tnamespaces = [ "{NS}" ]\n',
            output_name="influxdb",
            servers=f'"http://writer:s3cretpw@127.0.0.1:{down.port}"')
        self.start_ok()
        code, body = self.agent.http("/post", method="POST", data=json.dumps(
            [{"name": "c.m", "timestamp": 0, "tags": {}, "value": 1}]))
        self.assertEqual(code, 200, body)

        def failed():
            code, body = self.agent.http("/me/status")
            st = self.agent.worker(json.loads(body), "sender")
            err = (st.get("stats") or {}).get("last_error")
            return body if err else None
        body = wait_until(failed, timeout=15, what="the sender's last_error")
        self.assertNotIn("s3cretpw", body)
        self.assertIn(f"127.0.0.1:{down.port}", body)
        code, body = self.agent.http("/metrics")
        self.assertNotIn("s3cretpw", body)
