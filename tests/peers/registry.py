#!/usr/bin/env python3
"""A test double of the lodastack registry (the agent-facing API only).

Written from /work/shared/reference/lodastack-protocols.md section 1
(registry API used by the agent) and section 2 (collect items, the default
template).  Python 3 standard library only.

Served on 127.0.0.1 (HTTP/1.1, keep-alive, every response has a
Content-Length; HTTPS instead when started with a certificate, see TLS):

  POST /api/v1/agent/ns                       register / look up the host
  GET  /api/v1/agent/resource?ns=NS&type=T    resource list of a namespace
  POST /api/v1/agent/report                   agent heartbeat and rename

Every answer is the registry envelope {"httpstatus":S,"data":D,"msg":M}
(keys in that order, Go-style compact JSON) with HTTP status S and
Content-Type application/json.  Any other path is 404 (msg "404 page not
found"), another method on one of those paths is 405 (msg "Method Not
Allowed", with an Allow header); both in the envelope.  The real registry
(httprouter) answers those two in plain text, and answers OPTIONS with an
empty 200 (CORS); the double does neither.

State directory layout
----------------------
All registry state lives in JSON files under STATE_DIR and is re-read on
every request, so a test can (re)write files between two agent refreshes.
Write files atomically (write a temporary file, then rename) or through
the Python helpers below, which do.  A file the double cannot use (not
JSON, wrong shape) makes the request fail with 500, msg "double: bad
state: ...", and a line on stderr: that is a bug in the test's setup.

  tree.json            the namespace tree, one flat JSON object:
                         {"web.product.loda": {"machinereg": "^web-"},
                          "db.product.loda":  {"machinereg": "^db-"},
                          "idle.product.loda": {"leaf": false}}
                       Each key is a namespace (dot-separated labels of
                       [-a-zA-Z0-9_], ending in "loda").  Attributes:
                       "leaf" (default true) and "machinereg" (a regexp
                       searched in the hostname, default "^$", which never
                       matches; a regexp that does not compile never
                       matches either).  Every ancestor of a listed
                       namespace exists as a non-leaf ("product.loda",
                       "loda").  "pool.loda" always exists as a leaf, even
                       when not listed.  A missing tree.json is {}: the
                       tree is then just loda and pool.loda.
  <type>/<ns>.json     the resource list of type <type> ([A-Za-z0-9_-]+)
                       of the LEAF namespace <ns>, e.g.
                         collect/web.product.loda.json  collect items
                         machine/pool.loda.json         machine resources
                       A collect list is served as it is in the file (any
                       JSON value: write odd shapes here to test the agent's
                       validation).  Machine lists must be lists of objects.
                       A missing file is [], except collect when the
                       template is on (the default): a missing collect file
                       is the registry's 40-item default template (§2.3),
                       with _ids derived from the namespace (stable across
                       requests).  The double writes machine/<ns>.json when
                       it registers or renames a host.
  reports.json         written by the double: the stored reports, keyed by
                       hostname, each with all 15 report fields.

Server behaviour (faithful to the spec, §1.1-1.3)
-------------------------------------------------
* /api/v1/agent/ns: the body is decoded as a JSON object of strings (null
  counts as "", any other non-string value is 400; not an object is 400).
  Empty "hostname": 400 "invalid infomation".  If a leaf holds a machine
  resource whose hostname equals it, data = {ns: that machine's _id} for
  every such leaf (ip and sn are not checked).  Otherwise the host is
  registered: status "online" if absent or empty, a new uuid4 _id, and the
  resource (all the keys sent) is appended to machine/<ns>.json of every
  leaf whose machinereg matches the hostname, or of pool.loda when none
  does; data = {ns: uuid} (one uuid for all).
* /api/v1/agent/resource: empty ns: 400 "invalid infomation"; unknown ns:
  500 "node not found"; a leaf: data = its <type> list; a non-leaf: the
  concatenation of the lists of every leaf below it, in tree.json order
  (null when it has no leaf).  Objects in data are served with sorted keys
  (Go map order).
* /api/v1/agent/report: the body is decoded as Go decodes models.Report
  (keys matched case-insensitively, unknown keys ignored; uuid, newiplist,
  oldiplist, ns: array of strings or null; update: bool or null; utime:
  strict RFC 3339 string (YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm),
  uppercase T and Z, valid ranges) or null; the others: string or null).
  Anything else: 400.  Empty oldhostname: 400 "invalid infomation".  With
  update true: hostname := newhostname (if non-empty and different from
  oldhostname), ip := join(newiplist, ",") (if both lists are non-empty and
  their joins differ); applied to the machine resource found by
  oldhostname in each leaf where the stored sn, the reported sn, or both
  are empty, or where they are equal (skipped otherwise); no machine with
  that hostname: 500 "machine not found".  Then empty newhostname: 400
  "invalid param".  The report is stored under newhostname in reports.json
  (an entry under a different oldhostname is removed).  Success:
  {"httpstatus":200,"data":null,"msg":"success"}.

Faults
------
Modes: ok, refuse, reset, stall, garbage, error, malformed, canned.  Set
globally, per endpoint ("ns", "resource", "report") or per namespace (the
resource endpoint only); the most specific setting wins (ns, then
endpoint, then global).
    ok         normal service
    refuse     global: the listening socket is closed (connect() gets
               ECONNREFUSED) and open connections are closed; it is
               re-opened on the same port when the mode changes.  Per
               endpoint or ns: like reset (a listener cannot refuse one
               path)
    reset      the request is read, then the connection is reset (RST)
    stall      the request is read and never answered; when the mode
               changes (or the double stops) the connection is closed,
               still without an answer; held() says how many are held
    garbage    200, Content-Type application/json, a body that is not JSON
    error      500 {"httpstatus":500,"data":null,"msg":"double: injected
               error"}
    malformed  200 envelope, valid JSON of the wrong shape: ns -> data is
               a list, not an object; resource -> the real list with the
               first item's "interval" (or a synthesized item) a JSON
               number, not a string; report and other paths -> data [] and
               msg a number
    canned     the status, body and Content-Type given with the mode
A faulted request is recorded but never processed (no registration, no
rename, no stored report).  /_double/* is never faulted.

Recording
---------
Every request except /_double/* is recorded: seq, time, method, path,
query (raw), params ({name: [values]}), headers ([[name, value], ...]),
body (UTF-8 text, invalid bytes replaced), body_b64 (exact), peer
("127.0.0.1:PORT": the same peer for two requests means one keep-alive
connection), endpoint ("ns", "resource", "report" or null), fault (the
mode applied, null when none), status (the HTTP status sent; null when
none was: stall, reset), error (a bad-state message or null).

TLS
---
RegistryDouble(tls=(certfile, keyfile)) (or --tls-cert/--tls-key) serves
the main port over HTTPS with that certificate chain (PEM), and .url says
https://.  The handshake is done in the connection's own thread, before
any HTTP is read: a client that refuses the certificate, or talks plain
HTTP to the port, fails the handshake and nothing is recorded (a test that
expects the agent to refuse a certificate asserts requests() == []).  The
faults apply unchanged once the handshake is done (reset is an RST under
the TLS session, refuse closes the listener).  The control port stays
plain HTTP.

Control endpoints (JSON, not the envelope; on the control port, and on the
main port when it is listening)
  GET  /_double/requests[?path=P][&since=SEQ]   recorded requests
  GET  /_double/fault                           current fault settings
  POST /_double/fault   query or JSON object body: mode=M [endpoint=E]
                        [ns=NS] [status=S body=B content_type=C (canned)];
                        mode "clear" removes an endpoint/ns setting (for
                        the global setting it means ok).  Answers like GET
  POST /_double/reset   forget the recorded requests and clear every fault
                        (state files are kept)
  GET  /_double/reports the stored reports (reports.json)
  GET  /_double/info    {"port","control_port","state_dir","pid"}

Usage
-----
  python3 tests/peers/registry.py [--state-dir DIR] [--port 0]
          [--control-port 0] [--fault MODE] [--no-template] [--verbose]
          [--tls-cert CERT.pem --tls-key KEY.pem]
prints {"port": N, "control_port": M, "pid": P, "state_dir": DIR} on one
line when ready and serves until SIGTERM/SIGINT (without --state-dir a
temporary directory is used and removed at exit).

A global refuse closes the main port, so in subprocess mode set (and
clear) it through the control port; set through the main port, the
connection that asked gets its answer before the others are closed.

In-process (state_dir None: a temporary directory, removed by stop()):
  with RegistryDouble(state_dir=None, template=True, tls=None) as reg:
      reg.url                    "http://127.0.0.1:PORT" (registryaddr;
                                 https:// with tls)
      reg.port, reg.control_port, reg.control_url, reg.state_dir
      reg.set_tree({...}); reg.set_collect(ns, items)
      reg.set_resources(ns, type, items); reg.set_machines(ns, machines)
      reg.remove_resources(ns, type)         (collect: back to template)
      reg.add_machine(ns, hostname, ip="", sn="", **extra) -> _id
      reg.machines(ns); reg.resources(ns, type); reg.reports()
      reg.set_fault(mode, endpoint=None, ns=None, status=, body=,
                    content_type=); reg.clear_fault(endpoint=, ns=)
      reg.faults(); reg.fault (the global mode)
      reg.requests(path=None, since=0) -> [Request]: the fields above as
          attributes (body is bytes), .json(), .header(n), .param(n)
      reg.wait_for_requests(n, path=None, timeout=10.0) -> [Request]
      reg.reset()
"""

