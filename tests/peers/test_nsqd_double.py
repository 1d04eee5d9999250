"""Self-test of the nsqd double (tests/peers/nsqd.py).

Run from the repository root:
    python3 -m unittest tests/peers/test_nsqd_double.py
It talks to the double the way a client would: raw sockets for the TCP
protocol V2, urllib/http.client for the HTTP API.
"""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import select
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import nsqd  # noqa: E402

MAGIC = b"  V2"


# ----------------------------------------------------------------- helpers
def pub(topic, body):
    return b"PUB %s\n" % topic.encode() + struct.pack(">i", len(body)) + body


def dpub(topic, defer, body):
    return (b"DPUB %s %d\n" % (topic.encode(), defer)
            + struct.pack(">i", len(body)) + body)


def mpub(topic, bodies):
    inner = struct.pack(">i", len(bodies)) + b"".join(
        struct.pack(">i", len(b)) + b for b in bodies)
    return b"MPUB %s\n" % topic.encode() + struct.pack(">i", len(inner)) + inner


def identify(**fields):
    body = json.dumps(fields).encode()
    return b"IDENTIFY\n" + struct.pack(">i", len(body)) + body


class Wire:
    """A raw TCP client of the double."""

    def __init__(self, port, magic=True, timeout=3.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if magic:
            self.s.sendall(MAGIC)

    def send(self, data):
        self.s.sendall(data)

    def _read(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                return None
            out += chunk
        return out

    def frame(self, timeout=3.0):
        """(type, data), or None at EOF."""
        self.s.settimeout(timeout)
        head = self._read(8)
        if head is None:
            return None
        size, ftype = struct.unpack(">ii", head)
        data = self._read(size - 4)
        return ftype, data

    def closed(self, timeout=10.0):
        """True when the server closes (EOF or reset) within timeout (a
        bound for a hang only)."""
        self.s.settimeout(timeout)
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def wait_until(pred, what, timeout=30.0):
    """Poll pred until true; the timeout is a bound for a hang only."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def run_in_thread(fn, *args):
    """Start fn(*args) in a thread; the returned function joins it and
    gives what fn returned or the exception it raised (so that an
    assertion about it is made in the test's own thread)."""
    out = {}

    def body():
        try:
            out["value"] = fn(*args)
        except BaseException as e:          # handed to the test thread
            out["value"] = e
    t = threading.Thread(target=body)
    t.start()

    def join():
        t.join(120)                         # a bound for a hang only
        if t.is_alive():
            raise AssertionError(f"{fn.__name__} did not return")
        return out["value"]
    return join


def readable(w):
    """Has the double sent w anything (or closed it) yet?  No waiting."""
    r, _, _ = select.select([w.s], [], [], 0)
    return bool(r)


def hreq(port, method, path, body=None, headers=None, timeout=3.0):
    """(status, body bytes) via urllib; HTTP errors are returned, not raised."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def double_threads():
    return [t for t in threading.enumerate()
            if t.name.startswith("nsqd-double")
            or "process_request_thread" in t.name]


class DoubleCase(unittest.TestCase):
    """One double per class (default limits, 30 s heartbeat)."""

    double_args = {}

    @classmethod
    def setUpClass(cls):
        cls.state = tempfile.mkdtemp(prefix="nsqd-double-test-")
        cls.d = nsqd.NsqdDouble(state_dir=cls.state, **cls.double_args)
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        shutil.rmtree(cls.state, ignore_errors=True)

    def setUp(self):
        self.d.set_fault("ok")
        self.d.reset()
        self.wires = []

    def tearDown(self):
        for w in self.wires:
            w.close()

    def wire(self, **kw):
        w = Wire(self.d.tcp_port, **kw)
        self.wires.append(w)
        return w

    def assert_error(self, w, prefix):
        f = w.frame()
        self.assertIsNotNone(f, "connection closed without an error frame")
        self.assertEqual(f[0], nsqd.FRAME_ERROR, f)
        self.assertTrue(f[1].decode().startswith(prefix), f)
        self.assertTrue(w.closed(), "fatal error did not close")
        return f[1].decode()

    def assert_ok(self, w):
        self.assertEqual(w.frame(), (nsqd.FRAME_RESPONSE, b"OK"))


# --------------------------------------------------------------- TCP tests
class TCPProtocol(DoubleCase):

    def test_identify_feature_negotiation(self):
        w = self.wire()
        w.send(identify(client_id="t", hostname="h", feature_negotiation=True,
                        tls_v1=True, deflate=True, user_agent="test/1"))
        ftype, data = w.frame()
        self.assertEqual(ftype, nsqd.FRAME_RESPONSE)
        neg = json.loads(data)
        for key in ("max_rdy_count", "version", "max_msg_timeout",
                    "msg_timeout", "output_buffer_size",
                    "output_buffer_timeout"):
            self.assertIsInstance(neg[key], (int, str), key)
        for key in ("tls_v1", "deflate", "snappy", "auth_required"):
            self.assertIs(neg[key], False, key)
        self.assertEqual(neg["sample_rate"], 0)
        self.assertEqual(neg["max_rdy_count"], 2500)
        w.send(pub("t", b"x"))
        self.assert_ok(w)
        ident = [c["identify"] for c in self.d.clients()
                 if c["identify"] and c["identify"].get("client_id") == "t"]
        self.assertEqual(ident[-1]["user_agent"], "test/1")

    def test_identify_without_negotiation_and_twice(self):
        w = self.wire()
        w.send(identify(client_id="t"))
        self.assert_ok(w)
        w.send(identify(client_id="t"))
        self.assert_error(w, "E_INVALID")
        w = self.wire()
        w.send(b"IDENTIFY\n" + struct.pack(">i", 5) + b"nope!")
        self.assert_error(w, "E_BAD_BODY")

    def test_bad_magic_closes(self):
        for magic in (b"  V1", b"GET / HTTP/1.1\r\n\r\n"):
            w = self.wire(magic=False)
            w.send(magic)
            self.assertEqual(self.assert_error(w, "E_BAD_PROTOCOL"),
                             "E_BAD_PROTOCOL")

    def test_pub(self):
        w = self.wire()
        body = b"line1\nline2\x00\xff"
        w.send(pub("collect.web", body))
        self.assert_ok(w)
        w.send(pub("collect.web", b"second"))     # connection stays usable
        self.assert_ok(w)
        ms = self.d.messages("collect.web")
        self.assertEqual([m.body for m in ms], [body, b"second"])
        self.assertEqual({m.transport for m in ms}, {"tcp"})
        self.assertEqual(ms[0].command, "PUB")

    def test_pipelined_commands(self):
        w = self.wire()
        w.send(b"".join(pub("p", b"%d" % i) for i in range(5)) + b"NOP\n"
               + pub("p", b"5"))
        for _ in range(6):
            self.assert_ok(w)
        self.assertEqual(self.d.bodies("p"), [b"%d" % i for i in range(6)])

    def test_mpub(self):
        w = self.wire()
        bodies = [b"a", b"bb\nb", b"c" * 1000]
        w.send(mpub("m", bodies))
        self.assert_ok(w)
        self.assertEqual(self.d.bodies("m"), bodies)
        self.assertEqual(self.d.messages("m")[0].command, "MPUB")

    def test_mpub_inconsistent_body(self):
        inner = struct.pack(">i", 2) + struct.pack(">i", 1) + b"a"
        w = self.wire()    # declares 2 messages, holds 1
        w.send(b"MPUB m\n" + struct.pack(">i", len(inner)) + inner)
        self.assertEqual(self.assert_error(w, "E_BAD_MESSAGE"),
                         "E_BAD_MESSAGE MPUB failed to read message(1) "
                         "body size")
        w = self.wire()    # a message cut short
        inner = struct.pack(">i", 1) + struct.pack(">i", 5) + b"abc"
        w.send(b"MPUB m\n" + struct.pack(">i", len(inner)) + inner)
        self.assertEqual(self.assert_error(w, "E_BAD_MESSAGE"),
                         "E_BAD_MESSAGE MPUB failed to read message body")
        w = self.wire()    # trailing garbage after the messages
        inner = struct.pack(">i", 1) + struct.pack(">i", 1) + b"a" + b"zz"
        w.send(b"MPUB m\n" + struct.pack(">i", len(inner)) + inner)
        self.assert_error(w, "E_BAD_BODY")
        w = self.wire()    # zero messages
        w.send(b"MPUB m\n" + struct.pack(">i", 4) + struct.pack(">i", 0))
        self.assertEqual(self.assert_error(w, "E_BAD_BODY"),
                         "E_BAD_BODY MPUB invalid message count 0")
        w = self.wire()    # an empty message
        inner = struct.pack(">ii", 1, 0)
        w.send(b"MPUB m\n" + struct.pack(">i", len(inner)) + inner)
        self.assertEqual(self.assert_error(w, "E_BAD_MESSAGE"),
                         "E_BAD_MESSAGE MPUB invalid message(0) body size 0")
        w = self.wire()    # more messages than the body limit allows
        inner = struct.pack(">i", 1048576) + b"\0" * 8
        w.send(b"MPUB m\n" + struct.pack(">i", len(inner)) + inner)
        self.assertEqual(self.assert_error(w, "E_BAD_BODY"),
                         "E_BAD_BODY MPUB invalid message count 1048576")
        self.assertEqual(self.d.message_count(), 0)

    def test_dpub(self):
        w = self.wire()
        w.send(dpub("d", 1500, b"later"))
        self.assert_ok(w)
        m = self.d.messages("d")[0]
        self.assertEqual((m.body, m.defer_ms, m.command),
                         (b"later", 1500, "DPUB"))

    def test_bad_topic(self):
        for topic in ("bad!topic", "a" * 65, "", "x#other", "#ephemeral",
                      "caf\u00e9", "a/b"):
            w = self.wire()
            w.send(b"PUB " + topic.encode() + b"\n" + struct.pack(">i", 1)
                   + b"x")
            text = self.assert_error(w, "E_BAD_TOPIC")
            self.assertIn("PUB topic name", text)
            self.assertTrue(text.endswith("is not valid"), text)
        w = self.wire()
        w.send(mpub("no/slash", [b"x"]))
        self.assert_error(w, "E_BAD_TOPIC MPUB")
        w = self.wire()
        for topic in ("a" * 64, "a.b_c-D9", "t#ephemeral", "x"):
            w.send(pub(topic, b"ok"))
            self.assert_ok(w)
        self.assertEqual(self.d.message_count(), 4)

    def test_oversized_message(self):
        w = self.wire()     # only the header: rejected before the body
        w.send(b"PUB big\n" + struct.pack(">i", 2000000))
        self.assertEqual(self.assert_error(w, "E_BAD_MESSAGE"),
                         "E_BAD_MESSAGE PUB message too big 2000000 > 1048576")
        w = self.wire()
        w.send(b"PUB big\n" + struct.pack(">i", 0))
        self.assert_error(w, "E_BAD_MESSAGE PUB invalid message body size 0")

    def test_oversized_body(self):
        w = self.wire()
        w.send(b"MPUB big\n" + struct.pack(">i", 6000000))
        self.assertEqual(self.assert_error(w, "E_BAD_BODY"),
                         "E_BAD_BODY MPUB body too big 6000000 > 5242880")

    def test_message_at_limit_accepted(self):
        w = self.wire()
        w.send(pub("lim", b"x" * 1048576))
        self.assert_ok(w)
        self.assertEqual(self.d.messages("lim")[0].size, 1048576)

    def test_unknown_and_consumer_commands(self):
        w = self.wire()
        w.send(b"FOO bar\n")
        self.assertEqual(self.assert_error(w, "E_INVALID"),
                         "E_INVALID invalid command FOO")
        w = self.wire()
        w.send(b"SUB t c\n")
        self.assert_error(w, "E_INVALID")
        w = self.wire()
        w.send(b"PUB\n")
        self.assert_error(w, "E_INVALID PUB insufficient number of parameters")

    def test_nop_has_no_response(self):
        # the first frame after NOP then PUB is the PUB's OK
        w = self.wire()
        w.send(b"NOP\n")
        w.send(pub("n", b"1"))
        self.assert_ok(w)
        self.assertEqual(self.d.bodies("n"), [b"1"])


class TCPSmallLimits(DoubleCase):
    double_args = {"max_msg_size": 10, "max_body_size": 100}

    def test_mpub_message_too_big(self):
        w = self.wire()
        w.send(mpub("s", [b"ok", b"x" * 11]))
        self.assertEqual(self.assert_error(w, "E_BAD_MESSAGE"),
                         "E_BAD_MESSAGE MPUB message too big 11 > 10")
        self.assertEqual(self.d.message_count(), 0)   # MPUB is atomic

    def test_configured_limits(self):
        w = self.wire()
        w.send(pub("s", b"x" * 11))
        self.assert_error(w, "E_BAD_MESSAGE PUB message too big 11 > 10")
        w = self.wire()
        w.send(mpub("s", [b"x" * 10] * 8))    # 4 + 8 * 14 = 116 > 100
        self.assert_error(w, "E_BAD_BODY MPUB body too big 116 > 100")
        self.assertEqual(hreq(self.d.http_port, "POST", "/pub?topic=s",
                              b"x" * 11)[0], 413)
        # the same limits on a binary /mpub
        for data, code in (
                (struct.pack(">ii", 1, 11) + b"x" * 11, "BAD_MESSAGE"),
                (struct.pack(">i", 8) + (struct.pack(">i", 10) + b"x" * 10)
                 * 8, "BODY_TOO_BIG")):
            status, body = hreq(self.d.http_port, "POST",
                                "/mpub?topic=s&binary=true", data)
            self.assertEqual((status, json.loads(body)["message"]),
                             (413, code))
        self.assertEqual(self.d.message_count(), 0)


class Heartbeats(DoubleCase):
    double_args = {"heartbeat_ms": 200, "min_heartbeat_ms": 100}

    # Order of events, not time: the double hangs up after two heartbeat
    # intervals without a byte from the client, so six heartbeats on one
    # connection show the NOPs kept it.  Frame waits of 5 s are bounds for
    # a hang only.
    def test_heartbeat_answered_with_nop_keeps_alive(self):
        timeouts = self.d.counters()["tcp_timeouts"]
        w = self.wire()
        w.send(identify(feature_negotiation=True))
        self.assertEqual(w.frame()[0], nsqd.FRAME_RESPONSE)
        for _ in range(6):
            f = w.frame(timeout=5.0)
            self.assertEqual(f, (nsqd.FRAME_RESPONSE, b"_heartbeat_"))
            w.send(b"NOP\n")
        w.send(pub("hb", b"still here"))
        self.assert_ok(w)
        self.assertEqual(self.d.counters()["tcp_timeouts"], timeouts)

    def test_missing_nop_disconnects(self):
        timeouts = self.d.counters()["tcp_timeouts"]
        w = self.wire()
        w.send(identify(client_id="silent"))
        self.assert_ok(w)
        frames = []
        while True:
            f = w.frame(timeout=5.0)
            if f is None:
                break
            frames.append(f)
        # heartbeats first (not a close before the first interval), and
        # nothing but heartbeats, then the close for silence
        self.assertIn((nsqd.FRAME_RESPONSE, b"_heartbeat_"), frames)
        self.assertEqual(set(frames), {(nsqd.FRAME_RESPONSE, b"_heartbeat_")})
        self.assertEqual(self.d.counters()["tcp_timeouts"], timeouts + 1)

    def test_identify_heartbeat_interval(self):
        # slow at 2000 ms, opened first; fast at 120 ms: the fast one's
        # heartbeats come while the slow one has had none
        slow = self.wire()
        slow.send(identify(heartbeat_interval=2000))
        self.assert_ok(slow)
        fast = self.wire()
        fast.send(identify(heartbeat_interval=120))
        self.assert_ok(fast)
        for _ in range(3):
            self.assertEqual(fast.frame(timeout=5.0),
                             (nsqd.FRAME_RESPONSE, b"_heartbeat_"))
            fast.send(b"NOP\n")
        self.assertFalse(readable(slow))
        hb = {c["heartbeat_interval"] for c in self.d.clients()
              if c["open"]}
        self.assertLessEqual({120, 2000}, hb)
        w = self.wire()
        w.send(identify(heartbeat_interval=50))     # below the minimum
        self.assert_error(w, "E_BAD_BODY IDENTIFY heartbeat interval (50)")
        # disabled: opened before a default one (200 ms) that then has two
        # heartbeats, it has none and is still open (no idle close either)
        off = self.wire()
        off.send(identify(heartbeat_interval=-1))
        self.assert_ok(off)
        on = self.wire()
        on.send(identify())
        self.assert_ok(on)
        for _ in range(2):
            self.assertEqual(on.frame(timeout=5.0),
                             (nsqd.FRAME_RESPONSE, b"_heartbeat_"))
            on.send(b"NOP\n")
        self.assertFalse(readable(off))
        off.send(pub("off", b"x"))
        self.assert_ok(off)


# -------------------------------------------------------------- HTTP tests
class HTTPApi(DoubleCase):

    def req(self, method, path, body=None, **kw):
        return hreq(self.d.http_port, method, path, body, **kw)

    def test_pub(self):
        self.assertEqual(self.req("POST", "/pub?topic=h", b"one\ntwo"),
                         (200, b"OK"))
        m = self.d.messages("h")[0]
        self.assertEqual((m.body, m.transport, m.command),
                         (b"one\ntwo", "http", "pub"))

    def test_put_alias(self):
        body = b'{"database":"collect.web","points":[]}'
        self.assertEqual(self.req("POST", "/put?topic=collect.web", body,
                                  headers={"Content-Type":
                                           "application/json;charset=utf-8"}),
                         (200, b"OK"))
        self.assertEqual(self.req("POST", "/mput?topic=collect.web",
                                  b"a\nb"), (200, b"OK"))
        self.assertEqual(self.d.bodies("collect.web"), [body, b"a", b"b"])
        self.assertEqual(self.d.messages("collect.web")[0].command, "put")

    def test_mpub_text(self):
        self.assertEqual(self.req("POST", "/mpub?topic=mt", b"a\nbb\n\nccc\n"),
                         (200, b"OK"))
        self.assertEqual(self.d.bodies("mt"), [b"a", b"bb", b"ccc"])

    def test_mpub_binary(self):
        bodies = [b"x\ny", b"\x00\x01", b"z" * 300]
        data = struct.pack(">i", len(bodies)) + b"".join(
            struct.pack(">i", len(b)) + b for b in bodies)
        self.assertEqual(self.req("POST", "/mpub?topic=mb&binary=true", data),
                         (200, b"OK"))
        self.assertEqual(self.d.bodies("mb"), bodies)
        # nsqd 1.x: 413 and readMPUB's code without "E_"
        before = self.d.counters()["http_errors"]
        for bad, code in ((data[:-1], "BAD_MESSAGE"),
                          (data + b"z", "BAD_BODY"),
                          (b"", "BAD_BODY"),
                          (struct.pack(">i", 0), "BAD_BODY"),
                          (struct.pack(">ii", 1, 0), "BAD_MESSAGE")):
            status, body = self.req("POST", "/mpub?topic=mb&binary=true",
                                    bad)
            self.assertEqual((status, json.loads(body)["message"]),
                             (413, code), bad[:16])
        self.assertEqual(self.d.bodies("mb"), bodies)
        after = self.d.counters()["http_errors"]
        self.assertEqual({k: after[k] - before.get(k, 0)
                          for k in ("413 BAD_MESSAGE", "413 BAD_BODY")},
                         {"413 BAD_MESSAGE": 2, "413 BAD_BODY": 3})
        # "binary" present and not false: binary; "false": text
        self.assertEqual(self.req("POST", "/mpub?topic=mc&binary", data),
                         (200, b"OK"))
        self.assertEqual(self.req("POST", "/mpub?topic=md&binary=false",
                                  b"p\nq"), (200, b"OK"))
        self.assertEqual(self.d.bodies("mc"), bodies)
        self.assertEqual(self.d.bodies("md"), [b"p", b"q"])

    def test_errors(self):
        cases = [
            ("POST", "/pub?topic=bad!", b"x", 400, "INVALID_TOPIC"),
            ("POST", "/pub?topic=t%0A", b"x", 400, "INVALID_TOPIC"),
            ("POST", "/pub", b"x", 400, "MISSING_ARG_TOPIC"),
            ("POST", "/pub?topic=e", b"", 400, "MSG_EMPTY"),
            ("POST", "/mpub?topic=e", b"\n\n", 400, "MSG_EMPTY"),
            ("POST", "/pub?topic=e", b"x" * 1048577, 413, "MSG_TOO_BIG"),
            ("POST", "/mpub?topic=e", b"x\n" * 2621441, 413, "BODY_TOO_BIG"),
            ("GET", "/pub?topic=e", None, 405, "METHOD_NOT_ALLOWED"),
            ("POST", "/ping", b"", 405, "METHOD_NOT_ALLOWED"),
            ("GET", "/nope", None, 404, "NOT_FOUND"),
        ]
        for method, path, body, status, code in cases:
            got, data = self.req(method, path, body)
            self.assertEqual((got, json.loads(data)), (status,
                                                       {"message": code}),
                             path)
        self.assertEqual(self.d.message_count(), 0)

    def test_ping_info_stats(self):
        self.assertEqual(self.req("GET", "/ping"), (200, b"OK"))
        info = json.loads(self.req("GET", "/info")[1])
        self.assertEqual(info["tcp_port"], self.d.tcp_port)
        self.req("POST", "/mpub?topic=s1", b"a\nb")
        w = self.wire()
        w.send(pub("s2", b"c"))
        self.assert_ok(w)
        st = json.loads(self.req("GET", "/stats?format=json")[1])
        counts = {t["topic_name"]: t["message_count"] for t in st["topics"]}
        self.assertEqual(counts, {"s1": 2, "s2": 1})
        self.assertEqual(st["records"], 3)
        st = json.loads(self.req("GET", "/stats?format=json&topic=s2")[1])
        self.assertEqual([t["topic_name"] for t in st["topics"]], ["s2"])
        status, text = self.req("GET", "/stats")
        self.assertEqual(status, 200)
        self.assertIn(b"s1", text)

    def test_keep_alive(self):
        c = http.client.HTTPConnection("127.0.0.1", self.d.http_port,
                                       timeout=3)
        try:
            sock = None
            for i in range(5):
                c.request("POST", "/pub?topic=ka", body=b"m%d" % i)
                r = c.getresponse()
                self.assertEqual((r.status, r.read()), (200, b"OK"))
                self.assertEqual(r.getheader("Content-Length"), "2")
                self.assertFalse(r.will_close)
                if sock is None:
                    sock = c.sock
                self.assertIs(c.sock, sock)       # same TCP connection
            c.request("POST", "/pub?topic=bad!", body=b"x")   # errors too
            r = c.getresponse()
            self.assertEqual(r.status, 400)
            r.read()
            # no Nagle/delayed-ACK stall (~40 ms a request): the
            # double's end of this connection has TCP_NODELAY
            mine = c.sock.getsockname()
            ends = [x for x in self.d._httpd._conns
                    if x.getpeername() == mine]
            self.assertEqual(len(ends), 1)
            self.assertNotEqual(ends[0].getsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY), 0)
            c.request("POST", "/pub?topic=ka", body=iter([b"chu", b"nked"]),
                      encode_chunked=True)
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"OK"))
            self.assertIs(c.sock, sock)
        finally:
            c.close()
        self.assertEqual(self.d.bodies("ka"),
                         [b"m%d" % i for i in range(5)] + [b"chunked"])


# ------------------------------------------------------------ fault modes
class Faults(DoubleCase):

    def fault(self, mode):
        status, body = hreq(self.d.http_port, "POST",
                            f"/debug/fault?mode={mode}", b"")
        self.assertEqual((status, json.loads(body)), (200, {"mode": mode}))

    def test_fault_endpoint(self):
        self.assertEqual(json.loads(hreq(self.d.http_port, "GET",
                                         "/debug/fault")[1]), {"mode": "ok"})
        self.assertEqual(hreq(self.d.http_port, "POST",
                              "/debug/fault?mode=bogus", b"")[0], 400)
        self.d.set_fault("error")
        self.assertEqual(self.d.fault, "error")
        self.assertEqual(json.loads(hreq(self.d.http_port, "GET",
                                         "/debug/fault")[1]),
                         {"mode": "error"})

    def test_refuse(self):
        old = self.wire()
        old.send(identify())
        self.assert_ok(old)
        self.fault("refuse")
        self.assertTrue(old.closed(), "open connection survived refuse")
        for _ in range(3):   # reset at once: at connect, send or recv
            try:
                w = self.wire(magic=False)
                w.send(MAGIC + pub("r", b"x"))
            except (ConnectionResetError, BrokenPipeError):
                continue
            self.assertTrue(w.closed())
        status, body = hreq(self.d.http_port, "POST", "/pub?topic=r", b"x")
        self.assertEqual(status, 503)
        self.assertEqual(hreq(self.d.http_port, "GET", "/ping")[0], 503)
        self.assertEqual(self.d.message_count(), 0)
        self.assertGreaterEqual(self.d.counters()["tcp_refused"], 1)
        self.fault("ok")
        w = self.wire()
        w.send(pub("r", b"back"))
        self.assert_ok(w)

    def test_stall(self):
        old = self.wire()
        old.send(identify())
        self.assert_ok(old)
        self.fault("stall")
        old.send(pub("st", b"x"))
        new = self.wire()
        new.send(identify(feature_negotiation=True))
        # both held by the stall, neither answered
        wait_until(lambda: sum(c["stalled"] for c in self.d.clients()
                               if c["open"]) == 2, "two stalled clients")
        self.assertFalse(readable(old) or readable(new))
        # an HTTP request is read and held; when the stall ends its
        # connection is closed, still without an answer
        held = self.d.counters()["http_stalled"]
        got = run_in_thread(hreq, self.d.http_port, "POST", "/pub?topic=st",
                            b"x", None, 60)
        wait_until(lambda: self.d.counters()["http_stalled"] == held + 1,
                   "the HTTP request held")
        self.assertEqual(self.d.message_count(), 0)
        self.fault("ok")
        self.assertIsInstance(got(), (http.client.RemoteDisconnected,
                                      ConnectionResetError,
                                      urllib.error.URLError))
        self.assertFalse(readable(new))         # a stalled conn stays stalled
        w = self.wire()
        w.send(pub("st", b"y"))
        self.assert_ok(w)
        self.assertEqual(hreq(self.d.http_port, "POST", "/pub?topic=st",
                              b"z"), (200, b"OK"))
        self.assertEqual(self.d.bodies("st"), [b"y", b"z"])

    def test_drop(self):
        self.fault("drop")
        w = self.wire()
        w.send(identify())                      # not a publish: answered
        self.assert_ok(w)
        w.send(mpub("dr", [b"a", b"b"]))
        self.assertIsNone(w.frame(), "drop sent a frame")
        with self.assertRaises((http.client.RemoteDisconnected,
                                ConnectionResetError,
                                urllib.error.URLError)):
            hreq(self.d.http_port, "POST", "/pub?topic=dr", b"x")
        self.assertEqual(self.d.message_count(), 0)
        self.assertEqual(hreq(self.d.http_port, "GET", "/ping"), (200, b"OK"))

    def test_error(self):
        self.d.set_fault("error")                # in-process control
        w = self.wire()
        w.send(pub("er", b"x"))
        self.assert_error(w, "E_PUB_FAILED")
        w = self.wire()
        w.send(mpub("er", [b"x"]))
        self.assert_error(w, "E_MPUB_FAILED")
        status, body = hreq(self.d.http_port, "POST", "/mpub?topic=er", b"x")
        self.assertEqual((status, json.loads(body)["message"]),
                         (500, "INTERNAL_ERROR"))
        self.assertEqual(self.d.message_count(), 0)


# -------------------------------------------------------------- recording
class Recording(DoubleCase):

    def test_debug_messages_and_jsonl(self):
        w = self.wire()
        w.send(pub("rec", b"\x00tcp") + mpub("rec2", [b"m1", b"m2"]))
        self.assert_ok(w)
        self.assert_ok(w)
        hreq(self.d.http_port, "POST", "/pub?topic=rec", b"http")
        status, body = hreq(self.d.http_port, "GET",
                            "/debug/messages?topic=rec")
        self.assertEqual(status, 200)
        recs = json.loads(body)
        self.assertEqual([(base64.b64decode(r["body_b64"]), r["transport"])
                          for r in recs],
                         [(b"\x00tcp", "tcp"), (b"http", "http")])
        everything = json.loads(hreq(self.d.http_port, "GET",
                                     "/debug/messages")[1])
        self.assertEqual([r["seq"] for r in everything], [1, 2, 3, 4])
        since = json.loads(hreq(self.d.http_port, "GET",
                                "/debug/messages?since=2")[1])
        self.assertEqual([r["seq"] for r in since], [3, 4])
        with open(os.path.join(self.state, "messages.jsonl")) as f:
            lines = [json.loads(x) for x in f]
        self.assertEqual(lines, everything)
        self.assertEqual(hreq(self.d.http_port, "GET", "/debug/reset"),
                         (200, b"OK"))
        self.assertEqual(json.loads(hreq(self.d.http_port, "GET",
                                         "/debug/messages")[1]), [])
        self.assertEqual(os.path.getsize(os.path.join(self.state,
                                                      "messages.jsonl")), 0)

    def test_wait_for_messages(self):
        # the messages are published once the waiter waits on the
        # double's condition (a state, not a sleep)
        got = run_in_thread(self.d.wait_for_messages, 2, "wf", 30)
        wait_until(lambda: self.d._cond._waiters, "the waiter waiting")
        hreq(self.d.http_port, "POST", "/mpub?topic=wf", b"a\nb")
        ms = got()
        self.assertEqual([m.body for m in ms], [b"a", b"b"])
        with self.assertRaises(TimeoutError):
            self.d.wait_for_messages(3, topic="wf", timeout=0.1)


# --------------------------------------------------- lifecycle and process
class Lifecycle(unittest.TestCase):

    def test_stop_leaves_no_threads(self):
        base = len(double_threads())
        d = nsqd.NsqdDouble().start()
        self.addCleanup(d.stop)
        w1 = Wire(d.tcp_port)                    # idle TCP client
        w1.send(identify())
        w1.frame()
        c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=3)
        c.request("GET", "/ping")                # idle keep-alive client
        c.getresponse().read()
        d.set_fault("stall")
        w2 = Wire(d.tcp_port)                    # stalled TCP client
        w2.send(pub("x", b"y"))
        # a stalled HTTP request whose client would wait a minute
        stalled = run_in_thread(hreq, d.http_port, "POST", "/pub?topic=x",
                                b"y", None, 60)
        wait_until(lambda: d.counters()["http_stalled"] == 1 and
                   any(c["stalled"] for c in d.clients()),
                   "the HTTP request and the TCP client held")
        self.assertGreater(len(double_threads()), base)
        d.stop()
        # stop() closed the held request rather than waiting for its
        # client to give up: the client saw the connection end first
        self.assertIsInstance(stalled(), (http.client.RemoteDisconnected,
                                          ConnectionResetError,
                                          urllib.error.URLError))
        self.assertEqual(len(double_threads()), base)
        self.assertTrue(w1.closed() and w2.closed())
        for x in (w1, w2, c):
            x.close()
        with socket.socket() as s:              # listeners really closed
            self.assertNotEqual(s.connect_ex(("127.0.0.1", d.tcp_port)), 0)

    def test_binds_loopback_only(self):
        with nsqd.NsqdDouble() as d:
            self.assertEqual(d._listener.getsockname()[0], "127.0.0.1")
            self.assertEqual(d._httpd.server_address[0], "127.0.0.1")
        with self.assertRaises(ValueError):
            nsqd.NsqdDouble(host="0.0.0.0")

    def test_ipv6_loopback(self):
        try:
            d = nsqd.NsqdDouble(host="::1").start()
        except OSError as e:
            self.skipTest(f"no IPv6 on loopback here: {e}")
        self.addCleanup(d.stop)
        self.assertEqual(d._listener.getsockname()[0], "::1")
        self.assertEqual(d.tcp_address, f"[::1]:{d.tcp_port}")
        s = socket.create_connection(("::1", d.tcp_port), timeout=5)
        w = Wire.__new__(Wire)
        w.s = s
        w.s.sendall(MAGIC)
        w.send(pub("six", b"v6"))
        self.assertEqual(w.frame(), (nsqd.FRAME_RESPONSE, b"OK"))
        w.close()
        c = http.client.HTTPConnection("::1", d.http_port, timeout=5)
        c.request("POST", "/pub?topic=six", body=b"h6")
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        self.assertEqual(d.bodies("six"), [b"v6", b"h6"])

    def test_subprocess_mode(self):
        state = tempfile.mkdtemp(prefix="nsqd-double-proc-")
        self.addCleanup(shutil.rmtree, state, True)
        p = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "nsqd.py"), "--tcp-port", "0",
             "--http-port", "0", "--state-dir", state],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = p.stdout.readline()
            info = json.loads(line)
            self.assertEqual(set(info), {"tcp_port", "http_port", "pid"})
            self.assertEqual(info["pid"], p.pid)
            w = Wire(info["tcp_port"])
            w.send(identify(feature_negotiation=True))
            self.assertEqual(w.frame()[0], nsqd.FRAME_RESPONSE)
            w.send(mpub("proc", [b"t1", b"t2"]))
            self.assertEqual(w.frame(), (nsqd.FRAME_RESPONSE, b"OK"))
            self.assertEqual(hreq(info["http_port"], "POST",
                                  "/pub?topic=proc", b"h"), (200, b"OK"))
            with open(os.path.join(state, "messages.jsonl")) as f:
                recs = [json.loads(x) for x in f]
            self.assertEqual([base64.b64decode(r["body_b64"]) for r in recs],
                             [b"t1", b"t2", b"h"])
            p.send_signal(signal.SIGTERM)        # with w still connected
            self.assertEqual(p.wait(timeout=5), 0)
            self.assertTrue(w.closed())
            w.close()
            self.assertEqual(p.stderr.read(), b"")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()


if __name__ == "__main__":
    unittest.main()
