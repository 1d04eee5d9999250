"""Issue 10, finding 7 (front): what a web page in a browser, a DNS
rebinding attacker and a remote client without the token can do to the
API, tried the way they would.

A page makes a browser on the host send requests to 127.0.0.1:1232: an
<img src=".../plugins/disable?..."> (GET, no Origin), a form or fetch POST
(Origin, Sec-Fetch-Site), or, after rebinding its own name to 127.0.0.1,
same-origin requests carrying Host: <its name>.  Every changing endpoint
must refuse them all with 403 and change nothing; curl, the sdk and
other programs (no Origin, no Sec-Fetch-Site, Host an address,
localhost, the host's name or a name in [agent] hostnames) keep working.

/plugins/list shows plugin parameters (often credentials) and stderr
tails only to trusted clients: the unix socket, loopback, the token.  A
client on another address (a network namespace joined by a veth pair,
harness.NetNs.link_to_host) sees the list without them.

On loopback, only root and [agent] apiusers are trusted: any other local
user (LocalUser: curl as `bin`, as a hostile user of the host would) gets
403 for the changing calls and the list without parameters, until a
reload puts it in apiusers.
"""
import http.client
import json
import os
import pwd
import re
import socket
import subprocess
import time
import urllib.parse

from harness import NetNs, needs_root, pipeline
from test_plugins import GROUP, METRICS, NS, PluginTest

TOKEN = "t0ken-for-the-agent-api-1234567"
SECRET = "--password=s3cret-Pa55"
NAME = "agent.test"         # in [agent] hostnames


def request(host, port, path, method="GET", headers=None, body=None):
    """(status, JSON body) over TCP; `headers` may set Host itself."""
    c = http.client.HTTPConnection(host, port, timeout=30)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, json.loads(r.read().decode())
    finally:
        c.close()


