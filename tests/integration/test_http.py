"""The front over real sockets: errors, limits, and that it keeps serving."""
import json
import pwd
import socket
import subprocess
import sys
import time

from harness import AgentTest, NetNs, free_port, needs_root

# A local user holding loopback connections in the middle of their
# request head (not idle: nothing gives their place up), then one more.
HOG = r"""
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
last = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
held = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    held.append(s)
s = socket.create_connection((last, port), timeout=10)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          b"Connection: close\r\n\r\n")
got = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    got += b
print(got.decode(errors="replace").replace("\r\n", " | "), flush=True)
sys.stdin.read()
"""


def start_hog(test, args, prefix=()):
    """HOG run as uid bin against the agent's port, its 64 connections
    then `args`; stopped at the test's end.  (bin's passwd entry, the
    process.)"""
    pw = pwd.getpwnam("bin")
    hog = subprocess.Popen(
        list(prefix) + [
            "setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
            "--clear-groups", sys.executable, "-c", HOG,
            str(test.agent.port), "64", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def stop_hog():
        if hog.poll() is None:
            hog.kill()
        hog.wait()
    test.addCleanup(stop_hog)
    return pw, hog


def raw_request(port, payload, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(payload)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks).decode(errors="replace")
    finally:
        s.close()


class Http(AgentTest):

    def setUp(self):
        super().setUp()
        self.start_ok()
        self.front = self.agent.worker(self.agent.status(), "front")["pid"]

    def assert_front_unchanged(self):
        st = self.agent.status()
        self.assertEqual(self.agent.worker(st, "front")["pid"], self.front)

    def test_malformed_request_gets_400(self):
        out = raw_request(self.agent.port, b"GARBAGE\x01 / HTTP/1.1\r\n\r\n")
        self.assertTrue(out.startswith("HTTP/1.1 400 "), out)
        self.assertIn("application/json", out)
        self.assert_front_unchanged()

    def test_oversized_body_gets_413(self):
        out = raw_request(self.agent.port,
                          b"POST /healthz HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 104857600\r\n\r\n")
        self.assertTrue(out.startswith("HTTP/1.1 413 "), out)
        self.assert_front_unchanged()

    def test_oversized_headers_get_431(self):
        big = b"X-Big: " + b"a" * 70000 + b"\r\n"
        out = raw_request(self.agent.port,
                          b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big +
                          b"\r\n")
        self.assertTrue(out.startswith("HTTP/1.1 431 "), out)
        self.assert_front_unchanged()

    def test_unknown_path_and_wrong_method(self):
        code, body = self.agent.http("/nope")
        self.assertEqual(code, 404)
        self.assertIn("/nope", json.loads(body)["error"])
        code, body = self.agent.http("/me/status", method="DELETE")
        self.assertEqual(code, 405)
        out = raw_request(self.agent.port,
                          b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n\r\n")
        self.assertIn("Allow: GET", out)

    def test_keep_alive_serves_two_requests(self):
        out = raw_request(self.agent.port,
                          b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                          b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                          b"Connection: close\r\n\r\n")
        self.assertEqual(out.count("HTTP/1.1 200 "), 2, out)

    def test_unix_socket_takes_no_descriptors(self):
        """A client of the unix socket hands the front a descriptor with
        its request: read past, the front would close it, and the close
        of a TCP socket set to linger with unsent data would hold the
        front (everyone's API) as long as the client asked.  The socket
        refuses descriptors, from before the accept."""
        import errno
        import os
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.settimeout(10)
        s.connect(self.agent.values["socket"])
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        with self.assertRaises(OSError) as cm:
            socket.send_fds(s, [b"GET /healthz HTTP/1.1\r\nHost: a\r\n"
                               b"Connection: close\r\n\r\n"], [r])
        self.assertEqual(cm.exception.errno, errno.EPERM)
        self.assertEqual(unix_healthz(self.agent.values["socket"]), 200)
        self.assert_front_unchanged()

    def test_status_over_unix_socket(self):
        st = self.agent.status(unix=True)
        self.assertEqual(st["version"], self.agent.run(
            "version", conf=False).stdout.split()[1])
        self.assertIn("uptime", st)

    def test_nul_in_a_form_value_is_refused(self):
        """A raw NUL in a form body once went into the parameter and cut
        it short without a word ("ns=a\\0b" read as "a"); %00 was
        refused.  Both get a 400 naming the parameter, and nothing runs."""
        form = ["Content-Type: application/x-www-form-urlencoded"]
        cases = [(b"ns=pool.loda\x00x&repo=r", "ns"),
                 (b"ns=pool.loda&repo=r%00", "repo"),
                 (b"ns=a.loda&repo=r&param=-x\x00-y", "param"),
                 (b"ns=a.loda&repo=r&timeout=5\x00", "timeout")]
        for unix in (False, True):
            for body, key in cases:
                code, out = self.agent.http("/plugins/run", method="POST",
                                            data=body, headers=form,
                                            unix=unix)
                self.assertEqual((code, json.loads(out)),
                                 (400, {"error": f"{key}: holds a NUL "
                                                 "byte"}), body)
        self.assert_front_unchanged()

    def test_error_bodies_are_utf8_json(self):
        """Whatever bytes a request holds, the error body is JSON that
        decodes as UTF-8 (an overlong C1 BD once went out as it was)."""
        s = socket.create_connection(("127.0.0.1", self.agent.port),
                                     timeout=10)
        try:
            s.sendall(b"GET /%C1%BD%ED%B0%80x HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
            raw = b""
            while (b := s.recv(65536)):
                raw += b
        finally:
            s.close()
        self.assertTrue(raw.startswith(b"HTTP/1.1 404 "), raw)
        body = raw.partition(b"\r\n\r\n")[2]
        self.assertEqual(json.loads(body.decode("utf-8")),
                         {"error": "no such endpoint: /?????x"})

def unix_healthz(path, timeout=5):
    """Status code of GET /healthz over the unix socket (raw, no curl: it
    runs hundreds of times)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: agent\r\n"
                  b"Connection: close\r\n\r\n")
        out = b""
        while (b := s.recv(4096)):
            out += b
        return int(out.split(b" ", 2)[1])
    finally:
        s.close()


class SlowClients(AgentTest):
    """Issue 10, finding 3: 300 TCP clients sending one header byte every
    2 s kept every connection (each byte reset the idle timer) and the
    unix socket at 503.  Now the unix socket has its own budget, loopback
    holds at most its share of the TCP one, and the head deadline (10 s)
    cuts each slow connection whatever the idle timer (30 s) says."""

    CLIENTS = 300
    BYTE_EVERY = 2.0
    TRICKLE_FOR = 30.0      # the attack; every connection must end first

    def test_idle_keep_alive_connections_give_their_place_up(self):
        """Loopback's whole share (64) held by keep-alive connections
        idle between requests, each sending one now and then: a newcomer
        is served, the connection idle the longest closed for it (it
        used to get 503 for as long as the hog cared to go on)."""
        self.start_ok()
        hogs = []
        self.addCleanup(lambda: [s.close() for s in hogs])
        req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for _ in range(64):
            s = socket.create_connection(("127.0.0.1", self.agent.port),
                                         timeout=10)
            s.sendall(req)
            self.assertIn(b" 200 ", s.recv(4096))
            hogs.append(s)
        # the first one asks again: the second is the longest idle now
        hogs[0].sendall(req)
        self.assertIn(b" 200 ", hogs[0].recv(4096))
        # newcomers, kept open: each takes the place of the one idle
        # the longest, hogs 1, 2 and 3 in turn
        for i in (1, 2, 3):
            s = socket.create_connection(("127.0.0.1", self.agent.port),
                                         timeout=10)
            hogs.append(s)
            s.sendall(req)
            reply = s.recv(4096)
            self.assertIn(b" 200 ", reply, reply[:300])
            self.assertEqual(hogs[i].recv(4096), b"", f"hog {i} still open")
        hogs[0].sendall(req)
        self.assertIn(b" 200 ", hogs[0].recv(4096))
        st = self.agent.status()
        self.assertEqual(self.agent.worker(st, "front")["restarts"], 0)

    def test_connections_answered_by_the_server_are_idle_too(self):
        """Keep-alive connections answered by the server itself (a 404
        for an unknown path) were never taken for idle: 64 of them, one
        client's share, made a newcomer get 503 for as long as they were
        open.  The one idle the longest gives its place up now."""
        self.start_ok()
        hogs = []
        self.addCleanup(lambda: [s.close() for s in hogs])
        for _ in range(64):
            s = socket.create_connection(("127.0.0.1", self.agent.port),
                                         timeout=10)
            s.sendall(b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            reply = s.recv(4096)
            self.assertIn(b" 404 ", reply)
            self.assertIn(b"Connection: keep-alive", reply)
            hogs.append(s)
        s = socket.create_connection(("127.0.0.1", self.agent.port),
                                     timeout=10)
        hogs.append(s)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        reply = s.recv(4096)
        self.assertIn(b" 200 ", reply, reply[:300])
        self.assertEqual(hogs[0].recv(4096), b"", "the oldest still open")

    def test_slow_tcp_clients_cannot_lock_out_the_unix_socket(self):
        import selectors
        import time
        self.start_ok()
        sock_path = self.agent.values["socket"]
        head = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"X-Slow: " + b"a" * 64 + b"\r\n\r\n")
        sel = selectors.DefaultSelector()
        conns = {}
        for _ in range(self.CLIENTS):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.agent.port))
            conns[s] = {"sent": 0, "got": b"", "closed": False}
            sel.register(s, selectors.EVENT_READ)
        self.addCleanup(lambda: [s.close() for s in conns])
        t0 = time.monotonic()
        next_byte = t0
        health = []         # (unix /healthz status, slow ones still open)

        def open_count():
            return sum(1 for c in conns.values() if not c["closed"])

        while open_count() > 0:
            now = time.monotonic()
            # a hang is the failure: the attack is over, some still open
            self.assertLess(now - t0, self.TRICKLE_FOR,
                            f"{open_count()} slow connections outlived "
                            f"the attack")
            if now >= next_byte:
                for s, c in conns.items():
                    if c["closed"] or c["sent"] >= len(head):
                        continue
                    try:
                        if s.send(head[c["sent"]:c["sent"] + 1]) == 1:
                            c["sent"] += 1
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        c["closed"] = True
                        sel.unregister(s)
                        s.close()
                next_byte = now + self.BYTE_EVERY
            for key, _ in sel.select(timeout=0.2):
                s, c = key.fileobj, conns[key.fileobj]
                try:
                    b = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    b = b""
                if b:
                    c["got"] += b
                    continue
                c["closed"] = True
                sel.unregister(s)
                s.close()
            health.append((unix_healthz(sock_path), open_count()))
        sel.close()

        self.assertTrue(all(code == 200 for code, _ in health),
                        f"unix /healthz answers: "
                        f"{sorted(set(c for c, _ in health))}")
        # asked while slow connections held loopback's whole share
        self.assertTrue(any(n >= 64 for _, n in health), health[:5])
        cut, refused = 0, 0
        for c in conns.values():
            self.assertLess(c["sent"], len(head), "a slow head completed")
            status = c["got"].split(b"\r\n", 1)[0]
            if status.startswith(b"HTTP/1.1 408 "):
                self.assertIn(b"request head not complete within 10 s",
                              c["got"])
                cut += 1
            else:
                # beyond loopback's share: turned away at once (or reset)
                self.assertIn(status, (b"HTTP/1.1 503 Service Unavailable",
                                       b""), c["got"][:200])
                refused += 1
        self.assertEqual(cut, 64, f"{cut} cut by the deadline, "
                         f"{refused} refused")
        self.assertEqual(cut + refused, self.CLIENTS)
        # and the front is the one it was, serving TCP again
        st = self.agent.status()
        self.assertEqual(self.agent.worker(st, "front")["restarts"], 0)


class LocalUsers(AgentTest):
    """Any local user may use every 127/8 address, so loopback's share of
    connections is counted per user (the owner of the client's socket,
    asked of the kernel at the accept): one user holding all of its
    share leaves the others theirs."""

    def test_one_user_cannot_take_loopback_from_the_others(self):
        needs_root(self)
        self.start_ok()
        pw, hog = start_hog(self, [])
        # its 65th connection: turned away, and told why
        line = hog.stdout.readline()
        self.assertIn("HTTP/1.1 503 ", line)
        self.assertIn("too many connections of your user", line)
        # while it holds its 64, root's own are served (the head deadline
        # of 10 s is what ends the hog's)
        t0 = time.monotonic()
        for _ in range(3):
            r = raw_request(self.agent.port, b"GET /healthz HTTP/1.1\r\n"
                            b"Host: 127.0.0.1\r\nConnection: close"
                            b"\r\n\r\n")
            self.assertTrue(r.startswith("HTTP/1.1 200 "), r[:300])
        self.assertLess(time.monotonic() - t0, 9, "served only after the "
                        "hog's connections were cut")
        self.agent.wait_log(rf"64 connections open from uid {pw.pw_uid} on "
                            r"loopback \(max_conns_addr\)")
        hog.stdin.close()
        self.assertEqual(hog.wait(timeout=20), 0)
        st = self.agent.status()
        self.assertEqual(self.agent.worker(st, "front")["restarts"], 0)


class LocalUserOtherAddress(AgentTest):
    """A local user is not only on loopback: the host's other addresses
    (eth0's, a bridge's) reach the agent from this host too, and each
    was a client of its own with 64 places: one user held 64 on
    loopback and 64 more per address of the host, and with a few
    addresses all of TCP.  A client the kernel finds on this host counts
    as its user whatever address it came from."""

    ADDR = "10.213.7.1"

    def test_a_users_share_holds_across_the_hosts_addresses(self):
        needs_root(self)
        ns = NetNs()
        ns.veth("eth0", "peer0", [f"{self.ADDR}/24"], ["10.213.7.2/24"])
        self.agent.in_netns(ns)
        self.agent.write_conf(listen=f"0.0.0.0:{self.agent.port}")
        self.start_ok()
        pw, hog = start_hog(self, [self.ADDR], prefix=ns.prefix())
        # 64 on loopback, then one to eth0's address: the same user's
        line = hog.stdout.readline()
        self.assertIn("HTTP/1.1 503 ", line)
        self.assertIn("too many connections of your user", line)
        self.agent.wait_log(rf"64 connections open from uid {pw.pw_uid} on "
                            r"this host \(max_conns_addr\)")
        hog.stdin.close()
        self.assertEqual(hog.wait(timeout=20), 0)
        st = self.agent.status()
        self.assertEqual(self.agent.worker(st, "front")["restarts"], 0)


class RemoteCannotCrowdOutLocal(AgentTest):
    """Remote clients holding their shares (64 each) of four addresses,
    four IPv6 /64s which any site has to spare, filled all 256 places
    of TCP: loopback clients, the local producers, got 503 for as long
    as the remote ones cared.  Clients on this host have a budget of
    their own now."""

    def test_four_remote_64s_leave_loopback_its_places(self):
        needs_root(self)
        ns = NetNs()
        ns.link_to_host()
        ns_if = ns.host_if[:-1] + "n"
        nets = [f"fd5a:0:0:{i}::" for i in range(1, 5)]
        for net in nets:
            subprocess.run(["ip", "addr", "add", net + "1/64", "dev",
                            ns.host_if, "nodad"], check=True,
                           capture_output=True, timeout=30)
            ns.ip("addr", "add", net + "2/64", "dev", ns_if, "nodad")
        self.agent.in_netns(ns)
        self.agent.write_conf(listen=f"[::]:{self.agent.port}")
        self.start_ok()
        held = []
        self.addCleanup(lambda: [s.close() for s in held])
        # from the host, outside the agent's namespace: remote clients,
        # each /64 its share, every connection in the middle of its head
        for net in nets:
            for _ in range(64):
                s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                s.settimeout(10)
                s.bind((net + "1", 0))
                s.connect((nets[0] + "2", self.agent.port))
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                held.append(s)
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(10)
        s.bind((nets[1] + "1", 0))
        s.connect((nets[0] + "2", self.agent.port))
        held.append(s)
        s.sendall(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
        self.assertIn(b" 503 ", s.recv(4096), "TCP's budget not full")
        # a local client, in the agent's namespace on loopback: served
        with ns.entered():
            r = raw_request(self.agent.port, b"GET /healthz HTTP/1.1\r\n"
                            b"Host: 127.0.0.1\r\nConnection: close"
                            b"\r\n\r\n")
        self.assertTrue(r.startswith("HTTP/1.1 200 "), r[:300])
        st = self.agent.status()
        self.assertEqual(self.agent.worker(st, "front")["restarts"], 0)


class Ipv6Listen(AgentTest):
    """listen = "[::1]:port": the API on IPv6 loopback, trusted as
    loopback, and nothing on 127.0.0.1."""

    def setUp(self):
        super().setUp()
        try:
            self.port6 = free_port("::1")
        except OSError as e:
            self.skipTest(f"no IPv6 on loopback here (::1): {e}")
        self.agent.write_conf(listen=f"[::1]:{self.port6}")
        self.start_ok()

    def test_serves_on_ipv6_loopback(self):
        code, body = self.agent.http("/healthz", host="::1",
                                     port=self.port6)
        self.assertEqual((code, json.loads(body)), (200, {"status": "ok"}))
        code, body = self.agent.http("/me/status", host="::1",
                                     port=self.port6)
        self.assertEqual(code, 200, body)
        st = json.loads(body)
        self.assertTrue(all(w["state"] == "running" for w in st["workers"]),
                        st)
        # ::1 is loopback: a changing endpoint gets past the trust check
        # to the front's own parameter check (not 403)
        code, body = self.agent.http("/plugins/run?timeout=x", host="::1",
                                     port=self.port6)
        self.assertEqual((code, json.loads(body)),
                         (400, {"error": "invalid timeout"}))
        # two requests on one kept-alive IPv6 connection
        s = socket.create_connection(("::1", self.port6), timeout=10)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
            out = b""
            while (b := s.recv(65536)):
                out += b
        finally:
            s.close()
        self.assertEqual(out.count(b"HTTP/1.1 200 "), 2, out)
        self.agent.wait_log(rf"serving HTTP on tcp:\[::1\]:{self.port6}")
        # and the listener is that address only
        with self.assertRaises(ConnectionError):
            self.agent.http("/healthz", host="127.0.0.1", port=self.port6)
