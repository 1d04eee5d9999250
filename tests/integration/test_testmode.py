"""agent test and agent plugin run: what the daemon would run, run as it
would (the real fetcher and gitpull, plugins as pluginsuser in the
scheduler's sandbox, the collectors in the collector's), printed on
standard output in the output's format, nothing published (an nsqd
double the config points at must receive nothing), one line per plugin
on standard error, exit 1 when a plugin failed."""
import json
import os
import pwd
import re
import subprocess
import sys

from gitrepos import PluginRepos, hostile_tree, ssh_key
from harness import AGENT, AgentTest, is_root, nobody_uid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "peers"))
from nsqd import NsqdDouble  # noqa: E402
from registry import RegistryDouble  # noqa: E402

NS = "pool.loda"
NS_B = "b.loda"
GROUP = "plugins"
DEV = "dev@example.com"

GOOD = """#!/bin/sh
echo '[{"name":"load","timestamp":0,"tags":{"k":"v"},"value":1.5},
 {"name":"count","value":7,"tags":{"interval":"'$AGENT_INTERVAL'"}}]'
"""

EXIT3 = """#!/bin/sh
echo "the disk is on fire" >&2
exit 3
"""

WHOAMI = """#!/bin/sh
printf '[{"name":"uid","value":%d},{"name":"args","value":%d,\
"tags":{"a1":"%s"}}]\\n' "$(id -u)" "$#" "${1:-none}"
"""


def messages(stdout):
    """The lodastack messages printed, one per line."""
    return [json.loads(line) for line in stdout.splitlines() if line]


def points(stdout):
    return [p for m in messages(stdout) for p in m["points"]]


