"""The plugin API in the front: /me/ns, /update, /plugins/*.

What the front decides on its own is tested here against the real binary:
the namespace list (/me/ns and /post), parameter checks (400), methods
(405), and who may call the changing endpoints (unix socket and loopback
always; other TCP peers only with [agent] token as a bearer token: 403
without a token configured, 401 when it is missing or wrong).

Clients from another address are made in a network namespace of the
test's own (root): the agent listens there on an address of a veth pair,
and the test connects to it from inside, so the front sees a peer that is
not loopback, with nothing outside the namespace changed.

The answers of the scheduler and the fetcher behind these endpoints (the
full flow: every error of /plugins/*, runs, 409, a run waited for past
the 30 s request timeout, 503 when the scheduler dies mid-run, /update
with the registry up, failing and down) are tested in test_plugins.py.
"""
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse

from harness import AgentTest, NetNs, needs_root, wait_until

TOKEN = "t0ken-for-the-agent-api-1234567"
CHANGING = ["/plugins/run", "/plugins/update", "/plugins/enable",
            "/plugins/disable", "/plugins/enbable", "/update"]
PLUGIN_PATHS = ["/plugins/list", "/plugins/run", "/plugins/update",
                "/plugins/enable", "/plugins/disable", "/plugins/enbable"]
REFUSED = (401, 403)


def request(host, port, path, method="GET", headers=None, body=None,
            source=None):
    """(status, lower-case headers, body) over TCP, from the address
    `source` when given."""
    c = http.client.HTTPConnection(host, port, timeout=10,
                                   source_address=(source, 0) if source
                                   else None)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return (r.status, {k.lower(): v for k, v in r.getheaders()},
                r.read().decode(errors="replace"))
    finally:
        c.close()


class ListShared(AgentTest):
    """/plugins/list is open to every client, remote ones too, and the
    scheduler built the whole list for each request: a client asking
    it by the hundred at once kept the scheduler (the process that runs
    the plugins) building megabytes of JSON.  Requests that come while
    one is out now share the next answer."""

    def test_lists_asked_at_once_are_built_once(self):
        needs_root(self)
        self.agent.write_conf(agent_extra='\tnamespaces = [ "a.loda" ]\n')
        self.start_ok()

        def sched():
            return self.agent.worker(self.agent.status(), "scheduler")
        r0 = (sched().get("stats") or {}).get("requests", 0)
        pid = sched()["pid"]
        # the scheduler stopped while they come: none is answered early
        os.kill(pid, signal.SIGSTOP)
        self.addCleanup(lambda: os.kill(pid, signal.SIGCONT))
        got = []

        def ask():
            got.append(request("127.0.0.1", self.agent.port,
                               "/plugins/list"))
        threads = [threading.Thread(target=ask) for _ in range(40)]
        for t in threads:
            t.start()
        time.sleep(1)
        os.kill(pid, signal.SIGCONT)
        for t in threads:
            t.join()
        self.assertEqual(len(got), 40)
        for st, _, body in got:
            self.assertEqual(st, 200, body)
            self.assertEqual(body, got[0][2])
        # the first out when they came, and one for all the others
        wait_until(lambda: (sched().get("stats") or {}).get(
            "requests", 0) - r0 >= 2, timeout=15, what="2 requests")
        time.sleep(7)       # the scheduler's stats: within 6.25 s
        n = (sched().get("stats") or {}).get("requests", 0) - r0
        self.assertLessEqual(n, 2, f"{n} lists built for 40 requests")


class ApiLocalToken(AgentTest):
    """A local user guessing the token over loopback makes only its own
    uid wait: every local user has the address 127.0.0.1."""

    def as_uid(self, uid, token):
        r = subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={uid}",
             "--clear-groups", "curl", "-sS", "--max-time", "20", "-o",
             "-", "-w", "\n%{http_code}", "-H",
             f"Authorization: Bearer {token}",
             f"http://127.0.0.1:{self.agent.port}/plugins/run?timeout=x"],
            capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return int(r.stdout.decode().rpartition("\n")[2])

    def test_a_local_guesser_makes_only_itself_wait(self):
        needs_root(self)
        self.agent.write_conf(agent_extra='\tnamespaces = [ "a.loda" ]\n'
                              f'\ttoken = "{TOKEN}"\n')
        self.start_ok()
        codes = [self.as_uid(4243, f"guess{i}") for i in range(7)]
        self.assertEqual(codes, [403] * 6 + [429])
        # another local user with the token is not slowed by it
        self.assertEqual(self.as_uid(4244, TOKEN), 400)
        self.assertEqual(self.as_uid(4243, TOKEN), 429)