import argparse
import base64
import calendar
import json
import os
import re
import selectors
import shutil
import signal
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from peerhttp import TrackingHTTPServer, shutdown_quietly

ROOT_NS = "loda"
POOL_NS = "pool.loda"
NEVER_MATCH = "^$"

PATH_NS = "/api/v1/agent/ns"
PATH_RESOURCE = "/api/v1/agent/resource"
PATH_REPORT = "/api/v1/agent/report"

# path -> (method, endpoint name)
ROUTES = {
    PATH_NS: ("POST", "ns"),
    PATH_RESOURCE: ("GET", "resource"),
    PATH_REPORT: ("POST", "report"),
}
ENDPOINTS = ("ns", "resource", "report")

FAULT_MODES = ("ok", "refuse", "reset", "stall", "garbage", "error",
               "malformed", "canned")

MSG_INVALID = "invalid infomation"        # sic, the registry's text
MSG_INVALID_PARAM = "invalid param"
MSG_NO_NODE = "node not found"
MSG_NO_MACHINE = "machine not found"
MSG_SUCCESS = "success"
MSG_NOT_FOUND = "404 page not found"
MSG_NOT_ALLOWED = "Method Not Allowed"
MSG_INJECTED = "double: injected error"

HANDSHAKE_TIMEOUT = 5.0
GARBAGE_BODY = b"<html><body>registry-double: this is not JSON</body></html>\n"
MAX_BODY = 64 << 20

_NS_RE = re.compile(r"(?:[-a-zA-Z0-9_]+\.)*loda", re.ASCII)
_TYPE_RE = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
_RFC3339_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.[0-9]+)?(?:Z|[+-]([0-9]{2}):([0-9]{2}))", re.ASCII)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")

# The 40 items of the registry's default collect template (§2.3), in
# order: (measurement_type, name, interval, extra keys).  Comments are
# empty here; kernel.log.OOM has none.
_T_LOG = {"collect_type": "FLOW", "degree": "0",
          "file_path": "/var/log/kernel", "func": "cnt",
          "pattern": "Out of memory", "tags": "service",
          "tag_service": r"kill process \d+ \((\S+)\)",
          "time_format": "yyyy-mm-ddTHH:MM:SS"}
