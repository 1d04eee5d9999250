"""The front over real sockets: errors, limits, and that it keeps serving."""
import json
import socket

from harness import AgentTest, free_port


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

    def test_status_over_unix_socket(self):
        st = self.agent.status(unix=True)
        self.assertEqual(st["version"], self.agent.run(
            "version", conf=False).stdout.split()[1])
        self.assertIn("uptime", st)


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
