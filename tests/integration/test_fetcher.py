"""The fetcher against a registry: registration, items, report, the
file:// registry, the cache when the registry is down, and bad answers.

The registry is the double of tests/peers/registry.py (RegistryDouble):
it registers the host as the real registry does (a rename needs the old
machine to exist), serves the collect lists written with set_collect(),
records every request and injects the faults (refuse for a registry that
is down, garbage, malformed, error and canned answers).  The fetcher's
view is observed through /me/status counters, the log and the cache file,
since /me/ns and /update are not in the front yet.

The host's addresses are part of what the agent sends; a CI machine has
none but loopback, so the tests that check them run the agent in a network
namespace of their own with known ones (root only).  The HTTPS tests make
a CA and certificates with openssl and give the agent a CA bundle of the
test's own in a mount namespace (libcurl reads the system bundle,
/etc/ssl/certs/ca-certificates.crt; the agent has no CA setting).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

from harness import AgentTest, NetNs, maps_libcurl, needs_root, \
    wait_until

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "peers"))
from registry import (PATH_NS, PATH_REPORT, PATH_RESOURCE,  # noqa: E402
                      RegistryDouble)

REPORT_KEYS = ["uuid", "sn", "newiplist", "oldiplist", "ns", "version",
               "commit", "branch", "buildtime", "goversion", "newhostname",
               "oldhostname", "agenttype", "update", "utime"]


def item(mtype, name, **kw):
    d = {"_id": f"id-{name}", "comment": "", "measurement_type": mtype,
         "name": name}
    d.update(kw)
    return d


# The keys of an item the agent reads (fetcher_item_key_used()): the
# fetcher keeps these only, in memory and in its cache.
KEPT_KEYS = {"name", "git", "interval", "parameters", "port",
             "connect_timeout", "bin_path", "param", "cycle",
             "measurement_type"}


def kept(items):
    """`items` as the fetcher keeps them."""
    return [{k: v for k, v in it.items() if k.lower() in KEPT_KEYS}
            for it in items]


def plugin(name, repo, interval="60", **kw):
    return item("PLUGIN", f"PLUGIN.{name}",
                git=f"git@git.test.com:{repo}.git", interval=interval, **kw)


# The addresses of the network namespace of in_own_network(): eth0's
# (dock0's is left out by ifaceprefix, loopback and link-local always)
OWN_IPS = ["10.213.0.1", "fd00:213::1"]
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def host_ips(netns=None, prefixes=("eth", "lo")):
    """The IP list of lodastack-protocols.md 1.4, from iproute2."""
    out = []
    ns = ["-n", netns.name] if netns is not None else []
    for link in json.loads(subprocess.run(
            ["ip", *ns, "-j", "addr"], capture_output=True, text=True,
            check=True).stdout):
        flags = link.get("flags", [])
        if "UP" not in flags or "LOOPBACK" in flags:
            continue
        if not any(link["ifname"].startswith(p) for p in prefixes):
            continue
        for fam in ("inet", "inet6"):
            for a in link.get("addr_info", []):
                if a["family"] != fam or a.get("scope") in ("link", "host"):
                    continue
                ip = a["local"]
                if ip.startswith("169.254.") or ip.startswith("127."):
                    continue
                out.append(ip)
    return out


def serial_number():
    try:
        with open("/sys/class/dmi/id/product_serial") as f:
            return f.read().replace(" ", "")
    except OSError:
        return ""



HOST = socket.gethostname()
NS_POOL = "pool.loda"


class FetcherTest(AgentTest):

    def setUp(self):
        super().setUp()
        self.reg = RegistryDouble().start()
        self.addCleanup(self.reg.stop)
        # no tree.json: the host registers into pool.loda, which holds
        # one item (not the 40-item default template)
        self.reg.set_collect(NS_POOL, [item("CPU", "cpu.idle",
                                            interval="10")])

    def in_own_network(self):
        """The agent and the registry double in a network namespace whose
        addresses are OWN_IPS (CI machines have none but loopback)."""
        needs_root(self)
        ns = NetNs()
        ns.veth("eth0", "dock0", ["10.213.0.1/24", "fd00:213::1/64"],
                ["10.213.0.2/24"])
        self.agent.in_netns(ns)
        with ns.entered():
            reg = RegistryDouble().start()
        self.addCleanup(reg.stop)
        reg.set_collect(NS_POOL, [item("CPU", "cpu.idle", interval="10")])
        self.reg.stop()
        self.reg = reg
        # what the test expects is what iproute2 sees there
        self.assertEqual(host_ips(ns), OWN_IPS)
        return ns

    def make_certs(self, cn, san):
        """A CA and a server certificate (CN cn, subjectAltName san)
        signed by it: (ca.pem, cert.pem, key.pem)."""
        d = os.path.join(self.agent.dir, "tls")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        ca, cakey = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        csr, ext = os.path.join(d, "cert.csr"), os.path.join(d, "ext.cnf")

        def ssl(*args):
            subprocess.run(["openssl", *args], check=True,
                           capture_output=True)
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
            cakey, "-out", ca, "-days", "1", "-subj", "/CN=agent-it CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
            csr, "-subj", f"/CN={cn}")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\n"
                    "extendedKeyUsage=serverAuth\n")
        ssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", cakey,
            "-CAcreateserial", "-out", cert, "-days", "1", "-extfile", ext)
        os.chmod(ca, 0o644)
        return ca, cert, key

    def trust(self, ca):
        """The agent runs with `ca` as the system's CA bundle."""
        self.agent.in_mount_ns(f"mount --bind '{ca}' '{CA_BUNDLE}'")

    def got(self, method, path, reg=None):
        return [r for r in (reg or self.reg).requests(path=path)
                if r.method == method]

    def use_registry(self, addr, timeout=3, extra=""):
        self.addr = addr
        self.agent.write_conf(agent_extra=f"\tregistryaddr = \"{addr}\"\n"
                              f"\tregistrytimeout = {timeout}\n{extra}")

    def fetcher_stats(self, agent=None):
        st = (agent or self.agent).status()
        return (agent or self.agent).worker(st, "fetcher").get("stats", {})

    def wait_stat(self, key, pred, agent=None, timeout=15):
        return wait_until(lambda: pred(self.fetcher_stats(agent).get(key)),
                          timeout=timeout, what=f"fetcher stat {key}")

    def cache(self, agent=None):
        p = os.path.join((agent or self.agent).values["pluginsdir"],
                         ".registry.json")
        with open(p) as f:
            return json.load(f)

    def cache_or_none(self):
        try:
            return self.cache()
        except (OSError, ValueError):
            return None

    def refresh_by_reload(self, timeout):
        # a reload that changes a registry setting refreshes at once
        self.use_registry(self.addr, timeout=timeout)
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)