DEFAULT_TEMPLATE = (
    [("COREDUMP", "app.service.coredump", "60", {}),
     ("CPU", "cpu.idle", "10", {}),
     ("CPU", "cpu.idle.core", "10", {"aggregate": "avg"}),
     ("CPU", "cpu.loadavg.1", "10", {}),
     ("CPU", "cpu.loadavg.15", "10", {}),
     ("CPU", "cpu.loadavg.5", "10", {})]
    + [("FS", n, "120", {}) for n in (
        "fs.inodes.used.percent", "fs.space.used.percent", "fs.space.used",
        "fs.space.free", "fs.space.total")]
    + [("FS", "fs.files.rw", "300", {})]
    + [("KERNEL", n, "300", {}) for n in (
        "kernel.files.allocated", "kernel.files.left", "kernel.files.max",
        "kernel.files.used.percent")]
    + [("DISK", n, "10", {}) for n in (
        "disk.io.await", "disk.io.util", "disk.io.write_requests",
        "disk.io.read_requests")]
    + [("LOG", "kernel.log.OOM", "10", _T_LOG),
       ("KERNEL", "kernel_log_monitor", "300", {}),
       ("HEALTH", "agent.alive", "10", {})]
    + [("MEM", n, "10", {}) for n in (
        "mem.buffers", "mem.cache", "mem.free", "mem.total", "mem.used",
        "mem.used.percent")]
    + [("NET", "net.in", "10", {}), ("NET", "net.in.dropped", "10", {}),
       ("NET", "net.out", "10", {"aggregate": "sum"}),
       ("NET", "net.out.dropped", "10", {}),
       ("NET", "net.tcp.inuse", "10", {}),
       ("NET", "net.sockets.used", "10", {}),
       ("NET", "net.tcp.timewait", "15", {}),
       ("TIME", "time.offset", "300", {}),
       ("NET", "net.speed", "10", {}),
       ("PS", "ps.zombies.num", "10", {}),
       ("MEM", "mem.swap.used.percent", "10", {})])
assert len(DEFAULT_TEMPLATE) == 40


def default_collect(ns):
    """The default template as the collect list of a new namespace ns."""
    items = []
    for i, (mtype, name, interval, extra) in enumerate(DEFAULT_TEMPLATE):
        item = {"_id": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                      f"registry-double:{ns}:collect:{i}")),
                "interval": interval, "measurement_type": mtype,
                "name": name}
        if mtype != "LOG":
            item["comment"] = ""
        item.update(extra)
        items.append(dict(sorted(item.items())))
    return items


# --------------------------------------------------------------- JSON/Go
def go_json(obj):
    """Compact JSON as Go's encoding/json writes it (HTML characters and
    U+2028/U+2029 escaped, other non-ASCII as UTF-8)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
                   allow_nan=False)
    s = (s.replace("<", "\\u003c").replace(">", "\\u003e")
         .replace("&", "\\u0026").replace("\u2028", "\\u2028")
         .replace("\u2029", "\\u2029"))
    return _SURROGATE_RE.sub("\ufffd", s).encode("utf-8")


def envelope(status, data=None, msg=""):
    return go_json({"httpstatus": status, "data": data, "msg": msg})


def _sorted_data(data):
    """Objects in a list served with sorted keys (Go map order)."""
    if isinstance(data, list):
        return [dict(sorted(x.items())) if isinstance(x, dict) else x
                for x in data]
    return data


class ApiError(Exception):
    """An answer other than 200: status and msg of the envelope."""

    def __init__(self, status, msg):
        super().__init__(msg)
        self.status = status
        self.msg = msg


class StateError(Exception):
    """A state file the double cannot use (a bug in the test setup)."""


class _Obj(list):
    """A decoded JSON object as its (key, value) pairs, in order."""


def _go_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, _Obj):
        return "object"
    return "array"


def _fix(s):
    # Go decodes a lone surrogate escape to U+FFFD.
    return _SURROGATE_RE.sub("\ufffd", s)


def go_loads(body):
    """Decode a request body roughly as Go's encoding/json would accept it:
    invalid UTF-8 is replaced, NaN/Infinity and a BOM are errors.  Objects
    come back as _Obj pair lists."""
    text = body.decode("utf-8", errors="replace")

    def no_constant(name):
        raise ValueError(f"invalid character {name[0]!r} looking for "
                         f"beginning of value")
    if not text.strip():
        raise ApiError(400, "unexpected end of JSON input")
    try:
        return json.loads(text, parse_constant=no_constant,
                          object_pairs_hook=_Obj)
    except ValueError as e:
        raise ApiError(400, f"invalid JSON: {e}") from None


def _fold(key):
    # Go matches struct field names with Unicode simple case folding.
    return key.replace("\u017f", "s").replace("\u212a", "k").lower()


def valid_rfc3339(s):
    """Go's strict RFC 3339 (time.Time.UnmarshalJSON)."""
    m = _RFC3339_RE.fullmatch(s)
    if not m:
        return False
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    if not (1 <= mo <= 12 and h < 24 and mi < 60 and sec < 60):
        return False
    if not 1 <= d <= calendar.monthrange(y, mo)[1]:
        return False
    if m.group(7) is not None:
        if int(m.group(7)) >= 24 or int(m.group(8)) >= 60:
            return False
    return True


# models.Report, in field order: name -> kind
REPORT_FIELDS = (
    ("uuid", "strings"), ("sn", "string"), ("newiplist", "strings"),
    ("oldiplist", "strings"), ("ns", "strings"), ("version", "string"),
    ("commit", "string"), ("branch", "string"), ("buildtime", "string"),
    ("goversion", "string"), ("newhostname", "string"),
    ("oldhostname", "string"), ("agenttype", "string"), ("update", "bool"),
    ("utime", "time"))
_REPORT_KIND = dict(REPORT_FIELDS)
_ZERO = {"strings": None, "string": "", "bool": False,
         "time": "0001-01-01T00:00:00Z"}


