"""The front over real sockets: errors, limits, and that it keeps serving."""
import json
import socket

from harness import AgentTest


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