class Registration(FetcherTest):

    def test_registers_fetches_and_reports(self):
        self.in_own_network()
        self.reg.set_collect(NS_POOL, [
            item("CPU", "cpu.idle", interval="10"),
            plugin("mysql", "plugins/mysql",
                   parameters="-servers loda:pw@tcp(127.0.0.1:3306)/"),
            plugin("evil", "plugins/evil", parameters="-x a;b"),
            item("PORT", "PORT.sshd.22", port="22", connect_timeout="3"),
            item("PROC", "PROC.nginx", bin_path="/usr/sbin/nginx"),
        ])
        self.use_registry(self.reg.url)
        self.start_ok()
        self.agent.wait_log(r"fetcher\[\d+\]: registry: 1 namespace "
                            r"\(pool\.loda\), 1 plugins, 1 PORT and 1 PROC "
                            r"checks, 1 items rejected")
        self.agent.wait_log(r'namespace "pool\.loda": item "PLUGIN\.evil" '
                            r'rejected: parameter "a;b" contains ";"')

        # POST /api/v1/agent/ns: sorted string keys, the JSON header
        ns = self.reg.wait_for_requests(1, path=PATH_NS)[0]
        self.assertEqual(ns.method, "POST")
        self.assertEqual(ns.header("Content-Type"),
                         "application/json;charset=utf-8")
        body = ns.body.decode()
        sent = json.loads(body)
        self.assertEqual(list(sent), ["hostname", "ip", "sn"])
        self.assertEqual(sent["hostname"], HOST)
        self.assertEqual(sent["ip"], ",".join(OWN_IPS))
        self.assertEqual(sent["sn"], serial_number())
        self.assertNotIn(" ", body)
        # the registry registered the host as it was sent
        machines = self.reg.machines(NS_POOL)
        self.assertEqual(len(machines), 1)
        mid = machines[0]["_id"]
        self.assertEqual(machines[0], {"_id": mid, "hostname": HOST,
                                       "ip": ",".join(OWN_IPS),
                                       "sn": serial_number(),
                                       "status": "online"})

        # GET /api/v1/agent/resource for the namespace
        res = self.got("GET", PATH_RESOURCE)
        self.assertTrue(res)
        self.assertEqual(res[0].params, {"ns": ["pool.loda"],
                                         "type": ["collect"]})

        # the report after the first refresh, every field in order
        rep = self.reg.wait_for_requests(1, path=PATH_REPORT)[0]
        self.assertEqual(rep.method, "POST")
        self.assertEqual(rep.header("Content-Type"),
                         "application/json;charset=utf-8")
        r = rep.json()
        self.assertEqual(list(r), REPORT_KEYS)
        self.assertEqual(r["uuid"], [mid])
        self.assertEqual(r["ns"], ["pool.loda"])
        self.assertEqual(r["newiplist"], OWN_IPS)
        self.assertEqual(r["sn"], serial_number())
        self.assertEqual(r["newhostname"], HOST)
        self.assertEqual(r["oldhostname"], HOST)
        self.assertEqual(r["agenttype"], "loda-agent")
        self.assertIs(r["update"], False)
        self.assertEqual(r["version"], self.agent.status()["version"])
        self.assertRegex(r["goversion"], r"^(gcc|clang) ")
        self.assertRegex(r["utime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
                         r"(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")

        # the counters, the cache and the identity caches
        self.wait_stat("reports_ok", lambda v: v == 1)
        # the registry decoded it as Go would (utime RFC 3339) and kept it
        self.assertEqual(rep.status, 200)
        self.assertEqual(self.reg.reports(), {HOST: r})
        s = self.fetcher_stats()
        self.assertGreaterEqual(s["refresh_ok"], 1)
        self.assertEqual(s["refresh_failed"], 0)
        self.assertEqual((s["namespaces"], s["plugins"], s["ports"],
                          s["procs"], s["rejected_items"]), (1, 1, 1, 1, 1))
        # an item not applied is in /metrics too, not only in the log
        code, page = self.agent.http("/metrics")
        self.assertEqual(code, 200)
        self.assertIn("\nagent_registry_items_rejected 1\n", page)
        self.assertEqual(s["from_cache"], 0)
        self.assertAlmostEqual(s["last_refresh_ok"], time.time(), delta=60)
        c = self.cache()
        self.assertEqual(c["ns"], {"pool.loda": mid})
        self.assertEqual(c["resources"]["pool.loda"],
                         kept(self.reg.resources(NS_POOL)))
        pd = self.agent.values["pluginsdir"]
        # plugin parameters often hold credentials: the fetcher's alone
        self.assertEqual(os.stat(os.path.join(pd, ".registry.json"))
                         .st_mode & 0o7777, 0o600)
        with open(os.path.join(pd, ".hostname")) as f:
            self.assertEqual(f.read(), HOST)
        with open(os.path.join(pd, ".ip")) as f:
            self.assertEqual(f.read(), ",".join(OWN_IPS))

    def test_renamed_host_reports_before_asking_for_namespaces(self):
        self.in_own_network()
        pd = self.agent.values["pluginsdir"]
        os.makedirs(pd)
        with open(os.path.join(pd, ".hostname"), "w") as f:
            f.write("old-name")
        with open(os.path.join(pd, ".ip"), "w") as f:
            f.write("10.9.9.9")
        # the registry knows the host by its old name (else the rename is
        # 500 "machine not found", forever)
        mid = self.reg.add_machine(NS_POOL, "old-name", ip="10.9.9.9",
                                   sn=serial_number())
        self.use_registry(self.reg.url)
        self.start_ok()
        self.agent.wait_log(r'the hostname changed from "old-name" to '
                            rf'"{re.escape(HOST)}"')
        rep = self.reg.wait_for_requests(1, path=PATH_REPORT)[0]
        r = rep.json()
        self.assertIs(r["update"], True)
        self.assertEqual(r["oldhostname"], "old-name")
        self.assertEqual(r["newhostname"], HOST)
        self.assertEqual(r["oldiplist"], ["10.9.9.9"])
        self.assertEqual(r["newiplist"], OWN_IPS)
        # the ns call was skipped while the name differed
        self.assertEqual(self.got("POST", PATH_NS), [])
        self.wait_stat("reports_ok", lambda v: v == 1)
        # the registry renamed its machine and keeps the report under the
        # new name ...
        self.assertEqual(rep.status, 200)
        m = self.reg.machines(NS_POOL)
        self.assertEqual([(x["_id"], x["hostname"], x["ip"]) for x in m],
                         [(mid, HOST, ",".join(OWN_IPS))])
        self.assertEqual(list(self.reg.reports()), [HOST])
        # ... the registry accepted it: the caches follow ...
        with open(os.path.join(pd, ".hostname")) as f:
            self.assertEqual(f.read(), HOST)
        with open(os.path.join(pd, ".ip")) as f:
            self.assertEqual(f.read(), ",".join(OWN_IPS))
        # ... and the next refresh registers again, as the same machine
        self.refresh_by_reload(4)
        self.reg.wait_for_requests(1, path=PATH_NS)
        wait_until(lambda: (self.cache_or_none() or {}).get("ns") ==
                   {"pool.loda": mid}, what="the cache of the namespaces")
        self.assertEqual(len(self.reg.machines(NS_POOL)), 1)

    def test_https_with_a_trusted_ca(self):
        needs_root(self)
        ca, cert, key = self.make_certs("registry.test",
                                        "DNS:registry.test,IP:127.0.0.1")
        reg = RegistryDouble(tls=(cert, key)).start()
        self.addCleanup(reg.stop)
        reg.set_collect(NS_POOL, [item("CPU", "cpu.idle", interval="10"),
                                  plugin("tls", "plugins/tls")])
        self.assertTrue(reg.url.startswith("https://127.0.0.1:"))
        self.trust(ca)
        self.use_registry(reg.url)
        self.start_ok()
        self.wait_stat("refresh_ok", lambda v: v >= 1)
        self.wait_stat("reports_ok", lambda v: v == 1)
        s = self.fetcher_stats()
        self.assertEqual((s["refresh_failed"], s["plugins"]), (0, 1))
        # every call went over TLS to the double, which answered them
        self.assertEqual([(r.method, r.path, r.status) for r in
                          reg.requests()],
                         [("POST", PATH_NS, 200), ("GET", PATH_RESOURCE, 200),
                          ("POST", PATH_REPORT, 200)])
        self.assertEqual(len(reg.machines(NS_POOL)), 1)
        self.assertNotIn("SSL", self.agent.log_text())

    def test_https_host_name_mismatch_fails(self):
        # the CA is trusted, but the certificate is for another name
        needs_root(self)
        ca, cert, key = self.make_certs("other.test", "DNS:other.test")
        reg = RegistryDouble(tls=(cert, key)).start()
        self.addCleanup(reg.stop)
        self.trust(ca)
        self.use_registry(reg.url)
        self.start_ok()
        self.agent.wait_log(r"registry: POST https://127\.0\.0\.1:\d+/api/"
                            r"v1/agent/ns: SSL: (no alternative certificate "
                            r"subject name matches|certificate subject name)"
                            r".*127\.0\.0\.1")
        self.wait_stat("refresh_failed", lambda v: v >= 1)
        self.assertEqual(self.fetcher_stats()["refresh_ok"], 0)
        self.assertEqual(reg.requests(), [])
        self.assertEqual(reg.machines(NS_POOL), [])

    def test_https_verifies_the_certificate(self):
        if shutil.which("openssl") is None:
            self.skipTest("no openssl to make a certificate (make deps "
                          "installs it)")
        cert = os.path.join(self.agent.dir, "cert.pem")
        key = os.path.join(self.agent.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True,
                       capture_output=True)
        reg = RegistryDouble(tls=(cert, key)).start()
        self.addCleanup(reg.stop)
        self.assertTrue(reg.url.startswith("https://"))
        self.use_registry(reg.url)
        self.start_ok()
        # the CA store was read in the sandbox, and it does not know ours
        self.agent.wait_log(r"registry: POST https://127\.0\.0\.1:\d+/api/"
                            r"v1/agent/ns: SSL certificate problem: "
                            r"self-signed certificate")
        self.wait_stat("refresh_failed", lambda v: v >= 1)
        # the handshake failed: no request reached the registry
        self.assertEqual(reg.requests(), [])
        self.assertEqual(reg.machines(NS_POOL), [])

    def test_name_lookup_in_the_sandbox(self):
        # /etc/hosts (and nsswitch, resolv.conf) read as `user`
        self.use_registry(f"http://localhost:{self.reg.port}/")
        self.start_ok()
        self.wait_stat("refresh_ok", lambda v: v >= 1)
        # a trailing slash in registryaddr does not double in the paths
        self.assertTrue(self.got("POST", PATH_NS))
        self.assertTrue(self.got("GET", PATH_RESOURCE))
        self.assertEqual({r.path for r in self.reg.requests()} -
                         {PATH_NS, PATH_RESOURCE, PATH_REPORT}, set())


class FileRegistry(FetcherTest):

    def test_the_items_of_all_namespaces_have_a_memory_budget(self):
        """Each answer is bounded (16 MiB, 10000 items); their sum was not:
        256 namespaces of such answers were gigabytes in the fetcher.
        Only the keys the agent reads are kept, and past 64 MiB of items
        a namespace keeps what it had.  Five namespaces of 15 MB each:
        four are taken, the fifth refused, and the fetcher lives on."""
        nss = [f"big{i}.loda" for i in range(5)]
        us = {"machinereg": f"^{re.escape(HOST)}$"}
        self.reg.set_tree({ns: us for ns in nss})
        params = "p" * 1400
        for ns in nss:
            self.reg.set_collect(ns, [
                item("CPU", f"cpu.x{j}", parameters=params,
                     junk="dropped at once " * 8)
                for j in range(10000)])
        self.use_registry(self.reg.url, timeout=30)
        self.start_ok()
        self.agent.wait_log(r'registry: items of namespace "big\d\.loda" '
                            r'\(.*\): with the namespaces before it, its '
                            r'items would take more than 64 MiB of memory; '
                            r'it keeps the items it had', timeout=60)
        refused = [ln for ln in self.agent.log_text().splitlines()
                   if "registry: items of namespace" in ln and
                   "would take more than 64 MiB" in ln]
        self.assertEqual(len(refused), 1, refused)
        st = self.agent.status()
        self.assertEqual(self.agent.worker(st, "fetcher")["restarts"], 0)

    def test_file_registry(self):
        path = os.path.join(self.agent.dir, "registry.json")
        doc = {
            "ns": {"pool.loda": "", "web.product.loda": "u2",
                   "Bad_Name": "x"},
            "resources": {
                "pool.loda": [item("CPU", "cpu.idle", interval="20"),
                              plugin("demo", "plugins/demo", interval="30")],
                "web.product.loda": [item("PORT", "PORT.web.80",
                                          port="80")],
            },
        }
        with open(path, "w") as f:
            json.dump(doc, f)
        os.chmod(path, 0o644)
        self.use_registry(f"file://{path}")
        self.start_ok()
        self.agent.wait_log(r'registry namespace "Bad_Name" rejected')
        self.agent.wait_log(r"registry: 2 namespaces \(pool\.loda,"
                            r"web\.product\.loda\), 1 plugins, 1 PORT and 0 "
                            r"PROC checks")
        s = self.wait_stat("refresh_ok", lambda v: v >= 1) and \
            self.fetcher_stats()
        self.assertEqual((s["namespaces"], s["plugins"], s["ports"]),
                         (2, 1, 1))
        self.assertEqual(self.cache()["resources"]["pool.loda"],
                         kept(doc["resources"]["pool.loda"]))

        # re-read on each refresh; a broken file keeps the running set
        with open(path, "w") as f:
            f.write('{"ns": {"pool.loda": ""}, "resources": ')
        self.refresh_by_reload(4)
        self.agent.wait_log(r"registry file .*registry\.json: invalid JSON "
                            r"at byte 39: .*; everything stays as it was")
        self.wait_stat("refresh_failed", lambda v: v == 1)
        s = self.fetcher_stats()
        self.assertEqual((s["namespaces"], s["plugins"], s["ports"]),
                         (2, 1, 1))
        # no registry to report to: after two refreshes (each would
        # start a report at its end, and a file:// report fails at once:
        # the fetcher's client takes http and https only) none was tried
        self.assertEqual((s["reports_ok"], s["reports_failed"]), (0, 0))
        self.assertNotRegex(self.agent.log_text(), r"registry: .*report")

    def test_a_file_registry_maps_no_libcurl_and_http_starts_a_fetcher(self):
        # libcurl's relocated data is private memory in each process that
        # maps it (curl_dl.h): a fetcher that reads a file does without
        path = os.path.join(self.agent.dir, "registry.json")
        with open(path, "w") as f:
            json.dump({"ns": {"web.loda": ""}, "resources": {}}, f)
        os.chmod(path, 0o644)
        self.use_registry(f"file://{path}")
        self.start_ok()
        self.wait_stat("refresh_ok", lambda v: v >= 1)
        old = self.agent.worker(self.agent.status(), "fetcher")["pid"]
        self.assertFalse(maps_libcurl(self, old))

        # the registry over HTTP needs it: a new fetcher, at once, which
        # the reload waits for; not a crash with its backoff
        self.use_registry(self.reg.url)
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^reload applied \(pid \d+\): config "
                         r"generation 2: acknowledged by every worker\n$")
        self.agent.wait_log(r"fetcher\[\d+\]: config generation 2 needs a "
                            r"new fetcher process: a registry over HTTP "
                            r"needs libcurl")
        self.agent.wait_log(rf"fetcher \(pid {old}\) stopped to apply "
                            r"config generation 2 in a new process")
        st = self.agent.status()
        w = self.agent.worker(st, "fetcher")
        self.assertNotEqual(w["pid"], old)
        self.assertEqual(w["generation"], 2)
        self.assertTrue(maps_libcurl(self, w["pid"]))
        self.reg.wait_for_requests(1, path=PATH_NS)
        self.agent.wait_log(r"registry: 1 namespace \(pool\.loda\)")
        self.assertNotRegex(self.agent.log_text(),
                            r"worker fetcher .* restarting in")

    def test_no_registry_uses_configured_namespaces(self):
        self.agent.write_conf(agent_extra="\tnamespaces = [ \"a.loda\", "
                              "\"b.loda\" ]\n")
        self.start_ok()
        self.agent.wait_log(r"no registry \(\[agent\] namespaces\): 2 "
                            r"namespaces \(a\.loda,b\.loda\), 0 plugins")
        s = self.wait_stat("refresh_ok", lambda v: v >= 1) and \
            self.fetcher_stats()
        self.assertEqual(s["namespaces"], 2)
        self.assertFalse(os.path.exists(os.path.join(
            self.agent.values["pluginsdir"], ".registry.json")))