def decode_report(body):
    """models.Report from a request body, as a dict with all 15 fields in
    order (zero values for the absent ones).  ApiError(400) if Go would not
    decode it."""
    obj = go_loads(body)
    rep = {name: _ZERO[kind] for name, kind in REPORT_FIELDS}
    if obj is None:
        return rep
    if not isinstance(obj, _Obj):
        raise ApiError(400, f"json: cannot unmarshal {_go_type(obj)} into "
                            f"Go value of type models.Report")
    first_error = None
    for key, val in obj:
        name = _fold(key)
        kind = _REPORT_KIND.get(name)
        if kind is None:
            continue                                 # unknown keys ignored
        err = None
        if val is None:
            if kind == "strings":
                rep[name] = None
            continue                                 # null: no change
        if kind == "string":
            if isinstance(val, str):
                rep[name] = _fix(val)
            else:
                err = "string"
        elif kind == "bool":
            if isinstance(val, bool):
                rep[name] = val
            else:
                err = "bool"
        elif kind == "time":
            if not isinstance(val, str):
                err = "time"
            elif not valid_rfc3339(val):
                first_error = first_error or (
                    f'parsing time "{val}" as RFC 3339: cannot parse')
            else:
                rep[name] = val
        else:                                        # strings
            if isinstance(val, list) and not isinstance(val, _Obj):
                out = []
                for x in val:
                    if x is None:
                        out.append("")
                    elif isinstance(x, str):
                        out.append(_fix(x))
                    else:
                        err = "string"
                        break
                if err is None:
                    rep[name] = out
            else:
                err = "[]string"
        if err and first_error is None:
            first_error = (f"json: cannot unmarshal {_go_type(val)} into Go "
                           f"struct field Report.{name} of type {err}")
    if first_error:
        raise ApiError(400, first_error)
    return rep


def decode_machine(body):
    """The /agent/ns body as Go decodes it into map[string]string."""
    obj = go_loads(body)
    if obj is None:
        return {}
    if not isinstance(obj, _Obj):
        raise ApiError(400, f"json: cannot unmarshal {_go_type(obj)} into "
                            f"Go value of type model.Resource")
    machine = {}
    for key, val in obj:
        if val is None:
            val = ""
        elif not isinstance(val, str):
            raise ApiError(400, f"json: cannot unmarshal {_go_type(val)} "
                                f"into Go value of type string")
        machine[_fix(key)] = _fix(val)
    return machine


# ------------------------------------------------------------- the tree
class Tree:
    """The namespace tree read from tree.json."""

    def __init__(self, spec):
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise StateError("tree.json: not a JSON object")
        self.leaf = {}          # ns -> bool, leaves in declaration order
        self.machinereg = {}
        for ns, attrs in spec.items():
            if not _NS_RE.fullmatch(ns):
                raise StateError(f"tree.json: invalid namespace {ns!r}")
            if attrs is None:
                attrs = {}
            if not isinstance(attrs, dict):
                raise StateError(f"tree.json: {ns}: not an object")
            leaf = attrs.get("leaf", True)
            reg = attrs.get("machinereg", NEVER_MATCH)
            if not isinstance(leaf, bool) or not isinstance(reg, str):
                raise StateError(f"tree.json: {ns}: leaf must be a bool and "
                                 f"machinereg a string")
            if ns == ROOT_NS and leaf:
                raise StateError("tree.json: loda cannot be a leaf")
            self.leaf[ns] = leaf
            self.machinereg[ns] = reg
        if POOL_NS not in self.leaf:
            self.leaf[POOL_NS] = True
            self.machinereg[POOL_NS] = NEVER_MATCH
        for ns in list(self.leaf):
            labels = ns.split(".")
            for i in range(1, len(labels)):
                anc = ".".join(labels[i:])
                if self.leaf.get(anc):
                    raise StateError(f"tree.json: leaf {anc} has a child "
                                     f"{ns}")
                self.leaf.setdefault(anc, False)

    def exists(self, ns):
        return ns in self.leaf

    def is_leaf(self, ns):
        return self.leaf.get(ns, False)

    def leaves(self):
        return [ns for ns, leaf in self.leaf.items() if leaf]

    def leaves_under(self, ns):
        return [x for x in self.leaves() if x.endswith("." + ns)]

    def match(self, hostname):
        """The leaves whose machinereg matches, else [pool.loda]."""
        out = []
        for ns in self.leaves():
            reg = self.machinereg[ns]
            if reg == NEVER_MATCH:
                continue
            try:
                if re.search(reg, hostname, re.ASCII):
                    out.append(ns)
            except re.error:
                continue
        return out or [POOL_NS]


# -------------------------------------------------------------- records
@dataclass
class Request:
    seq: int
    time: float
    method: str
    path: str
    query: str
    params: dict
    headers: list
    body: bytes
    peer: str
    endpoint: str = None
    fault: str = None
    status: int = None
    error: str = None

    def json(self):
        """The body decoded as JSON."""
        return json.loads(self.body.decode("utf-8"))

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def param(self, name, default=None):
        v = self.params.get(name)
        return v[0] if v else default

    def to_json(self):
        return {"seq": self.seq, "time": self.time, "method": self.method,
                "path": self.path, "query": self.query,
                "params": self.params,
                "headers": [list(h) for h in self.headers],
                "body": self.body.decode("utf-8", errors="replace"),
                "body_b64": base64.b64encode(self.body).decode("ascii"),
                "peer": self.peer, "endpoint": self.endpoint,
                "fault": self.fault, "status": self.status,
                "error": self.error}


@dataclass
class Fault:
    mode: str = "ok"
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"

    def to_json(self):
        d = {"mode": self.mode}
        if self.mode == "canned":
            d.update(status=self.status, content_type=self.content_type,
                     body=self.body.decode("utf-8", errors="replace"))
        return d


