"""Self-test of the registry double (tests/peers/registry.py).

Run from the repository root:
    python3 -m unittest tests/peers/test_registry_double.py
It talks to the double the way the agent would, over HTTP (http.client,
raw sockets for the connection-level faults), and checks the state files.
"""
import contextlib
import http.client
import io
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import registry  # noqa: E402

NS = registry.PATH_NS
RES = registry.PATH_RESOURCE
REP = registry.PATH_REPORT
JSON_CT = {"Content-Type": "application/json;charset=utf-8"}

TREE = {
    "web.product.loda": {"machinereg": "^web-"},
    "db.product.loda": {"machinereg": "^db-"},
    "never.loda": {},                                 # default ^$
    "broken.loda": {"machinereg": "(unclosed"},       # never matches
    "idle.product.loda": {"leaf": False},             # no leaf below
}


def hreq(port, method, path, body=None, headers=None, timeout=3.0,
         conn=None):
    """(status, headers, body) of one request; HTTP errors are returned."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body,
                  headers=dict(JSON_CT if body is not None else {},
                               **(headers or {})))
        r = c.getresponse()
        return r.status, r, r.read()
    finally:
        if conn is None:
            c.close()


def item(name, mtype="CPU", interval="10", **extra):
    d = {"_id": "00000000-0000-4000-8000-%012d" % zlib.crc32(name.encode()),
         "interval": interval, "measurement_type": mtype, "name": name}
    d.update(extra)
    return d


def report(**over):
    r = {"uuid": ["f2f21847-652d-4a50-bfbb-d12df9b30b46"], "sn": "SN1\n",
         "newiplist": ["10.0.0.5"], "oldiplist": ["10.0.0.5"],
         "ns": ["web.product.loda"], "version": "0.5.0", "commit": "58dbc7e",
         "branch": "master", "buildtime": "2022-01-12T10:00:00Z",
         "goversion": "c", "newhostname": "web-01", "oldhostname": "web-01",
         "agenttype": "loda-agent", "update": False,
         "utime": "2024-05-01T12:34:56.123456789+08:00"}
    r.update(over)
    return r


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


def double_threads():
    return [t for t in threading.enumerate()
            if t.name.startswith("registry-double")
            or "process_request_thread" in t.name]


class DoubleCase(unittest.TestCase):
    """One double per class; state files and faults reset per test."""

    @classmethod
    def setUpClass(cls):
        cls.state = tempfile.mkdtemp(prefix="registry-double-test-")
        cls.d = registry.RegistryDouble(state_dir=cls.state).start()
        cls.port = cls.d.port

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()
        shutil.rmtree(cls.state, ignore_errors=True)

    def setUp(self):
        self.d.reset()
        self.d.template = True
        for name in os.listdir(self.state):
            p = os.path.join(self.state, name)
            shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
        self.d.set_tree(TREE)

    def call(self, method, path, body=None, **kw):
        """(status, envelope) and check the envelope invariants."""
        status, resp, raw = hreq(self.port, method, path, body, **kw)
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        self.assertEqual(int(resp.getheader("Content-Length")), len(raw))
        env = json.loads(raw)
        self.assertEqual(list(env), ["httpstatus", "data", "msg"], raw)
        self.assertEqual(env["httpstatus"], status)
        return status, env

    def register(self, hostname, ip="10.0.0.5", sn="SN1\n", **extra):
        return self.call("POST", NS, dict(hostname=hostname, ip=ip, sn=sn,
                                          **extra))


# ------------------------------------------------------------- /agent/ns
class Register(DoubleCase):

    def test_register_by_regexp(self):
        status, env = self.register("web-01")
        self.assertEqual(status, 200)
        self.assertEqual(list(env["data"]), ["web.product.loda"])
        mid = env["data"]["web.product.loda"]
        self.assertEqual(len(mid), 36)
        self.assertEqual(self.d.machines("web.product.loda"), [
            {"_id": mid, "hostname": "web-01", "ip": "10.0.0.5",
             "sn": "SN1\n", "status": "online"}])
        with open(os.path.join(self.state, "machine",
                               "web.product.loda.json")) as f:
            self.assertEqual(json.load(f)[0]["_id"], mid)
        self.assertEqual(self.d.machines("db.product.loda"), [])
        self.assertEqual(self.d.machines("pool.loda"), [])

    def test_several_leaves_share_one_uuid(self):
        self.d.set_tree(dict(TREE, **{"all.loda": {"machinereg": "-0[0-9]$"}}))
        status, env = self.register("db-07")
        self.assertEqual(status, 200)
        self.assertEqual(list(env["data"]), ["all.loda", "db.product.loda"])
        self.assertEqual(len(set(env["data"].values())), 1)
        for ns in env["data"]:
            self.assertEqual(len(self.d.machines(ns)), 1)

    def test_unmatched_goes_to_pool(self):
        status, env = self.register("mail-01")         # ^$, bad regexp skip
        self.assertEqual((status, list(env["data"])), (200, ["pool.loda"]))
        self.assertEqual(self.d.machines("pool.loda")[0]["hostname"],
                         "mail-01")
        self.assertEqual(self.d.machines("never.loda"), [])
        os.unlink(os.path.join(self.state, "tree.json"))   # no tree at all
        status, env = self.register("web-09")
        self.assertEqual((status, list(env["data"])), (200, ["pool.loda"]))

    def test_known_host(self):
        a = self.d.add_machine("db.product.loda", "web-01", sn="OTHER")
        b = self.d.add_machine("pool.loda", "web-01")
        status, env = self.register("web-01", ip="192.0.2.1", sn="")
        self.assertEqual(status, 200)
        self.assertEqual(env["data"], {"db.product.loda": a, "pool.loda": b})
        self.assertEqual(self.d.machines("web.product.loda"), [])
        self.assertEqual(len(self.d.machines("pool.loda")), 1)
        again = self.register("web-01")[1]["data"]
        self.assertEqual(again, env["data"])
        self.assertEqual(self.register("WEB-01")[1]["data"].keys(),
                         {"pool.loda"})          # exact, case-sensitive

    def test_status_and_extra_keys(self):
        self.register("web-01", status="offline", rack="r1")
        m = self.d.machines("web.product.loda")[0]
        self.assertEqual((m["status"], m["rack"]), ("offline", "r1"))
        self.register("web-02", status="")
        self.assertEqual(self.d.machines("web.product.loda")[1]["status"],
                         "online")
        self.register("web-03", ip=None)           # null is ""
        self.assertEqual(self.d.machines("web.product.loda")[2]["ip"], "")

    def test_bad_bodies(self):
        for body in (b'{"hostname":"web-01","ip":5}',
                     b'{"hostname":"web-01","up":true}',
                     b'{"hostname":"web-01","x":{}}',
                     b'{"hostname":["web-01"]}',
                     b'["web-01"]', b'"web-01"', b'', b'{"hostname":',
                     b'{"hostname":"web-01"} x', b'{"hostname":NaN}',
                     b'\xef\xbb\xbf{"hostname":"web-01"}'):
            status, env = self.call("POST", NS, body)
            self.assertEqual(status, 400, body)
            self.assertIsNone(env["data"])
        for body in (b'{"hostname":""}', b'{"ip":"1.2.3.4"}',
                     b'{"hostname":null}', b'null', b'{}'):
            self.assertEqual(self.call("POST", NS, body),
                             (400, {"httpstatus": 400, "data": None,
                                    "msg": "invalid infomation"}), body)
        for ns in ("web.product.loda", "pool.loda"):
            self.assertEqual(self.d.machines(ns), [])


# ------------------------------------------------------- /agent/resource
class Resource(DoubleCase):

    def get(self, ns, rtype="collect"):
        q = "?" + "&".join(x for x in (
            None if ns is None else f"ns={ns}",
            None if rtype is None else f"type={rtype}") if x)
        return self.call("GET", RES + q)

    def test_default_template(self):
        status, resp, raw = hreq(self.port, "GET",
                                 RES + "?ns=pool.loda&type=collect")
        self.assertEqual(status, 200)
        self.assertTrue(raw.startswith(b'{"httpstatus":200,"data":[{"_id":"'))
        items = json.loads(raw)["data"]
        self.assertEqual(len(items), 40)
        for it in items:
            self.assertEqual(list(it), sorted(it))
            self.assertTrue(all(isinstance(v, str) for v in it.values()))
            self.assertEqual(len(it["_id"]), 36)
            self.assertEqual("comment" in it, it["name"] != "kernel.log.OOM")
        self.assertEqual([(i["measurement_type"], i["name"], i["interval"])
                          for i in (items[0], items[11], items[35],
                                    items[39])],
                         [("COREDUMP", "app.service.coredump", "60"),
                          ("FS", "fs.files.rw", "300"),
                          ("NET", "net.tcp.timewait", "15"),
                          ("MEM", "mem.swap.used.percent", "10")])
        self.assertEqual(items[2]["aggregate"], "avg")
        self.assertEqual(self.get("pool.loda")[1]["data"], items)  # stable
        other = self.get("web.product.loda")[1]["data"]
        self.assertNotEqual(other[0]["_id"], items[0]["_id"])
        self.d.template = False
        self.assertEqual(self.get("pool.loda"),
                         (200, {"httpstatus": 200, "data": [], "msg": ""}))

    def test_leaf_file_reread_each_request(self):
        self.d.set_collect("web.product.loda", [item("cpu.idle")])
        self.assertEqual(self.get("web.product.loda")[1]["data"],
                         [item("cpu.idle")])
        with open(os.path.join(self.state, "collect", "web.product.loda.json"),
                  "w") as f:
            json.dump([{"name": "PORT.sshd.22", "port": "22",
                        "measurement_type": "PORT", "_id": "x"}], f)
        data = self.get("web.product.loda")[1]["data"]
        self.assertEqual(list(data[0]), ["_id", "measurement_type", "name",
                                         "port"])          # sorted keys

    def test_file_served_as_is_and_go_escaping(self):
        self.d.set_collect("web.product.loda",
                           [item("a<b>&c", interval=10), "not-a-map"])
        status, resp, raw = hreq(self.port, "GET",
                                 RES + "?ns=web.product.loda&type=collect")
        self.assertIn(b'"interval":10', raw)
        self.assertIn(b'a\\u003cb\\u003e\\u0026c', raw)
        self.assertEqual(json.loads(raw)["data"][1], "not-a-map")

    def test_non_leaf_concatenation(self):
        self.d.set_collect("web.product.loda", [item("a"), item("b")])
        self.d.set_collect("db.product.loda", [item("c")])
        self.d.set_collect("pool.loda", [])
        self.assertEqual([i["name"] for i in
                          self.get("product.loda")[1]["data"]],
                         ["a", "b", "c"])              # tree.json order
        self.d.template = False
        self.assertEqual(len(self.get("loda")[1]["data"]), 3)
        self.assertEqual(self.get("idle.product.loda"),
                         (200, {"httpstatus": 200, "data": None, "msg": ""}))

    def test_errors(self):
        invalid = {"httpstatus": 400, "data": None,
                   "msg": "invalid infomation"}
        self.assertEqual(self.get(None), (400, invalid))
        self.assertEqual(self.get(""), (400, invalid))
        self.assertEqual(self.get("nope.loda"),
                         (500, {"httpstatus": 500, "data": None,
                                "msg": "node not found"}))
        self.assertEqual(self.get("web.product")[0], 500)

    def test_other_types(self):
        mid = self.d.add_machine("web.product.loda", "web-01")
        self.assertEqual(self.get("web.product.loda", "machine")[1]["data"],
                         [{"_id": mid, "hostname": "web-01", "ip": "",
                           "sn": "", "status": "online"}])
        for t in ("alarm", None, "../tree", "collect%2F..%2F..%2Ftree"):
            self.assertEqual(self.get("web.product.loda", t)[1]["data"], [],
                             t)
        self.d.set_resources("web.product.loda", "alarm", [{"k": "v"}])
        self.assertEqual(self.get("web.product.loda", "alarm")[1]["data"],
                         [{"k": "v"}])

    def test_bad_state_is_500(self):
        os.makedirs(os.path.join(self.state, "collect"), exist_ok=True)
        with open(os.path.join(self.state, "collect",
                               "db.product.loda.json"), "w") as f:
            f.write("[{")
        with contextlib.redirect_stderr(io.StringIO()) as err:
            status, env = self.get("db.product.loda")
        self.assertEqual(status, 500)
        self.assertTrue(env["msg"].startswith("double: bad state:"))
        self.assertIn("db.product.loda", err.getvalue())
        self.assertTrue(self.d.requests()[-1].error.startswith("double:"))
        with open(os.path.join(self.state, "tree.json"), "w") as f:
            json.dump({"web.loda": {}, "a.web.loda": {}}, f)  # leaf w/ child
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(self.get("pool.loda")[0], 500)


# --------------------------------------------------------- /agent/report
class Report(DoubleCase):

    def send(self, **over):
        return self.call("POST", REP, report(**over))

    def test_success_is_stored(self):
        self.assertEqual(self.send(), (200, {"httpstatus": 200, "data": None,
                                             "msg": "success"}))
        stored = self.d.reports()["web-01"]
        self.assertEqual(list(stored), [f for f, _ in registry.REPORT_FIELDS])
        self.assertEqual(stored, report())
        with open(os.path.join(self.state, "reports.json")) as f:
            self.assertEqual(json.load(f), {"web-01": report()})
        s, _, raw = hreq(self.d.control_port, "GET", "/_double/reports")
        self.assertEqual((s, json.loads(raw)), (200, {"web-01": report()}))

    def test_minimal_and_case_insensitive(self):
        self.assertEqual(self.call("POST", REP, {"OldHostName": "h",
                                                 "NEWHOSTNAME": "h",
                                                 "extra": [1, {}]})[0], 200)
        r = self.d.reports()["h"]
        self.assertEqual((r["uuid"], r["update"], r["utime"]),
                         (None, False, "0001-01-01T00:00:00Z"))

    def test_undecodable(self):
        for body in (b"", b"{", b"[]", b"42", b'{"oldhostname":"h"}{}',
                     json.dumps(report(sn=1)).encode(),
                     json.dumps(report(update="true")).encode(),
                     json.dumps(report(update=1)).encode(),
                     json.dumps(report(uuid="x")).encode(),
                     json.dumps(report(ns=[1])).encode(),
                     json.dumps(report(newiplist={"a": "b"})).encode(),
                     json.dumps(report(utime=1714538096)).encode()):
            self.assertEqual(self.call("POST", REP, body)[0], 400, body)
        self.assertEqual(self.d.reports(), {})

    def test_utime_rfc3339(self):
        for ok in ("2024-05-01T12:34:56.123456789+08:00",
                   "2024-05-01T12:34:56Z", "2024-02-29T23:59:59.5-05:30",
                   "2024-05-01T04:34:56.1234567891Z", None):
            self.assertEqual(self.send(utime=ok)[0], 200, ok)
        for bad in ("", "2024-05-01 12:34:56Z", "2024-05-01T12:34:56",
                    "2024-05-01t12:34:56z", "2023-02-29T00:00:00Z",
                    "2024-13-01T00:00:00Z", "2024-05-01T24:00:00Z",
                    "2024-05-01T12:34:60Z", "2024-05-01T12:34:56+0800",
                    "2024-05-01T12:34:56.Z", "2024-05-01T12:34:56+24:00",
                    "1714538096", "2024-5-01T12:34:56Z",
                    "2024-05-01T12:34:56\u0660Z"):
            status, env = self.send(utime=bad)
            self.assertEqual(status, 400, bad)

    def test_hostname_checks(self):
        self.assertEqual(self.send(oldhostname=""),
                         (400, {"httpstatus": 400, "data": None,
                                "msg": "invalid infomation"}))
        self.assertEqual(self.send(oldhostname=None)[0], 400)
        self.assertEqual(self.send(newhostname="")[1]["msg"], "invalid param")
        self.assertEqual(self.d.reports(), {})

    def test_update_renames_everywhere(self):
        a = self.d.add_machine("web.product.loda", "web-01", ip="10.0.0.5",
                               sn="SN1\n")
        b = self.d.add_machine("pool.loda", "web-01", ip="10.0.0.5", sn="")
        self.assertEqual(self.send()[0], 200)          # stored as web-01
        self.assertEqual(self.send(update=True, newhostname="web-02",
                                   newiplist=["10.0.0.6", "fd00::6"],
                                   oldiplist=["10.0.0.5"])[0], 200)
        for ns, mid in (("web.product.loda", a), ("pool.loda", b)):
            m = self.d.machines(ns)[0]
            self.assertEqual((m["_id"], m["hostname"], m["ip"]),
                             (mid, "web-02", "10.0.0.6,fd00::6"), ns)
        self.assertEqual(list(self.d.reports()), ["web-02"])
        status, env = self.register("web-02")           # now a known host
        self.assertEqual(env["data"], {"web.product.loda": a, "pool.loda": b})
        self.assertEqual(self.d.machines("pool.loda")[0]["sn"], "")

    def test_update_sn_rules(self):
        a = self.d.add_machine("web.product.loda", "h", sn="S1")
        self.d.add_machine("db.product.loda", "h", sn="S2")
        self.d.add_machine("pool.loda", "h", sn="")
        self.assertEqual(self.send(update=True, oldhostname="h",
                                   newhostname="h2", sn="S1")[0], 200)
        self.assertEqual([self.d.machines(ns)[0]["hostname"] for ns in
                          ("web.product.loda", "db.product.loda",
                           "pool.loda")], ["h2", "h", "h2"])
        self.assertEqual(self.send(update=True, oldhostname="h",
                                   newhostname="h3", sn="")[0], 200)
        self.assertEqual(self.d.machines("db.product.loda")[0]["hostname"],
                         "h3")
        self.assertEqual(self.d.machines("web.product.loda")[0]["_id"], a)

    def test_update_ip_needs_both_lists(self):
        self.d.add_machine("pool.loda", "h", ip="10.0.0.5")
        for over in ({"oldiplist": None}, {"oldiplist": []},
                     {"newiplist": []}, {"newiplist": ["10.0.0.5"]}):
            self.assertEqual(self.send(update=True, oldhostname="h",
                                       newhostname="h", **over)[0], 200)
            self.assertEqual(self.d.machines("pool.loda")[0]["ip"],
                             "10.0.0.5", over)
        self.send(update=True, oldhostname="h", newhostname="h",
                  newiplist=["10.0.0.9"], oldiplist=["10.0.0.5"])
        self.assertEqual(self.d.machines("pool.loda")[0]["ip"], "10.0.0.9")

    def test_update_unknown_host(self):
        self.assertEqual(self.send(update=True, oldhostname="ghost",
                                   newhostname="ghost2"),
                         (500, {"httpstatus": 500, "data": None,
                                "msg": "machine not found"}))
        self.assertEqual(self.d.reports(), {})

    def test_no_update_no_change(self):
        self.d.add_machine("pool.loda", "old")
        self.send(oldhostname="old", newhostname="old")
        self.send(oldhostname="old", newhostname="new")        # update false
        self.assertEqual(self.d.machines("pool.loda")[0]["hostname"], "old")
        self.assertEqual(list(self.d.reports()), ["new"])


# ---------------------------------------------------------------- routes
class Routing(DoubleCase):

    def test_not_found(self):
        for path in ("/", "/api/v1/agent", "/api/v1/agent/ns/",
                     "/api/v1/agents", "/api/v1/resource?ns=pool.loda"):
            self.assertEqual(self.call("GET", path),
                             (404, {"httpstatus": 404, "data": None,
                                    "msg": "404 page not found"}), path)

    def test_method_not_allowed(self):
        for method, path, allow in (("GET", NS, "POST"), ("PUT", NS, "POST"),
                                    ("POST", RES, "GET"),
                                    ("DELETE", RES, "GET"),
                                    ("GET", REP, "POST"),
                                    ("OPTIONS", REP, "POST")):
            status, resp, raw = hreq(self.port, method, path)
            self.assertEqual((status, resp.getheader("Allow")), (405, allow))
            self.assertEqual(json.loads(raw)["msg"], "Method Not Allowed")
        status, resp, raw = hreq(self.port, "HEAD", RES + "?ns=pool.loda")
        self.assertEqual((status, raw), (405, b""))
        self.assertGreater(int(resp.getheader("Content-Length")), 0)

    def test_keep_alive_and_chunked(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3)
        self.addCleanup(c.close)
        for _ in range(3):
            self.assertEqual(hreq(0, "POST", NS, {"hostname": "web-01"},
                                  conn=c)[0], 200)
            self.assertEqual(hreq(0, "GET", RES + "?ns=pool.loda&type=x",
                                  conn=c)[0], 200)
            self.assertEqual(hreq(0, "GET", "/nope", conn=c)[0], 404)
        c.putrequest("POST", NS)
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        c.send(b'5\r\n{"hos\r\n10\r\ntname":"db-01"}\r\n0\r\n\r\n')
        r = c.getresponse()
        self.assertEqual(list(json.loads(r.read())["data"]),
                         ["db.product.loda"])
        peers = {r.peer for r in self.d.requests()}
        self.assertEqual(len(peers), 1, peers)
        self.assertEqual(len(self.d.requests()), 10)


# ------------------------------------------------------------- recording
class Recording(DoubleCase):

    def test_fields_and_control_endpoint(self):
        t0 = time.time()
        hreq(self.port, "POST", NS, b'{"hostname":"web-01"}',
             headers={"X-Test": "1"})
        hreq(self.port, "GET", RES + "?ns=pool.loda&type=collect")
        hreq(self.d.control_port, "GET", "/_double/info")   # not recorded
        hreq(self.port, "GET", "/_double/fault")            # not recorded
        r1, r2 = self.d.requests()
        self.assertEqual((r1.seq, r1.method, r1.path, r1.query, r1.endpoint,
                          r1.status, r1.fault),
                         (1, "POST", NS, "", "ns", 200, None))
        self.assertEqual(r1.json(), {"hostname": "web-01"})
        self.assertEqual(r1.header("x-test"), "1")
        self.assertEqual(r1.header("Content-Type"), JSON_CT["Content-Type"])
        self.assertGreaterEqual(r1.time, t0)
        self.assertEqual((r2.param("ns"), r2.param("type"), r2.body),
                         ("pool.loda", "collect", b""))
        s, _, raw = hreq(self.d.control_port, "GET", "/_double/requests")
        recs = json.loads(raw)
        self.assertEqual([r["seq"] for r in recs], [1, 2])
        self.assertEqual(recs[0]["body"], '{"hostname":"web-01"}')
        self.assertEqual(recs[1]["params"], {"ns": ["pool.loda"],
                                             "type": ["collect"]})
        self.assertIn(["X-Test", "1"], recs[0]["headers"])
        s, _, raw = hreq(self.port, "GET", f"/_double/requests?path={RES}")
        self.assertEqual([r["seq"] for r in json.loads(raw)], [2])
        s, _, raw = hreq(self.port, "GET", "/_double/requests?since=1")
        self.assertEqual([r["seq"] for r in json.loads(raw)], [2])
        s, _, raw = hreq(self.d.control_port, "POST", "/_double/reset", b"")
        self.assertEqual(s, 200)
        self.assertEqual(self.d.requests(), [])
        self.assertEqual(hreq(self.d.control_port, "GET", "/_double/nope")[0],
                         404)
        self.assertEqual(hreq(self.d.control_port, "GET", NS)[0], 404)

    def test_wait_for_requests(self):
        # the request is made once the waiter waits on the double's
        # condition (a state, not a sleep)
        waiting = run_in_thread(self.d.wait_for_requests, 1, REP, 30)
        wait_until(lambda: self.d._cond._waiters, "the waiter waiting")
        hreq(self.port, "POST", REP, report())
        got = waiting()
        self.assertEqual(got[0].json()["agenttype"], "loda-agent")
        with self.assertRaises(TimeoutError):
            self.d.wait_for_requests(2, path=REP, timeout=0.1)


# ----------------------------------------------------------------- faults
class Faults(DoubleCase):

    def fault(self, **args):
        s, _, raw = hreq(self.d.control_port, "POST", "/_double/fault",
                         json.dumps(args).encode())
        self.assertEqual(s, 200, raw)
        return json.loads(raw)

    def test_fault_endpoint(self):
        self.assertEqual(json.loads(hreq(self.d.control_port, "GET",
                                         "/_double/fault")[2]),
                         {"global": {"mode": "ok"}, "endpoint": {},
                          "ns": {}})
        self.assertEqual(hreq(self.d.control_port, "POST",
                              "/_double/fault?mode=error&endpoint=report",
                              b"")[0], 200)
        f = self.fault(mode="stall", ns="pool.loda")
        self.assertEqual(f, {"global": {"mode": "ok"},
                             "endpoint": {"report": {"mode": "error"}},
                             "ns": {"pool.loda": {"mode": "stall"}}})
        for bad in ({"mode": "bogus"}, {"mode": "ok", "endpoint": "x"},
                    {"mode": "ok", "endpoint": "ns", "ns": "pool.loda"}):
            self.assertEqual(hreq(self.d.control_port, "POST",
                                  "/_double/fault",
                                  json.dumps(bad).encode())[0], 400, bad)
        self.fault(mode="clear", ns="pool.loda")
        self.assertEqual(self.d.faults()["ns"], {})
        self.d.reset()
        self.assertEqual(self.d.faults()["endpoint"], {})

    def test_refuse(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3)
        self.addCleanup(c.close)
        self.assertEqual(hreq(0, "GET", "/x", conn=c)[0], 404)   # keep-alive
        self.fault(mode="refuse")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.port), timeout=1)
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            c.request("GET", "/x")                 # open one was closed
            c.getresponse()
        self.assertEqual(json.loads(hreq(self.d.control_port, "GET",
                                         "/_double/fault")[2])["global"],
                         {"mode": "refuse"})
        self.fault(mode="ok")                          # same port again
        self.assertEqual(self.register("web-01")[0], 200)

    def test_refuse_set_on_main_port_answers(self):
        s, _, raw = hreq(self.port, "POST", "/_double/fault?mode=refuse", b"")
        self.assertEqual((s, json.loads(raw)["global"]["mode"]),
                         (200, "refuse"))
        self.d.set_fault("ok")

    def test_reset_per_ns(self):
        self.d.set_fault("reset", ns="web.product.loda")
        with self.assertRaises((ConnectionResetError,
                                http.client.RemoteDisconnected)):
            hreq(self.port, "GET", RES + "?ns=web.product.loda&type=collect")
        self.assertEqual(self.call("GET", RES + "?ns=db.product.loda")[0],
                         200)
        self.d.set_fault("refuse", ns="db.product.loda")   # = reset here
        with self.assertRaises((ConnectionResetError,
                                http.client.RemoteDisconnected)):
            hreq(self.port, "GET", RES + "?ns=db.product.loda&type=collect")
        r = self.d.requests()
        self.assertEqual([(x.fault, x.status) for x in r],
                         [("reset", None), (None, 200), ("refuse", None)])

    def test_stall(self):
        self.d.set_fault("stall")
        s = socket.create_connection(("127.0.0.1", self.port), timeout=3)
        self.addCleanup(s.close)
        s.sendall(b"GET " + RES.encode() + b"?ns=pool.loda HTTP/1.1\r\n"
                  b"Host: x\r\n\r\n")
        with self.assertRaises((socket.timeout, TimeoutError)):
            hreq(self.port, "POST", NS, {"hostname": "web-01"}, timeout=0.3)
        self.d.wait_for_requests(2)
        self.assertEqual([(r.fault, r.status) for r in self.d.requests()],
                         [("stall", None)] * 2)
        s.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            s.recv(1)                                   # still no answer
        self.d.set_fault("ok")
        s.settimeout(2)
        self.assertEqual(s.recv(100), b"")              # closed, unanswered
        self.assertEqual(self.d.machines("web.product.loda"), [])
        self.assertEqual(self.register("web-01")[0], 200)

    def test_garbage(self):
        self.d.set_fault("garbage")
        status, resp, raw = hreq(self.port, "GET", RES + "?ns=pool.loda")
        self.assertEqual((status, resp.getheader("Content-Type")),
                         (200, "application/json"))
        with self.assertRaises(ValueError):
            json.loads(raw)

    def test_error(self):
        self.d.set_fault("error", endpoint="ns")
        self.assertEqual(self.register("web-01"),
                         (500, {"httpstatus": 500, "data": None,
                                "msg": "double: injected error"}))
        self.assertEqual(self.d.machines("web.product.loda"), [])
        self.d.set_fault("error")
        self.assertEqual(self.call("POST", REP, report())[0], 500)
        self.assertEqual(self.d.reports(), {})

    def test_malformed(self):
        self.d.set_fault("malformed")
        status, env = self.register("web-01")
        self.assertEqual(status, 200)
        self.assertIsInstance(env["data"], list)
        self.assertEqual(self.d.machines("web.product.loda"), [])
        self.d.set_collect("web.product.loda", [item("cpu.idle"), item("x")])
        data = self.call("GET", RES + "?ns=web.product.loda&type=collect")[1][
            "data"]
        self.assertEqual(data[0]["interval"], 10)
        self.assertEqual(data[1], item("x"))
        data = self.call("GET", RES + "?ns=nope.loda")[1]["data"]
        self.assertIsInstance(data[0]["interval"], int)
        self.assertIsInstance(self.call("POST", REP, report())[1]["msg"], int)
        self.assertEqual(self.d.reports(), {})

    def test_canned(self):
        self.fault(mode="canned", endpoint="resource", status=503,
                   body="upstream down", content_type="text/plain")
        status, resp, raw = hreq(self.port, "GET", RES + "?ns=pool.loda")
        self.assertEqual((status, resp.getheader("Content-Type"), raw),
                         (503, "text/plain", b"upstream down"))
        self.assertEqual(self.register("web-01")[0], 200)

    def test_precedence(self):
        self.d.set_fault("error")
        self.d.set_fault("garbage", endpoint="resource")
        self.d.set_fault("ok", ns="web.product.loda")
        self.assertEqual(self.call("GET", RES + "?ns=web.product.loda")[0],
                         200)
        self.assertEqual(hreq(self.port, "GET", RES + "?ns=pool.loda")[2],
                         registry.GARBAGE_BODY)
        self.assertEqual(self.register("web-01")[0], 500)
        self.assertEqual(self.call("GET", "/nope")[0], 500)


# -------------------------------------------------------------------- TLS
class Tls(unittest.TestCase):
    """tls=(cert, key): HTTPS on the main port, nothing recorded for a
    client that refuses the certificate or speaks plain HTTP."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("no openssl to make a certificate")
        cls.tmp = tempfile.mkdtemp(prefix="registry-double-tls-")
        cls.cert = os.path.join(cls.tmp, "cert.pem")
        cls.key = os.path.join(cls.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", cls.key, "-out", cls.cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True,
                       capture_output=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def https(self, port, ctx, method, path, body=None):
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=3,
                                        context=ctx)
        try:
            return hreq(port, method, path, body, conn=c)
        finally:
            c.close()

    def test_https(self):
        with registry.RegistryDouble(tls=(self.cert, self.key)) as d:
            self.assertEqual(d.url, f"https://127.0.0.1:{d.port}")
            trusting = ssl.create_default_context(cafile=self.cert)
            c = http.client.HTTPSConnection("127.0.0.1", d.port, timeout=3,
                                            context=trusting)
            self.addCleanup(c.close)
            for _ in range(2):                          # keep-alive
                status, _, raw = hreq(0, "POST", NS, {"hostname": "web-01"},
                                      conn=c)
                self.assertEqual((status, list(json.loads(raw)["data"])),
                                 (200, ["pool.loda"]))
            self.assertEqual(d.machines("pool.loda")[0]["hostname"],
                             "web-01")
            self.assertEqual(len({r.peer for r in d.requests()}), 1)

            # a client that does not know the certificate: no request
            with self.assertRaises(ssl.SSLCertVerificationError):
                self.https(d.port, ssl.create_default_context(), "GET",
                           RES + "?ns=pool.loda&type=collect")
            # plain HTTP to the TLS port: no answer, nothing recorded
            with self.assertRaises((ConnectionError,
                                    http.client.HTTPException)):
                hreq(d.port, "GET", RES + "?ns=pool.loda&type=collect")
            self.assertEqual([r.path for r in d.requests()], [NS, NS])

            # faults apply after the handshake; the control port is HTTP
            self.assertEqual(hreq(d.control_port, "POST",
                                  "/_double/fault?mode=error", b"")[0], 200)
            status, _, raw = self.https(d.port, trusting, "GET",
                                        RES + "?ns=pool.loda&type=collect")
            self.assertEqual((status, json.loads(raw)["msg"]),
                             (500, "double: injected error"))
            d.set_fault("reset", endpoint="ns")
            with self.assertRaises((ConnectionError,
                                    http.client.HTTPException)):
                self.https(d.port, trusting, "POST", NS,
                           {"hostname": "web-02"})
            d.set_fault("refuse")
            with self.assertRaises(ConnectionRefusedError):
                self.https(d.port, trusting, "GET", "/x")
            d.set_fault("ok")
            self.assertEqual(self.https(d.port, trusting, "GET", "/x")[0],
                             404)

    def test_stuck_handshake_does_not_block_stop(self):
        base = len(double_threads())
        d = registry.RegistryDouble(tls=(self.cert, self.key)).start()
        s = socket.create_connection(("127.0.0.1", d.port), timeout=60)
        self.addCleanup(s.close)                # connected, says nothing
        # a handler thread is in the handshake, waiting for the client
        wait_until(lambda: any("process_request_thread" in t.name
                               for t in threading.enumerate()),
                   "the handshake under way")
        # the client never speaks: a stop that waited for it would never
        # return (run_in_thread's bound is for that hang only)
        self.assertIsNone(run_in_thread(d.stop)())
        self.assertEqual(s.recv(1), b"")        # closed by the double
        self.assertEqual(d.requests(), [])
        self.assertEqual(len(double_threads()), base)

    def test_bad_certificate_fails_at_construction(self):
        with self.assertRaises((OSError, ssl.SSLError)):
            registry.RegistryDouble(tls=(self.key, self.key))