class Resilience(FetcherTest):

    def test_registry_down_at_start_runs_from_the_cache(self):
        pd = self.agent.values["pluginsdir"]
        os.makedirs(pd)
        cached = {"ns": {"pool.loda": "u1"},
                  "resources": {"pool.loda": [
                      item("MEM", "mem.free", interval="10"),
                      plugin("cached", "plugins/cached")]}}
        with open(os.path.join(pd, ".registry.json"), "w") as f:
            json.dump(cached, f)
        # down: nothing listens on its port (connect() is refused)
        self.reg.set_fault("refuse")
        self.use_registry(self.reg.url)
        self.start_ok()
        self.agent.wait_log(r"starting from the registry cache: 1 namespace "
                            r"\(pool\.loda\), 1 plugins")
        self.agent.wait_log(r"registry: POST http://127\.0\.0\.1:\d+/api/v1/"
                            r"agent/ns: .*[Cc]onnect.*; the namespaces stay "
                            r"as they were")
        self.wait_stat("refresh_failed", lambda v: v >= 1)
        s = self.fetcher_stats()
        self.assertEqual((s["from_cache"], s["namespaces"], s["plugins"]),
                         (1, 1, 1))
        self.assertEqual(s["reports_ok"], 0)
        self.assertEqual(self.reg.requests(), [])
        # the cache is the last good answer: left as it was
        self.assertEqual(self.cache(), cached)

    def test_garbage_keeps_the_running_set(self):
        # the host is a machine of two leaves (one uuid for both)
        only_us = {"machinereg": f"^{re.escape(HOST)}$"}
        self.reg.set_tree({"a.loda": only_us, "b.loda": only_us})
        self.reg.set_collect("a.loda", [plugin("pa", "g/pa")])
        self.reg.set_collect("b.loda", [plugin("pb", "g/pb")])
        self.use_registry(self.reg.url)
        self.start_ok()
        self.wait_stat("plugins", lambda v: v == 2)
        self.assertEqual(self.fetcher_stats()["namespaces"], 2)

        # the ns call answers garbage: everything stays
        self.reg.set_fault("garbage", endpoint="ns")
        self.refresh_by_reload(4)
        self.agent.wait_log(r"registry: POST .*/api/v1/agent/ns: invalid "
                            r"JSON at byte 0: lexical error.*; the "
                            r"namespaces stay as they were")
        self.wait_stat("refresh_failed", lambda v: v == 1)
        s = self.fetcher_stats()
        self.assertEqual((s["namespaces"], s["plugins"]), (2, 2))

        # every namespace of the answer bad: a failed answer too (applied,
        # it took every plugin away and counted as a good refresh)
        self.reg.set_fault("canned", endpoint="ns", body=json.dumps(
            {"httpstatus": 200, "data": {"A.loda": "u"}, "msg": ""}))
        self.refresh_by_reload(3)
        self.agent.wait_log(r'"data": none of its 1 namespaces is valid '
                            r'.*; the namespaces stay as they were')
        self.wait_stat("refresh_failed", lambda v: v == 2)
        s = self.fetcher_stats()
        self.assertEqual((s["namespaces"], s["plugins"]), (2, 2))
        self.assertEqual(sorted(self.cache()["ns"]), ["a.loda", "b.loda"])

        # pluginsdir moved by a reload: the new one gets the cache too
        self.reg.clear_fault(endpoint="ns")
        moved = os.path.join(self.agent.dir, "plugins2")
        self.agent.values["pluginsdir"] = moved
        self.refresh_by_reload(4)
        wait_until(lambda: os.path.exists(os.path.join(moved,
                                                       ".registry.json")),
                   timeout=15, what="the cache in the new pluginsdir")
        self.assertEqual(sorted(self.cache()["ns"]), ["a.loda", "b.loda"])

        # one namespace's items are malformed (the double makes the first
        # item's interval a JSON number): it keeps its items, the other
        # takes its new answer (the Go agent dropped everything)
        self.reg.clear_fault(endpoint="ns")
        self.reg.set_fault("malformed", ns="a.loda")
        self.reg.set_collect("b.loda", [plugin("pb", "g/pb"),
                                        plugin("pc", "g/pc")])
        self.refresh_by_reload(5)
        self.agent.wait_log(r'registry: items of namespace "a\.loda" \(.*\): '
                            r'item "PLUGIN\.pa": "interval" is a number, not '
                            r'a string; it keeps the items it had')
        self.wait_stat("plugins", lambda v: v == 3)
        c = self.cache()
        self.assertEqual(c["resources"]["a.loda"],
                         kept([plugin("pa", "g/pa")]))
        self.assertEqual(len(c["resources"]["b.loda"]), 2)
        self.assertEqual([r.fault for r in self.got("GET", PATH_RESOURCE)
                          if r.param("ns") == "a.loda"][-1], "malformed")

        # an HTTP error says what the registry said
        self.reg.set_fault("error", ns="a.loda")
        self.refresh_by_reload(6)
        self.agent.wait_log(r'items of namespace "a\.loda" .*: HTTP 500: '
                            r'double: injected error; it keeps the items it '
                            r'had')
        self.assertEqual(self.fetcher_stats()["plugins"], 3)

    def test_a_slow_registry_holds_a_refresh_no_longer_than_its_interval(
            self):
        # six namespaces; the registry then holds every items call until
        # it times out: one after another, they took 6 x registrytimeout
        only_us = {"machinereg": f"^{re.escape(HOST)}$"}
        names = [f"{c}.loda" for c in "abcdef"]
        self.reg.set_tree({n: only_us for n in names})
        for n in names:
            self.reg.set_collect(n, [plugin(f"p{n[0]}", f"g/p{n[0]}")])
        self.use_registry(self.reg.url, timeout=4,
                          extra="\tregistryinterval = 10\n")
        self.start_ok()
        self.wait_stat("plugins", lambda v: v == 6)
        self.reg.set_fault("stall", endpoint="resource")
        t0 = time.monotonic()
        # a change of a registry setting refreshes at once
        self.use_registry(self.reg.url, timeout=4,
                          extra="\tregistryinterval = 11\n")
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.agent.wait_log(r"registry: the refresh has taken \[agent\] "
                            r"registryinterval \(11 s\): [1-4] namespaces? "
                            r"\(the first \"[c-f]\.loda\"\) not asked for, "
                            r"keeping the items (it|they) had", timeout=20)
        self.assertLess(time.monotonic() - t0, 16)
        # a and b had their whole timeout; the last call made had what was
        # left of the 11 s, and those after it none
        asked = [r.params["ns"][0] for r in
                 self.got("GET", "/api/v1/agent/resource")][6:]
        if "a.loda" in asked[1:]:     # a later refresh began meanwhile
            asked = asked[:asked.index("a.loda", 1)]
        self.assertEqual(asked[:2], ["a.loda", "b.loda"])
        self.assertLess(len(asked), 6, asked)
        self.reg.clear_fault(endpoint="resource")
        self.assertEqual(self.fetcher_stats()["plugins"], 6)

    def test_killed_fetcher_comes_back_from_the_cache(self):
        self.reg.set_collect(NS_POOL, [item("CPU", "cpu.idle",
                                            interval="10"),
                                       plugin("p", "g/p")])
        self.use_registry(self.reg.url)
        self.start_ok()
        self.wait_stat("plugins", lambda v: v == 1)
        st = self.agent.status()
        pid = self.agent.worker(st, "fetcher")["pid"]
        # the registry is failing when it comes back
        self.reg.set_fault("canned", endpoint="ns", status=503, body="")
        self.reg.set_fault("canned", ns=NS_POOL, status=503, body="")
        os.kill(pid, signal.SIGKILL)

        def restarted():
            w = self.agent.worker(self.agent.status(), "fetcher")
            return w["pid"] not in (0, pid) and w["state"] == "running"
        wait_until(restarted, what="the fetcher to be restarted")
        self.agent.wait_log(r"starting from the registry cache: 1 "
                            r"namespace \(pool\.loda\), 1 plugins")
        self.agent.wait_log(r"/api/v1/agent/ns: HTTP 503; the namespaces "
                            r"stay as they were")
        self.wait_stat("refresh_failed", lambda v: v == 1)
        s = self.fetcher_stats()
        self.assertEqual((s["from_cache"], s["plugins"]), (1, 1))