# ---------------------------------------------------------------- double
class RegistryDouble:
    """The registry double.  port/control_port 0 pick free ports; the
    ports bound are in .port and .control_port after start()."""

    def __init__(self, state_dir=None, port=0, control_port=0,
                 template=True, fault="ok", verbose=False, tls=None):
        if fault not in FAULT_MODES or fault == "canned":
            raise ValueError(f"bad initial fault mode {fault!r}")
        self._tls = None
        if tls is not None:
            # loaded now: a bad certificate fails here, not per connection
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(*tls)
        self.state_dir = state_dir
        self._own_state = state_dir is None
        self.port = port
        self.control_port = control_port
        self.template = template
        self.verbose = verbose

        self._lock = threading.Lock()               # faults, records
        self._cond = threading.Condition(self._lock)
        self._held = 0                              # stalled requests
        self._state_lock = threading.RLock()        # state files
        self._global = Fault(fault)
        self._endpoint_faults = {}
        self._ns_faults = {}
        self._records = []
        self._seq = 0

        self._started = False
        self._stopping = False
        self._listener = None
        self._listen_wanted = fault != "refuse"
        self._listen_open = False
        self._listen_error = None
        self._wake_r = self._wake_w = None
        self._accept_thread = None
        self._httpd = None
        self._ctl = None
        self._ctl_thread = None

    # ----------------------------------------------------------- lifecycle
    def start(self):
        if self._started:
            return self
        if self.state_dir is None:
            self.state_dir = tempfile.mkdtemp(prefix="registry-double-")
        os.makedirs(self.state_dir, exist_ok=True)
        ls = self._bind(self.port)
        self.port = ls.getsockname()[1]
        if self._listen_wanted:
            self._listener = ls
        else:
            ls.close()
        self._httpd = _HTTPServer(self, control=False)
        self._ctl = _HTTPServer(self, control=True,
                                addr=("127.0.0.1", self.control_port))
        self.control_port = self._ctl.server_address[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="registry-double-accept")
        self._ctl_thread = threading.Thread(
            target=self._ctl.serve_forever, kwargs={"poll_interval": 0.05},
            name="registry-double-control")
        self._started = True
        self._accept_thread.start()
        self._ctl_thread.start()
        return self

    def stop(self):
        if not self._started:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()             # release stalled handlers
        self._wake()
        self._accept_thread.join()
        self._httpd.close_all()
        self._httpd.server_close()              # joins handler threads
        self._ctl.shutdown()
        self._ctl.close_all()
        self._ctl.server_close()
        self._ctl_thread.join()
        self._wake_r.close()
        self._wake_w.close()
        self._started = False
        if self._own_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        """The registryaddr of the agent's configuration."""
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def control_url(self):
        return f"http://127.0.0.1:{self.control_port}"

    @staticmethod
    def _bind(port):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            ls.bind(("127.0.0.1", port))
            ls.listen(128)
        except OSError:
            ls.close()
            raise
        ls.setblocking(False)
        return ls

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _accept_loop(self):
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        if self._listener is not None:
            sel.register(self._listener, selectors.EVENT_READ, "listen")
        try:
            while True:
                with self._cond:
                    stopping = self._stopping
                    want = self._listen_wanted and not stopping
                if want and self._listener is None:
                    try:
                        self._listener = self._bind(self.port)
                        sel.register(self._listener, selectors.EVENT_READ,
                                     "listen")
                        err = None
                    except OSError as e:
                        err = str(e)
                    with self._cond:
                        self._listen_error = err
                elif not want and self._listener is not None:
                    sel.unregister(self._listener)
                    self._listener.close()
                    self._listener = None
                with self._cond:
                    self._listen_open = self._listener is not None
                    self._cond.notify_all()
                if stopping:
                    break
                for key, _ in sel.select():
                    if key.data == "wake":
                        try:
                            self._wake_r.recv(4096)
                        except OSError:
                            pass
                        continue
                    try:
                        conn, addr = self._listener.accept()
                    except OSError:
                        continue
                    conn.setblocking(True)
                    if self._tls is not None:
                        # no I/O here: the handler thread does the
                        # handshake (see _HTTPServer.finish_request)
                        try:
                            conn = self._tls.wrap_socket(
                                conn, server_side=True,
                                do_handshake_on_connect=False)
                        except (OSError, ValueError):
                            conn.close()
                            continue
                    self._httpd.process_request(conn, addr)
        finally:
            sel.close()

    def _set_listening(self, want, keep=None):
        with self._cond:
            self._listen_wanted = want
        self._wake()
        deadline = time.monotonic() + 5
        with self._cond:
            while self._listen_open != want:
                if not want and self._stopping:
                    break
                if want and self._listen_error:
                    raise OSError(f"cannot listen on port {self.port} again: "
                                  f"{self._listen_error}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("listener did not change state")
                self._cond.wait(left)
        if not want:                 # a down registry has no connections
            self._httpd.close_all(final=False, keep=keep)

    # ------------------------------------------------------------- faults
    def set_fault(self, mode, endpoint=None, ns=None, status=200, body=b"",
                  content_type="application/json", _keep=None):
        """Set the fault mode globally, for one endpoint ("ns", "resource",
        "report") or for one namespace of the resource endpoint.  mode
        "clear" (or None) removes an endpoint/ns setting."""
        if mode is None:
            mode = "clear"
        if mode not in FAULT_MODES and mode != "clear":
            raise ValueError(f"unknown fault mode {mode!r}")
        if ns is not None:
            if endpoint not in (None, "resource"):
                raise ValueError("a namespace fault is for the resource "
                                 "endpoint only")
            endpoint = "resource"
        elif endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")
        if isinstance(body, str):
            body = body.encode("utf-8")
        f = Fault("ok" if mode == "clear" else mode, int(status), bytes(body),
                  content_type)
        global_refuse = None
        with self._cond:
            if ns is not None:
                if mode == "clear":
                    self._ns_faults.pop(ns, None)
                else:
                    self._ns_faults[ns] = f
            elif endpoint is not None:
                if mode == "clear":
                    self._endpoint_faults.pop(endpoint, None)
                else:
                    self._endpoint_faults[endpoint] = f
            else:
                self._global = f
                global_refuse = f.mode == "refuse"
            self._cond.notify_all()             # re-check stalled handlers
        if global_refuse is not None and self._started:
            self._set_listening(not global_refuse, keep=_keep)
        elif global_refuse is not None:
            self._listen_wanted = not global_refuse
        self._log(f"fault {endpoint or 'global'}{'/' + ns if ns else ''} "
                  f"-> {mode}")

    def clear_fault(self, endpoint=None, ns=None):
        self.set_fault("clear", endpoint=endpoint, ns=ns)

    def faults(self):
        with self._lock:
            return {"global": self._global.to_json(),
                    "endpoint": {k: v.to_json()
                                 for k, v in self._endpoint_faults.items()},
                    "ns": {k: v.to_json()
                           for k, v in self._ns_faults.items()}}

    @property
    def fault(self):
        return self._global.mode

    def _fault_for(self, endpoint, ns):
        with self._lock:
            return self._fault_locked(endpoint, ns)

    def _fault_locked(self, endpoint, ns):
        if endpoint == "resource" and ns in self._ns_faults:
            return self._ns_faults[ns]
        if endpoint in self._endpoint_faults:
            return self._endpoint_faults[endpoint]
        return self._global

    def _wait_unstalled(self, endpoint, ns):
        with self._cond:
            self._held += 1
            try:
                while (self._fault_locked(endpoint, ns).mode == "stall"
                       and not self._stopping):
                    self._cond.wait()
            finally:
                self._held -= 1

    def held(self):
        """How many requests a stall holds now (a state a test can wait
        for instead of a time)."""
        with self._cond:
            return self._held

    # ---------------------------------------------------------- recording
    def _record(self, **kw):
        with self._cond:
            self._seq += 1
            r = Request(seq=self._seq, time=time.time(), **kw)
            self._records.append(r)
            self._cond.notify_all()
            return r

    def _finish_record(self, rec, status=None, fault=None, error=None):
        with self._cond:
            rec.status = status
            rec.fault = fault
            rec.error = error
            self._cond.notify_all()

    def requests(self, path=None, since=0):
        """Recorded requests (Request objects), oldest first."""
        with self._lock:
            return [r for r in self._records
                    if (path is None or r.path == path) and r.seq > since]

    def wait_for_requests(self, n, path=None, timeout=10.0):
        """Block until at least n requests (to path) are recorded."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                have = [r for r in self._records
                        if path is None or r.path == path]
                if len(have) >= n:
                    return have
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(have)} of {n} requests to "
                                       f"{path or 'any path'} after "
                                       f"{timeout}s")
                self._cond.wait(left)

    def reset(self):
        """Forget the recorded requests and clear every fault."""
        with self._cond:
            self._records.clear()
            self._endpoint_faults.clear()
            self._ns_faults.clear()
        self.set_fault("ok")

    def _log(self, text, force=False):
        if self.verbose or force:
            sys.stderr.write(f"[registry-double] {text}\n")
            sys.stderr.flush()

    # ---------------------------------------------------------- state I/O
    def _path(self, *parts):
        return os.path.join(self.state_dir, *parts)

    def _read_json(self, rel, default):
        p = self._path(rel)
        try:
            with open(p, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return default
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError as e:
            raise StateError(f"{rel}: not JSON: {e}") from None

    def _write_json(self, rel, obj):
        p = self._path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        tmp = f"{p}.tmp.{os.getpid()}.{threading.get_ident()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
            f.write("\n")
        os.replace(tmp, p)

    @staticmethod
    def _res_rel(ns, rtype):
        if not _NS_RE.fullmatch(ns):
            raise ValueError(f"invalid namespace {ns!r}")
        if not _TYPE_RE.fullmatch(rtype):
            raise ValueError(f"invalid resource type {rtype!r}")
        return os.path.join(rtype, ns + ".json")

    def _tree(self):
        return Tree(self._read_json("tree.json", {}))

    def _leaf_resources(self, ns, rtype):
        """The <type> list of leaf ns as stored (any JSON for collect)."""
        if not _TYPE_RE.fullmatch(rtype):
            return []                     # a type no file can hold
        default = (default_collect(ns) if rtype == "collect" and self.template
                   else [])
        return self._read_json(self._res_rel(ns, rtype), default)

    def _machines(self, ns):
        ms = self._leaf_resources(ns, "machine")
        if not isinstance(ms, list) or not all(isinstance(m, dict)
                                               for m in ms):
            raise StateError(f"machine/{ns}.json: not a list of objects")
        return ms

    def _search_machine(self, tree, hostname):
        """{ns: (_id, sn)} of the first machine named hostname per leaf."""
        found = {}
        for ns in tree.leaves():
            for m in self._machines(ns):
                if m.get("hostname") == hostname:
                    mid = m.get("_id")
                    if not isinstance(mid, str) or not mid:
                        raise ApiError(500, "search machine fail")
                    sn = m.get("sn", "")
                    found[ns] = (mid, sn if isinstance(sn, str) else "")
                    break
        return found

    # ---------------------------------------------------- in-process setup
    def set_tree(self, tree):
        """Write tree.json ({ns: {"machinereg": re, "leaf": bool}})."""
        Tree(tree)                                   # validate now
        with self._state_lock:
            self._write_json("tree.json", tree)

    def set_resources(self, ns, rtype, items):
        with self._state_lock:
            self._write_json(self._res_rel(ns, rtype), items)

    def set_collect(self, ns, items):
        self.set_resources(ns, "collect", items)

    def set_machines(self, ns, machines):
        self.set_resources(ns, "machine", machines)

    def remove_resources(self, ns, rtype):
        """Delete <type>/<ns>.json (collect falls back to the template)."""
        with self._state_lock:
            try:
                os.unlink(self._path(self._res_rel(ns, rtype)))
            except FileNotFoundError:
                pass

    def resources(self, ns, rtype="collect"):
        """What a leaf namespace holds (the file, or the default)."""
        with self._state_lock:
            return self._leaf_resources(ns, rtype)

    def machines(self, ns):
        with self._state_lock:
            return self._machines(ns)

    def add_machine(self, ns, hostname, ip="", sn="", status="online",
                    **extra):
        """Append a machine resource to leaf ns; returns its _id."""
        mid = str(uuid.uuid4())
        m = dict(extra, hostname=hostname, ip=ip, sn=sn, status=status)
        m["_id"] = mid
        with self._state_lock:
            ms = self._machines(ns)
            ms.append(dict(sorted(m.items())))
            self._write_json(self._res_rel(ns, "machine"), ms)
        return mid

    def reports(self):
        with self._state_lock:
            r = self._read_json("reports.json", {})
        if not isinstance(r, dict):
            raise StateError("reports.json: not a JSON object")
        return r

    # ------------------------------------------------------ API behaviour
    def api_ns(self, body):
        machine = decode_machine(body)
        hostname = machine.get("hostname", "")
        if not hostname:
            raise ApiError(400, MSG_INVALID)
        with self._state_lock:
            tree = self._tree()
            found = self._search_machine(tree, hostname)
            if found:
                return {ns: found[ns][0] for ns in sorted(found)}
            if not machine.get("status"):
                machine["status"] = "online"
            mid = str(uuid.uuid4())
            machine["_id"] = mid
            machine = dict(sorted(machine.items()))
            namespaces = tree.match(hostname)
            for ns in namespaces:
                ms = self._machines(ns)
                ms.append(dict(machine))
                self._write_json(self._res_rel(ns, "machine"), ms)
            self._log(f"registered {hostname!r} in {namespaces} as {mid}")
            return {ns: mid for ns in sorted(namespaces)}

    def api_resource(self, ns, rtype):
        if not ns:
            raise ApiError(400, MSG_INVALID)
        with self._state_lock:
            tree = self._tree()
            if not tree.exists(ns):
                raise ApiError(500, MSG_NO_NODE)
            if tree.is_leaf(ns):
                return _sorted_data(self._leaf_resources(ns, rtype))
            leaves = tree.leaves_under(ns)
            if not leaves:
                return None
            out = []
            for leaf in leaves:
                items = self._leaf_resources(leaf, rtype)
                if not isinstance(items, list):
                    raise StateError(f"{rtype}/{leaf}.json: not a list "
                                     f"(needed for non-leaf {ns})")
                out.extend(items)
            return _sorted_data(out)

    def api_report(self, body):
        rep = decode_report(body)
        old, new = rep["oldhostname"], rep["newhostname"]
        if not old:
            raise ApiError(400, MSG_INVALID)
        with self._state_lock:
            if rep["update"]:
                upd = {}
                if new and new != old:
                    upd["hostname"] = new
                newips, oldips = rep["newiplist"], rep["oldiplist"]
                if newips and oldips and ",".join(newips) != ",".join(oldips):
                    upd["ip"] = ",".join(newips)
                found = self._search_machine(self._tree(), old)
                if not found:
                    raise ApiError(500, MSG_NO_MACHINE)
                for ns, (mid, msn) in found.items():
                    if rep["sn"] and msn and rep["sn"] != msn:
                        self._log(f"report: {old!r} in {ns}: sn differs "
                                  f"({msn!r} != {rep['sn']!r}), not updated")
                        continue
                    if not upd:
                        continue
                    ms = self._machines(ns)
                    for m in ms:
                        if m.get("_id") == mid:
                            m.update(upd)
                            break
                    self._write_json(self._res_rel(ns, "machine"), ms)
                    self._log(f"report: {old!r} in {ns} updated {upd}")
            if not new:
                raise ApiError(400, MSG_INVALID_PARAM)
            reports = self._read_json("reports.json", {})
            if not isinstance(reports, dict):
                raise StateError("reports.json: not a JSON object")
            if old != new:
                reports.pop(old, None)
            reports[new] = rep
            self._write_json("reports.json", reports)
        return None


# ------------------------------------------------------------------ HTTP
class _HTTPServer(TrackingHTTPServer):
    def __init__(self, double, control, addr=("127.0.0.1", 0)):
        self.control = control
        super().__init__(addr, _Handler, double, bind_and_activate=control)
        if not control:
            self.socket.close()     # the double's accept loop listens

    def finish_request(self, request, client_address):
        if isinstance(request, ssl.SSLSocket):
            # tracked, so that stop() or a refuse ends a stuck handshake
            self.track(request)
            try:
                request.settimeout(HANDSHAKE_TIMEOUT)
                request.do_handshake()
                request.settimeout(None)
            except (OSError, ValueError) as e:
                # a refused certificate, plain HTTP, a closed connection
                self.double._log(f"TLS handshake with "
                                 f"{client_address[0]}:{client_address[1]} "
                                 f"failed: {e}")
                return
            finally:
                self.untrack(request)
        super().finish_request(request, client_address)


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True      # no 40 ms Nagle/delayed-ACK stalls
    server_version = "registry-double/1"
    sys_version = ""

    def setup(self):
        super().setup()
        self.server.track(self.connection)
        self._gone = False
        self._rec = self._fault_mode = self._error = None

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, fmt, *args):
        self.server.double._log("http " + (fmt % args))

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # ------------------------------------------------------------ helpers
    def _send(self, status, body, ctype="application/json", headers=()):
        """Answer; the request's record is completed first, so a client
        that has the answer always finds its status recorded."""
        if self._gone:
            return status
        if self._rec is not None:
            self.server.double._finish_record(self._rec, status,
                                              self._fault_mode, self._error)
            self._rec = None
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        if self.command != "HEAD":       # headers and body in one write
            self._headers_buffer.append(b"\r\n" + body)
            self.flush_headers()
        else:
            self.end_headers()
        return status

    def _envelope(self, status, data=None, msg="", headers=()):
        return self._send(status, envelope(status, data, msg),
                          headers=headers)

    def _ctl_json(self, status, obj):
        return self._send(status, json.dumps(obj).encode("utf-8"))

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            return self._read_chunked()
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
            if n < 0 or n > MAX_BODY:
                raise ValueError
        except ValueError:
            raise _BadRequest() from None
        data = self.rfile.read(n)
        if len(data) != n:
            raise _BadRequest()
        return data

    def _read_chunked(self):
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest() from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass                               # trailers
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise _BadRequest()
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)                  # CRLF after chunk

    def _reset(self):
        """Close the connection with an RST, answering nothing."""
        self.close_connection = True
        self._gone = True
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            os.close(sock.detach())
        except OSError:
            pass

    # ----------------------------------------------------------- dispatch
    def _dispatch(self):
        d = self.server.double
        self._rec = self._fault_mode = self._error = None
        u = urlsplit(self.path)
        try:
            body = self._read_body()
        except _BadRequest:
            self.close_connection = True
            self._envelope(400, None, "bad request body")
            return
        if u.path.startswith("/_double/"):
            return self._control(u, body)
        if self.server.control:
            return self._envelope(404, None, MSG_NOT_FOUND)
        params = parse_qs(u.query, keep_blank_values=True, errors="replace")
        route = ROUTES.get(u.path)
        endpoint = route[1] if route else None
        self._rec = d._record(method=self.command, path=u.path,
                              query=u.query, params=params,
                              headers=list(self.headers.items()), body=body,
                              peer="%s:%d" % self.client_address[:2],
                              endpoint=endpoint)
        ns = (params.get("ns") or [""])[0] if endpoint == "resource" else None
        fault = d._fault_for(endpoint, ns)
        if fault.mode != "ok":
            self._fault_mode = fault.mode
            return self._faulted(fault, endpoint, ns, params)
        if route is None:
            return self._envelope(404, None, MSG_NOT_FOUND)
        if self.command != route[0]:
            return self._envelope(405, None, MSG_NOT_ALLOWED,
                                  headers=[("Allow", route[0])])
        try:
            if endpoint == "ns":
                data, msg = d.api_ns(body), ""
            elif endpoint == "resource":
                data, msg = d.api_resource(
                    ns, (params.get("type") or [""])[0]), ""
            else:
                data, msg = d.api_report(body), MSG_SUCCESS
            self._envelope(200, data, msg)
        except ApiError as e:
            self._envelope(e.status, None, e.msg)
        except StateError as e:
            self._error = f"double: bad state: {e}"
            d._log(self._error, force=True)
            self._envelope(500, None, self._error)

    def _faulted(self, fault, endpoint, ns, params):
        d = self.server.double
        mode = fault.mode
        if mode in ("refuse", "reset", "stall"):
            d._finish_record(self._rec, None, mode)   # no status, ever
            self._rec = None
        if mode in ("refuse", "reset"):
            self._reset()
        elif mode == "stall":
            d._wait_unstalled(endpoint, ns)
            self._reset_quietly()
        elif mode == "garbage":
            self._send(200, GARBAGE_BODY)
        elif mode == "error":
            self._envelope(500, None, MSG_INJECTED)
        elif mode == "canned":
            self._send(fault.status, fault.body, fault.content_type)
        elif mode == "malformed":
            self._send(200, self._malformed(endpoint, ns, params))

    def _reset_quietly(self):
        """End a stalled exchange: close (FIN), still answering nothing."""
        self.close_connection = True
        self._gone = True
        shutdown_quietly(self.connection)

    def _malformed(self, endpoint, ns, params):
        d = self.server.double
        if endpoint == "ns":
            return envelope(200, [POOL_NS], "")
        if endpoint == "resource":
            items = None
            try:
                items = d.api_resource(ns, (params.get("type") or [""])[0])
            except (ApiError, StateError):
                pass
            if isinstance(items, list) and items and isinstance(items[0],
                                                                 dict):
                first = dict(items[0])
                try:
                    first["interval"] = int(first.get("interval", "10"))
                except (TypeError, ValueError):
                    first["interval"] = 10
                items = [first] + items[1:]
            else:
                items = [{"_id": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                "registry-double:malformed")),
                          "interval": 10, "measurement_type": "CPU",
                          "name": "cpu.idle"}]
            return envelope(200, _sorted_data(items), "")
        return go_json({"httpstatus": 200, "data": [], "msg": 0})

    # ------------------------------------------------------------ control
    def _control(self, u, body):
        d = self.server.double
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True,
                                          errors="replace").items()}
        path = u.path
        get, post = self.command == "GET", self.command == "POST"
        if path == "/_double/requests" and get:
            try:
                since = int(q.get("since") or 0)
            except ValueError:
                return self._ctl_json(400, {"error": "bad since"})
            return self._ctl_json(200, [r.to_json() for r in
                                        d.requests(q.get("path"), since)])
        if path == "/_double/fault" and (get or post):
            if post:
                args = dict(q)
                if body.strip():
                    try:
                        obj = json.loads(body.decode("utf-8"))
                        if not isinstance(obj, dict):
                            raise ValueError("not an object")
                    except ValueError as e:
                        return self._ctl_json(400, {"error": f"body: {e}"})
                    args.update(obj)
                try:
                    d.set_fault(args.get("mode"), args.get("endpoint"),
                                args.get("ns"),
                                status=int(args.get("status", 200)),
                                body=args.get("body", ""),
                                content_type=args.get("content_type",
                                                      "application/json"),
                                _keep=self.connection)
                except (ValueError, TypeError) as e:
                    return self._ctl_json(400, {"error": str(e)})
                except OSError as e:
                    return self._ctl_json(500, {"error": str(e)})
            return self._ctl_json(200, d.faults())
        if path == "/_double/reset" and post:
            d.reset()
            return self._ctl_json(200, d.faults())
        if path == "/_double/reports" and get:
            try:
                return self._ctl_json(200, d.reports())
            except StateError as e:
                return self._ctl_json(500, {"error": str(e)})
        if path == "/_double/info" and get:
            return self._ctl_json(200, {"port": d.port,
                                        "control_port": d.control_port,
                                        "state_dir": d.state_dir,
                                        "pid": os.getpid()})
        return self._ctl_json(404, {"error": f"no {self.command} {path}"})


# ------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--state-dir",
                    help="state directory (default: a temporary one)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--fault", choices=[m for m in FAULT_MODES
                                        if m != "canned"], default="ok")
    ap.add_argument("--no-template", action="store_true",
                    help="a missing collect file is [] instead of the "
                         "default template")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate "
                    "chain (PEM); needs --tls-key")
    ap.add_argument("--tls-key", help="the private key (PEM) of --tls-cert")
    args = ap.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        ap.error("--tls-cert and --tls-key go together")
    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None

    stop = threading.Event()

    def on_signal(signum, frm):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    d = RegistryDouble(state_dir=args.state_dir, port=args.port,
                       control_port=args.control_port,
                       template=not args.no_template, fault=args.fault,
                       verbose=args.verbose, tls=tls)
    d.start()
    try:
        sys.stdout.write(json.dumps({"port": d.port,
                                     "control_port": d.control_port,
                                     "pid": os.getpid(),
                                     "state_dir": d.state_dir}) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.2):
            pass
    finally:
        d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