class ApiLocal(AgentTest):
    """Loopback and unix clients: trusted, so the front's own checks show."""

    def setUp(self):
        super().setUp()
        out = os.path.join(self.agent.dir, "out")
        os.makedirs(out)
        # the master opens the output file: a directory only root
        # writes in, as the path rules want
        os.chmod(out, 0o755)
        self.out = os.path.join(out, "points.jsonl")
        self.agent.write_conf(
            agent_extra='\tnamespaces = [ "a.loda", "b.loda" ]\n',
            output_name="file",
            output_extra=f'\tpath = "{self.out}"\n')
        self.start_ok()

    def test_me_ns_from_config_and_reload(self):
        for unix in (False, True):
            for method in ("GET", "POST"):
                code, body = self.agent.http("/me/ns", method=method,
                                             unix=unix)
                self.assertEqual(code, 200, body)
                self.assertEqual(json.loads(body), ["a.loda", "b.loda"])
        # /post uses the same list: two namespaces, so ns is required
        pts = json.dumps([{"name": "m", "timestamp": 1714538000,
                           "tags": {}, "value": 1}])
        code, body = self.agent.http("/post", method="POST", data=pts)
        self.assertEqual(code, 400, body)
        self.assertIn("2 namespaces", json.loads(body)["error"])
        code, body = self.agent.http("/post?ns=b.loda", method="POST",
                                     data=pts)
        self.assertEqual((code, json.loads(body)), (200, {"accepted": 1}))
        # until the fetcher sends its own, a reload changes the list
        self.agent.write_conf(agent_extra='\tnamespaces = [ "c.loda" ]\n')
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: self.agent.http("/me/ns") == (200, '["c.loda"]'),
                   timeout=10, what="/me/ns after the reload")
        code, body = self.agent.http("/post", method="POST", data=pts,
                                     unix=True)
        self.assertEqual((code, json.loads(body)), (200, {"accepted": 1}))

        def in_file():
            with open(self.out) as f:
                return [json.loads(l)["database"] for l in f]
        got = wait_until(lambda: len(in_file()) >= 2 and in_file(),
                         timeout=10, what="two messages in the output")
        self.assertEqual(sorted(got), ["collect.b.loda", "collect.c.loda"])

    def test_methods(self):
        for path in PLUGIN_PATHS + ["/update", "/me/ns"]:
            for method in ("PUT", "DELETE", "PATCH"):
                st, hdrs, body = request("127.0.0.1", self.agent.port, path,
                                         method)
                self.assertEqual(st, 405, f"{method} {path}: {body}")
                self.assertEqual(hdrs.get("allow"), "GET, HEAD, POST")
                self.assertIn("error", json.loads(body))

    def test_parameters_checked_by_the_front(self):
        bad_timeouts = ["abc", "0", "301", "-1", "1.5", "+5", " 5", "5s",
                        "99999999999999999999", "0x10"]
        for unix in (False, True):
            for t in bad_timeouts:
                q = urllib.parse.quote(t, safe="")
                code, body = self.agent.http(
                    f"/plugins/run?ns=a.loda&repo=x&timeout={q}", unix=unix)
                self.assertEqual((code, json.loads(body)),
                                 (400, {"error": "invalid timeout"}),
                                 f"timeout={t!r}")
        # form bodies count for POST, and win over the query (Go)
        code, body = self.agent.http(
            "/plugins/run?timeout=5", method="POST", data="timeout=x",
            headers=["Content-Type: application/x-www-form-urlencoded"])
        self.assertEqual((code, json.loads(body)),
                         (400, {"error": "invalid timeout"}))
        too_long = {"ns": 256, "repo": 512, "param": 4096}
        for path in PLUGIN_PATHS:
            for key, n in too_long.items():
                if key == "param" and path != "/plugins/run":
                    continue
                code, body = self.agent.http(f"{path}?{key}={'x' * n}",
                                             unix=True)
                self.assertEqual(code, 400, f"{path} {key}: {body}")
                self.assertEqual(json.loads(body)["error"],
                                 f"{key}: longer than {n - 1} bytes")
        # sent only with a broken escape is not absent either
        for path in PLUGIN_PATHS:
            code, body = self.agent.http(f"{path}?ns=a.loda&repo=x%zz",
                                         unix=True)
            self.assertEqual((code, json.loads(body)),
                             (400, {"error": "repo: broken %-escape"}), path)
        code, body = self.agent.http(
            "/plugins/run?ns=a.loda&repo=x&timeout=5%zz", unix=True)
        self.assertEqual((code, json.loads(body)),
                         (400, {"error": "invalid timeout"}))
        # the largest values that fit pass the front's checks
        code, body = self.agent.http(
            "/plugins/run?ns=" + "n" * 255 + "&repo=" + "r" * 511 +
            "&param=" + "p" * 4095 + "&timeout=300", unix=True)
        err = json.loads(body).get("error", "") if code >= 400 else ""
        self.assertNotIn("longer than", err)
        self.assertNotIn("invalid timeout", err)