def comment_then_brackets(n, closed=True):
    """The fuzzer's registry answer: a comment holding a double quote
    (the old nesting check took it for the start of a string and stopped
    counting), then n levels of nesting."""
    return b'/*"*/' + b"[" * n + (b"]" * n if closed else b"")


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class HostileRegistry(FetcherTest):
    """Answers built to crash the fetcher (a 300 000-level nesting that
    once overflowed its stack in yajl_tree_free) or to bloat it (5 MB of
    unclosed brackets once left it at 400 MB): refused with a message
    saying what was wrong, the fetcher alive and serving."""

    NESTED = "invalid JSON at byte 37: nested more than 32 levels deep"

    def fetcher_pid(self):
        w = self.agent.worker(self.agent.status(), "fetcher")
        self.assertEqual(w["state"], "running")
        return w["pid"]

    def test_file_registry_that_is_a_fifo(self):
        # whoever writes the registry file (or its directory) makes it a
        # FIFO, with no writer, or one that never ends: open and read
        # held the fetcher's event loop, so it answered nobody, the
        # master's watchdog included
        path = os.path.join(self.agent.dir, "registry.json")
        os.mkfifo(path, 0o644)
        self.use_registry(f"file://{path}")
        self.start_ok()
        self.agent.wait_log(r"registry file .*registry\.json: .*not a "
                            r"regular file; everything stays as it was")
        self.wait_stat("refresh_failed", lambda v: v >= 1)
        pid = self.fetcher_pid()
        # the fetcher answers: a refresh now, and its status
        st, body = self.agent.http("/update", method="POST", unix=True)
        self.assertEqual(st, 502, body)
        self.wait_stat("refresh_failed", lambda v: v >= 2)
        self.assertEqual(self.fetcher_pid(), pid)

    def test_file_registry_of_600k_nesting(self):
        path = os.path.join(self.agent.dir, "registry.json")
        with open(path, "wb") as f:
            f.write(comment_then_brackets(300000))
        self.assertGreater(os.path.getsize(path), 600000)
        os.chmod(path, 0o644)
        self.use_registry(f"file://{path}")
        # once: "worker fetcher killed by signal 11 during startup"
        self.start_ok()
        self.agent.wait_log(r"registry file .*registry\.json: "
                            + re.escape(self.NESTED))
        self.wait_stat("refresh_failed", lambda v: v >= 1)
        pid = self.fetcher_pid()

        # the fetcher goes on serving: a good file is taken
        with open(path, "w") as f:
            json.dump({"ns": {"pool.loda": "u1"}, "resources": {
                "pool.loda": [plugin("ok", "g/ok")]}}, f)
        self.refresh_by_reload(4)
        self.wait_stat("plugins", lambda v: v == 1)
        self.assertEqual(self.fetcher_pid(), pid)

    def test_http_registry_hostile_on_every_refresh(self):
        body = comment_then_brackets(300000)
        self.reg.set_fault("canned", endpoint="ns", status=200, body=body)
        self.use_registry(self.reg.url)
        self.start_ok()
        self.agent.wait_log(r"registry: POST .*/api/v1/agent/ns: "
                            + re.escape(self.NESTED)
                            + r"; the namespaces stay as they were")
        self.wait_stat("refresh_failed", lambda v: v == 1)
        pid = self.fetcher_pid()
        for i in range(2, 4):
            self.refresh_by_reload(3 + i)
            self.wait_stat("refresh_failed", lambda v, i=i: v == i)
        self.assertEqual(self.fetcher_pid(), pid)

        # the same behind a good namespace answer, in its items
        self.reg.clear_fault(endpoint="ns")
        self.reg.set_fault("canned", ns=NS_POOL, status=200, body=body)
        self.refresh_by_reload(7)
        self.agent.wait_log(r'items of namespace "pool\.loda" .*: '
                            + re.escape(self.NESTED))
        self.assertEqual(self.fetcher_pid(), pid)

        # 5 MB of unclosed brackets: refused at byte 37, not parsed to
        # the end, and the memory of the answer is given back.  (400 MB
        # stayed resident before; the bound is generous for the
        # sanitizer build, whose allocator keeps more.)
        self.reg.clear_fault(ns=NS_POOL)
        self.reg.set_fault("canned", endpoint="ns", status=200,
                           body=comment_then_brackets(5 << 20, closed=False))
        n = self.fetcher_stats()["refresh_failed"]
        self.refresh_by_reload(8)
        self.wait_stat("refresh_failed", lambda v: v == n + 1)
        self.assertEqual(self.fetcher_pid(), pid)
        self.assertLess(vm_rss_kb(pid), 200 * 1024)


