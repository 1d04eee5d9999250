#!/usr/bin/env python3
"""A test double of nsqd (producer side) for the agent's integration tests.

Written from the public NSQ documentation only, not from anyone's code:

  * TCP Protocol Spec      https://nsq.io/clients/tcp_protocol_spec.html
      (magic "  V2", IDENTIFY and its fields and valid ranges, PUB, MPUB,
      DPUB, NOP, CLS, AUTH, error codes per command, frame layout, frame
      types, heartbeats: "after 2 unanswered _heartbeat_ responses nsqd
      will timeout and forcefully close a client connection")
  * nsqd                   https://nsq.io/components/nsqd.html
      (HTTP API /ping /info /stats /pub /mpub incl. ?binary=true layout,
      option defaults: --max-msg-size 1048576, --max-body-size 5242880,
      --max-rdy-count 2500, --max-heartbeat-interval 1m,
      --max-msg-timeout 15m, --msg-timeout 1m,
      --max-output-buffer-size 65536, --max-output-buffer-timeout 1s,
      --max-deflate-level 6, --max-req-timeout 1h)
  * Building Client Libraries
                           https://nsq.io/clients/building_client_libraries.html
      ("the overwhelming majority of protocol-level error handling is
      fatal ... forcibly closing the connection (and, if possible, sending
      an error to the client)"; the only non-fatal errors are E_FIN_FAILED,
      E_REQ_FAILED and E_TOUCH_FAILED; the IDENTIFY negotiation reply)
  * pkg.go.dev README of nsqd v0.2.x (pre-1.0 /put and /mput endpoints)
  * nsqio/nsq issue #1444 (exact text "E_BAD_MESSAGE PUB message too big
    1293055 > 1048576")

Behaviour choices (where the pages are silent or the double differs)
-------------------------------------------------------------------
* Every TCP error this double sends is FATAL, as the "Building Client
  Libraries" page says: the error frame is written, our side of the
  connection is shut down for writing, what the client still sends is read
  and discarded for up to 1 s (so the client reliably reads the frame
  instead of getting a reset), then the socket is closed.  This includes
  E_BAD_TOPIC, E_BAD_MESSAGE, E_BAD_BODY, E_PUB_FAILED/E_MPUB_FAILED/
  E_DPUB_FAILED and E_INVALID.  (FIN/REQ/TOUCH, whose failures are the
  non-fatal ones, are consumer commands this double does not serve.)
* Bad magic: error frame "E_BAD_PROTOCOL", then close.
* Size checks are made on the 4-byte size field, before the body is read
  (so a client declaring 2 000 000 bytes gets the error at once): PUB/DPUB
  over --max-msg-size are E_BAD_MESSAGE, MPUB over --max-body-size
  E_BAD_BODY.  Inside an MPUB body the errors are nsqd's readMPUB ones: a
  missing count, a count <= 0 or above (max-body-size - 4) / 5 is
  E_BAD_BODY; a missing size field, a size <= 0, a message over
  --max-msg-size or one cut short is E_BAD_MESSAGE, each with nsqd's
  text.  MPUB is atomic: nothing of a refused one is recorded.  The double
  is stricter than nsqd in one way: nsqd reads the messages from the
  stream and ignores the size field once checked, the double reads them
  from the body and refuses bytes after the last message (E_BAD_BODY).
* Zero-length PUB/DPUB bodies are E_BAD_MESSAGE ("invalid message body
  size 0"); NSQ has no empty messages.
* Heartbeats: every heartbeat interval (IDENTIFY heartbeat_interval; 0 or
  absent = the server default, --heartbeat-ms, 30000; -1 disables) the
  double sends a "_heartbeat_" response frame; if nothing at all has been
  received from the client for two intervals the connection is closed
  (no frame).  IDENTIFY heartbeat_interval must be -1, 0 or within
  [--min-heartbeat-ms (1000), --max-heartbeat-ms (60000)], else E_BAD_BODY.
* IDENTIFY with feature_negotiation replies with a JSON frame; TLS, snappy
  and deflate are never granted (false) even when asked for.
* Consumer commands (SUB, RDY, FIN, REQ, TOUCH) get "E_INVALID cannot X in
  current state" (fatal); AUTH gets "E_INVALID AUTH disabled" (fatal);
  CLS gets "CLOSE_WAIT"; unknown commands "E_INVALID invalid command X".
* HTTP errors are JSON {"message":CODE} as in nsqd 1.x: 400
  MISSING_ARG_TOPIC / INVALID_TOPIC / MSG_EMPTY, 413 MSG_TOO_BIG /
  BODY_TOO_BIG, 405 METHOD_NOT_ALLOWED, 404 NOT_FOUND.  The pages above
  give no status codes; 413 for "too big" is what nsqd 1.x answers (seen
  in a search excerpt, not taken from the docs) -- set TOO_BIG_STATUS =
  400 to get a plain 400 instead.  A binary /mpub body nsqd's readMPUB
  refuses is 413 with the TCP code minus its "E_": BAD_BODY (count) or
  BAD_MESSAGE (a message), as nsqd 1.x's doMPUB answers; bytes after the
  last message are 413 BAD_BODY (the double's strictness, as for MPUB).
  "binary" is on when the parameter is present and not "false" or "0"
  (nsqd: "unrecognized binary opt considered true").  An oversized
  publish sent with "Expect: 100-continue" gets its 413 at once, without
  "100 Continue", and the connection is then closed.  /mpub text mode
  splits on "\\n" and skips empty lines.  Every response has a
  Content-Length; keep-alive (HTTP/1.1) and chunked request bodies work.
  Every HTTP error answered is counted in counters()["http_errors"] by
  "<status> <code>".
* Fault modes (set with set_fault() or POST /debug/fault?mode=M):
    ok      normal service
    refuse  TCP: new connections are reset at once (SO_LINGER 0) and the
            open ones are reset when the mode is set; HTTP: 503
            {"message":"SERVICE_UNAVAILABLE"} on every non-/debug path
    stall   TCP: new and open connections stop answering anything
            (no responses, no heartbeats, no idle timeout) and stay
            stalled until closed, even after the mode changes; HTTP: the
            request is read and never answered; when the mode leaves
            "stall" (or the double stops) the connection is closed;
            counters()["http_stalled"] counts the requests held so
    drop    after the next PUB/MPUB/DPUB (TCP) or /pub /mpub /put /mput
            request (HTTP) is fully read, the connection is closed with no
            response; the message is NOT recorded
    error   PUB/MPUB/DPUB are answered with E_PUB_FAILED/E_MPUB_FAILED/
            E_DPUB_FAILED (the codes the spec lists per command; fatal),
            HTTP publishes with 500 {"message":"INTERNAL_ERROR"}; nothing
            is recorded.  IDENTIFY, NOP, /ping and /stats work normally.
  /debug/* is never affected by a fault.
* Recording: every accepted message is kept (topic, body, transport
  "tcp"/"http", command, time, peer) in memory, exposed by messages() and
  GET /debug/messages?topic=T&since=SEQ (bodies base64 in "body_b64"), and
  appended as JSON lines (same fields) to STATE_DIR/messages.jsonl.  A
  multi-message publish is recorded atomically.  GET|POST /debug/reset
  clears the records, the topic counters and truncates messages.jsonl (the
  fault mode is kept).  GET /debug/clients lists TCP clients and their
  IDENTIFY bodies.  --no-bodies (keep_bodies=False) keeps sizes only, for
  benchmarks.

Usage:
  python3 tests/peers/nsqd.py --tcp-port 0 --http-port 0 --state-dir DIR
prints {"tcp_port": N, "http_port": M, "pid": P} on one line when ready and
serves until SIGTERM/SIGINT.  In-process: NsqdDouble(...).start() / .stop().
"""