class ApiTrust(AgentTest):
    """Changing endpoints from a non-loopback TCP address."""

    ADDR = "10.213.1.1"

    def setUp(self):
        super().setUp()
        needs_root(self)
        self.ns = NetNs()
        self.ns.veth("eth0", "peer0", [f"{self.ADDR}/24"], ["10.213.1.2/24"])
        self.agent.in_netns(self.ns)
        self.addr = self.ADDR
        self.agent.write_conf(listen=f"{self.addr}:{self.agent.port}")

    def remote(self, path, method="GET", headers=None, body=None):
        # from inside the namespace, to its eth0 address: the peer is
        # 10.213.1.1, not loopback
        with self.ns.entered():
            return request(self.addr, self.agent.port, path, method,
                           headers, body)

    def read_only_open(self):
        st, _, body = self.remote("/me/ns")
        self.assertEqual((st, json.loads(body)), (200, ["a.loda"]))
        st, _, body = self.remote("/me/status")
        self.assertEqual(st, 200, body)
        st, _, body = self.remote("/plugins/list")
        self.assertNotIn(st, REFUSED, body)
        json.loads(body)

    def test_no_token_configured_refuses_403(self):
        self.agent.write_conf(agent_extra='\tnamespaces = [ "a.loda" ]\n')
        self.start_ok()
        for path in CHANGING:
            for method in ("GET", "POST"):
                st, hdrs, body = self.remote(path + "?timeout=x", method,
                                             {"Authorization":
                                              "Bearer " + TOKEN})
                self.assertEqual(st, 403, f"{method} {path}: {body}")
                self.assertEqual(hdrs["content-type"], "application/json")
                self.assertIn("token", json.loads(body)["error"])
        self.read_only_open()
        # the unix socket is trusted: the front's own checks answer
        code, body = self.agent.http("/plugins/run?timeout=x", unix=True)
        self.assertEqual((code, json.loads(body)),
                         (400, {"error": "invalid timeout"}))
        self.assertRegex(self.agent.log_text(),
                         rf"/plugins/run from {self.addr} refused: not "
                         r"loopback and no token configured")

    def test_token_401_and_bearer_passes(self):
        self.agent.write_conf(agent_extra='\tnamespaces = [ "a.loda" ]\n'
                              f'\ttoken = "{TOKEN}"\n')
        self.start_ok()
        cases = [
            ({}, 'Bearer realm="agent"'),
            ({"Authorization": "Bearer wrong"},
             'Bearer realm="agent", error="invalid_token"'),
            ({"Authorization": "Bearer " + TOKEN[:-1]}, None),
            ({"Authorization": "Bearer " + TOKEN + "x"}, None),
            ({"Authorization": "Basic " + TOKEN}, None),
            ({"Authorization": TOKEN}, None),
        ]
        for path in CHANGING:
            for hdrs_in, want in cases:
                st, hdrs, body = self.remote(path + "?timeout=x",
                                             headers=hdrs_in)
                self.assertEqual(st, 401, f"{path} {hdrs_in}: {body}")
                self.assertTrue(hdrs["www-authenticate"].startswith(
                    "Bearer "), hdrs)
                if want is not None:
                    self.assertEqual(hdrs["www-authenticate"], want)
                self.assertIn("error", json.loads(body))
            # five wrong ones a path: a right one starts the count again
            # before the next five would make this address wait
            self.assertEqual(self.remote("/plugins/run?timeout=x", headers={
                "Authorization": "Bearer " + TOKEN})[0], 400)
        # the right token passes the trust check: the front's own
        # parameter check answers next (any case of "Bearer", spaces)
        for auth in ("Bearer " + TOKEN, "bearer   " + TOKEN + " "):
            for method in ("GET", "POST"):
                st, _, body = self.remote("/plugins/run?timeout=x", method,
                                          {"Authorization": auth})
                self.assertEqual((st, json.loads(body)),
                                 (400, {"error": "invalid timeout"}))
        # and every changing endpoint gets past it to its peer
        for path in CHANGING:
            st, _, body = self.remote(path, headers={
                "Authorization": "Bearer " + TOKEN})
            self.assertNotIn(st, REFUSED, f"{path}: {body}")
            json.loads(body)
        self.read_only_open()
        # loopback is not this listener here; the unix socket needs none
        code, body = self.agent.http("/plugins/run?timeout=x", unix=True)
        self.assertEqual(code, 400, body)

    def test_wrong_tokens_make_their_address_wait(self):
        """A token guessed at network speed: after 5 wrong ones from an
        address, each wrong one makes it wait (1 s, doubling), and what
        it sends meanwhile is not checked, the right token included.
        Another client, and the unix socket, do not wait.  (The veth's
        addresses are this host's: its clients count by their uid.)"""
        self.agent.write_conf(agent_extra='\tnamespaces = [ "a.loda" ]\n'
                              f'\ttoken = "{TOKEN}"\n')
        self.start_ok()
        right = {"Authorization": "Bearer " + TOKEN}
        for i in range(6):
            st, _, body = self.remote("/plugins/run?timeout=x", headers={
                "Authorization": f"Bearer guess{i}"})
            self.assertEqual(st, 401, f"guess {i}: {body}")
        # the sixth made it wait 1 s: the right token is not even checked
        st, hdrs, body = self.remote("/plugins/run?timeout=x", headers=right)
        self.assertEqual(st, 429, body)
        self.assertEqual(hdrs["retry-after"], "1")
        self.assertIn("too many wrong bearer tokens", json.loads(body)["error"])
        # nor does the list show what only the token may see
        st, _, body = self.remote("/plugins/list?ns=a.loda", headers=right)
        self.assertEqual(st, 200, body)
        # another client (on this host, as both ends of the veth are:
        # another uid) and the unix socket go on
        self.assertEqual(self.as_uid(4244, TOKEN, "10.213.1.2"), 400)
        code, body = self.agent.http("/plugins/run?timeout=x", unix=True)
        self.assertEqual(code, 400, body)
        # once the wait is over, the right token passes and starts again
        time.sleep(1.2)
        st, _, body = self.remote("/plugins/run?timeout=x", headers=right)
        self.assertEqual(st, 400, body)
        for i in range(5):
            self.assertEqual(self.remote("/plugins/run?timeout=x", headers={
                "Authorization": f"Bearer again{i}"})[0], 401)
        code, text = self.agent.http("/metrics", unix=True)
        self.assertIn('agent_api_tokens_refused_total{reason="wrong"} 11',
                      text)
        self.assertRegex(text, r'agent_api_tokens_refused_total\{reason='
                         r'"waiting"\} [12]\b')

    def test_a_web_page_listing_makes_no_one_wait(self):
        """A browser's request (Origin, Sec-Fetch-Site) is refused the
        token on /plugins/list as on the changing endpoints: checked
        before the guard, a page (after DNS rebinding, a same-origin
        fetch may carry any Authorization) made its browser's client
        wait, the operator's own tools with the right token included."""
        self.agent.write_conf(agent_extra='\tnamespaces = [ "a.loda" ]\n'
                              f'\ttoken = "{TOKEN}"\n')
        self.start_ok()
        for i in range(8):
            st, _, body = self.remote("/plugins/list", headers={
                "Authorization": f"Bearer guess{i}",
                "Origin": "http://evil.example",
                "Sec-Fetch-Site": "same-origin"})
            self.assertEqual(st, 200, body)
        st, _, body = self.remote("/plugins/run?timeout=x", headers={
            "Authorization": "Bearer " + TOKEN})
        self.assertEqual((st, json.loads(body)),
                         (400, {"error": "invalid timeout"}))

    def as_uid(self, uid, token, source):
        r = self.ns.run(
            "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "curl", "-sS", "--max-time", "20", "--interface", source,
            "-o", "-", "-w", "\n%{http_code}", "-H",
            f"Authorization: Bearer {token}",
            f"http://{self.addr}:{self.agent.port}/plugins/run?timeout=x")
        self.assertEqual(r.returncode, 0, r.stderr)
        return int(r.stdout.decode().rpartition("\n")[2])

    def test_a_local_guesser_on_a_host_address_makes_only_itself_wait(self):
        """A local user guessing from an address of the host's own that
        is not loopback (eth0's: every local user has it too) makes only
        its uid wait, not every local user that uses that address."""
        self.agent.write_conf(agent_extra='\tnamespaces = [ "a.loda" ]\n'
                              f'\ttoken = "{TOKEN}"\n')
        self.start_ok()
        codes = [self.as_uid(4243, f"guess{i}", self.addr) for i in range(7)]
        self.assertEqual(codes, [401] * 6 + [429])
        self.assertEqual(self.as_uid(4244, TOKEN, self.addr), 400)
        # nor does another address of the host free the guesser
        self.assertEqual(self.as_uid(4243, TOKEN, "10.213.1.2"), 429)