class TestMode(AgentTest):

    def setUp(self):
        super().setUp()
        self.nsqd = NsqdDouble().start()
        self.addCleanup(self.nsqd.stop)
        self.repos = PluginRepos(os.path.join(self.agent.dir, "repos"))
        self.regfile = os.path.join(self.agent.dir, "registry.json")
        self.items = {}

    def add(self, ns, project, script, interval="60", parameters=None):
        repo = f"{GROUP}/{project}"
        if not os.path.exists(self.repos.bare(repo)):
            self.repos.create(repo, script)
        it = {"_id": f"id-{project}", "measurement_type": "PLUGIN",
              "name": f"PLUGIN.{project}",
              "git": self.repos.registry_git(repo), "interval": interval}
        if parameters is not None:
            it["parameters"] = parameters
        self.items.setdefault(ns, []).append(it)

    def cpu(self, ns):
        self.items.setdefault(ns, []).append(
            {"_id": "id-cpu", "measurement_type": "CPU", "interval": "10"})

    def write_registry(self):
        doc = {"ns": {ns: "" for ns in self.items},
               "resources": self.items}
        with open(self.regfile, "w") as f:
            json.dump(doc, f)
        os.chmod(self.regfile, 0o644)

    def configure(self, registry=None, extra="", collect="yes", **kw):
        self.agent.write_conf(
            agent_extra=f'\tregistryaddr = '
                        f'"{registry or "file://" + self.regfile}"\n'
                        f'\tgit = "{self.repos.template}"\n{extra}',
            servers=f'"{self.nsqd.http_address}"', collect=collect, **kw)

    def agent_test(self, *args):
        return self.agent.run("test", *args, timeout=120)

    def plugin_run(self, *args):
        return subprocess.run([AGENT, "plugin", "run", "-f",
                               self.agent.conf, *args],
                              capture_output=True, text=True, timeout=120)

    def assert_nothing_published(self):
        self.assertEqual(self.nsqd.message_count(), 0, self.nsqd.messages())

    def test_plugin_and_cpu_printed_nothing_published(self):
        self.add(NS, "good", GOOD)
        self.cpu(NS)
        self.write_registry()
        self.configure()
        r = self.agent_test()
        self.assertEqual(r.returncode, 0, r.stderr)
        msgs = messages(r.stdout)
        self.assertTrue(msgs, r.stderr)
        for m in msgs:
            self.assertEqual(m["retentionPolicy"], "default")
            self.assertEqual(m["precision"], "s")
        by_name = {}
        for m in msgs:
            for p in m["points"]:
                by_name.setdefault(p["measurement"], []).append(
                    (m["database"], p))
        # the plugin's points, named and tagged as the daemon names them
        db, load = by_name["PLUGIN.good.load"][0]
        self.assertEqual(db, "collect." + NS)
        self.assertEqual(load["fields"]["value"], 1.5)
        self.assertEqual(load["tags"]["k"], "v")
        self.assertIn("host", load["tags"])
        _, count = by_name["PLUGIN.good.count"][0]
        self.assertEqual(count["tags"]["interval"], "60")
        # a regular run's plugin.result
        db, res = by_name["plugin.result"][0]
        self.assertEqual(db, "collect.exception.monitor.loda")
        self.assertEqual(res["tags"]["type"], "regular")
        self.assertEqual(res["fields"]["value"], 0)
        # the collectors' second sample: rates exist
        db, idle = by_name["cpu.idle"][0]
        self.assertEqual(db, "collect." + NS)
        self.assertGreaterEqual(idle["fields"]["value"], 0)
        self.assertEqual(len(by_name["cpu.idle"]), 1)
        # one line per plugin on stderr
        self.assertRegex(r.stderr, rf"plugin {re.escape(NS)}\|good: ok in "
                                   r"[0-9.]+ s, 2 points")
        self.assertIn("none published", r.stderr)
        self.assert_nothing_published()
        # the checkout is where the daemon keeps it, owned by `user`
        co = os.path.join(self.agent.values["pluginsdir"], NS, "good")
        self.assertTrue(os.path.isfile(os.path.join(co, "plugin")))
        if is_root():
            self.assertEqual(os.stat(co).st_uid, nobody_uid())

    def test_failing_plugin_exit_1_and_its_stderr(self):
        self.add(NS, "good", GOOD)
        self.add(NS, "onfire", EXIT3)
        self.write_registry()
        self.configure(collect="no")
        r = self.agent_test()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, rf"plugin {re.escape(NS)}\|onfire: "
                                   r"failed in [0-9.]+ s, 0 points: exit "
                                   r"status 3; stderr: the disk is on fire")
        self.assertRegex(r.stderr, rf"plugin {re.escape(NS)}\|good: ok")
        res = {p["tags"]["name"]: p["fields"]["value"]
               for p in points(r.stdout)
               if p["measurement"] == "plugin.result"}
        self.assertEqual(res, {f"{GROUP}/onfire": 1, f"{GROUP}/good": 0})
        self.assertIn("collect = no", r.stderr)
        self.assertNotIn("cpu.", r.stdout)
        self.assert_nothing_published()

    def test_no_control_character_reaches_the_terminal(self):
        # a plugin's stderr and a git server's words (git itself turns C0
        # into '?', not C1): CSI as U+009B, and as a byte alone
        self.add(NS, "noisy", "#!/bin/sh\nprintf 'a\\302\\2332J"
                 "b\\2331mc\\033[31md' >&2\nexit 3\n")
        self.add(NS, "evil", GOOD)
        hostile_tree(self.repos.bare(f"{GROUP}/evil"), b"ev\xc2\x9b2J")
        self.write_registry()
        self.configure(collect="no")
        r = self.agent.run("test", timeout=120, errors="surrogateescape")
        err = r.stderr.encode(errors="surrogateescape")
        self.assertEqual(r.returncode, 1, err)
        self.assertRegex(err, rb"noisy: failed in [0-9.]+ s, 0 points: "
                              rb"exit status 3; stderr: a\\xc2\\x9b2J"
                              rb"b\\x9b1mc \[31md")
        self.assertRegex(err, rb"evil: no checkout, not run: .*"
                              rb"ev\\xc2\\x9b2J/\.git/config")
        for bad in (b"\x9b", b"\x1b", b"\r"):
            self.assertNotIn(bad, err)
        self.assert_nothing_published()

    def test_a_registry_error_reaches_the_terminal_escaped(self):
        # an item's name, as the registry's JSON gives it, in the error
        # the fetcher logs (the refresh's line says "see the log"), which
        # -v shows
        self.items[NS] = [{"_id": "x", "measurement_type": "PLUGIN",
                           "name": "\x1b]0;owned\x07\x1b[2J\u009b2J",
                           "\x1b[31mkey": 5}]
        self.write_registry()
        self.configure(collect="no")
        r = self.agent.run("test", "-v", timeout=120,
                           errors="surrogateescape")
        err = r.stderr.encode(errors="surrogateescape")
        self.assertIn(b"are malformed (see the log)", err)
        self.assertIn(b"\\x1b]0;owned\\x07\\x1b[2J\\xc2\\x9b2J", err)
        for bad in (b"\x1b", b"\x07", b"\x9b"):
            self.assertNotIn(bad, err)

    def test_a_failed_refresh_reaches_the_terminal_escaped(self):
        # a namespace of the registry's JSON, named in the error that
        # fails the refresh, which agent test prints
        with open(self.regfile, "w") as f:
            json.dump({"ns": {"\x1b]0;owned\x07\u009b2J": 5},
                       "resources": {}}, f)
        os.chmod(self.regfile, 0o644)
        self.configure(collect="no")
        r = self.agent.run("test", timeout=120, errors="surrogateescape")
        err = r.stderr.encode(errors="surrogateescape")
        self.assertRegex(err, rb"registry: file://[^\n]*the uuid of "
                              rb'"\\x1b]0;owned\\x07\\xc2\\x9b2J" is')
        for bad in (b"\x1b", b"\x07", b"\x9b"):
            self.assertNotIn(bad, err)

    def test_filters_and_the_cache_when_the_registry_is_down(self):
        self.add(NS, "good", GOOD)
        self.add(NS_B, "other", GOOD)
        reg = RegistryDouble().start()
        self.addCleanup(reg.stop)
        reg.set_tree({ns: {"machinereg": ".*"} for ns in self.items})
        for ns, items in self.items.items():
            reg.set_collect(ns, items)
        self.configure(registry=reg.url, collect="no")
        r = self.agent_test("-n", NS_B)
        self.assertEqual(r.returncode, 0, r.stderr)
        names = {p["measurement"] for p in points(r.stdout)}
        self.assertIn("PLUGIN.other.load", names)
        self.assertNotIn("PLUGIN.good.load", names)
        self.assertIn(f"registry: {reg.url}: 2 namespaces", r.stderr)

        # the registry goes away: the last-good cache still says what runs
        reg.stop()
        r = self.agent_test("-p", f"{GROUP}/good")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"the items kept \(last-good cache\): "
                                   r"2 namespaces, 2 plugins")
        names = {p["measurement"] for p in points(r.stdout)}
        self.assertIn("PLUGIN.good.load", names)
        self.assertNotIn("PLUGIN.other.load", names)

        r = self.agent_test("-n", "not.ours.loda")
        self.assertEqual(r.returncode, 1)
        self.assertIn('namespace "not.ours.loda" is not one of', r.stderr)
        self.assert_nothing_published()

    def test_plugin_run_as_pluginsuser(self):
        self.add(NS, "whoami", WHOAMI, parameters="p1 p2")
        self.write_registry()
        # plugins as another user than the workers: the run shows whose
        plugins_user = "daemon" if is_root() else pwd.getpwuid(
            os.getuid()).pw_name
        self.configure(collect="no", pluginsuser=plugins_user)
        want_uid = pwd.getpwnam(plugins_user).pw_uid
        r = self.plugin_run(NS, f"{GROUP}/whoami")
        self.assertEqual(r.returncode, 0, r.stderr)
        pts = {p["measurement"]: p for p in points(r.stdout)}
        self.assertEqual(pts["PLUGIN.whoami.uid"]["fields"]["value"],
                         want_uid)
        # the registry's parameters by default
        self.assertEqual(pts["PLUGIN.whoami.args"]["fields"]["value"], 2)
        self.assertEqual(pts["plugin.result"]["tags"]["type"], "call")
        self.assertRegex(r.stderr, rf"plugin {re.escape(NS)}\|whoami: ok")

        # parameters after --, checked as /plugins/run checks param=
        r = self.plugin_run(NS, "whoami", "-t", "5", "--", "x1")
        self.assertEqual(r.returncode, 0, r.stderr)
        pts = {p["measurement"]: p for p in points(r.stdout)}
        self.assertEqual(pts["PLUGIN.whoami.args"]["fields"]["value"], 1)
        self.assertEqual(pts["PLUGIN.whoami.args"]["tags"]["a1"], "x1")
        r = self.plugin_run(NS, "whoami", "--", "a;b")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout, "")

        r = self.plugin_run(NS, "nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no plugin nosuch in namespace", r.stderr)
        self.assert_nothing_published()

    def test_usage(self):
        r = subprocess.run([AGENT, "plugin", "run", "-f", self.agent.conf,
                            NS], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: agent plugin run", r.stderr)
        r = subprocess.run([AGENT, "plugin", "list"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        r = self.agent_test("-x")
        self.assertEqual(r.returncode, 2)

    def test_signatures_checked_as_the_daemon_checks_them(self):
        # [agent] gitsigners: agent test runs what a trusted key signed,
        # and refuses the rest as the daemon does (issue 15)
        keydir = os.path.join(self.agent.dir, "keys")
        os.makedirs(keydir)
        good = ssh_key(os.path.join(keydir, "good"))
        ssh_key(os.path.join(keydir, "other"))
        signers = os.path.join(self.agent.dir, "allowed_signers")
        with open(signers, "w") as f:
            f.write(f'{DEV} namespaces="git" {good}\n')
        os.chmod(signers, 0o644)
        self.repos.create(f"{GROUP}/signed", GOOD,
                          sign=(os.path.join(keydir, "good"), DEV))
        self.repos.create(f"{GROUP}/stranger", GOOD,
                          sign=(os.path.join(keydir, "other"), DEV))
        self.repos.create(f"{GROUP}/unsigned", GOOD)
        for p in ("signed", "stranger", "unsigned"):
            self.add(NS, p, GOOD)
        self.write_registry()
        self.configure(collect="no",
                       extra=f'\tgitsigners = "{signers}"\n')
        r = self.agent_test()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, rf"plugin {re.escape(NS)}\|signed: ok")
        for p in ("stranger", "unsigned"):
            self.assertRegex(r.stderr, rf"plugin {re.escape(NS)}\|{p}: "
                                       r"untrusted, not run: untrusted: ")
        names = {p["measurement"] for p in points(r.stdout)}
        self.assertIn("PLUGIN.signed.load", names)
        res = {p["tags"]["name"]: p["tags"]["type"]
               for p in points(r.stdout)
               if p["measurement"] == "plugin.result"}
        self.assertEqual(res, {f"{GROUP}/signed": "regular",
                               f"{GROUP}/stranger": "untrusted",
                               f"{GROUP}/unsigned": "untrusted"})
        # nothing untrusted was checked out to run
        for p in ("stranger", "unsigned"):
            self.assertFalse(os.path.exists(os.path.join(
                self.agent.values["pluginsdir"], NS, p, "plugin")))
        # and plugin run applies the same rule
        r = self.plugin_run(NS, f"{GROUP}/unsigned")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("untrusted, not run", r.stderr)
        self.assert_nothing_published()