import argparse
import base64
import json
import os
import re
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from peerhttp import TrackingHTTPServer, shutdown_quietly

VERSION = "1.2.1"
MAGIC_V2 = b"  V2"

FRAME_RESPONSE = 0
FRAME_ERROR = 1
FRAME_MESSAGE = 2

HEARTBEAT = b"_heartbeat_"

DEFAULT_MAX_MSG_SIZE = 1048576
DEFAULT_MAX_BODY_SIZE = 5242880
DEFAULT_HEARTBEAT_MS = 30000
DEFAULT_MIN_HEARTBEAT_MS = 1000
DEFAULT_MAX_HEARTBEAT_MS = 60000
MAX_RDY_COUNT = 2500
MSG_TIMEOUT_MS = 60000
MAX_MSG_TIMEOUT_MS = 900000
MAX_REQ_TIMEOUT_MS = 3600000
OUTPUT_BUFFER_SIZE = 16384
MAX_OUTPUT_BUFFER_SIZE = 65536
OUTPUT_BUFFER_TIMEOUT_MS = 250
MAX_OUTPUT_BUFFER_TIMEOUT_MS = 1000
MAX_DEFLATE_LEVEL = 6

TOO_BIG_STATUS = 413          # HTTP status for MSG_TOO_BIG / BODY_TOO_BIG
MAX_LINE = 4096               # longest command line accepted
FATAL_DRAIN_S = 1.0           # how long to drain input after a fatal error
SEND_TIMEOUT_S = 10.0         # a client that does not read is dropped
HTTP_DRAIN_CAP = 64 << 20     # larger refused bodies close the connection

FAULT_MODES = ("ok", "refuse", "stall", "drop", "error")

_TOPIC_RE = re.compile(r"[.a-zA-Z0-9_-]+(#ephemeral)?")


def valid_topic(name):
    """NSQ topic rule: [.a-zA-Z0-9_-], optional #ephemeral, length 1..64."""
    if isinstance(name, bytes):
        try:
            name = name.decode("ascii")
        except UnicodeDecodeError:
            return False
    return 1 <= len(name) <= 64 and _TOPIC_RE.fullmatch(name) is not None


def frame(ftype, data):
    """One server->client frame: size (= 4 + len(data)), type, data."""
    return struct.pack(">ii", 4 + len(data), ftype) + data


@dataclass
class Message:
    seq: int
    topic: str
    body: bytes           # None when the double runs with keep_bodies=False
    size: int
    transport: str        # "tcp" or "http"
    command: str          # PUB MPUB DPUB (tcp) or pub mpub put mput (http)
    time: float           # time.time() when accepted
    peer: str
    defer_ms: int = None

    def to_json(self):
        return {
            "seq": self.seq, "topic": self.topic,
            "body_b64": (base64.b64encode(self.body).decode("ascii")
                         if self.body is not None else None),
            "size": self.size, "transport": self.transport,
            "command": self.command, "time": self.time, "peer": self.peer,
            "defer_ms": self.defer_ms,
        }