# --------------------------------------------------- lifecycle and process
class Lifecycle(unittest.TestCase):

    def test_stop_is_fast_and_leaves_no_threads(self):
        base = len(double_threads())
        d = registry.RegistryDouble().start()
        state = d.state_dir
        c = http.client.HTTPConnection("127.0.0.1", d.port, timeout=3)
        hreq(0, "GET", "/x", conn=c)                    # idle keep-alive
        d.set_fault("stall")
        # a stalled request whose client would wait a minute
        stalled = run_in_thread(hreq, d.port, "GET", "/x", None, None, 60)
        wait_until(lambda: d.held() == 1, "the request held")
        self.assertGreater(len(double_threads()), base)
        d.stop()
        # stop() closed it rather than waiting for the client to give up:
        # the client saw the connection end, not its timeout
        self.assertIsInstance(stalled(), (http.client.RemoteDisconnected,
                                          ConnectionResetError))
        c.close()
        self.assertEqual(len(double_threads()), base)
        self.assertFalse(os.path.exists(state))         # own temp dir gone
        for port in (d.port, d.control_port):
            with socket.socket() as s:
                self.assertNotEqual(s.connect_ex(("127.0.0.1", port)), 0)

    def test_stop_while_refusing(self):
        with registry.RegistryDouble(fault="refuse") as d:
            with socket.socket() as s:
                self.assertNotEqual(s.connect_ex(("127.0.0.1", d.port)), 0)
            d.set_fault("ok")
            self.assertEqual(hreq(d.port, "GET", "/x")[0], 404)
            d.set_fault("refuse")

    def test_subprocess_mode(self):
        state = tempfile.mkdtemp(prefix="registry-double-proc-")
        self.addCleanup(shutil.rmtree, state, True)
        with open(os.path.join(state, "tree.json"), "w") as f:
            json.dump({"web.product.loda": {"machinereg": "^web-"}}, f)
        p = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "registry.py"),
             "--state-dir", state, "--port", "0", "--no-template"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            info = json.loads(p.stdout.readline())
            self.assertEqual(info, {"port": info["port"],
                                    "control_port": info["control_port"],
                                    "pid": p.pid, "state_dir": state})
            status, _, raw = hreq(info["port"], "POST", NS,
                                  {"hostname": "web-01"})
            self.assertEqual(list(json.loads(raw)["data"]),
                             ["web.product.loda"])
            with open(os.path.join(state, "machine",
                                   "web.product.loda.json")) as f:
                self.assertEqual(json.load(f)[0]["hostname"], "web-01")
            self.assertEqual(json.loads(hreq(info["port"], "GET",
                                             RES + "?ns=pool.loda")[2])
                             ["data"], [])
            hreq(info["control_port"], "POST", "/_double/fault?mode=refuse",
                 b"")
            with socket.socket() as s:
                self.assertNotEqual(s.connect_ex(("127.0.0.1",
                                                  info["port"])), 0)
            recs = json.loads(hreq(info["control_port"], "GET",
                                   "/_double/requests")[2])
            self.assertEqual([r["path"] for r in recs], [NS, RES])
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=5), 0)
            self.assertEqual(p.stderr.read(), b"")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
            p.stderr.close()


if __name__ == "__main__":
    unittest.main()