class Browser(PluginTest):
    """Changing requests that look like a browser's get 403."""

    def setUp(self):
        super().setUp()
        self.add(NS, "metrics", METRICS, parameters=SECRET)
        self.key = f"{NS}|metrics"
        self.start_with(self.key, extra=f'\thostnames = [ "{NAME}" ]\n'
                        f'\tnamespaces = [ "{NS}" ]\n')
        self.q = "?" + urllib.parse.urlencode(
            {"ns": NS, "repo": self.git_of("metrics")})

    def tcp(self, path, method="GET", headers=None, body=None):
        return request("127.0.0.1", self.agent.port, path, method, headers,
                       body)

    def enabled(self):
        return self.listed()[self.key]["enabled"]

    def test_disable_refused_to_browsers_allowed_to_programs(self):
        port = self.agent.port
        refused = [
            ({"Origin": "http://evil.example"}, "Origin"),
            ({"Origin": "null"}, "Origin"),
            ({"Origin": f"http://127.0.0.1:{port}"}, "Origin"),
            ({"Host": "evil.example"}, "Host"),
            ({"Host": f"evil.example:{port}"}, "Host"),
            ({"Host": "localhost.evil.example"}, "Host"),
            ({"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site"),
            ({"Sec-Fetch-Site": "same-origin"}, "Sec-Fetch-Site"),
            # what a rebound page's fetch() sends
            ({"Host": f"evil.example:{port}",
              "Sec-Fetch-Site": "same-origin"}, "Sec-Fetch-Site"),
        ]
        self.assertTrue(self.enabled())
        for headers, what in refused:
            for method in ("GET", "POST"):
                st, body = self.tcp("/plugins/disable" + self.q, method,
                                    headers)
                self.assertEqual(st, 403, f"{method} {headers}: {body}")
                self.assertIn(what, body["error"])
                self.assertTrue(self.enabled(),
                                f"{method} {headers} disabled the plugin")
        # a POST with a form body, as an HTML form would send it
        st, body = self.tcp(
            "/plugins/disable", "POST",
            {"Origin": "http://evil.example",
             "Content-Type": "application/x-www-form-urlencoded"},
            self.q[1:])
        self.assertEqual(st, 403, body)
        self.assertTrue(self.enabled())
        self.agent.wait_log(r"/plugins/disable from 127\.0\.0\.1 refused: "
                            r"the request carries Origin")

        # programs: no Origin, no Sec-Fetch-Site, a Host naming the agent
        allowed = [
            {"Host": f"127.0.0.1:{port}"},
            {"Host": "localhost"},
            {"Host": f"LOCALHOST:{port}"},
            {"Host": NAME},
            {"Host": f"{socket.gethostname()}:{port}"},
            {"Host": f"[::1]:{port}"},
            # a user typing the URL into the browser's address bar
            {"Host": f"127.0.0.1:{port}", "Sec-Fetch-Site": "none"},
        ]
        state = True
        for headers in allowed:
            op = "disable" if state else "enable"
            st, body = self.tcp(f"/plugins/{op}" + self.q, "POST", headers)
            self.assertEqual(st, 200, f"{op} {headers}: {body}")
            state = not state
            self.assertEqual(self.enabled(), state, f"{op} {headers}")
        # plain curl
        code, body = self.agent.http("/plugins/" +
                                     ("disable" if state else "enable") +
                                     self.q)
        self.assertEqual(code, 200, body)
        state = not state
        self.assertEqual(self.enabled(), state)
        # the unix socket: no browser gets there, any Host will do
        code, body = self.agent.http("/plugins/" +
                                     ("disable" if state else "enable") +
                                     self.q, unix=True,
                                     headers=["Host: evil.example"])
        self.assertEqual(code, 200, body)
        self.assertEqual(self.enabled(), not state)
        # but Origin is refused there too (a proxy passing a page's request)
        code, body = self.agent.http("/plugins/enable" + self.q, unix=True,
                                     headers=["Origin: http://evil.example"])
        self.assertEqual(code, 403, body)

    def test_other_changing_endpoints_and_pushes(self):
        bad = {"Origin": "http://evil.example"}
        rebound = {"Host": "evil.example"}
        for path in ("/plugins/run", "/plugins/update", "/plugins/enable",
                     "/plugins/enbable", "/update"):
            for h in (bad, rebound):
                st, body = self.tcp(path + self.q, "GET", h)
                self.assertEqual(st, 403, f"{path} {h}: {body}")
        self.assertEqual(self.listed()[self.key]["runs"], 0)
        # a page POSTing text/plain points to /post or /write
        pts = json.dumps([{"name": "fake", "value": 1}])
        for h in (bad, rebound, {"Sec-Fetch-Site": "cross-site"}):
            hh = dict(h, **{"Content-Type": "text/plain"})
            st, body = self.tcp("/post", "POST", hh, pts)
            self.assertEqual(st, 403, f"/post {h}: {body}")
            st, body = self.tcp("/write", "POST", hh, "fake value=1\n")
            self.assertEqual(st, 403, f"/write {h}: {body}")
        st, body = self.tcp("/post", "POST",
                            {"Content-Type": "text/plain"}, pts)
        self.assertEqual((st, body), (200, {"accepted": 1}))
        # that one only: the refused ones never reached the sender
        self.wait_points(f"collect.{NS}", "RUN.fake")
        self.assertEqual(len(self.points(f"collect.{NS}", "RUN.fake")), 1)

    def test_list_for_a_browser_is_redacted(self):
        # stderr exists once the plugin ran
        self.run_plugin_ok(NS, "metrics", unix=True)
        full = self.listed()[self.key]
        self.assertEqual(full["params"], [SECRET])
        self.assertEqual(full["stderr"], "metrics to stderr\n")
        self.assertNotIn("redacted", full)
        # DNS rebinding: the page reads the list from loopback
        for h in ({"Host": "evil.example"},
                  {"Host": "127.0.0.1", "Sec-Fetch-Site": "same-origin"},
                  {"Origin": "http://evil.example"}):
            st, body = self.tcp("/plugins/list", "GET", h)
            self.assertEqual(st, 200, body)
            p = {f"{x['ns']}|{x['project']}": x for x in body}[self.key]
            self.assertNotIn("params", p, h)
            self.assertNotIn("stderr", p, h)
            self.assertTrue(p["redacted"])
            self.assertNotIn(SECRET, json.dumps(body))


class Remote(PluginTest):
    """/plugins/list from another address: parameters and stderr only
    with the token."""

    def setUp(self):
        super().setUp()
        needs_root(self)
        self.ns = NetNs()
        self.addCleanup(self.ns.delete)
        self.host_addr, self.ns_addr = self.ns.link_to_host()
        self.add(NS, "metrics", METRICS, parameters=SECRET)
        self.key = f"{NS}|metrics"
        self.agent.write_conf(listen=f"{self.host_addr}:"
                              f"{self.agent.port}")

    def listed(self):
        # loopback is not listened on here
        st, ctype, body = self.api("/plugins/list", unix=True)
        self.assertEqual(st, 200, body)
        return {f"{p['ns']}|{p['project']}": p for p in body}

    def start_remote(self, extra):
        """start_with(), all asked over the unix socket."""
        self.write_registry()
        self.configure(extra=extra)
        self.start_ok()
        st, _, body = self.api("/me/status", unix=True)
        self.assertEqual(st, 200, body)
        self.agent.note_status(body)
        return self.wait_checkout(self.key)

    def remote_list(self, *headers):
        cmd = ["curl", "-sS", "--max-time", "20", "-o", "-", "-w",
               "\n%{http_code}"]
        for h in headers:
            cmd += ["-H", h]
        cmd.append(f"http://{self.host_addr}:{self.agent.port}"
                   "/plugins/list")
        r = self.ns.run(*cmd)
        self.assertEqual(r.returncode, 0, r.stderr)
        body, _, code = r.stdout.decode().rpartition("\n")
        self.assertEqual(code, "200", body)
        lst = json.loads(body)
        return {f"{p['ns']}|{p['project']}": p for p in lst}, body

    def test_list_without_token_leaves_out_params_and_stderr(self):
        self.start_remote(extra=f'\ttoken = "{TOKEN}"\n')
        self.run_plugin_ok(NS, "metrics", unix=True)
        full = self.listed()[self.key]
        self.assertEqual(full["params"], [SECRET])
        self.assertEqual(full["stderr"], "metrics to stderr\n")
        for headers in ((), ("Authorization: Bearer wrong",)):
            lst, raw = self.remote_list(*headers)
            p = lst[self.key]
            self.assertNotIn("params", p)
            self.assertNotIn("stderr", p)
            self.assertNotIn(SECRET, raw)
            self.assertNotIn("metrics to stderr", raw)
            self.assertTrue(p["redacted"])
            # the rest is as the trusted see it
            for k in ("ns", "name", "git", "repo", "enabled", "status",
                      "runs", "last_run", "commit"):
                self.assertEqual(p[k], full[k], k)
        lst, raw = self.remote_list(f"Authorization: Bearer {TOKEN}")
        p = lst[self.key]
        self.assertEqual(p["params"], [SECRET])
        self.assertEqual(p["stderr"], "metrics to stderr\n")
        self.assertNotIn("redacted", p)
        # the host's own address is not loopback either
        st, body = request(self.host_addr, self.agent.port,
                           "/plugins/list")
        self.assertEqual(st, 200)
        self.assertNotIn(SECRET, json.dumps(body))
        # and a remote client cannot change things without the token
        r = self.ns.run("curl", "-sS", "-o", "/dev/null", "-w",
                        "%{http_code}",
                        f"http://{self.host_addr}:{self.agent.port}"
                        f"/plugins/disable?ns={NS}&repo="
                        + urllib.parse.quote(self.git_of("metrics")))
        self.assertEqual(r.stdout.decode(), "401")
        self.assertTrue(self.listed()[self.key]["enabled"])
        self.assertEqual(os.path.exists(os.path.join(
            self.pd, "plugin.disabled", self.key)), False)

    def test_refused_without_token_logged_a_line_per_interval(self):
        """Each request refused for want of the token wrote a log line:
        a remote client could pipeline thousands and rotate the log."""
        self.start_remote(extra=f'\ttoken = "{TOKEN}"\n')
        q = urllib.parse.urlencode({"ns": NS, "repo": self.git_of("metrics")})
        req = (f"GET /plugins/disable?{q} HTTP/1.1\r\n"
               f"Host: {self.host_addr}\r\n\r\n").encode()
        rx = re.compile(r"/plugins/disable from \S+ refused: no bearer "
                        r"token")
        with self.ns.entered():
            codes = pipeline(self.host_addr, self.agent.port, req, 1000)
        self.assertEqual(codes, [401] * 1000)
        self.agent.wait_log(rx.pattern)
        self.assertTrue(self.listed()[self.key]["enabled"])
        self.assertLessEqual(len(rx.findall(self.agent.log_text())), 1)
        time.sleep(10.5)
        with self.ns.entered():
            codes = pipeline(self.host_addr, self.agent.port, req, 1)
        self.assertEqual(codes, [401])
        m = self.agent.wait_log(rx.pattern + r"; (\d+) more not logged "
                                r"since the last such line")
        self.assertEqual(int(m.group(1)), 999)
        self.assertEqual(len(rx.findall(self.agent.log_text())), 2)


class LocalUser(PluginTest):
    """Another local user on loopback is not trusted: it may not disable,
    enable, run or update plugins, or read their parameters, unless
    [agent] apiusers names it; a reload applies the list at once."""

    USER = "bin"        # neither [agent] user nor pluginsuser here

    def setUp(self):
        super().setUp()
        needs_root(self)
        self.add(NS, "metrics", METRICS, parameters=SECRET)
        self.key = f"{NS}|metrics"
        self.q = urllib.parse.urlencode({"ns": NS,
                                         "repo": self.git_of("metrics")})
        self.extra = f'\tnamespaces = [ "{NS}" ]\n'
        self.start_with(self.key, extra=self.extra)

    def as_user(self, path):
        """(status, JSON body) of a GET over loopback TCP by curl run as
        USER, with no group of root's."""
        pw = pwd.getpwnam(self.USER)
        r = subprocess.run(
            ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
             "--clear-groups", "curl", "-sS", "--max-time", "20", "-o", "-",
             "-w", "\n%{http_code}",
             f"http://127.0.0.1:{self.agent.port}{path}"],
            capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        body, _, code = r.stdout.decode().rpartition("\n")
        return int(code), json.loads(body)

    def test_refused_until_named_in_apiusers(self):
        uid = pwd.getpwnam(self.USER).pw_uid
        for op in ("disable", "enable", "run", "update"):
            st, body = self.as_user(f"/plugins/{op}?{self.q}")
            self.assertEqual(st, 403, body)
            self.assertIn(f"this client's socket is uid {uid}'s",
                          body["error"])
            self.assertIn("[agent] apiusers", body["error"])
        st, body = self.as_user("/update")
        self.assertEqual(st, 403, body)
        self.agent.wait_log(rf"/plugins/disable from 127\.0\.0\.1 "
                            rf"refused: uid {uid} is neither root nor in "
                            r"\[agent\] apiusers")
        self.assertTrue(self.listed()[self.key]["enabled"])
        st, lst = self.as_user("/plugins/list")
        self.assertEqual(st, 200, lst)
        self.assertNotIn(SECRET, json.dumps(lst))
        self.assertTrue(lst[0]["redacted"], lst)
        # root, on loopback as ever, sees them
        self.assertEqual(self.listed()[self.key]["params"], [SECRET])

        # named in apiusers: a reload, and it may
        self.configure(extra=self.extra +
                       f'\tapiusers = [ "{self.USER}" ]\n')
        self.assertEqual(self.agent.run("reload").returncode, 0)
        self.agent.wait_log(r"\[agent\] apiusers changed")
        st, body = self.as_user(f"/plugins/disable?{self.q}")
        self.assertEqual((st, body["enabled"]), (200, False), body)
        st, lst = self.as_user("/plugins/list")
        self.assertEqual(lst[0]["params"], [SECRET], lst)
        st, body = self.as_user(f"/plugins/enable?{self.q}")
        self.assertEqual((st, body["enabled"]), (200, True), body)

        # and out of it again: refused at once
        self.configure(extra=self.extra)
        self.assertEqual(self.agent.run("reload").returncode, 0)
        self.agent.wait_log(r"\[agent\] apiusers changed: loopback "
                            r"clients of 0 users")
        st, body = self.as_user(f"/plugins/disable?{self.q}")
        self.assertEqual(st, 403, body)
        self.assertTrue(self.listed()[self.key]["enabled"])

    def test_the_agents_own_users_cannot_be_named(self):
        self.configure(extra=self.extra + '\tapiusers = [ "nobody" ]\n')
        for cmd in ("check", "reload"):
            r = self.agent.run(cmd)
            self.assertEqual(r.returncode, 2, r.stdout)
            self.assertIn('[agent] apiusers = "nobody": is [agent] ',
                          r.stderr)
        self.configure(extra=self.extra +
                       '\tapiusers = [ "no-such-user-xq" ]\n')
        r = self.agent.run("check")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn('[agent] apiusers = "no-such-user-xq": no such user',
                      r.stderr)