class _Fatal(Exception):
    """A fatal protocol error: send an error frame, then close."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text


@dataclass
class _Client:
    sock: socket.socket
    peer: str
    id: int
    connected: float = field(default_factory=time.time)
    identify: dict = None
    magic: bool = False
    stalled: bool = False
    reset: bool = False
    closed: bool = False
    commands: int = 0
    heartbeats: int = 0
    hb_ms: int = 0


class NsqdDouble:
    """nsqd producer-side double: TCP protocol V2 and HTTP API on 127.0.0.1
    (or on host="::1", the other loopback address).

    Ports 0 pick free ports; the ports actually bound are in .tcp_port and
    .http_port after start().
    """

    def __init__(self, tcp_port=0, http_port=0, state_dir=None,
                 max_msg_size=DEFAULT_MAX_MSG_SIZE,
                 max_body_size=DEFAULT_MAX_BODY_SIZE,
                 heartbeat_ms=DEFAULT_HEARTBEAT_MS,
                 min_heartbeat_ms=DEFAULT_MIN_HEARTBEAT_MS,
                 max_heartbeat_ms=DEFAULT_MAX_HEARTBEAT_MS,
                 keep_bodies=True, fault="ok", verbose=False,
                 host="127.0.0.1"):
        if fault not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {fault!r}")
        if host not in ("127.0.0.1", "::1"):
            raise ValueError(f"{host!r}: a loopback address only")
        self.host = host
        self.tcp_port = tcp_port
        self.http_port = http_port
        self.state_dir = state_dir
        self.max_msg_size = max_msg_size
        self.max_body_size = max_body_size
        self.heartbeat_ms = heartbeat_ms
        self.min_heartbeat_ms = min_heartbeat_ms
        self.max_heartbeat_ms = max_heartbeat_ms
        self.keep_bodies = keep_bodies
        self.verbose = verbose
        self.start_time = int(time.time())

        self._fault = fault
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._messages = []
        self._topics = {}          # name -> [count, bytes]
        self._seq = 0
        self._jsonl = None
        self._counters = {"tcp_connections": 0, "tcp_refused": 0,
                          "tcp_timeouts": 0, "tcp_dropped": 0,
                          "tcp_errors_sent": 0, "heartbeats_sent": 0,
                          "http_requests": 0, "http_stalled": 0}
        self._errors = {}          # error code -> count
        self._http_errors = {}     # "<status> <code>" -> count

        self._clients = {}         # id -> _Client (open connections)
        self._client_log = []      # every client seen (for /debug/clients)
        self._next_client = 0
        self._threads = set()
        self._stopping = False
        self._started = False
        self._listener = None
        self._accept_thread = None
        self._wake_r = self._wake_w = None
        self._httpd = None
        self._http_thread = None

    # ----------------------------------------------------------- lifecycle
    def start(self):
        if self._started:
            return self
        if self.state_dir:
            os.makedirs(self.state_dir, exist_ok=True)
            self._jsonl = open(os.path.join(self.state_dir, "messages.jsonl"),
                               "a", encoding="utf-8")
        self._wake_r, self._wake_w = socket.socketpair()
        ls = socket.socket(socket.AF_INET6 if ":" in self.host else
                           socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((self.host, self.tcp_port))
        ls.listen(128)
        ls.setblocking(False)
        self._listener = ls
        self.tcp_port = ls.getsockname()[1]

        self._httpd = _HTTPServer((self.host, self.http_port), self)
        self.http_port = self._httpd.server_address[1]

        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="nsqd-double-accept")
        self._accept_thread.start()
        self._http_thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name="nsqd-double-http")
        self._http_thread.start()
        self._started = True
        return self

    def stop(self):
        if not self._started:
            return
        with self._lock:
            self._stopping = True
            clients = list(self._clients.values())
            self._cond.notify_all()      # release stalled HTTP handlers
        try:
            self._wake_w.send(b"x")      # wakes accept + every connection
        except OSError:
            pass
        for c in clients:
            shutdown_quietly(c.sock)
        self._httpd.shutdown()            # stop accepting HTTP
        self._httpd.close_all()           # end keep-alive handlers
        self._httpd.server_close()        # joins the handler threads
        self._http_thread.join()
        self._accept_thread.join()
        while True:
            with self._lock:
                threads = list(self._threads)
            if not threads:
                break
            for t in threads:
                t.join()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        if self._jsonl:
            self._jsonl.close()
            self._jsonl = None
        self._started = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def _host_in_url(self):
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def tcp_address(self):
        return f"{self._host_in_url}:{self.tcp_port}"

    @property
    def http_address(self):
        return f"{self._host_in_url}:{self.http_port}"

    # ------------------------------------------------------------- faults
    @property
    def fault(self):
        return self._fault

    def set_fault(self, mode):
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}")
        with self._lock:
            self._fault = mode
            victims = list(self._clients.values()) if mode == "refuse" else []
            self._cond.notify_all()
        for c in victims:                 # a refusing nsqd has no clients
            c.reset = True                # the owner thread closes with RST
            try:
                c.sock.shutdown(socket.SHUT_RD)   # wakes it (EOF)
            except OSError:
                pass
        self._log(f"fault mode -> {mode}")

    # ---------------------------------------------------------- recording
    def _record(self, topic, bodies, transport, command, peer, defer_ms=None):
        now = time.time()
        with self._lock:
            recs = []
            for b in bodies:
                self._seq += 1
                m = Message(self._seq, topic, bytes(b) if self.keep_bodies
                            else None, len(b), transport, command, now, peer,
                            defer_ms)
                recs.append(m)
                t = self._topics.setdefault(topic, [0, 0])
                t[0] += 1
                t[1] += len(b)
            self._messages.extend(recs)
            if self._jsonl:
                self._jsonl.write("".join(json.dumps(m.to_json()) + "\n"
                                          for m in recs))
                self._jsonl.flush()
            self._cond.notify_all()

    def messages(self, topic=None, since=0):
        """Accepted messages (Message objects), oldest first."""
        with self._lock:
            return [m for m in self._messages
                    if (topic is None or m.topic == topic) and m.seq > since]

    def bodies(self, topic=None):
        return [m.body for m in self.messages(topic)]

    def message_count(self, topic=None):
        with self._lock:
            if topic is None:
                return len(self._messages)
            return self._topics.get(topic, [0, 0])[0]

    def wait_for_messages(self, n, topic=None, timeout=10.0):
        """Block until at least n messages (of topic) are recorded."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                have = (len(self._messages) if topic is None
                        else self._topics.get(topic, [0, 0])[0])
                if have >= n:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{have} of {n} messages after "
                                       f"{timeout}s")
                self._cond.wait(left)
        return self.messages(topic)

    def reset(self):
        """Forget every record (and truncate messages.jsonl)."""
        with self._lock:
            self._messages.clear()
            self._topics.clear()
            if self._jsonl:
                self._jsonl.seek(0)
                self._jsonl.truncate()
                self._jsonl.flush()

    def clients(self):
        with self._lock:
            return [{"id": c.id, "peer": c.peer, "connected": c.connected,
                     "open": not c.closed, "identify": c.identify,
                     "commands": c.commands, "heartbeats": c.heartbeats,
                     "heartbeat_interval": c.hb_ms, "stalled": c.stalled}
                    for c in self._client_log]

    def counters(self):
        with self._lock:
            d = dict(self._counters)
            d["errors"] = dict(self._errors)
            d["http_errors"] = dict(self._http_errors)
            d["tcp_open"] = len(self._clients)
            return d

    def stats(self, topic=None):
        """nsqd-1.x-shaped /stats?format=json, plus a "double" extension."""
        with self._lock:
            topics = []
            for name in sorted(self._topics):
                if topic is not None and name != topic:
                    continue
                count, nbytes = self._topics[name]
                topics.append({
                    "topic_name": name, "channels": [], "depth": count,
                    "backend_depth": 0, "message_count": count,
                    "message_bytes": nbytes, "paused": False,
                    "e2e_processing_latency": {"count": 0,
                                               "percentiles": None},
                })
            records = len(self._messages)
        return {"version": VERSION, "health": "OK",
                "start_time": self.start_time, "topics": topics,
                "producers": [], "records": records,
                "double": dict(self.counters(), fault=self._fault,
                               records=records)}

    def _count(self, key, n=1):
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + n

    def _log(self, text):
        if self.verbose:
            sys.stderr.write(f"[nsqd-double] {text}\n")
            sys.stderr.flush()

    # ------------------------------------------------------------ TCP side
    def _accept_loop(self):
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ, "listen")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while True:
                for key, _ in sel.select():
                    if key.data == "wake":
                        return
                    try:
                        sock, addr = self._listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError as e:
                        self._log(f"accept: {e}")
                        time.sleep(0.01)
                        continue
                    self._on_accept(sock, addr)
        finally:
            sel.close()

    def _on_accept(self, sock, addr):
        peer = f"{addr[0]}:{addr[1]}"
        if self._fault == "refuse":
            self._count("tcp_refused")
            self._log(f"tcp {peer}: refused")
            _reset(sock)
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(SEND_TIMEOUT_S)
        with self._lock:
            if self._stopping:
                sock.close()
                return
            self._next_client += 1
            c = _Client(sock=sock, peer=peer, id=self._next_client,
                        hb_ms=self.heartbeat_ms)
            self._clients[c.id] = c
            self._client_log.append(c)
            self._counters["tcp_connections"] += 1
            t = threading.Thread(target=self._serve, args=(c,),
                                 name=f"nsqd-double-tcp-{c.id}")
            self._threads.add(t)
        t.start()

    def _serve(self, c):
        sel = selectors.DefaultSelector()
        try:
            sel.register(c.sock, selectors.EVENT_READ, "sock")
            sel.register(self._wake_r, selectors.EVENT_READ, "wake")
            self._session(c, sel)
        except _Fatal as e:
            if c.stalled or self._fault == "stall":
                self._hold(c, sel)
            else:
                self._fatal(c, sel, e.text)
        except OSError as e:
            self._log(f"tcp {c.peer}: {e}")
        finally:
            sel.close()
            if c.reset:
                _reset(c.sock)
            else:
                c.sock.close()
            with self._lock:
                c.closed = True
                self._clients.pop(c.id, None)
                self._threads.discard(threading.current_thread())
            self._log(f"tcp {c.peer}: closed")

    def _session(self, c, sel):
        buf = bytearray()
        last_rx = time.monotonic()
        next_hb = None                # heartbeats start after the magic
        while True:
            if c.stalled or self._fault == "stall":
                return self._hold(c, sel)
            hb = c.hb_ms / 1000.0
            timeout = None
            if c.hb_ms > 0:
                due = last_rx + 2 * hb
                if next_hb is not None:
                    due = min(due, next_hb)
                timeout = max(0.0, due - time.monotonic())
            for key, _ in sel.select(timeout):
                if key.data == "wake" or c.reset:
                    return
                data = c.sock.recv(1 << 18)
                if not data:
                    return
                last_rx = time.monotonic()
                buf += data
                had_magic, old_hb = c.magic, c.hb_ms
                if not self._process(c, buf):
                    return
                if c.stalled:
                    return self._hold(c, sel)
                if c.magic and (not had_magic or c.hb_ms != old_hb):
                    next_hb = time.monotonic() + c.hb_ms / 1000.0
            if c.hb_ms <= 0:
                continue
            now = time.monotonic()
            if now - last_rx >= 2 * c.hb_ms / 1000.0:
                self._count("tcp_timeouts")
                self._log(f"tcp {c.peer}: nothing received in two heartbeat "
                          f"intervals, closing")
                return
            if next_hb is not None and now >= next_hb:
                if not self._send(c, FRAME_RESPONSE, HEARTBEAT):
                    continue
                c.heartbeats += 1
                self._count("heartbeats_sent")
                next_hb = now + c.hb_ms / 1000.0

    def _hold(self, c, sel):
        """Stalled: read and discard until the client or the double ends."""
        c.stalled = True
        self._log(f"tcp {c.peer}: stalled")
        while True:
            for key, _ in sel.select():
                if key.data == "wake" or c.reset:
                    return
                if not c.sock.recv(1 << 18):
                    return

    def _send(self, c, ftype, data):
        """Send a frame unless the connection is (now) stalled."""
        if c.stalled or self._fault == "stall":
            c.stalled = True
            return False
        c.sock.sendall(frame(ftype, data))
        return True

    def _fatal(self, c, sel, text):
        code = text.split(" ", 1)[0]
        with self._lock:
            self._counters["tcp_errors_sent"] += 1
            self._errors[code] = self._errors.get(code, 0) + 1
        self._log(f"tcp {c.peer}: {text}")
        try:
            if not self._send(c, FRAME_ERROR, text.encode()):
                return
            c.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + FATAL_DRAIN_S
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                events = sel.select(left)
                if any(k.data == "wake" for k, _ in events):
                    return
                if events and not c.sock.recv(65536):
                    return
        except OSError:
            pass

    def _process(self, c, buf):
        """Handle every complete command in buf.  False = close quietly."""
        if not c.magic:
            if len(buf) < 4:
                return True
            magic = bytes(buf[:4])
            del buf[:4]
            if magic != MAGIC_V2:
                raise _Fatal("E_BAD_PROTOCOL")
            c.magic = True
        while True:
            if c.stalled:
                return True
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) > MAX_LINE:
                    raise _Fatal("E_INVALID command line too long")
                return True
            line = bytes(buf[:nl])
            if line.endswith(b"\r"):
                line = line[:-1]
            params = line.split(b" ")
            cmd = params[0].decode("latin-1")
            pos = nl + 1
            if cmd in ("PUB", "MPUB", "DPUB", "IDENTIFY", "AUTH"):
                self._check_params(c, cmd, params)
                if len(buf) < pos + 4:
                    return True
                size = struct.unpack(">i", bytes(buf[pos:pos + 4]))[0]
                self._check_size(c, cmd, size)
                if len(buf) < pos + 4 + size:
                    return True
                body = bytes(buf[pos + 4:pos + 4 + size])
                del buf[:pos + 4 + size]
            else:
                body = None
                del buf[:pos]
            c.commands += 1
            if not self._command(c, cmd, params, body):
                return False

    def _check_params(self, c, cmd, params):
        if cmd in ("IDENTIFY", "AUTH"):
            if cmd == "IDENTIFY" and c.identify is not None:
                raise _Fatal("E_INVALID cannot IDENTIFY in current state")
            if cmd == "AUTH":
                raise _Fatal("E_INVALID AUTH disabled")
            return
        need = 3 if cmd == "DPUB" else 2
        if len(params) < need:
            raise _Fatal(f"E_INVALID {cmd} insufficient number of parameters")
        if not valid_topic(params[1]):
            raise _Fatal(f'E_BAD_TOPIC {cmd} topic name '
                         f'"{params[1].decode("latin-1")}" is not valid')
        if cmd == "DPUB":
            try:
                d = int(params[2])
            except ValueError:
                raise _Fatal(f"E_INVALID DPUB could not parse timeout "
                             f"{params[2].decode('latin-1')}")
            if not 0 <= d < MAX_REQ_TIMEOUT_MS:
                raise _Fatal(f"E_INVALID DPUB timeout {d} out of range "
                             f"0-{MAX_REQ_TIMEOUT_MS}")

    def _check_size(self, c, cmd, size):
        if cmd in ("PUB", "DPUB"):
            if size <= 0:
                raise _Fatal(f"E_BAD_MESSAGE {cmd} invalid message body "
                             f"size {size}")
            if size > self.max_msg_size:
                raise _Fatal(f"E_BAD_MESSAGE {cmd} message too big "
                             f"{size} > {self.max_msg_size}")
        else:  # MPUB, IDENTIFY
            if size <= 0:
                raise _Fatal(f"E_BAD_BODY {cmd} invalid body size {size}")
            if size > self.max_body_size:
                raise _Fatal(f"E_BAD_BODY {cmd} body too big "
                             f"{size} > {self.max_body_size}")

    def _command(self, c, cmd, params, body):
        if cmd == "NOP":
            return True
        if cmd == "IDENTIFY":
            return self._identify(c, body)
        if cmd == "CLS":
            self._send(c, FRAME_RESPONSE, b"CLOSE_WAIT")
            return True
        if cmd in ("SUB", "RDY", "FIN", "REQ", "TOUCH"):
            raise _Fatal(f"E_INVALID cannot {cmd} in current state")
        if cmd not in ("PUB", "MPUB", "DPUB"):
            raise _Fatal(f"E_INVALID invalid command {cmd}")

        topic = params[1].decode("ascii")
        if cmd == "MPUB":
            msgs = self._split_mpub(body)
        else:
            msgs = [body]
        mode = self._fault
        if mode == "stall":
            c.stalled = True
            return True
        if mode == "drop":
            self._count("tcp_dropped")
            self._log(f"tcp {c.peer}: dropped after {cmd}")
            return False
        if mode == "error":
            raise _Fatal(f"E_{cmd}_FAILED {cmd} failed (injected fault)")
        defer = int(params[2]) if cmd == "DPUB" else None
        self._record(topic, msgs, "tcp", cmd, c.peer, defer)
        self._send(c, FRAME_RESPONSE, b"OK")
        return True

    def _split_mpub(self, body):
        msgs, err = self.read_mpub(body)
        if err:
            raise _Fatal(err)
        return msgs

    def read_mpub(self, body):
        """The messages of an MPUB (or binary /mpub) body, as nsqd's
        readMPUB reads them: (messages, None) or (None, "E_CODE text")."""
        if len(body) < 4:
            return None, "E_BAD_BODY MPUB failed to read message count"
        n = struct.unpack(">i", body[:4])[0]
        # 4 for the count, 5 for a size field and at least one byte
        if n <= 0 or n > (self.max_body_size - 4) // 5:
            return None, f"E_BAD_BODY MPUB invalid message count {n}"
        msgs = []
        pos = 4
        for i in range(n):
            if pos + 4 > len(body):
                return None, (f"E_BAD_MESSAGE MPUB failed to read "
                              f"message({i}) body size")
            size = struct.unpack(">i", body[pos:pos + 4])[0]
            pos += 4
            if size <= 0:
                return None, (f"E_BAD_MESSAGE MPUB invalid message({i}) "
                              f"body size {size}")
            if size > self.max_msg_size:
                return None, (f"E_BAD_MESSAGE MPUB message too big "
                              f"{size} > {self.max_msg_size}")
            if pos + size > len(body):
                return None, ("E_BAD_MESSAGE MPUB failed to read message "
                              "body")
            msgs.append(body[pos:pos + size])
            pos += size
        if pos != len(body):
            return None, (f"E_BAD_BODY MPUB body size {len(body)} does not "
                          f"match its {n} messages ({pos} bytes)")
        return msgs, None

    def _identify(self, c, body):
        try:
            d = json.loads(body)
            if not isinstance(d, dict):
                raise ValueError
        except ValueError:
            raise _Fatal("E_BAD_BODY IDENTIFY failed to decode JSON body")

        def num(key, default=0):
            v = d.get(key, default)
            if v is None:
                return default
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _Fatal("E_BAD_BODY IDENTIFY failed to decode JSON body")
            return int(v)

        hb = num("heartbeat_interval")
        if hb == 0:
            hb = self.heartbeat_ms
        elif hb != -1 and not (self.min_heartbeat_ms <= hb
                               <= self.max_heartbeat_ms):
            raise _Fatal(f"E_BAD_BODY IDENTIFY heartbeat interval ({hb}) "
                         f"is invalid")
        obs = num("output_buffer_size")
        if obs == 0:
            obs = OUTPUT_BUFFER_SIZE
        elif obs != -1 and not 64 <= obs <= MAX_OUTPUT_BUFFER_SIZE:
            raise _Fatal(f"E_BAD_BODY IDENTIFY output buffer size ({obs}) "
                         f"is invalid")
        obt = num("output_buffer_timeout")
        if obt == 0:
            obt = OUTPUT_BUFFER_TIMEOUT_MS
        elif obt != -1 and not 1 <= obt <= MAX_OUTPUT_BUFFER_TIMEOUT_MS:
            raise _Fatal(f"E_BAD_BODY IDENTIFY output buffer timeout ({obt}) "
                         f"is invalid")
        sample = num("sample_rate")
        if not 0 <= sample <= 99:
            raise _Fatal(f"E_BAD_BODY IDENTIFY sample rate ({sample}) "
                         f"is invalid")
        msg_timeout = num("msg_timeout")
        if msg_timeout == 0:
            msg_timeout = MSG_TIMEOUT_MS
        elif not 1000 <= msg_timeout <= MAX_MSG_TIMEOUT_MS:
            raise _Fatal(f"E_BAD_BODY IDENTIFY msg timeout ({msg_timeout}) "
                         f"is invalid")
        level = num("deflate_level", 6) or 6
        if not 1 <= level <= MAX_DEFLATE_LEVEL:
            raise _Fatal(f"E_BAD_BODY IDENTIFY deflate level ({level}) "
                         f"is invalid")
        with self._lock:
            c.identify = d
            c.hb_ms = hb
        if not d.get("feature_negotiation"):
            self._send(c, FRAME_RESPONSE, b"OK")
            return True
        reply = {
            "max_rdy_count": MAX_RDY_COUNT,
            "version": VERSION,
            "max_msg_timeout": MAX_MSG_TIMEOUT_MS,
            "msg_timeout": msg_timeout,
            "tls_v1": False,
            "deflate": False,
            "deflate_level": level,
            "max_deflate_level": MAX_DEFLATE_LEVEL,
            "snappy": False,
            "sample_rate": sample,
            "auth_required": False,
            "output_buffer_size": obs,
            "output_buffer_timeout": obt,
        }
        self._send(c, FRAME_RESPONSE,
                   json.dumps(reply, separators=(",", ":")).encode())
        return True

    # ---------------------------------------------------- HTTP (see below)
    def _wait_unstalled(self):
        with self._cond:
            # counted once held: a test waits for this, not for a time
            self._counters["http_stalled"] += 1
            while self._fault == "stall" and not self._stopping:
                self._cond.wait()


