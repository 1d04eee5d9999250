"""Output servers that misbehave on purpose, written against the socket:
one that accepts and never answers, reads at the pace of a slow link,
answers 200 and then trickles, refuses everything, floods.  Each test
says only how its server misbehaves; the accepting, the threads, the
reading of an HTTP request or of nsqd's IDENTIFY, and the cleanup are
here.  python3 standard library only; 127.0.0.1 and a port picked free.
"""
import json
import socket
import struct
import threading
import time

from harness import free_port

# What nsqd 1.3 answers an IDENTIFY that asks for no feature.
NSQ_IDENTIFY_ANSWER = {"max_rdy_count": 2500, "version": "1.3.0",
                       "tls_v1": False, "deflate": False, "snappy": False,
                       "auth_required": False}
NSQ_FRAME_RESPONSE, NSQ_FRAME_ERROR = 0, 1


class RawServer:
    """Listens on 127.0.0.1 and runs session(conn) in a thread of its own
    for each connection, or only keeps the connection when session is
    None (a server whose kernel accepts for it, and that never reads nor
    answers: an nsqd stopped with SIGSTOP).  `conns` lists them; the
    test's cleanup closes them and the listener."""

    def __init__(self, test, session=None, rcvbuf=None):
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        test.addCleanup(self.srv.close)
        if rcvbuf is not None:
            # accepted sockets inherit it: a small window keeps the
            # client's writes paced by our reads
            self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.srv.bind(("127.0.0.1", free_port()))
        self.srv.listen(16)
        self.conns = []
        test.addCleanup(lambda: [c.close() for c in list(self.conns)])
        self.session = session
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self):
        return self.srv.getsockname()[1]

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def _serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.conns.append(c)
            if self.session is not None:
                threading.Thread(target=self._run, args=(c,),
                                 daemon=True).start()

    def _run(self, c):
        try:
            self.session(Reader(c))
        except (OSError, EOFError, ValueError, struct.error):
            return          # the client went, or sent what we cannot read


class Reader:
    """A connection read through a buffer, at most `rate` bytes a second
    from the last pace() on (a slow link), else as fast as it comes.
    EOFError when the client hangs up."""

    def __init__(self, c, rate=None):
        self.c = c
        self.buf = b""
        self.rate = rate
        self.pace()

    def pace(self, rate=None):
        """The link's pace counts from now: time the connection sat idle
        before is no credit."""
        if rate is not None:
            self.rate = rate
        self.t0, self.n = time.monotonic(), 0

    def fill(self, k):
        while len(self.buf) < k:
            more = self.c.recv(16384 if self.rate else 65536)
            if not more:
                raise EOFError
            self.buf += more
            self.n += len(more)
            if self.rate:
                ahead = self.t0 + self.n / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)

    def need(self, k):
        self.fill(k)
        out, self.buf = self.buf[:k], self.buf[k:]
        return out

    def until(self, sep):
        """Up to sep, which is consumed and not returned."""
        while sep not in self.buf:
            self.fill(len(self.buf) + 1)
        out, self.buf = self.buf.split(sep, 1)
        return out

    def sendall(self, data):
        self.c.sendall(data)

    # ---- HTTP/1.1 ----

    def http_request(self, pace=False):
        """One request: (head, body), the body by its Content-Length.
        pace: the link's pace counts from the body on."""
        head = self.until(b"\r\n\r\n")
        if pace:
            self.pace()
        length = 0
        for h in head.split(b"\r\n")[1:]:
            k, _, v = h.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        return head, self.need(length)

    def http_answer(self, status, body=b"", ctype=b"text/plain"):
        self.sendall(b"HTTP/1.1 %s\r\nContent-Type: %s\r\n"
                     b"Content-Length: %d\r\n\r\n" % (status, ctype,
                                                       len(body)) + body)

    # ---- nsqd's TCP protocol V2 ----

    def nsq_identify(self, answer=None):
        """The magic and IDENTIFY read, answered with `answer` (a dict,
        NSQ_IDENTIFY_ANSWER by default).  False when it was not that."""
        if self.need(4) != b"  V2" or self.until(b"\n") != b"IDENTIFY":
            return False
        self.need(struct.unpack(">I", self.need(4))[0])
        self.sendall(nsq_frame(json.dumps(
            NSQ_IDENTIFY_ANSWER if answer is None else answer).encode()))
        return True

    def nsq_command(self, pace=False):
        """The next command but NOPs: (words, messages), the body of PUB
        and MPUB split into its messages.  pace: the link's pace counts
        from the command on."""
        while True:
            words = self.until(b"\n").split(b" ")
            if words[0] != b"NOP":
                break
        if pace:
            self.pace()
        if words[0] not in (b"PUB", b"MPUB"):
            return words, []
        body = self.need(struct.unpack(">I", self.need(4))[0])
        if words[0] == b"PUB":
            return words, [body]
        msgs, p = [], 4
        for _ in range(struct.unpack(">I", body[:4])[0]):
            k = struct.unpack(">I", body[p:p + 4])[0]
            msgs.append(body[p + 4:p + 4 + k])
            p += 4 + k
        return words, msgs

    def nsq_ok(self):
        self.sendall(nsq_frame(b"OK"))


def nsq_frame(data, ftype=NSQ_FRAME_RESPONSE):
    return struct.pack(">II", 4 + len(data), ftype) + data