class RegistryCredentials(FetcherTest):

    def test_the_user_and_password_of_registryaddr_stay_out_of_the_log(self):
        # a registry behind HTTP Basic authentication, whose user and
        # password are in registryaddr; whenever it fails (and a hostile
        # one fails when it likes) the log said the URL, both included
        addr = self.reg.url.replace("http://", "http://agent:s3cret@")
        self.reg.set_fault("canned", endpoint="ns", status=500,
                           body=b"{}")
        self.reg.set_fault("canned", endpoint="report", status=500,
                           body=b"{}")
        self.use_registry(addr)
        self.start_ok()
        self.agent.wait_log(r"registry: POST http://\*\*\*@127\.0\.0"
                            r"\.1:\d+/api/v1/agent/ns: ")
        self.agent.wait_log(r"registry: report to http://\*\*\*@127")
        self.wait_stat("refresh_failed", lambda v: v >= 1)
        self.assertNotIn("s3cret", self.agent.log_text())
        self.assertNotIn("s3cret", json.dumps(self.agent.status()))


class OversizedNamespace(FetcherTest):
    """One namespace's items, each within the registry's limits, can
    together be more than the scheduler and the collector take in one
    message; the other namespaces' items must still reach them."""

    def test_a_huge_namespace_leaves_the_others_running(self):
        path = os.path.join(self.agent.dir, "registry.json")
        # 2000 PROC checks of 1 KiB bin_path: 2 MB, more than one frame
        big = [item("PROC", f"PROC.p{i}", bin_path="/" + "x" * 1000)
               for i in range(2000)]
        doc = {"ns": {"big.loda": "", "small.loda": ""},
               "resources": {"big.loda": big,
                             "small.loda": [plugin("demo", "g/demo",
                                                   interval="0")]}}
        with open(path, "w") as f:
            json.dump(doc, f)
        os.chmod(path, 0o644)
        self.use_registry(f"file://{path}")
        self.start_ok()
        self.agent.wait_serving()
        self.agent.wait_log(r'namespace "big\.loda": its items take \d+ '
                            r'bytes')

        def listed():
            code, body = self.agent.http("/plugins/list")
            return code == 200 and any(p["ns"] == "small.loda"
                                       for p in json.loads(body))
        wait_until(listed, timeout=15, what="small.loda's plugin listed")
        s = self.fetcher_stats()
        self.assertEqual((s["namespaces"], s["plugins"], s["procs"]),
                         (2, 1, 0))