def _reset(sock):
    """Close with an RST (SO_LINGER 0) rather than a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# ------------------------------------------------------------------ HTTP
class _HTTPServer(TrackingHTTPServer):
    def __init__(self, addr, double):
        super().__init__(addr, _Handler, double)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True      # no 40 ms Nagle/delayed-ACK stalls
    server_version = "nsqd-double/" + VERSION
    sys_version = ""

    # route -> (methods, handler name, kind)
    ROUTES = {
        "/pub": (("POST",), "_h_pub", "publish"),
        "/put": (("POST",), "_h_pub", "publish"),
        "/mpub": (("POST",), "_h_mpub", "publish"),
        "/mput": (("POST",), "_h_mpub", "publish"),
        "/ping": (("GET", "HEAD"), "_h_ping", "api"),
        "/info": (("GET", "HEAD"), "_h_info", "api"),
        "/stats": (("GET", "HEAD"), "_h_stats", "api"),
        "/debug/messages": (("GET",), "_h_dbg_messages", "debug"),
        "/debug/clients": (("GET",), "_h_dbg_clients", "debug"),
        "/debug/fault": (("GET", "POST", "PUT"), "_h_dbg_fault", "debug"),
        "/debug/reset": (("GET", "POST"), "_h_dbg_reset", "debug"),
    }

    def setup(self):
        super().setup()
        self.server.track(self.connection)
        self._no_continue = False

    def handle_expect_100(self):
        # Answer an oversized publish at once instead of inviting the
        # client to upload it (the body is then never read: close after).
        path = urlsplit(self.path).path
        d = self.server.double
        limit = {"/pub": d.max_msg_size, "/put": d.max_msg_size,
                 "/mpub": d.max_body_size, "/mput": d.max_body_size}.get(path)
        try:
            n = int(self.headers.get("Content-Length", "-1"))
        except ValueError:
            n = -1
        if limit is not None and n > limit and d.fault == "ok":
            self._no_continue = True
            return True
        return super().handle_expect_100()

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, fmt, *args):
        self.server.double._log("http " + (fmt % args))

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_OPTIONS(self):
        self._dispatch("OPTIONS")

    # ------------------------------------------------------------ helpers
    def _reply(self, status, body, ctype="text/plain; charset=utf-8",
               headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode()
            ctype = "application/json; charset=utf-8"
        elif isinstance(body, str):
            body = body.encode()
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

    def _err(self, status, code, headers=()):
        d = self.server.double
        with d._lock:
            k = f"{status} {code}"
            d._http_errors[k] = d._http_errors.get(k, 0) + 1
        self._reply(status, {"message": code}, headers=headers)

    def _read_body(self, limit):
        """Read the request body.  Returns (body, too_big).  A too-big
        body is discarded (or the connection marked for closing)."""
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            return self._read_chunked(limit)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b"", False
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            raise _BadRequest()
        if limit is not None and n > limit:
            if n <= HTTP_DRAIN_CAP and not self._no_continue:
                self._discard(n)
            else:
                self.close_connection = True
            return None, True
        return self.rfile.read(n), False

    def _discard(self, n):
        while n > 0:
            chunk = self.rfile.read(min(n, 1 << 16))
            if not chunk:
                break
            n -= len(chunk)

    def _read_chunked(self, limit):
        parts, total, too_big = [], 0, False
        while True:
            line = self.rfile.readline(1024)
            if not line:
                self.close_connection = True
                raise _BadRequest()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise _BadRequest()
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass                               # trailers
                break
            total += size
            if total > HTTP_DRAIN_CAP:
                self.close_connection = True
                return None, True
            data = self.rfile.read(size)
            self.rfile.readline(1024)                  # CRLF after chunk
            if limit is not None and total > limit:
                too_big = True
            elif not too_big:
                parts.append(data)
        if too_big:
            return None, True
        return b"".join(parts), False

    def _dispatch(self, method):
        d = self.server.double
        d._count("http_requests")
        u = urlsplit(self.path)
        self.query = parse_qs(u.query, keep_blank_values=True)
        route = self.ROUTES.get(u.path)
        try:
            if route is None:
                self._read_body(None)
                return self._err(404, "NOT_FOUND")
            methods, handler, kind = route
            if method not in methods:
                self._read_body(None)
                return self._err(405, "METHOD_NOT_ALLOWED",
                                 headers=[("Allow", ", ".join(methods))])
            if kind != "debug":
                mode = d.fault
                if mode == "refuse":
                    self._read_body(None)
                    return self._err(503, "SERVICE_UNAVAILABLE")
                if mode == "stall":
                    self._read_body(None)
                    d._wait_unstalled()
                    self.close_connection = True
                    return                   # never answered
            getattr(self, handler)()
        except _BadRequest:
            self.close_connection = True
            self._err(400, "BAD_REQUEST")

    def _param(self, name):
        v = self.query.get(name)
        return v[0] if v else None

    def _topic(self):
        topic = self._param("topic")
        if topic is None:
            return None, "MISSING_ARG_TOPIC"
        if not valid_topic(topic):
            return None, "INVALID_TOPIC"
        return topic, None

    def _publish(self, topic, msgs, command, defer_ms=None):
        d = self.server.double
        mode = d.fault
        if mode == "drop":
            d._log(f"http {self.client_address}: dropped {command}")
            self.close_connection = True
            return
        if mode == "error":
            return self._err(500, "INTERNAL_ERROR")
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        d._record(topic, msgs, "http", command, peer, defer_ms)
        self._reply(200, "OK")

    # ----------------------------------------------------------- handlers
    def _h_pub(self):
        d = self.server.double
        body, too_big = self._read_body(d.max_msg_size)
        topic, err = self._topic()
        if err:
            return self._err(400, err)
        if too_big:
            return self._err(TOO_BIG_STATUS, "MSG_TOO_BIG")
        if not body:
            return self._err(400, "MSG_EMPTY")
        defer = self._param("defer")
        defer_ms = None
        if defer is not None:
            try:
                defer_ms = int(defer)
                if not 0 <= defer_ms < MAX_REQ_TIMEOUT_MS:
                    raise ValueError
            except ValueError:
                return self._err(400, "INVALID_DEFER")
        self._publish(topic, [body], self.path.split("?")[0][1:], defer_ms)

    def _h_mpub(self):
        d = self.server.double
        body, too_big = self._read_body(d.max_body_size)
        topic, err = self._topic()
        if err:
            return self._err(400, err)
        if too_big:
            return self._err(TOO_BIG_STATUS, "BODY_TOO_BIG")
        # nsqd: "text mode is default, but unrecognized binary opt
        # considered true"
        b = self._param("binary")
        binary = b is not None and b not in ("false", "0")
        msgs = []
        if binary:
            msgs, err = d.read_mpub(body)
            if err:
                # nsqd 1.x: 413 and the TCP code without its "E_"
                return self._err(413, err.split(" ", 1)[0][2:])
        else:
            for line in body.split(b"\n"):
                if not line:
                    continue
                if len(line) > d.max_msg_size:
                    return self._err(TOO_BIG_STATUS, "MSG_TOO_BIG")
                msgs.append(line)
            if not msgs:
                return self._err(400, "MSG_EMPTY")
        self._publish(topic, msgs, self.path.split("?")[0][1:])

    def _h_ping(self):
        self._reply(200, "OK")

    def _h_info(self):
        d = self.server.double
        self._reply(200, {"version": VERSION, "broadcast_address": "127.0.0.1",
                          "hostname": "nsqd-double", "http_port": d.http_port,
                          "tcp_port": d.tcp_port,
                          "start_time": d.start_time})

    def _h_stats(self):
        d = self.server.double
        st = d.stats(self._param("topic"))
        if (self._param("format") or "text") == "json":
            return self._reply(200, st)
        lines = [f"nsqd v{VERSION} (nsqd-double)",
                 f"start_time {st['start_time']}", "",
                 f"Health: {st['health']}", ""]
        for t in st["topics"]:
            lines.append(f"[{t['topic_name']:<25}] depth: {t['depth']:<5} "
                         f"be-depth: 0     msgs: {t['message_count']:<8} "
                         f"e2e%: ")
        self._reply(200, "\n".join(lines) + "\n")

    def _h_dbg_messages(self):
        d = self.server.double
        try:
            since = int(self._param("since") or 0)
        except ValueError:
            return self._err(400, "INVALID_SINCE")
        self._reply(200, [m.to_json()
                          for m in d.messages(self._param("topic"), since)])

    def _h_dbg_clients(self):
        self._reply(200, self.server.double.clients())

    def _h_dbg_fault(self):
        self._read_body(None)
        d = self.server.double
        mode = self._param("mode")
        if mode is not None or self.command != "GET":
            if mode not in FAULT_MODES:
                return self._err(400, "INVALID_MODE")
            d.set_fault(mode)
        self._reply(200, {"mode": d.fault})

    def _h_dbg_reset(self):
        self._read_body(None)
        self.server.double.reset()
        self._reply(200, "OK")


class _BadRequest(Exception):
    pass


# ------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tcp-port", type=int, default=0)
    ap.add_argument("--http-port", type=int, default=0)
    ap.add_argument("--state-dir")
    ap.add_argument("--max-msg-size", type=int, default=DEFAULT_MAX_MSG_SIZE)
    ap.add_argument("--max-body-size", type=int,
                    default=DEFAULT_MAX_BODY_SIZE)
    ap.add_argument("--heartbeat-ms", type=int, default=DEFAULT_HEARTBEAT_MS,
                    help="heartbeat interval when IDENTIFY gives none")
    ap.add_argument("--min-heartbeat-ms", type=int,
                    default=DEFAULT_MIN_HEARTBEAT_MS)
    ap.add_argument("--max-heartbeat-ms", type=int,
                    default=DEFAULT_MAX_HEARTBEAT_MS)
    ap.add_argument("--fault", choices=FAULT_MODES, default="ok")
    ap.add_argument("--no-bodies", action="store_true",
                    help="record sizes only, not bodies (benchmarks)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum, frm):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    d = NsqdDouble(tcp_port=args.tcp_port, http_port=args.http_port,
                   state_dir=args.state_dir, max_msg_size=args.max_msg_size,
                   max_body_size=args.max_body_size,
                   heartbeat_ms=args.heartbeat_ms,
                   min_heartbeat_ms=args.min_heartbeat_ms,
                   max_heartbeat_ms=args.max_heartbeat_ms,
                   keep_bodies=not args.no_bodies, fault=args.fault,
                   verbose=args.verbose)
    d.start()
    try:
        sys.stdout.write(json.dumps({"tcp_port": d.tcp_port,
                                     "http_port": d.http_port,
                                     "pid": os.getpid()}) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.2):
            pass
    finally:
        d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
