"""Plugins end to end (issue 4): registry -> fetcher -> scheduler ->
gitpull -> a run as pluginsuser -> points at the nsqd double.

Every plugin is a shell script in a real bare git repository made by the
test (gitrepos.py), listed by a file:// registry the test rewrites (or
the registry double, tests/peers/registry.py), pulled by the real
gitpull through the `git` template and run by the real scheduler.
Plugins are on demand (interval "0", run with /plugins/run) except the
scheduled ones, whose project names are picked so that their stable
offsets are 0 s (the scheduler's FNV-1a of "<ns>|<project>").

The slowest test waits 32 s on purpose: a run longer than the front's
30 s request timeout must still be waited for.

After the runs no process may be left: nothing whose cwd or command line
is under the test's pluginsdir, and no zombie child of the agent's
processes.
"""
import errno
import hashlib
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gitrepos import PluginRepos, git, hostile_tree, open_tree
from harness import (AgentTest, FuseStall, is_root, lock_held_processes,
                     needs_root, nobody_uid, proc_alive, proc_status,
                     wait_until)
from nsq_common import HOST, UnixHTTPConnection

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "peers"))
from nsqd import NsqdDouble  # noqa: E402
from registry import PATH_RESOURCE, RegistryDouble  # noqa: E402

NS = "pool.loda"
NS_B = "b.loda"
EXC_TOPIC = "collect.exception.monitor.loda"
GROUP = "plugins"
OUTPUT_MAX = 1048576        # [agent] pluginoutputmax, default
RESULT = "plugin.result"


def fnv1a(s):
    h = 2166136261
    for b in s.encode():
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def host_second(period):
    """The second of a period this host's plugins of that period start
    at, while fewer than 20 share it (scheduler_phase())."""
    return fnv1a(HOST) % int(period)


def proc_stat(pid):
    """(state, ppid, pgid) or None.  From status and getpgid, not stat:
    a read of stat waits with a process held in execve (FuseStall),
    which a test running alongside may hold."""
    try:
        st = proc_status(pid)
        return st["State"].split()[0], int(st["PPid"]), os.getpgid(pid)
    except (OSError, IndexError, KeyError, ValueError):
        return None


def pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


# ---- the plugins --------------------------------------------------------

METRICS = """#!/bin/sh
cat <<EOF
[{"name":"load","timestamp":0,"tags":{"k":"v","dc":" a b ",
  "agent_ns":"$AGENT_NS","agent_name":"$AGENT_NAME",
  "agent_repo":"$AGENT_REPO","agent_interval":"$AGENT_INTERVAL"},
  "value":1.5},
 {"name":"bad name!","timestamp":0,"value":1},
 {"name":"count","timestamp":1714538000,"tags":{},"value":7}]
EOF
echo "metrics to stderr" >&2
"""

FAIL = """#!/bin/sh
echo '[{"name":"never","value":1}]'
echo "failing on purpose" >&2
exit 1
"""

GARBAGE = """#!/bin/sh
echo 'this is not { JSON'
"""

FLOOD = """#!/bin/sh
# 100 MB of output: far over pluginoutputmax
exec head -c 104857600 /dev/zero
"""

# exactly $1 bytes of output: a JSON list of one point, padded with blanks
SIZED = """#!/bin/sh
body='[{"name":"sized","timestamp":0,"tags":{},"value":1}'
printf '%s%*s]' "$body" $(( $1 - ${#body} - 1 )) ''
"""

PARAMS = """#!/bin/sh
printf '[{"name":"argv","value":%d,"tags":{"a1":"%s","a2":"%s"}}]\\n' \\
    "$#" "${1:-none}" "${2:-none}"
"""

WHOAMI = """#!/bin/sh
echo "[{\\"name\\":\\"uid\\",\\"value\\":$(id -u)},\\
{\\"name\\":\\"gid\\",\\"value\\":$(id -g)},\\
{\\"name\\":\\"groups\\",\\"value\\":$(id -G | wc -w)}]"
"""


def version_plugin(v):
    return f"""#!/bin/sh
echo '[{{"name":"version","timestamp":0,"value":{v}}}]'
"""


def sigterm_plugin(drop):
    # SIGTERM ignored by the plugin and its child: only SIGKILL ends them
    return f"""#!/bin/sh
trap '' TERM
sleep 120 &
echo $! > {drop}/sigterm.child
echo $$ > {drop}/sigterm.pid
wait
wait
"""


def forker_plugin(drop):
    # one child stays in the plugin's group, one leaves it (setsid) and
    # has a child and a grandchild, each in a session of its own, as a
    # plugin whose lineage would outlive the master's sweeps does; all
    # keep stdout and stderr open and outlive the plugin.  (A background
    # job of sh is not a group leader, so setsid(1) does not fork: $! is
    # the pid that becomes the sleep.)
    return f"""#!/bin/sh
sleep 120 &
echo $! > {drop}/forker.group
setsid sh -c 'setsid sh -c "setsid sleep 123 &
    echo \\$! > {drop}/forker.g3; exec sleep 122" &
  echo $! > {drop}/forker.g2; exec sleep 121' &
echo $! > {drop}/forker.session
i=0
while [ ! -s {drop}/forker.g3 ] && [ $i -lt 500 ]; do
  sleep 0.01; i=$((i + 1))
done
echo '[]'
"""


def slow_plugin(drop):
    return f"""#!/bin/sh
sleep 150 &
echo $! > {drop}/slow.child
echo $$ > {drop}/slow.pid
wait
"""


def victim_plugin(tried):
    # says its pid, and speaks only once the attacker has tried (or
    # given up), so that whatever the attacker managed to write comes
    # first
    return f"""#!/bin/sh
echo $$ > {tried}.pid.tmp && mv {tried}.pid.tmp {tried}.pid
i=0
while [ ! -e {tried} ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
echo '[{{"name":"own","timestamp":0,"value":1}}]'
"""


# Another plugin (same pluginsuser, dumpable) opens the victim's stdout
# through /proc, to read it and to write forged points in its name; it
# tells the errno of each open (0: it opened) as points.
ATTACKER = """#!/usr/bin/python3
import os, sys, time

# told, not searched for: the run's Landlock domain refuses it the
# victim's cwd, as it would the victim's memory
def find():
    for _ in range(200):
        try:
            with open("@TRIED@.pid") as f:
                return f.read().strip()
        except OSError:
            time.sleep(0.1)
    return None

def attempt(pid, flags, forge):
    try:
        fd = os.open(f"/proc/{pid}/fd/1", flags | os.O_NONBLOCK)
    except OSError as e:
        print(f"open {flags}: {e}", file=sys.stderr)
        return e.errno
    if forge:
        os.write(fd, b'[{"name":"own","timestamp":0,"value":666}]\\n')
    os.close(fd)
    print(f"open {flags}: opened", file=sys.stderr)
    return 0

# its memory, to read what it holds or write into it, and a signal:
# the run's Landlock domain refuses both (from Linux 6.12 the signal)
def mem(pid):
    try:
        os.close(os.open(f"/proc/{pid}/mem", os.O_RDWR))
    except OSError as e:
        return e.errno
    return 0

def signal(pid):
    try:
        os.kill(int(pid), 0)
    except OSError as e:
        return e.errno
    return 0

# and its own stdout gives it nothing to read: EBADF (the write end of a
# pipe) or EAGAIN (a socket), not data
def read_own():
    os.set_blocking(1, False)
    try:
        return -2 if os.read(1, 1) else 0
    except OSError as e:
        return e.errno
    finally:
        os.set_blocking(1, True)

try:
    pid = find()
    r = attempt(pid, os.O_RDONLY, False) if pid else -1
    w = attempt(pid, os.O_WRONLY, True) if pid else -1
    m = mem(pid) if pid else -1
    k = signal(pid) if pid else -1
finally:
    open("@TRIED@", "w").close()
print(f'[{{"name":"found","timestamp":0,"value":{int(pid is not None)}}},'
      f'{{"name":"open_r","timestamp":0,"value":{r}}},'
      f'{{"name":"open_w","timestamp":0,"value":{w}}},'
      f'{{"name":"mem","timestamp":0,"value":{m}}},'
      f'{{"name":"signal","timestamp":0,"value":{k}}},'
      f'{{"name":"read_own","timestamp":0,"value":{read_own()}}}]')
"""


# A plugin hands the scheduler, through its stdout, a TCP socket set to
# linger 30 s with unsent data: read past, it would be closed in the
# scheduler's name, and that close would hold the scheduler 30 s.  It
# says the errno of the attempt (0: it went) as a point.
PASSFD = """#!/usr/bin/python3
import os, socket, struct
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
t = socket.create_connection(srv.getsockname())
t.setblocking(False)
try:
    while True:
        t.send(b"x" * 65536)
except BlockingIOError:
    pass
t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 30))
try:
    out = socket.socket(fileno=os.dup(1))
    socket.send_fds(out, [b" "], [t.fileno()])
    e = 0
except OSError as err:
    e = err.errno
print(f'[{{"name":"passfd","timestamp":0,"value":{e}}}]', flush=True)
# no close of its own, which would wait out the linger: at exit the
# kernel lets it go in the background
os._exit(0)
"""


# Tries to end the scheduler it runs under (same user): first a CPU limit
# of a second, which SIGXCPU would enforce, then SIGKILL.  Says the errno
# of each (0: it worked).
KILLER = """#!/usr/bin/python3
import os, resource, signal
said = []
for name, act in (
        ("prlimit", lambda p: resource.prlimit(p, resource.RLIMIT_CPU, (1, 1))),
        ("kill", lambda p: os.kill(p, signal.SIGKILL))):
    try:
        act(os.getppid())
        e = 0
    except OSError as err:
        e = err.errno
    said.append(f'{{"name":"{name}","timestamp":0,"value":{e}}}')
print("[" + ",".join(said) + "]", flush=True)
"""


TICKER = """#!/bin/sh
printf '[{"name":"tick","timestamp":0,"tags":{"arg":"%s"},"value":%d}]\\n' \\
    "${2:-none}" "$#"
"""


class PluginTest(AgentTest):
    """An agent whose plugins come from real git repositories."""

    def setUp(self):
        # these run after the agent's cleanup (last added, first run):
        # whatever a failed test left under pluginsdir, and nsqd, whose
        # stop would otherwise wait for the agent's connection
        self.pd = None
        self.addCleanup(self.kill_leftovers)
        self.nsqd = NsqdDouble().start()
        self.addCleanup(self.nsqd.stop)
        super().setUp()
        self.repos = PluginRepos(os.path.join(self.agent.dir, "repos"))
        self.drop = os.path.join(self.agent.dir, "drop")
        os.makedirs(self.drop)
        os.chmod(self.drop, 0o777)
        self.regfile = os.path.join(self.agent.dir, "registry.json")
        self.items = {}
        self.pd = os.path.realpath(self.agent.values["pluginsdir"])

    # -- registry and config ----------------------------------------------
    def add(self, ns, project, script, interval="0", parameters=None,
            label=None):
        """A repo plugins/<project> and its PLUGIN item in `ns`."""
        repo = f"{GROUP}/{project}"
        if not os.path.exists(self.repos.bare(repo)):
            self.repos.create(repo, script)
        it = {"_id": f"id-{project}", "comment": "",
              "measurement_type": "PLUGIN",
              "name": f"PLUGIN.{label or project}",
              "git": self.repos.registry_git(repo), "interval": interval}
        if parameters is not None:
            it["parameters"] = parameters
        self.items.setdefault(ns, []).append(it)
        return it

    def registry_doc(self):
        return {"ns": {ns: "" for ns in self.items},
                "resources": {ns: list(v) for ns, v in self.items.items()}}

    def write_registry(self, raw=None):
        tmp = self.regfile + ".tmp"
        with open(tmp, "w") as f:
            f.write(raw if raw is not None else
                    json.dumps(self.registry_doc()))
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.regfile)

    def registry_double(self):
        """The HTTP registry double serving the items; the host is a
        machine of each of their namespaces."""
        reg = RegistryDouble().start()
        self.addCleanup(reg.stop)
        us = {"machinereg": f"^{re.escape(HOST)}$"}
        reg.set_tree({ns: us for ns in self.items})
        for ns, items in self.items.items():
            reg.set_collect(ns, items)
        return reg

    def configure(self, registry=None, extra=""):
        addr = registry or f"file://{self.regfile}"
        self.agent.write_conf(
            agent_extra=f'\tregistryaddr = "{addr}"\n'
                        f'\tgit = "{self.repos.template}"\n{extra}',
            output_name="nsq",
            servers=f'"tcp://{self.nsqd.tcp_address}"')

    def start_with(self, *keys, registry=None, extra=""):
        """Write the registry, start, wait until `keys` are checked out."""
        if registry is None:
            self.write_registry()
        self.configure(registry, extra)
        self.start_ok()
        self.agent.wait_serving()
        return self.wait_checkout(*keys)

    # -- the API ----------------------------------------------------------
    def api(self, path, params=None, method="GET", unix=False, form=False,
            timeout=90):
        """(status, content type, JSON body); the run may take long."""
        q = urllib.parse.urlencode(params or {})
        body, headers = None, {}
        if form:
            body = q
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif q:
            path += "?" + q
        if unix:
            c = UnixHTTPConnection(self.agent.values["socket"], timeout)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.agent.port,
                                           timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read().decode()
            return r.status, r.getheader("Content-Type"), json.loads(data)
        finally:
            c.close()

    def git_of(self, project):
        return self.repos.registry_git(f"{GROUP}/{project}")

    def run_plugin(self, ns, project, **kw):
        """/plugins/run; (status, body)."""
        p = {"ns": ns, "repo": self.git_of(project)}
        unix = kw.pop("unix", False)
        p.update({k: str(v) for k, v in kw.items()})
        st, ctype, body = self.api("/plugins/run", p, unix=unix)
        self.assertEqual(ctype, "application/json")
        return st, body

    def run_plugin_settled(self, ns, project, **kw):
        """/plugins/run of a plugin that may also be scheduled: when the
        test asks during a scheduled run (409, as an operator would get),
        wait for that run to end and ask again, as an operator would,
        instead of failing on the timing of the two."""
        deadline = time.monotonic() + 30
        while True:
            st, body = self.run_plugin(ns, project, **kw)
            if (st, body) != (409, {"error": "plugin is running"}) or \
                    time.monotonic() > deadline:
                return st, body
            time.sleep(0.1)

    def run_plugin_ok(self, ns, project, **kw):
        st, body = self.run_plugin_settled(ns, project, **kw)
        self.assertEqual(st, 200, body)
        return body

    def call(self, op, ns, project, **kw):
        return self.api(f"/plugins/{op}", {"ns": ns,
                                            "repo": self.git_of(project)},
                        **kw)

    def listed(self):
        st, ctype, body = self.api("/plugins/list")
        self.assertEqual((st, ctype), (200, "application/json"), body)
        return {f"{p['ns']}|{p['project']}": p for p in body}

    def wait_checkout(self, *keys, state="ok", timeout=30):
        def ready():
            lst = self.listed()
            return lst if all(k in lst and lst[k]["checkout"] == state
                              for k in keys) else None
        try:
            return wait_until(ready, timeout=timeout,
                              what=f"checkout {state} of {keys}")
        except AssertionError as e:
            lines = [ln for ln in self.agent.log_text().splitlines()
                     if "front[" not in ln and not ln.endswith(": list  ")]
            raise AssertionError(f"{e}\nlisted: {self.listed()}\nlog:\n" +
                                 "\n".join(lines[-80:])) from None

    def refresh(self, want=200):
        st, _, body = self.api("/update", method="POST", unix=True)
        self.assertEqual(st, want, body)
        return body

    def wait_listed(self, pred, what):
        """Wait for the list to satisfy `pred` (checkouts and runs take
        their time; /update itself answers only once the scheduler has
        the new items)."""
        return wait_until(lambda: (lst := self.listed()) and pred(lst) and
                          lst, what=what)

    # -- what was published -----------------------------------------------
    def points(self, topic, measurement=None):
        out = []
        for m in self.nsqd.messages(topic=topic):
            for p in json.loads(m.body)["points"]:
                if measurement is None or p["measurement"] == measurement:
                    out.append(p)
        return out

    def results(self, project, ns=NS):
        return [(p["fields"]["value"], p["tags"]["type"])
                for p in self.points(EXC_TOPIC, RESULT)
                if p["tags"]["name"] == f"{GROUP}/{project}" and
                p["tags"]["ns"] == ns]

    def wait_results(self, project, n, ns=NS):
        return wait_until(lambda: (r := self.results(project, ns)) and
                          len(r) >= n and r, timeout=20,
                          what=f"{n} {RESULT} of {project}")

    def wait_points(self, topic, measurement, n=1):
        return wait_until(lambda: (p := self.points(topic, measurement))
                          and len(p) >= n and p, timeout=20,
                          what=f"{n} points {measurement} on {topic}")

    # -- processes ----------------------------------------------------------
    def agent_pids(self):
        """The live master and workers."""
        st = self.agent.status()
        return {st["pid"]} | {w["pid"] for w in st["workers"] if w["pid"]}

    def under_pluginsdir(self, pid):
        """(cmdline, cwd) of a live process working or named under
        pluginsdir, else None.  The cwd only of a process with arguments:
        a readlink of cwd waits with a process held in execve (FuseStall),
        as a test running alongside may hold, and such a process has none
        (its exec replaced its memory); nor have kernel threads."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmd = ""
        cwd = ""
        if cmd:
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                pass
        if cwd == self.pd or cwd.startswith(self.pd + "/") or \
                self.pd in cmd:
            return cmd, cwd
        return None

    def strays(self):
        """Processes under pluginsdir, and zombie children of the agent."""
        mine = self.agent_pids()
        found = []
        for pid in pids():
            if pid in mine or (st := proc_stat(pid)) is None:
                continue
            if st[0] == "Z":
                if st[1] in mine:
                    found.append((pid, "zombie", st[1]))
            elif (what := self.under_pluginsdir(pid)) is not None:
                found.append((pid, *what))
        return found

    def assert_no_strays(self):
        wait_until(lambda: not self.strays(), timeout=20,
                   what="no process left under pluginsdir and no zombie")

    def kill_leftovers(self):
        """After the agent stopped: what a failed test left running."""
        if self.pd is None:
            return
        for pid in pids():
            if pid != os.getpid() and proc_alive(pid) and \
                    self.under_pluginsdir(pid) is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def read_pid(self, name):
        path = os.path.join(self.drop, name)

        def pid():
            with open(path) as f:
                return int(f.read().strip() or 0)
        return wait_until(pid, what=f"pid file {name}")

    def assert_gone(self, *pidlist):
        wait_until(lambda: not any(proc_alive(p) for p in pidlist),
                   timeout=20, what=f"processes {pidlist} gone")

    def worker_pid(self, role):
        return self.agent.worker(self.agent.status(), role)["pid"]

    def kill_worker(self, role):
        """kill -9 the worker; returns the new pid once it runs again."""
        old = self.worker_pid(role)
        os.kill(old, signal.SIGKILL)

        def back():
            w = self.agent.worker(self.agent.status(), role)
            return w["pid"] if w["pid"] not in (0, old) and \
                w["state"] == "running" else None
        return wait_until(back, timeout=30, what=f"{role} restarted")

    def in_thread(self, fn):
        """Run fn in a thread; returns a callable giving its result."""
        box = {}

        def body():
            try:
                box["v"] = fn()
            except BaseException as e:  # reported by the joiner
                box["e"] = e
        t = threading.Thread(target=body, daemon=True)
        t.start()

        def join(timeout=120):
            t.join(timeout)
            self.assertFalse(t.is_alive(), "the request never ended")
            if "e" in box:
                raise box["e"]
            return box["v"]
        join.done = lambda: not t.is_alive()
        return join


class SecNamespace(PluginTest):
    """A SEC project's points go to namespace sec.<the rest of its
    namespace>; in a namespace of one label there is none: they are
    dropped, and that is counted and said, not a DEBUG line."""

    def test_a_sec_plugins_points_without_a_namespace_are_said(self):
        self.add("loda", "SEC-scan", METRICS)
        self.start_with("loda|SEC-scan")
        body = self.run_plugin_ok("loda", "SEC-scan")
        self.assertEqual((body["status"], body["points"]), ("ok", 0), body)
        self.agent.wait_log(r"WARN .*scheduler\[\d+\]: \w+: plugin "
                            r"loda\|SEC-scan: 2 points dropped: a SEC "
                            r"project's go to namespace sec\.<its namespace "
                            r"without the first label>, and loda has one")

        def unsent():
            code, page = self.agent.http("/metrics")
            m = re.search(r'^agent_points_dropped_total\{reason="unsent"\} '
                          r'(\d+)$', page, re.M)
            return m is not None and int(m.group(1)) >= 2
        wait_until(unsent, what="the points counted as unsent")


class Runs(PluginTest):
    """On-demand plugins through /plugins/run."""

    def setUp(self):
        super().setUp()
        self.add(NS, "metrics", METRICS)
        self.add(NS, "fail", FAIL)
        self.add(NS, "garbage", GARBAGE)
        self.add(NS, "flood", FLOOD)
        self.add(NS, "sigterm", sigterm_plugin(self.drop))
        self.add(NS, "forker", forker_plugin(self.drop))
        self.add(NS, "whoami", WHOAMI)
        self.add(NS_B, "params", PARAMS, parameters="-x registry")
        self.keys = [f"{NS}|{p}" for p in ("metrics", "fail", "garbage",
                                            "flood", "sigterm", "forker",
                                            "whoami")] + [f"{NS_B}|params"]

    def test_metrics_reach_nsqd_with_names_tags_and_results(self):
        lst = self.start_with(*self.keys)
        m = lst[f"{NS}|metrics"]
        self.assertEqual(m["commit"], self.repos.head(f"{GROUP}/metrics"))
        self.assertEqual((m["interval"], m["scheduled"], m["enabled"],
                          m["last_run"]), (0, False, True, None))
        body = self.run_plugin_ok(NS, "metrics")
        self.assertEqual((body["status"], body["exit"], body["signal"],
                          body["timed_out"], body["points"],
                          body["dropped"]), ("ok", 0, None, False, 2, 1))
        self.assertIn("bad name!", body["drop_error"])
        self.assertEqual(body["stderr"], "metrics to stderr\n")
        self.assertTrue(body["output_head"].startswith('[{"name":"load"'))

        topic = "collect." + NS
        load = self.wait_points(topic, "PLUGIN.metrics.load")
        count = self.wait_points(topic, "PLUGIN.metrics.count")
        self.assertEqual(load[0]["tags"], {
            "host": HOST, "k": "v", "dc": "a-b", "agent_ns": NS,
            "agent_name": "PLUGIN.metrics",
            "agent_repo": f"{GROUP}/metrics", "agent_interval": "0"})
        self.assertEqual(load[0]["fields"], {"value": 1.5})
        self.assertAlmostEqual(load[0]["timestamp"], time.time(), delta=120)
        self.assertEqual((count[0]["timestamp"], count[0]["fields"],
                          count[0]["tags"]),
                         (1714538000, {"value": 7}, {"host": HOST}))
        res = self.wait_points(EXC_TOPIC, RESULT)
        self.assertEqual(res[0]["tags"], {"host": HOST, "ns": NS,
                                          "name": f"{GROUP}/metrics",
                                          "type": "call"})
        self.assertEqual(res[0]["fields"], {"value": 0})
        # nothing else went out: the bad point was dropped alone
        self.assertEqual(sorted(p["measurement"]
                                for p in self.points(topic)),
                         ["PLUGIN.metrics.count", "PLUGIN.metrics.load"])

        # a plugin that exits non-zero: its output is not published
        body = self.run_plugin_ok(NS, "fail")
        self.assertEqual((body["status"], body["exit"], body["points"],
                          body["error"]), ("failed", 1, 0, "exit status 1"))
        self.assertEqual(body["stderr"], "failing on purpose\n")
        self.assertEqual(self.wait_results("fail", 1), [(1, "call")])

        # garbage on stdout: a failed run
        body = self.run_plugin_ok(NS, "garbage")
        self.assertEqual((body["status"], body["exit"], body["points"]),
                         ("failed", 0, 0))
        self.assertTrue(body["error"].startswith("output: "), body)
        self.assertEqual(self.wait_results("garbage", 1), [(1, "call")])

        lst = self.listed()
        self.assertEqual((lst[f"{NS}|fail"]["status"],
                          lst[f"{NS}|fail"]["failures"],
                          lst[f"{NS}|fail"]["last_type"]),
                         ("failed", 1, "call"))
        self.assertEqual((lst[f"{NS}|metrics"]["runs"],
                          lst[f"{NS}|metrics"]["points_total"],
                          lst[f"{NS}|metrics"]["dropped_total"]), (1, 2, 1))
        self.assertEqual([p["measurement"] for p in self.points(topic)
                          if "never" in p["measurement"]], [])
        self.assert_no_strays()

    def test_a_runs_points_and_its_result_wait_flushms_once(self):
        # the points and the plugin.result of a run go to two topics, so
        # in two requests; the second one does not wait flushms again
        # once the first is answered (it waited with it)
        self.agent.values["output_extra"] = "\tflushms = 2000\n"
        self.start_with(f"{NS}|metrics")
        self.run_plugin_ok(NS, "metrics")
        pts = self.nsqd.wait_for_messages(1, "collect." + NS, timeout=20)
        res = self.nsqd.wait_for_messages(1, EXC_TOPIC, timeout=20)
        apart = abs(res[0].time - pts[0].time)
        # both went once the first point had waited; 2 s apart before
        self.assertLess(apart, 1.0, (pts[0].time, res[0].time))

    def test_plugin_points_do_not_wait_flushms_again(self):
        # the scheduler's outbox held them (pluginflushms): the sender
        # publishes them at once, not flushms after they reach it; the
        # front's points wait flushms as before
        self.agent.values["output_extra"] = "\tflushms = 3000\n"
        self.start_with(f"{NS}|metrics")
        t0 = time.time()
        self.run_plugin_ok(NS, "metrics")
        pts = self.nsqd.wait_for_messages(1, "collect." + NS, timeout=20)
        self.assertLess(pts[0].time - t0, 2.0)
        t0 = time.time()
        code, body = self.agent.http(
            f"/post?ns={NS}", method="POST",
            data=json.dumps([{"name": "pushed", "value": 1}]))
        self.assertEqual(code, 200, body)
        topic = "collect." + NS
        self.assertTrue(wait_until(lambda: self.nsqd.message_count(topic)
                                   >= 2, 20))
        self.assertGreater(self.nsqd.messages(topic)[-1].time - t0, 2.5)

    def test_runs_ending_apart_reach_the_output_together(self):
        # the points of a run that ends while another still goes wait
        # for it in the scheduler's outbox (pluginflushms at most): both
        # runs' points leave in one message, though they ended more than
        # the sender's flushms apart
        script = ('#!/bin/sh\nsleep {}\n'
                  'printf \'[{{"name":"{}","timestamp":0,"value":1}}]\\n\'\n')
        self.add(NS, "early", script.format(0.2, "early"))
        self.add(NS, "late", script.format(1.0, "late"))
        self.start_with(f"{NS}|early", f"{NS}|late",
                        extra="\tpluginflushms = 8000\n")
        bodies = {}

        def run(project):
            bodies[project] = self.run_plugin_ok(NS, project)

        threads = [threading.Thread(target=run, args=(p,))
                   for p in ("late", "early")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual({p: b["status"] for p, b in bodies.items()},
                         {"early": "ok", "late": "ok"})
        topic = "collect." + NS
        self.wait_points(topic, "PLUGIN.late.late")
        names = [sorted(p["measurement"] for p in json.loads(m.body)
                        ["points"]) for m in self.nsqd.messages(topic)]
        self.assertEqual(names, [["PLUGIN.early.early", "PLUGIN.late.late"]])
        # and their plugin.result points went in one message too
        self.assertEqual(self.wait_results("late", 1), [(0, "call")])
        self.assertEqual(self.nsqd.message_count(EXC_TOPIC), 1)

    def reload_unisolated(self):
        """A reload with isolateplugins = no, taken by the scheduler."""
        self.configure(extra="\tisolateplugins = no\n")
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: "plugin runs are not isolated from each other "
                   "(isolateplugins = no)" in self.agent.log_text(),
                   timeout=20, what="the scheduler to take the reload")

    def test_a_plugin_cannot_open_another_plugins_output(self):
        # all plugins run as pluginsuser and are dumpable, so one can
        # open /proc/<pid>/fd/1 of another: were that a pipe, the open
        # would give it the victim's output to read and to write into
        tried = os.path.join(self.drop, "tried")
        self.add(NS, "victim", victim_plugin(tried))
        self.add(NS, "attacker", ATTACKER.replace("@TRIED@", tried))
        self.start_with(f"{NS}|victim", f"{NS}|attacker")
        topic = "collect." + NS

        def attack(n):
            for f in (tried, tried + ".pid"):
                if os.path.exists(f):
                    os.unlink(f)
            victim = self.in_thread(lambda: self.run_plugin_ok(
                NS, "victim", timeout=60))
            attacker = self.run_plugin_ok(NS, "attacker", timeout=60)
            body = victim()
            self.assertEqual((attacker["status"], attacker["points"]),
                             ("ok", 6), attacker)
            said = {m: self.wait_points(topic, f"PLUGIN.attacker.{m}", n)
                    [-1]["fields"]["value"]
                    for m in ("found", "open_r", "open_w", "mem", "signal",
                              "read_own")}
            self.assertEqual(body["status"], "ok", (body, said))
            own = self.wait_points(topic, "PLUGIN.victim.own", n)
            self.assertEqual([p["fields"]["value"] for p in own], [1] * n,
                             said)
            return said, attacker["stderr"]

        # each run in a Landlock domain of its own (this kernel has ABI
        # 6 or later; test_scheduler_run has the older ones) refuses the
        # victim's descriptors (EACCES), pipes in a domain, its memory and
        # signals
        said, stderr = attack(1)
        self.assertEqual(said, {"found": 1, "open_r": errno.EACCES,
                                "open_w": errno.EACCES,
                                "mem": errno.EACCES, "signal": errno.EPERM,
                                "read_own": errno.EBADF}, stderr)
        self.assertNotIn("plugin runs are not isolated",
                         self.agent.log_text())
        # without (a reload with isolateplugins = no): the memory and
        # signals are open to it, and the output, a socket, is still not
        self.reload_unisolated()
        said, stderr = attack(2)
        self.assertEqual(said, {"found": 1, "open_r": errno.ENXIO,
                                "open_w": errno.ENXIO, "mem": 0,
                                "signal": 0, "read_own": errno.EAGAIN},
                         stderr)
        self.assert_no_strays()

    def test_a_plugin_cannot_pass_the_scheduler_a_descriptor(self):
        # in its Landlock domain its stdout is a pipe, which carries no
        # descriptors; without one it is a socket, which does: the
        # scheduler's end refuses them, so none is ever closed in its name
        self.add(NS, "passfd", PASSFD)
        self.start_with(f"{NS}|passfd")
        topic = "collect." + NS
        body = self.run_plugin_ok(NS, "passfd", timeout=60)
        self.assertEqual((body["status"], body["points"]), ("ok", 1), body)
        said = self.wait_points(topic, "PLUGIN.passfd.passfd")
        self.assertEqual([p["fields"]["value"] for p in said],
                         [errno.ENOTSOCK], body)
        self.reload_unisolated()
        body = self.run_plugin_ok(NS, "passfd", timeout=60)
        self.assertEqual((body["status"], body["points"]), ("ok", 1), body)
        said = self.wait_points(topic, "PLUGIN.passfd.passfd", 2)
        self.assertEqual([p["fields"]["value"] for p in said],
                         [errno.ENOTSOCK, errno.EPERM], body)
        self.assert_no_strays()

    def test_a_plugin_cannot_kill_or_limit_the_scheduler(self):
        # it runs as the scheduler's user: only the filter it inherits
        # keeps it from the scheduler
        self.add(NS, "killer", KILLER)
        self.start_with(f"{NS}|killer")
        before = self.worker_pid("scheduler")
        body = self.run_plugin_ok(NS, "killer", timeout=60)
        self.assertEqual((body["status"], body["points"]), ("ok", 2), body)
        got = {m: self.wait_points("collect." + NS, "PLUGIN.killer." + m)
               [0]["fields"]["value"] for m in ("prlimit", "kill")}
        self.assertEqual(got, {"prlimit": errno.EPERM, "kill": errno.EPERM},
                         body)
        self.assertEqual(self.worker_pid("scheduler"), before)
        self.assertNotIn("restarting scheduler", self.agent.log_text())

    def test_parameters(self):
        self.start_with(*self.keys)
        topic = "collect." + NS_B
        # absent: no arguments; the registry's are for scheduled runs
        body = self.run_plugin_ok(NS_B, "params")
        self.assertIn('"value":0,"tags":{"a1":"none","a2":"none"}',
                      body["output_head"])
        # split on spaces, empty words dropped; & and $ are allowed
        body = self.run_plugin_ok(NS_B, "params", param="-x  a&b$c", unix=True)
        self.assertEqual(body["status"], "ok", body)
        pts = self.wait_points(topic, "PLUGIN.params.argv", 2)
        got = sorted((p["fields"]["value"], p["tags"]["a1"],
                      p["tags"]["a2"]) for p in pts)
        self.assertEqual(got, [(0, "none", "none"), (2, "-x", "a&b$c")])
        for p in pts:
            self.assertEqual(p["tags"]["host"], HOST)
        # what a shell would read is refused, and nothing runs
        for bad in ("a;b", "x | y", "a&&b", "<in", "`id`", "a>b"):
            st, body = self.run_plugin(NS_B, "params", param=bad)
            self.assertEqual(st, 400, bad)
            self.assertIn("are not allowed", body["error"])
        self.assertEqual(self.listed()[f"{NS_B}|params"]["runs"], 2)
        self.assertEqual(self.wait_results("params", 2, ns=NS_B),
                         [(0, "call"), (0, "call")])

    def test_timeout_ignoring_sigterm_is_killed_and_409_meanwhile(self):
        self.start_with(*self.keys)
        pending = self.in_thread(lambda: self.run_plugin(NS, "sigterm",
                                                         timeout=1))
        ppid = self.read_pid("sigterm.pid")
        child = self.read_pid("sigterm.child")
        self.assertTrue(self.listed()[f"{NS}|sigterm"]["running"])
        st, body = self.run_plugin(NS, "sigterm")
        self.assertEqual((st, body), (409, {"error": "plugin is running"}))
        st, body = pending()
        self.assertEqual(st, 200, body)
        self.assertEqual((body["status"], body["timed_out"], body["exit"],
                          body["signal"]), ("failed", True, None, 9))
        self.assertEqual(body["error"],
                         "timed out after 1 s (killed by signal 9)")
        self.assert_gone(ppid, child)
        self.assertEqual(self.wait_results("sigterm", 1), [(1, "call")])
        lst = self.listed()[f"{NS}|sigterm"]
        self.assertEqual((lst["running"], lst["timeouts"], lst["runs"]),
                         (False, 1, 1))
        self.assert_no_strays()

    def test_flood_is_capped_and_children_do_not_outlive_the_run(self):
        self.start_with(*self.keys)
        body = self.run_plugin_ok(NS, "flood")
        self.assertEqual((body["status"], body["output_bytes"],
                          body["error"]),
                         ("failed", OUTPUT_MAX,
                          f"output over {OUTPUT_MAX} bytes"))
        # killed at the cap (SIGKILL, or SIGPIPE writing to the closed
        # pipe first), not left to write 100 MB
        self.assertIn(body["signal"], (signal.SIGKILL, signal.SIGPIPE))
        self.assertEqual(self.wait_results("flood", 1), [(1, "call")])

        body = self.run_plugin_ok(NS, "forker")
        self.assertEqual((body["status"], body["points"]), ("ok", 0))
        grp = self.read_pid("forker.group")
        sess = self.read_pid("forker.session")
        g2 = self.read_pid("forker.g2")
        g3 = self.read_pid("forker.g3")
        # the one in the group goes with the plugin's group, the one that
        # left it with the master's sweep of what workers leave behind,
        # and its lineage in the same sweep, not one generation a sweep
        self.assert_gone(grp, sess, g2, g3)
        self.assertRegex(self.agent.log_text(), rf"killing process {sess} "
                         r"\((sleep|sh)\) left behind by a worker, and 2 "
                         "under it")
        self.assertEqual(self.wait_results("forker", 1), [(0, "call")])
        self.assert_no_strays()

    def test_pluginoutputmax_from_the_config(self):
        # 4096 bytes instead of the default 1 MiB: up to it a run is
        # fine, a byte more and the run is cut there and fails
        self.add(NS, "sized", SIZED)
        self.start_with(f"{NS}|sized", f"{NS}|flood",
                        extra="\tpluginoutputmax = 4096\n")
        body = self.run_plugin_ok(NS, "sized", param="4096")
        self.assertEqual((body["status"], body["output_bytes"],
                          body["points"]), ("ok", 4096, 1), body)
        body = self.run_plugin_ok(NS, "sized", param="4097")
        self.assertEqual((body["status"], body["output_bytes"],
                          body["error"], body["points"]),
                         ("failed", 4096, "output over 4096 bytes", 0), body)
        body = self.run_plugin_ok(NS, "flood")
        self.assertEqual((body["status"], body["output_bytes"],
                          body["error"]),
                         ("failed", 4096, "output over 4096 bytes"))
        self.assertEqual(self.wait_results("sized", 2),
                         [(0, "call"), (1, "call")])
        wait_until(lambda: self.agent.worker(self.agent.status(),
                                             "scheduler")["stats"].get(
            "output_over") == 2, what="two runs over the cap counted")
        self.assert_no_strays()

    @unittest.skipUnless(is_root(), "skipped: needs root")
    def test_runs_as_pluginsuser(self):
        self.start_with(*self.keys)
        body = self.run_plugin_ok(NS, "whoami")
        self.assertEqual(body["status"], "ok", body)
        pts = self.wait_points("collect." + NS, "PLUGIN.whoami.uid")
        self.assertEqual(pts[0]["fields"]["value"], nobody_uid())
        import pwd
        gid = pwd.getpwnam("nobody").pw_gid
        gids = self.wait_points("collect." + NS, "PLUGIN.whoami.gid")
        self.assertEqual(gids[0]["fields"]["value"], gid)
        # no supplementary groups of root's kept
        groups = self.wait_points("collect." + NS, "PLUGIN.whoami.groups")
        self.assertEqual(groups[0]["fields"]["value"], 1)


class Api(PluginTest):
    """/plugins/* answers: the scheduler's checks and state changes."""

    def setUp(self):
        super().setUp()
        self.add(NS, "metrics", METRICS)
        self.add(NS_B, "params", PARAMS)

    def test_update_answers_once_the_scheduler_has_the_items(self):
        """The Go agent answered /update after applying the new items:
        a /plugins/list right after the answer shows them, every time."""
        self.start_with(f"{NS}|metrics", f"{NS_B}|params")
        for i in range(5):
            project = f"extra{i}"
            self.add(NS, project, METRICS)
            self.write_registry()
            self.refresh()
            self.assertIn(f"{NS}|{project}", self.listed(),
                          f"round {i}: /update answered before the "
                          "scheduler applied the items")
            self.items[NS] = [it for it in self.items[NS]
                              if it["name"] != f"PLUGIN.{project}"]
            self.write_registry()
            self.refresh()
            self.assertNotIn(f"{NS}|{project}", self.listed(),
                             f"round {i}: removal not applied")

    def test_every_error_path(self):
        self.start_with(f"{NS}|metrics", f"{NS_B}|params")
        good = self.git_of("metrics")
        ops = ["run", "update", "enable", "disable", "enbable"]
        cases = [
            ({"repo": good}, 400, "invalid ns or repo"),
            ({"ns": NS}, 400, "invalid ns or repo"),
            ({"ns": "", "repo": good}, 400, "invalid ns or repo"),
            ({"ns": NS, "repo": f"{GROUP}/metrics"}, 400, "invalid repo"),
            ({"ns": NS, "repo": "git@h:plugins/metrics"}, 400,
             "invalid repo"),
            ({"ns": NS, "repo": "git@h:a/plugins/metrics.git"}, 400,
             "invalid repo"),
            ({"ns": NS, "repo": "git@h:x:plugins/metrics.git"}, 400,
             "invalid repo"),
            ({"ns": NS, "repo": "git@h:plugins/.git"}, 400, "invalid repo"),
            ({"ns": NS, "repo": "git@h:../metrics.git"}, 400,
             "invalid repo"),
            ({"ns": NS, "repo": "git@h:plugins/-x.git"}, 400,
             "invalid repo"),
            ({"ns": NS, "repo": "git@h:plugins/nope.git"}, 404,
             "plugin doesn't exist, add to loda first please"),
            # the right repo in the wrong namespace
            ({"ns": NS_B, "repo": good}, 404,
             "plugin doesn't exist, add to loda first please"),
            ({"ns": "nope.loda", "repo": good}, 404,
             "plugin doesn't exist, add to loda first please"),
        ]
        for op in ops:
            for i, (params, code, err) in enumerate(cases):
                st, ctype, body = self.api(f"/plugins/{op}", params,
                                           method="POST", form=i % 2,
                                           unix=i % 3 == 0)
                self.assertEqual((st, ctype, body),
                                 (code, "application/json", {"error": err}),
                                 f"{op} {params}")
        for t in ("0", "301", "x"):
            st, body = self.run_plugin(NS, "metrics", timeout=t)
            self.assertEqual((st, body), (400, {"error": "invalid timeout"}))
        # none of that ran or changed anything
        lst = self.listed()
        for p in lst.values():
            self.assertEqual((p["runs"], p["enabled"], p["last_run"]),
                             (0, True, None))
        self.assertEqual(self.points(EXC_TOPIC), [])
        # the host's namespaces are the registry's
        st, _, body = self.api("/me/ns")
        self.assertEqual((st, sorted(body)), (200, [NS_B, NS]))
        body = self.refresh()
        self.assertEqual((body["updated"], sorted(body["namespaces"])),
                         (True, [NS_B, NS]))

    def test_disable_persists_across_a_restart_and_enable(self):
        self.start_with(f"{NS}|metrics", f"{NS_B}|params")
        marker = os.path.join(self.pd, "plugin.disabled", f"{NS}|metrics")
        for op in ("disable", "disable"):
            st, _, body = self.call(op, NS, "metrics", method="POST",
                                    form=True)
            self.assertEqual((st, body), (200, {"ns": NS,
                                                "repo": f"{GROUP}/metrics",
                                                "enabled": False}))
            self.assertTrue(os.path.exists(marker))
        lst = self.listed()
        self.assertEqual((lst[f"{NS}|metrics"]["enabled"],
                          lst[f"{NS_B}|params"]["enabled"]), (False, True))
        if is_root():
            # written by gitpull as `user`
            self.assertEqual(os.stat(marker).st_uid, nobody_uid())

        r = self.agent.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.start_ok()
        lst = self.wait_checkout(f"{NS}|metrics", f"{NS_B}|params")
        self.assertEqual((lst[f"{NS}|metrics"]["enabled"],
                          lst[f"{NS_B}|params"]["enabled"]), (False, True))
        self.agent.wait_log(rf"plugin {NS}\|metrics is disabled "
                            r"\(marker file\)")

        # the Go agent's spelling, then the right one (already enabled)
        for op in ("enbable", "enable"):
            st, _, body = self.call(op, NS, "metrics", unix=True)
            self.assertEqual((st, body), (200, {"ns": NS,
                                                "repo": f"{GROUP}/metrics",
                                                "enabled": True}))
            self.assertFalse(os.path.exists(marker))
        self.assertTrue(self.listed()[f"{NS}|metrics"]["enabled"])
        self.assert_no_strays()

    def test_update_runs_the_new_commit_only_when_asked(self):
        lst = self.start_with(f"{NS}|metrics")
        self.assertEqual(lst[f"{NS}|metrics"]["commit"],
                         self.repos.head(f"{GROUP}/metrics"))
        self.items[NS].append({
            "measurement_type": "PLUGIN", "name": "PLUGIN.ver",
            "git": self.git_of("ver"), "interval": "0"})
        first = self.repos.create(f"{GROUP}/ver", version_plugin(1))
        self.write_registry()
        self.refresh()
        self.wait_checkout(f"{NS}|ver")
        body = self.run_plugin_ok(NS, "ver")
        self.assertEqual((body["commit"], body["status"]), (first, "ok"))
        self.assertIn('"value":1', body["output_head"])

        # a new commit: neither a refresh nor a run fetches it
        second = self.repos.commit(f"{GROUP}/ver", version_plugin(2))
        self.assertNotEqual(first, second)
        self.refresh()
        self.items[NS][-1]["parameters"] = "-changed"    # an item change
        self.write_registry()
        self.refresh()
        self.wait_listed(lambda lst: lst[f"{NS}|ver"]["params"] ==
                         ["-changed"], "the changed item")
        body = self.run_plugin_ok(NS, "ver")
        self.assertEqual(body["commit"], first)
        self.assertIn('"value":1', body["output_head"])
        self.assertEqual(self.listed()[f"{NS}|ver"]["commit"], first)

        # /plugins/update fetches it, and the next run is the new code
        st, _, body = self.call("update", NS, "ver")
        self.assertEqual((st, body), (200, {"ns": NS,
                                            "repo": f"{GROUP}/ver",
                                            "commit": second}))
        self.assertEqual(self.listed()[f"{NS}|ver"]["commit"],
                         self.repos.head(f"{GROUP}/ver"))
        body = self.run_plugin_ok(NS, "ver")
        self.assertEqual(body["commit"], second)
        self.assertIn('"value":2', body["output_head"])
        vals = [p["fields"]["value"] for p in
                self.wait_points("collect." + NS, "PLUGIN.ver.version", 3)]
        self.assertEqual(vals, [1, 1, 2])

        # git failing: 502 with git's error, the checkout keeps working
        bare = self.repos.bare(f"{GROUP}/ver")
        os.rename(bare, bare + ".away")
        try:
            st, _, body = self.call("update", NS, "ver", unix=True)
            self.assertEqual(st, 502, body)
            self.assertTrue(body["error"].startswith("update failed: "),
                            body)
            p = self.listed()[f"{NS}|ver"]
            self.assertEqual((p["checkout"], p["commit"]), ("ok", second))
            self.assertNotEqual(p["git_error"], "")
            body = self.run_plugin_ok(NS, "ver")
            self.assertEqual((body["status"], body["commit"]),
                             ("ok", second))
        finally:
            os.rename(bare + ".away", bare)
        self.assert_no_strays()

    def start_mover(self):
        """g/mover (version 1) checked out, g2/mover (version 2) there to
        move to: (commit of the old, of the new, the plugin's key)."""
        old = self.repos.create("g/mover", version_plugin(1))
        new = self.repos.create("g2/mover", version_plugin(2))
        self.assertNotEqual(old, new)
        self.items[NS].append({
            "measurement_type": "PLUGIN", "name": "PLUGIN.mover",
            "git": self.repos.registry_git("g/mover"), "interval": "0"})
        key = f"{NS}|mover"
        lst = self.start_with(key)
        self.assertEqual(lst[key]["commit"], old)
        return old, new, key

    def test_a_plugin_moved_to_another_repository_runs_the_new_one(self):
        # same ns and project, so the same checkout directory: what is
        # there is the old repository's, and the move must replace it
        old, new, key = self.start_mover()
        st, _, body = self.api("/plugins/run", {
            "ns": NS, "repo": self.repos.registry_git("g/mover")})
        self.assertEqual((st, body["status"], body["commit"]),
                         (200, "ok", old), body)
        self.assertIn('"value":1', body["output_head"])

        self.items[NS][-1]["git"] = self.repos.registry_git("g2/mover")
        self.write_registry()
        self.refresh()
        lst = self.wait_listed(lambda lst: lst[key]["repo"] == "g2/mover" and
                               lst[key]["checkout"] == "ok",
                               "the moved plugin checked out")
        self.assertEqual(lst[key]["commit"], new, lst[key])
        st, _, body = self.api("/plugins/run", {
            "ns": NS, "repo": self.repos.registry_git("g2/mover")})
        self.assertEqual((st, body["status"], body["commit"]),
                         (200, "ok", new), body)
        self.assertIn('"value":2', body["output_head"])
        vals = [p["fields"]["value"] for p in
                self.wait_points("collect." + NS, "PLUGIN.mover.version", 2)]
        self.assertEqual(vals, [1, 2])
        self.assert_no_strays()


    def test_a_plugin_moved_while_the_agent_was_down_runs_the_new_one(self):
        # no scheduler saw the move: the checkout itself says whose it is
        _, new, key = self.start_mover()
        r = self.agent.stop()
        self.assertEqual(r.returncode, 0, r.stderr)

        # the last-good cache would show the scheduler the old item first,
        # and the move: gone, as when a scheduler restarted before the
        # move's fetch succeeded (the cache holds the new item then)
        os.remove(os.path.join(self.agent.values["pluginsdir"],
                               ".registry.json"))
        self.items[NS][-1]["git"] = self.repos.registry_git("g2/mover")
        self.write_registry()
        self.start_ok()
        lst = self.wait_checkout(key)
        self.assertEqual((lst[key]["repo"], lst[key]["commit"]),
                         ("g2/mover", new), lst[key])
        self.agent.wait_log(r"mover: the checkout is of \S*g/mover\S*, "
                            r"not \S*g2/mover\S*: removed, to be cloned "
                            r"anew")
        st, _, body = self.api("/plugins/run", {
            "ns": NS, "repo": self.repos.registry_git("g2/mover")})
        self.assertEqual((st, body["status"], body["commit"]),
                         (200, "ok", new), body)
        self.assertIn('"value":2', body["output_head"])
        self.assert_no_strays()


class Schedule(PluginTest):
    """One scheduled plugin; registry changes reschedule and remove it."""

    def test_scheduled_run_then_interval_change_removal_and_garbage(self):
        tick = "tick"
        key = f"{NS}|{tick}"
        self.add(NS, tick, TICKER, interval="10",
                 parameters="-tag sched", label="ticker")
        self.add(NS, "metrics", METRICS)
        lst = self.start_with(key, f"{NS}|metrics")
        self.assertEqual((lst[key]["interval"], lst[key]["scheduled"],
                          lst[key]["params"]), (10, True, ["-tag", "sched"]))
        line = self.agent.wait_log(rf"plugin {NS}\|{tick} every 10 s at "
                                   rf"second {host_second(10)}, first in "
                                   r"\d+\.\d+ s")
        # the first run comes at that second of the clock, within 10 s,
        # and the list says when
        self.assertLess(float(line.group(0).split()[-2]), 10.0, line)
        nxt = self.listed()[key]["next_run"]
        self.assertEqual(nxt % 10, host_second(10), nxt)
        self.assertLess(abs(nxt - time.time()), 11, nxt)
        pts = self.wait_points("collect." + NS, "PLUGIN.ticker.tick")
        self.assertEqual((pts[0]["fields"]["value"], pts[0]["tags"]),
                         (2, {"host": HOST, "arg": "sched"}))
        self.assertEqual(self.wait_results(tick, 1)[0], (0, "regular"))
        p = wait_until(lambda: (p := self.listed()[key]) and
                       p["last_run"] and p, what="the listed run")
        self.assertEqual((p["last_type"], p["status"], p["runs"] >= 1),
                         ("regular", "ok", True))

        # interval changed: rescheduled with the new period
        self.items[NS][0]["interval"] = "20"
        self.write_registry()
        self.refresh()
        self.wait_listed(lambda lst: (lst[key]["interval"],
                                      lst[key]["scheduled"]) == (20, True),
                         "interval 20, scheduled")
        self.agent.wait_log(rf"plugin {NS}\|{tick} every 20 s at second "
                            rf"{host_second(20)}, first in \d+\.\d+ s")
        # on demand only
        self.items[NS][0]["interval"] = "0"
        self.write_registry()
        self.refresh()
        self.wait_listed(lambda lst: (lst[key]["interval"],
                                      lst[key]["scheduled"],
                                      lst[key]["next_run"]) == (0, False,
                                                                None),
                         "interval 0, not scheduled")

        # scheduled again, then garbage in the registry: nothing changes
        self.items[NS][0]["interval"] = "10"
        self.write_registry()
        self.refresh()
        before = self.wait_listed(lambda lst: lst[key]["scheduled"],
                                  "scheduled again")
        self.write_registry('{"ns": {"pool.loda": ""}, "resources": [')
        body = self.refresh(502)
        self.assertIn("invalid JSON", body["error"])
        self.assertEqual(body["namespaces"], [NS])
        after = self.listed()
        fields = ("ns", "name", "git", "interval", "params", "enabled",
                  "scheduled", "checkout", "commit")
        self.assertEqual({k: [p[f] for f in fields]
                          for k, p in after.items()},
                         {k: [p[f] for f in fields]
                          for k, p in before.items()})

        # removed from the registry: its timer stops, it is not listed
        del self.items[NS][0]
        self.write_registry()
        self.refresh()
        self.wait_listed(lambda lst: list(lst) == [f"{NS}|metrics"],
                         "the plugin gone from the list")
        self.agent.wait_log(rf"plugin {NS}\|{tick} removed from the "
                            "registry")

        def sched_stats():
            s = self.agent.worker(self.agent.status(), "scheduler")
            s = s.get("stats") or {}
            return s if (s.get("plugins"), s.get("scheduled")) == \
                (1, 0) else None
        wait_until(sched_stats, what="the scheduler to count 1 plugin "
                   "and no timer")
        self.assert_no_strays()


class Registries(PluginTest):
    """The HTTP registry: a garbage answer and a registry down at start."""

    def test_garbage_keeps_the_set_and_the_cache_runs_the_plugins(self):
        self.add(NS, "metrics", METRICS)
        self.add(NS_B, "params", PARAMS)
        reg = self.registry_double()
        keys = (f"{NS}|metrics", f"{NS_B}|params")
        before = self.start_with(
            *keys, registry=reg.url,
            extra='\tregistrytimeout = 3\n\tnamespaces = [ "conf.loda" ]\n')
        self.assertEqual(self.run_plugin_ok(NS, "metrics")["status"], "ok")
        # the registry's namespaces, not the config's
        st, _, body = self.api("/me/ns")
        self.assertEqual(sorted(body), [NS_B, NS])
        body = self.refresh()
        self.assertEqual((body["updated"], sorted(body["namespaces"])),
                         (True, [NS_B, NS]))
        # and /post uses them: two namespaces, so ns is needed
        pts = json.dumps([{"name": "m", "value": 1}])
        code, body = self.agent.http("/post", method="POST", data=pts)
        self.assertEqual(code, 400, body)
        self.assertIn("2 namespaces", json.loads(body)["error"])
        code, body = self.agent.http(f"/post?ns={NS_B}", method="POST",
                                     data=pts)
        self.assertEqual(code, 200, body)
        self.wait_points("collect." + NS_B, "RUN.m")

        # garbage for the namespaces, then for one namespace's items: the
        # plugins stay as they were
        reg.set_fault("garbage", endpoint="ns")
        body = self.refresh(502)
        self.assertIn("invalid JSON", body["error"])
        self.assertEqual(sorted(body["namespaces"]), [NS_B, NS])
        reg.clear_fault(endpoint="ns")
        reg.set_fault("malformed", ns=NS_B)
        asked = len(reg.requests(path=PATH_RESOURCE))
        body = self.refresh(502)
        self.assertEqual(body["error"], f'items of "{NS_B}": item '
                         '"PLUGIN.params": "interval" is a number, not a '
                         'string')
        self.assertEqual(sorted(body["namespaces"]), [NS_B, NS])
        # that refresh asked for both namespaces' items, and the double
        # served NS_B's malformed, NS's as they are
        served = {r.param("ns"): (r.fault, r.status) for r in
                  reg.requests(path=PATH_RESOURCE)[asked:]}
        self.assertEqual(served, {NS_B: ("malformed", 200),
                                  NS: (None, 200)})
        after = self.listed()
        self.assertEqual(list(after), list(before))
        self.assertEqual(after[f"{NS_B}|params"]["commit"],
                         before[f"{NS_B}|params"]["commit"])
        self.assertEqual(self.run_plugin_ok(NS_B, "params")["status"], "ok")

        # down at start: the cache says what to run
        r = self.agent.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        reg.set_fault("refuse")
        self.start_ok()
        self.wait_checkout(*keys)
        self.agent.wait_log(r"starting from the registry cache: 2 "
                            r"namespaces")
        body = self.refresh(502)
        self.assertEqual(sorted(body["namespaces"]), [NS_B, NS])
        st, _, body = self.api("/me/ns")
        self.assertEqual(sorted(body), [NS_B, NS])
        body = self.run_plugin_ok(NS, "metrics")
        self.assertEqual(body["status"], "ok", body)
        self.wait_points("collect." + NS, "PLUGIN.metrics.load", 2)
        self.assertEqual(self.wait_results("metrics", 2),
                         [(0, "call"), (0, "call")])
        self.assert_no_strays()


class QuietServer(ThreadingHTTPServer):
    """A test server on 127.0.0.1 in a thread of its own; close()
    releases what waits on self.release, then stops it."""

    daemon_threads = True

    def serve(self, handler):
        super().__init__(("127.0.0.1", 0), handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request, client_address):
        pass

    def close(self):
        self.release.set()
        self.shutdown()
        self.server_close()


class Stall(QuietServer):
    """Takes requests and answers none until released (a slow remote)."""

    def __init__(self):
        self.release = threading.Event()
        self.paths = []
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.paths.append(self.path)
                srv.release.wait(120)
                self.send_error(404)

        self.serve(H)


class Kills(PluginTest):
    """kill -9 of fetcher, gitpull and scheduler in the middle of work."""

    def test_workers_killed_mid_work(self):
        tick = "tick"
        key = f"{NS}|{tick}"
        self.add(NS, "slow", slow_plugin(self.drop))
        self.add(NS, tick, TICKER, interval="10", label="ticker")
        reg = self.registry_double()
        keys = (f"{NS}|slow", key)
        self.start_with(*keys, registry=reg.url,
                        extra="\tregistrytimeout = 20\n")

        # a run longer than the front's 30 s request timeout: its answer
        # is awaited for timeout + 10 s
        t0 = time.monotonic()
        slow = self.in_thread(lambda: self.run_plugin(NS, "slow", timeout=60))
        plugin = self.read_pid("slow.pid")
        child = self.read_pid("slow.child")

        # the fetcher, while it waits for the registry in a refresh
        asked = len(reg.requests(path=PATH_RESOURCE))
        reg.set_fault("stall", endpoint="resource")
        upd = self.in_thread(lambda: self.api("/update", method="POST"))
        reg.wait_for_requests(asked + 1, path=PATH_RESOURCE, timeout=20)
        self.kill_worker("fetcher")
        st, _, body = upd()
        self.assertEqual(st, 503, body)
        reg.clear_fault(endpoint="resource")
        wait_until(lambda: self.api("/update", method="POST")[0] == 200,
                   timeout=30, what="a refresh with the new fetcher")
        lst = self.listed()
        self.assertEqual((sorted(lst), lst[key]["scheduled"],
                          lst[f"{NS}|slow"]["running"]),
                         (sorted(keys), True, True))

        # gitpull, idle: back, and the scheduler asks it again
        self.kill_worker("gitpull")
        st, _, body = wait_until(
            lambda: (r := self.call("update", NS, tick)) and r[0] != 503
            and r, timeout=30, what="an update through the new gitpull")
        self.assertEqual((st, body["commit"]),
                         (200, self.repos.head(f"{GROUP}/{tick}")))

        # past the front's own 30 s: still waiting for the run
        time.sleep(max(0, 32 - (time.monotonic() - t0)))
        self.assertFalse(slow.done(), "the run was answered early")
        self.assertTrue(proc_alive(plugin) and proc_alive(child))

        # the scheduler, during that run: the client learns it at once,
        # and the plugin's group does not survive it
        self.kill_worker("scheduler")
        st, body = slow()
        self.assertEqual(st, 503, body)
        self.assertIn("scheduler", body["error"])
        self.assert_gone(plugin, child)
        # the new scheduler gets the items again and runs them
        lst = self.wait_checkout(*keys)
        self.assertEqual((lst[key]["scheduled"], lst[key]["enabled"],
                          lst[f"{NS}|slow"]["running"]), (True, True, False))
        body = self.run_plugin_ok(NS, tick, param="a b")
        self.assertEqual(body["status"], "ok", body)
        self.assert_no_strays()

    def test_gitpull_killed_during_a_slow_clone(self):
        stall = Stall()
        self.addCleanup(stall.close)
        port = stall.server_address[1]
        self.add(NS, "stuck", version_plugin(1))
        self.write_registry()
        self.configure()
        self.agent.write_conf(agent_extra=(
            f'\tregistryaddr = "file://{self.regfile}"\n'
            f'\tgit = "http://127.0.0.1:{port}/%s.git"\n'
            '\tgittimeout = 100\n'))
        self.start_ok()
        wait_until(lambda: stall.paths, timeout=20, what="git to ask")
        self.assertTrue(stall.paths[0].startswith(
            f"/{GROUP}/stuck.git/info/refs"), stall.paths)
        gp = self.worker_pid("gitpull")

        def gits():
            return [p for p in pids() if (s := proc_stat(p)) and
                    s[0] != "Z" and (s[1] == gp or
                                     (s[2] != p and
                                      proc_stat(s[2]) is not None and
                                      proc_stat(s[2])[1] == gp))]
        old = wait_until(gits, what="git under gitpull")
        nsdir = os.path.join(self.pd, NS)
        clones = wait_until(lambda: [d for d in os.listdir(nsdir)
                                     if d.startswith(".clone-")],
                            what="the temporary clone")
        self.assertEqual(self.listed()[f"{NS}|stuck"]["checkout"],
                         "pending")
        self.kill_worker("gitpull")
        # git (and its helpers) went with it, and the new gitpull
        # removed the unfinished clone
        self.assert_gone(*old)
        wait_until(lambda: not set(clones) & set(os.listdir(nsdir)),
                   what="the unfinished clone removed")
        # the scheduler asks the new gitpull for the checkout again
        wait_until(lambda: len(stall.paths) >= 2, timeout=20,
                   what="the checkout asked again")
        p = self.listed()[f"{NS}|stuck"]
        self.assertEqual(p["checkout"], "pending")
        self.assertFalse(os.path.exists(os.path.join(nsdir, "stuck")))


def held_exec_plugin(drop, fusefile):
    # leaves a child (out of its group and session, so only the master's
    # sweep ends it) that is held in execve by a close on a FUSE file,
    # and exits once the child is held (asleep in execve: its state S,
    # then a second more, as a plugin cannot see the held close itself)
    return f"""#!/usr/bin/python3
import os, time
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.setsid()
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.open("{fusefile}", os.O_RDONLY | os.O_CLOEXEC)
    os.write(w, b"x")
    os.execv("/bin/sleep", ["sleep", "124"])
os.close(w)
os.read(r, 1)
with open("{drop}/held.pid", "w") as f:
    f.write(str(pid))
for _ in range(50):
    with open(f"/proc/{{pid}}/status") as f:
        if "State:\\tS" in f.read():
            break
    time.sleep(0.1)
time.sleep(1)
print("[]")
"""


class HeldExec(PluginTest):
    """What a plugin leaves behind may be held in execve for ever."""

    def test_a_leftover_held_in_execve_is_killed_by_the_master(self):
        # A read of /proc/<pid>/stat of a process held in execve waits
        # with it: the master's sweep of its children used to read it,
        # and so hung, restarting and reloading nothing after.
        needs_root(self)
        lock_held_processes(self, exclusive=True)
        fuse = FuseStall(os.path.join(self.drop, "fuse"))
        # before the agent's own cleanup (LIFO): its stop and the
        # strays check read /proc of the held process
        self.addCleanup(fuse.stop)
        self.add(NS, "held", held_exec_plugin(self.drop, fuse.file))
        self.start_with(f"{NS}|held")
        body = self.run_plugin_ok(NS, "held")
        self.assertEqual(body["status"], "ok", body)
        pid = self.read_pid("held.pid")
        fuse.wait_held(pid)
        # the sweep kills it and says so, once: SIGKILL waits with the
        # held close (FLUSH is not interruptible), so it stays until the
        # FUSE server lets go
        wait_until(lambda: f"killing process {pid} " in
                   self.agent.log_text(), timeout=20,
                   what="the master's sweep to kill the leftover")
        time.sleep(7)   # a sweep or more later
        self.assertTrue(proc_alive(pid))
        self.assertEqual(self.agent.log_text().count(
            f"killing process {pid} "), 1, "said once")
        # agent status, which reads the master's children in /proc,
        # answers, and shows the held one by its name: it has no title
        # (its exec replaced its memory, arguments and all), and its
        # age is in the stat that would hang
        r = self.agent.run("status", timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode() if isinstance(r.stdout, bytes) else r.stdout
        self.assertRegex(out, r"agent: front +pid \d+ +up \d+")
        self.assertRegex(out, rf"  \[[^]\n]+\] +pid {pid} +up \? \(no "
                         r"command line: held in execve, or exiting\)\n")
        fuse.let_go()
        self.assert_gone(pid)
        # and the master goes on: it restarts a worker
        self.kill_worker("collector")


class GitMaxSize(PluginTest):
    """[agent] gitmaxsize from the config to gitpull: a repository whose
    files add up to more is never checked out, and says why; the others
    are (tests/unit/test_gitpull_ops.c has the pack limit and updates)."""

    def test_a_repository_over_gitmaxsize_is_not_checked_out(self):
        self.add(NS, "small", METRICS)
        self.add(NS, "zeros", METRICS)
        # 3 MB of zeros: a pack of a few kB
        self.repos.commit(f"{GROUP}/zeros", METRICS,
                          files={"zeros": "\0" * 3_000_000})
        self.start_with(f"{NS}|small", extra="\tgitmaxsize = 1048576\n")
        lst = self.wait_checkout(f"{NS}|zeros", state="failed")
        p = lst[f"{NS}|zeros"]
        self.assertIn("takes 30", p["git_error"])
        self.assertIn(" bytes on disk, over [agent] gitmaxsize (1048576): "
                      "not checked out", p["git_error"])
        self.assertFalse(os.path.exists(os.path.join(self.pd, NS, "zeros")))
        self.assertEqual(lst[f"{NS}|small"]["checkout"], "ok")

    def test_a_small_pack_of_a_huge_object_does_not_take_gits_memory(self):
        # a blob of 400 MB of zeros: a pack of 400 kB, under gitmaxsize,
        # which git inflates in memory to hash it (a ref flood, or the
        # deltas index-pack resolves in as many threads as there are
        # CPUs, take more); the host's memory is not the server's to use
        self.add(NS, "small", METRICS)
        self.add(NS, "huge", METRICS)
        bare = self.repos.bare(f"{GROUP}/huge")
        size = 400_000_000
        zero = bytes(1 << 20)
        h = hashlib.sha1(b"blob %d\0" % size)
        z = zlib.compressobj(1)
        data = [z.compress(b"blob %d\0" % size)]
        for _ in range(size >> 20):
            h.update(zero)
            data.append(z.compress(zero))
        rest = bytes(size - (size >> 20 << 20))
        h.update(rest)
        data += [z.compress(rest), z.flush()]
        oid = h.hexdigest()
        os.makedirs(os.path.join(bare, "objects", oid[:2]), exist_ok=True)
        with open(os.path.join(bare, "objects", oid[:2], oid[2:]),
                  "wb") as f:
            f.write(b"".join(data))
        head = self.repos.head(f"{GROUP}/huge")
        plugin = git("rev-parse", f"{head}:plugin", cwd=bare)
        tree = subprocess.run(
            ["git", "mktree"], cwd=bare, check=True, capture_output=True,
            text=True, input=f"100755 blob {plugin}\tplugin\n"
                             f"100644 blob {oid}\tzeros\n").stdout.strip()
        commit = git("commit-tree", tree, "-p", head, "-m", "zeros",
                     cwd=bare)
        git("update-ref", "refs/heads/release", commit, cwd=bare)
        git("repack", "-adq", cwd=bare)
        open_tree(self.repos.root)
        self.start_with(f"{NS}|small", extra="\tgitmaxsize = 1048576\n")
        lst = self.wait_checkout(f"{NS}|huge", state="failed")
        err = lst[f"{NS}|huge"]["git_error"]
        self.assertIn("git clone of ", err)
        self.assertIn("git ran out of the memory it may take (", err)
        self.assertFalse(os.path.exists(os.path.join(self.pd, NS, "huge")))
        self.assertEqual(lst[f"{NS}|small"]["checkout"], "ok")

    def test_the_repositorys_attributes_do_not_grow_the_checkout(self):
        # the blobs add up to under gitmaxsize, but the tree's own
        # .gitattributes would have checkout write ten times that: each
        # 4-byte $Id$ becomes 47 bytes, each LF a CRLF
        ids = "$Id$" * 20000
        files = {f"id{i}": ids for i in range(11)}
        files["lines"] = "\n" * 20000
        files[".gitattributes"] = ("* ident\n"
                                   "lines text eol=crlf\n")
        self.add(NS, "attrs", METRICS)
        self.repos.commit(f"{GROUP}/attrs", METRICS, files=files)
        self.start_with(f"{NS}|attrs", extra="\tgitmaxsize = 1048576\n")
        co = os.path.join(self.pd, NS, "attrs")
        for name, text in files.items():
            with open(os.path.join(co, name), newline="") as f:
                self.assertEqual(f.read(), text, f"{name}: the blob's bytes")
        used = 0
        for dirpath, dirnames, filenames in os.walk(co):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            for name in filenames:
                used += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
        self.assertLessEqual(used, 1048576)


def forks_plugin(drop):
    # forks until the kernel refuses, says how many it made, and holds
    # them (paused) until the timeout takes the group
    return f"""#!/usr/bin/env python3
import os, signal, sys
kids, why = [], "never refused"
for _ in range(300):
    try:
        pid = os.fork()
    except OSError as e:
        why = e.strerror
        break
    if pid == 0:
        signal.pause()
        os._exit(0)
    kids.append(pid)
print(why, file=sys.stderr, flush=True)
with open("{drop}/forks.tmp", "w") as f:
    f.write(str(len(kids)))
os.rename("{drop}/forks.tmp", "{drop}/forks.made")
signal.pause()
"""


# $1 MiB in one piece
HOG = """#!/usr/bin/env python3
import sys
try:
    b = bytearray(int(sys.argv[1]) << 20)
except MemoryError:
    print("MemoryError", file=sys.stderr)
    sys.exit(3)
print('[{"name":"hog","timestamp":0,"value":%d}]' % (len(b) >> 20))
"""


class Limits(PluginTest):
    """[agent] pluginmaxprocs and pluginmaxmemory: the hard limits of every
    run.  A fork bomb stops at the first, so pluginsuser cannot take the
    host's pids from the agent (which then could not restart a worker)
    or from anyone else.  The other plugins still start meanwhile (the
    scheduler's own limit is not the plugins'), but their own forks fail
    until the bomb's timeout: the count is the user's (README,
    "Sandbox")."""

    @unittest.skipUnless(is_root(), "skipped: needs root")
    def test_a_fork_bomb_stops_at_pluginmaxprocs(self):
        # plugins as an account of their own (lp, which nothing else here
        # runs as): the limit counts every task of pluginsuser on the
        # host, and nobody's are those of every agent the other tests
        # run at once, which took all 40 under a loaded make check
        self.agent.write_conf(pluginsuser="lp")
        self.add(NS, "forks", forks_plugin(self.drop))
        self.add(NS, "version", version_plugin(7))
        self.start_with(f"{NS}|forks", f"{NS}|version",
                        extra="\tpluginmaxprocs = 40\n")
        bomb = self.in_thread(lambda: self.run_plugin(NS, "forks",
                                                      timeout=4))
        made = self.read_pid("forks.made")
        # 40 counts every task of lp: the scheduler's too
        self.assertGreater(made, 0)
        self.assertLess(made, 40)
        # while the bomb holds its processes, another plugin still starts
        body = self.run_plugin_ok(NS, "version")
        self.assertEqual((body["status"], body["points"]), ("ok", 1), body)
        # the bomb ends with its timeout, its processes with its group
        st, body = bomb()
        self.assertEqual(st, 200, body)
        self.assertEqual((body["timed_out"], body["signal"]),
                         (True, signal.SIGTERM), body)
        self.assertEqual(body["stderr"], "Resource temporarily "
                                         "unavailable\n", body)
        self.assert_no_strays()

    @unittest.skipUnless(is_root(), "skipped: needs root")
    def test_plugins_run_nicer_than_the_agent(self):
        # a plugin that spins must not take the CPU the agent's own
        # processes need: pluginnice (10 by default) nicer than the
        # scheduler, which it cannot undo
        self.add(NS, "nice", NICE)
        self.start_with(f"{NS}|nice")
        sched = self.agent.worker(self.agent.status(), "scheduler")["pid"]
        with open(f"/proc/{sched}/stat") as f:
            base = int(f.read().rsplit(")", 1)[1].split()[16])
        body = self.run_plugin_ok(NS, "nice")
        self.assertIn(f'"value":"{min(base + 10, 19)}-kept"',
                      body["output_head"], body)
        self.configure(extra="\tpluginnice = 0\n")
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        body = self.run_plugin_ok(NS, "nice")
        self.assertIn(f'"value":"{base}-', body["output_head"], body)

    def test_a_plugin_over_pluginmaxmemory_fails_to_allocate(self):
        self.add(NS, "hog", HOG)
        self.start_with(f"{NS}|hog", extra="\tpluginmaxmemory = 67108864\n")
        body = self.run_plugin_ok(NS, "hog", param="16")
        self.assertEqual((body["status"], body["points"]), ("ok", 1), body)
        body = self.run_plugin_ok(NS, "hog", param="128")
        self.assertEqual((body["status"], body["exit"], body["stderr"]),
                         ("failed", 3, "MemoryError\n"), body)


# A plugin that says its nice value, and whether it could make itself
# less nice again ("back" when it could, "kept" when refused).
NICE = ("#!/bin/sh\n"
        "n=$(cut -d' ' -f19 /proc/self/stat)\n"
        "r=none; command -v renice >/dev/null && { renice -n -5 -p $$ "
        ">/dev/null 2>&1 && r=back || r=kept; }\n"
        "printf '[{\"name\":\"nice\",\"timestamp\":0,\"tags\":{},"
        "\"value\":\"%s-%s\"}]\\n' $n $r\n")


def marker_vandal(ns):
    """A plugin that tries what the markers' directory let every plugin
    do while it was pluginsuser's: disable another plugin, enable one
    the operator disabled, put the directory aside.  Its cwd is
    pluginsdir/<ns>/<project>.  The value says, per attempt, 1 refused,
    0 done."""
    return ("#!/bin/sh\n"
            "d=../../plugin.disabled\n"
            f"(: > \"$d/{ns}|victim\") 2>/dev/null && a=0 || a=1\n"
            f"rm -f \"$d/{ns}|held\" 2>/dev/null && b=0 || b=1\n"
            "mv \"$d\" \"$d.aside\" 2>/dev/null && c=0 || c=1\n"
            "printf '[{\"name\":\"refused\",\"timestamp\":0,"
            "\"tags\":{},\"value\":\"%s%s%s\"}]\\n' $a $b $c\n")


def api_caller(port, ns, repo):
    """A plugin that asks the agent's API, over loopback TCP, to disable
    another plugin, and reads /plugins/list: the value is the status of
    the first and whether the list came redacted ("403-1" when refused)."""
    q = urllib.parse.urlencode({"ns": ns, "repo": repo})
    base = f"http://127.0.0.1:{port}"
    return ("#!/bin/sh\n"
            f"c=$(/usr/bin/curl -s -o /dev/null -w '%{{http_code}}' "
            f"'{base}/plugins/disable?{q}')\n"
            f"r=$(/usr/bin/curl -s '{base}/plugins/list' | "
            "grep -c '\"redacted\":true')\n"
            "printf '[{\"name\":\"api\",\"timestamp\":0,\"tags\":{},"
            "\"value\":\"%s-%s\"}]\\n' \"$c\" \"$r\"\n")


class Markers(PluginTest):
    """Disable markers are gitpull's (`user`) to write: a plugin, which
    runs as pluginsuser as the scheduler does, can neither disable
    another plugin nor enable one the operator disabled."""

    def test_a_plugin_cannot_write_the_markers(self):
        needs_root(self)
        # plugins as an account of their own, as README advises
        self.agent.write_conf(pluginsuser="daemon")
        daemon = pwd.getpwnam("daemon")
        for p in ("victim", "held"):
            self.add(NS, p, METRICS)
        self.add(NS, "vandal", marker_vandal(NS))
        self.add(NS, "caller", api_caller(self.agent.port, NS,
                                          self.git_of("victim")))
        # an older agent's directory, pluginsuser's, with an operator's
        # disable in it: taken over, the disable kept
        os.makedirs(self.pd, mode=0o755, exist_ok=True)
        os.chown(self.pd, nobody_uid(), -1)
        md = os.path.join(self.pd, "plugin.disabled")
        os.mkdir(md, 0o755)
        held = os.path.join(md, f"{NS}|held")
        with open(held, "w"):
            pass
        for path in (md, held):
            os.chown(path, daemon.pw_uid, daemon.pw_gid)
        lst = self.start_with(f"{NS}|victim", f"{NS}|held", f"{NS}|vandal")
        self.agent.wait_log(r"plugin\.disabled was \[agent\] pluginsuser's "
                            r"\(an older agent made it so\): now \[agent\] "
                            r"user's")
        self.assertEqual(os.stat(md).st_uid, nobody_uid())
        self.assertEqual((lst[f"{NS}|victim"]["enabled"],
                          lst[f"{NS}|held"]["enabled"]), (True, False))

        body = self.run_plugin_ok(NS, "vandal")
        self.assertEqual(body["status"], "ok", body)
        self.assertIn('"value":"111"', body["output_head"],
                      "the plugin wrote in the markers' directory")
        self.assertFalse(os.path.exists(os.path.join(md, f"{NS}|victim")))
        self.assertTrue(os.path.exists(held))
        # nor through the API on loopback: its socket is pluginsuser's
        body = self.run_plugin_ok(NS, "caller")
        self.assertIn('"value":"403-1"', body["output_head"],
                      "a plugin changed plugins through the API")
        self.agent.wait_log(r"/plugins/disable from 127\.0\.0\.1 refused: "
                            r"a process of \[agent\] user or pluginsuser")
        self.assertTrue(self.listed()[f"{NS}|victim"]["enabled"])

        # the API still does both, through gitpull, as `user`
        st, _, body = self.call("disable", NS, "victim")
        self.assertEqual((st, body["enabled"]), (200, False), body)
        victim = os.path.join(md, f"{NS}|victim")
        self.assertEqual(os.stat(victim).st_uid, nobody_uid())
        st, _, body = self.call("enable", NS, "held")
        self.assertEqual((st, body["enabled"]), (200, True), body)
        self.assertFalse(os.path.exists(held))
        # and what a restart reads is what the API said
        self.assertEqual(self.agent.stop().returncode, 0)
        self.start_ok()
        lst = self.wait_checkout(f"{NS}|victim", f"{NS}|held")
        self.assertEqual((lst[f"{NS}|victim"]["enabled"],
                          lst[f"{NS}|held"]["enabled"]), (False, True))
        self.assert_no_strays()


class ManyLongNames(PluginTest):
    """A registry of many plugins with the longest names it may give: the
    scheduler's samples (four per plugin and a histogram, the names as
    labels) take more than a frame to the master carries."""

    # as many bytes of names as 800 of a namespace of 127 bytes and
    # projects of 255 made before gitpull's file names bounded a project
    # (ITEM_PROJECT_MAX, and 254 bytes with its namespace)
    N = 1200

    def long_items(self, prefix):
        """N plugins, their namespace and projects as long as the
        registry may give them (254 bytes of both, items.h); the
        projects' names begin with prefix."""
        ns = "a" * 63 + "." + "b" * 63
        self.items = {ns: [
            {"_id": f"id-{i}", "measurement_type": "PLUGIN",
             "name": f"PLUGIN.{i}",
             "git": f"git@git.test.local:{GROUP}/{prefix}{i:04d}"
                    + "p" * (254 - len(ns) - 4 - len(prefix)) + ".git",
             "interval": "0"} for i in range(self.N)]}

    def start_long_items(self):
        self.long_items("")
        self.write_registry()
        self.configure()
        self.start_ok()
        self.agent.wait_serving()
        self.wait_listed(lambda lst: len(lst) == self.N,
                         f"{self.N} plugins listed")

    def wait_scheduler_stats(self):
        def sched():
            return self.agent.worker(self.agent.status(), "scheduler")
        wait_until(lambda: sched()["stats"].get("plugins") == self.N,
                   what=f"the scheduler's stats: {self.N} plugins")

    def scheduler_metrics(self):
        """/metrics once the scheduler's stats count every plugin: the
        scheduler's own samples are there, and more than a hundred
        plugins' run counters; the page and those counters' lines."""
        self.wait_scheduler_stats()
        code, page = self.agent.http("/metrics")
        self.assertEqual(code, 200)
        self.assertIn('agent_points_received_total{source="plugin"} 0',
                      page)
        runs = [ln for ln in page.splitlines()
                if ln.startswith("agent_plugin_runs_total{")]
        self.assertGreater(len(runs), 4 * 100)
        return page, runs

    def test_the_schedulers_figures_still_reach_metrics_and_status(self):
        n = self.N
        self.start_long_items()
        # the scheduler's own samples come first, then as many plugins'
        # as fit; the page stays lint-clean
        page, runs = self.scheduler_metrics()
        self.assertLess(len(runs), 4 * n)
        tool = shutil.which("promtool")
        if tool is not None:
            r = subprocess.run([tool, "check", "metrics"], input=page,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        # the cut is said (with any total: the first warning may count
        # fewer samples, an encode made before every plugin's were in,
        # and the next is 10 s later); unless the 800 failed clones'
        # lines had the scheduler over its log budget by then, which
        # the master says (a loaded ASan run does)
        self.agent.wait_log(r"scheduler\[\d+\]: stats_encode_fit: \d+ of "
                            r"\d+ samples left out of the counters sent "
                            r"to the master|scheduler\[\d+\] logs over "
                            r"its role's budget")

    def test_a_dead_schedulers_counters_do_not_crowd_out_the_rest(self):
        # the counters of a killed scheduler's plugins stay (rate() must
        # not see a reset), and the registry names others since: the
        # master's table then holds both, more than a frame to the front
        n = self.N
        self.start_long_items()
        wait_until(lambda: 'agent_plugin_runs_total{ns="' in
                   self.agent.http("/metrics")[1], what="plugin samples")
        self.kill_worker("scheduler")
        self.long_items("b")
        self.write_registry()
        self.refresh()
        self.wait_listed(lambda lst: all(k.split("|")[1].startswith("b")
                                         for k in lst) and len(lst) == n,
                         "the new plugins listed")
        self.scheduler_metrics()
        self.agent.wait_log(r"status_fit: the samples of some of scheduler "
                            r"left out of the status to front")


class HostileRepoText(PluginTest):
    """What git says of a hostile repository lands in last_error."""

    def test_status_is_utf8_json_whatever_git_said(self):
        self.add(NS, "evil", "#!/bin/sh\n")
        hostile_tree(self.repos.bare(f"{GROUP}/evil"), b"ev\xff\xc0\xafil")
        self.start_with()
        self.wait_checkout(f"{NS}|evil", state="failed")

        def raw_status():
            r = subprocess.run(["curl", "-sS", "--max-time", "10",
                                "--unix-socket", self.agent.values["socket"],
                                "http://agent/me/status"],
                               capture_output=True, timeout=30, check=True)
            return r.stdout

        def said():
            body = raw_status()
            return body if b"invalid path" in body else None
        body = wait_until(said, what="git's error in /me/status")
        st = json.loads(body.decode("utf-8"))   # strict: UTF-8 or raise
        notes = {w["role"]: w.get("stats", {}).get("last_error")
                 for w in st["workers"]}
        self.assertIn("ev\ufffd\ufffd\ufffdil/.git/config",
                      notes["gitpull"])


class RefreshErrorText(PluginTest):
    """What a registry says lands in /update's error."""

    def test_update_502_names_the_error_whatever_its_bytes(self):
        self.add(NS, "ok", "#!/bin/sh\necho '[]'\n")
        self.start_with(f"{NS}|ok")
        # a namespace the error quotes cut at 64 bytes, inside a
        # character
        bad = "a" + "\u00e9" * 40
        self.write_registry(raw=json.dumps({"ns": {bad: 5},
                                            "resources": {}}))
        body = self.refresh(want=502)
        self.assertIn("the uuid of", body["error"])
        self.assertIn("a" + "\u00e9" * 31 + "\ufffd", body["error"])
        self.assertEqual(body["namespaces"], [NS])


def leaser_plugin(drop):
    """A plugin that makes a file of its own (pluginsuser's: a copy of
    /bin/sh) and takes a write lease on it, then holds it until told
    ({drop}/done) or 60 s.  The kernel makes any open of a leased file
    wait until the holder lets go, or lease-break-time (45 s) passes.
    It writes the errno of F_SETLEASE (0: it holds one) to
    {drop}/leased, and says it as a point."""
    return f"""#!/usr/bin/python3
import fcntl, os, shutil, signal, time
# a break is told by SIGIO, whose default action would end us
signal.signal(signal.SIGIO, signal.SIG_IGN)
p = "{drop}/interp"
shutil.copy("/bin/sh", p + ".tmp")
os.chmod(p + ".tmp", 0o755)
os.rename(p + ".tmp", p)
fd = os.open(p, os.O_RDONLY)
try:
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)
    e = 0
except OSError as err:
    e = err.errno
with open("{drop}/leased.tmp", "w") as f:
    f.write(str(e))
os.rename("{drop}/leased.tmp", "{drop}/leased")
for _ in range(600 if e == 0 else 0):
    if os.path.exists("{drop}/done"):
        break
    time.sleep(0.1)
print('[{{"name":"lease","timestamp":0,"value":%d}}]' % e, flush=True)
"""


class Leases(PluginTest):
    """A plugin's exec happens while the scheduler waits for it (child.c:
    clone with CLONE_VFORK), and the plugin chooses what that exec opens:
    its interpreter (`#!`), or an ELF's PT_INTERP.  A file pluginsuser
    owns may be leased by pluginsuser, and an open of a leased file
    waits until the lease is let go or broken (lease-break-time, 45 s
    by default): the scheduler, with every other plugin, the API's
    /plugins/* and the scheduled runs, would wait that long, again at
    every run of such a plugin.  The filter plugins inherit refuses
    F_SETLEASE."""

    def test_a_plugin_cannot_hold_the_scheduler_in_an_exec(self):
        needs_root(self)
        # plugins as an account of their own, as README advises
        self.agent.write_conf(pluginsuser="daemon")
        self.add(NS, "leaser", leaser_plugin(self.drop))
        self.add(NS, "leased", f"#!{self.drop}/interp\n"
                 "echo '[{\"name\":\"ran\",\"timestamp\":0,\"value\":1}]'\n")
        self.add(NS, "version", version_plugin(7))
        self.start_with(f"{NS}|leaser", f"{NS}|leased", f"{NS}|version")
        done = os.path.join(self.drop, "done")
        leaser = self.in_thread(lambda: self.run_plugin(NS, "leaser",
                                                        timeout=120))
        try:
            path = os.path.join(self.drop, "leased")
            wait_until(lambda: os.path.exists(path), what="the lease")
            with open(path) as f:
                leased = int(f.read())
            # its exec opens the interpreter the leaser holds
            other = self.in_thread(lambda: self.run_plugin(NS, "leased",
                                                           timeout=10))
            time.sleep(1)
            t0 = time.monotonic()
            st, body = self.run_plugin(NS, "version")
            took = time.monotonic() - t0
        finally:
            with open(done, "w"):
                pass
        self.assertEqual(st, 200, body)
        self.assertLess(took, 10, "another plugin's run waited for the "
                        "lease on what a plugin's exec opened")
        self.assertEqual((body["status"], body["points"]), ("ok", 1), body)
        self.assertEqual(leased, errno.EPERM, "a plugin took a lease")
        st, body = other()
        self.assertEqual((st, body["status"], body["points"]),
                         (200, "ok", 1), body)
        st, body = leaser()
        self.assertEqual((st, body["status"]), (200, "ok"), body)
        self.assert_no_strays()


# leaves N sleeps behind, each in a session of its own (a background job
# of sh is not a group leader, so setsid(1) does not fork), then ends
# Each child is left behind only once it has its own session: one still
# in the run's group when the run ends goes with the group's SIGKILL, and
# the master, finding it dying, rightly says nothing of it (under the
# load of make check, all 100 could be).
STRAYS = """#!/bin/sh
i=0
pids=
while [ $i -lt 100 ]; do setsid sleep 120 & pids="$pids $!"; i=$((i + 1)); done
for p in $pids; do
    n=0
    while read -r _ _ _ _ _ sid _ < /proc/$p/stat && [ "$sid" != "$p" ] &&
        [ $n -lt 1000 ]; do
        sleep 0.01
        n=$((n + 1))
    done
done
echo '[]'
"""


class Strays(PluginTest):
    """What a plugin leaves behind is the master's to kill, and the master
    logs it: a line each, root's, in the log directory, for as many as a
    plugin cares to leave at every run (pluginmaxprocs of them), filled
    the disk of the log at a plugin's will.  One line per 10 s, saying
    how many."""

    def test_a_plugins_leftovers_do_not_flood_the_log(self):
        self.add(NS, "strays", STRAYS)
        self.start_with(f"{NS}|strays")
        body = self.run_plugin_ok(NS, "strays")
        self.assertEqual(body["status"], "ok", body)
        self.assert_no_strays()
        said = re.findall(r"killing process \d+ \(sleep\) left behind by "
                          r"a worker", self.agent.log_text())
        self.assertGreater(len(said), 0)
        self.assertLessEqual(len(said), 3, "a line per leftover")
        # the second run's are counted in the line after 10 s
        body = self.run_plugin_ok(NS, "strays")
        self.assert_no_strays()
        time.sleep(10)
        body = self.run_plugin_ok(NS, "strays")
        self.assert_no_strays()
        self.agent.wait_log(r"left behind by a worker, and 0 under it "
                            r"\(\d+ more since the last such line\)")


class BasicAuthGit(QuietServer):
    """Git's dumb HTTP protocol over `root`, behind HTTP Basic
    authentication unless `user` is None (the [agent] git template
    carries the credentials).  A request whose path holds `stall` waits
    until release is set (a server that trickles, or a black hole)."""

    def __init__(self, root, user, password, delay=0.0, stall=None):
        import base64
        want = None if user is None else "Basic " + base64.b64encode(
            f"{user}:{password}".encode()).decode()
        self.requests = 0
        self.denied = 0
        self.stalled = 0
        self.release = threading.Event()
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                srv.requests += 1
                if want is not None and \
                        self.headers.get("Authorization") != want:
                    srv.denied += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate",
                                     'Basic realm="plugins"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                time.sleep(delay)
                if stall is not None and stall in self.path:
                    srv.stalled += 1
                    srv.release.wait(120)
                    self.send_error(404)
                    return
                path = os.path.normpath(os.path.join(
                    root, urllib.parse.urlparse(self.path).path.lstrip("/")))
                if not path.startswith(root + "/") or \
                        not os.path.isfile(path):
                    self.send_error(404)
                    return
                with open(path, "rb") as f:
                    data = f.read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.serve(H)


# what a plugin of any repository may read, as pluginsuser: every file
# of pluginsdir and every process's command line
SNOOP = """#!/bin/sh
grep -rls 's3cre[t]' ../.. >&2
for p in /proc/[0-9]*; do
    { tr '\\0' ' ' < $p/cmdline; } 2>/dev/null | grep -s 's3cre[t]' >&2
done
echo '[]'
"""


class GitCredentials(PluginTest):
    """The credentials of the [agent] git template are the agent's: a
    plugin (code of whoever can push to any plugin repository) must not
    find them in a checkout or on git's command line."""

    def test_a_plugin_cannot_read_the_templates_credentials(self):
        needs_root(self)
        self.add(NS, "snoop", SNOOP)
        self.add(NS, "slow", METRICS)
        for repo in ("snoop", "slow"):
            git("update-server-info", cwd=self.repos.bare(f"{GROUP}/{repo}"))
        srv = BasicAuthGit(os.path.realpath(self.repos.root), "agentbot",
                           "s3cret", delay=0.05)
        self.addCleanup(srv.close)
        tmpl = f"http://agentbot:s3cret@127.0.0.1:{srv.server_port}/%s.git"
        seen = []
        stop = threading.Event()

        def watch():
            # what any local user reads: /proc/<pid>/cmdline of git
            while not stop.is_set():
                for pid in pids():
                    try:
                        with open(f"/proc/{pid}/cmdline", "rb") as f:
                            cmd = f.read()
                    except OSError:
                        continue
                    if b"s3cret" in cmd:
                        seen.append(cmd.replace(b"\0", b" ").decode(
                            errors="replace"))
                time.sleep(0.005)
        t = threading.Thread(target=watch, daemon=True)
        t.start()
        self.addCleanup(stop.set)
        self.write_registry()
        self.agent.write_conf(
            agent_extra=f'\tregistryaddr = "file://{self.regfile}"\n'
                        f'\tgit = "{tmpl}"\n',
            output_name="nsq",
            servers=f'"tcp://{self.nsqd.tcp_address}"')
        self.start_ok()
        self.agent.wait_serving()
        self.wait_checkout(f"{NS}|snoop", f"{NS}|slow")
        # the server asked, and the agent answered with the template's
        self.assertGreater(srv.denied, 0)
        # an update fetches with them too
        st, _, body = self.call("update", NS, "slow")
        self.assertEqual(st, 200, body)
        stop.set()
        t.join()
        body = self.run_plugin_ok(NS, "snoop")
        self.assertEqual((seen[:1], body["stderr"]), ([], ""),
                         "the credentials of the [agent] git template on a "
                         "command line, or in files a plugin can read")
        # nor does the log hold them
        self.assertNotIn("s3cret", self.agent.log_text())

        # a checkout an older agent cloned holds them in its origin: the
        # next check takes them out, and clones nothing anew
        co = os.path.join(self.pd, NS, "slow")
        cfg = os.path.join(co, ".git", "config")
        bare = f"http://127.0.0.1:{srv.server_port}/{GROUP}/slow.git"
        with open(cfg) as f:
            text = f.read()
        self.assertIn(f"url = {bare}\n", text)
        with open(cfg, "w") as f:      # in place: its owner stays
            f.write(text.replace(bare, tmpl % f"{GROUP}/slow"))
        ino = os.stat(co).st_ino
        self.run_plugin_ok(NS, "slow")
        self.agent.wait_log(r"pool.loda/slow: the user and password of "
                            r"http://127.0.0.1:\d+/plugins/slow.git taken "
                            r"out of the checkout's .git/config")
        with open(cfg) as f:
            self.assertEqual(f.read(), text)
        self.assertEqual(os.stat(co).st_ino, ino)
        self.assertNotIn("s3cret", self.agent.log_text())


class GitQueue(PluginTest):
    """gitpull runs two git operations at a time: the registry's new
    plugins of a server that answers slowly (or trickles on purpose) must
    not hold /plugins/run and /plugins/update of the others."""

    def test_a_run_does_not_wait_behind_the_registrys_slow_clones(self):
        self.add(NS, "fast", version_plugin(1))
        git("update-server-info", cwd=self.repos.bare(f"{GROUP}/fast"))
        srv = BasicAuthGit(os.path.realpath(self.repos.root), None, None,
                           stall="/slow")
        self.addCleanup(srv.close)
        self.write_registry()
        self.agent.write_conf(
            agent_extra=f'\tregistryaddr = "file://{self.regfile}"\n'
                        f'\tgit = "http://127.0.0.1:{srv.server_port}'
                        f'/%s.git"\n\tgittimeout = 100\n',
            output_name="nsq",
            servers=f'"tcp://{self.nsqd.tcp_address}"')
        self.start_ok()
        self.agent.wait_serving()
        self.wait_checkout(f"{NS}|fast")
        # the registry lists six plugins of the slow server
        for i in range(6):
            self.add(NS_B, f"slow{i}", version_plugin(2))
        self.write_registry()
        self.refresh()
        wait_until(lambda: srv.stalled >= 2, timeout=20,
                   what="both git slots held")
        t0 = time.monotonic()
        st, body = self.run_plugin(NS, "fast")
        took = time.monotonic() - t0
        self.assertEqual(st, 200, body)
        self.assertLess(took, 10, "/plugins/run waited for the slow clones")
        self.assertIn('"value":1', body["output_head"])
        st, _, body = self.call("update", NS, "fast")
        self.assertEqual(st, 200, body)
        self.assertLess(time.monotonic() - t0, 20)
        self.assertEqual(srv.stalled, 2, "a third slow clone started")
        srv.release.set()


class DiskReserve(PluginTest):
    """gitmaxsize bounds one checkout, not how many: a registry listing a
    plugin in many namespaces (and others at the next refresh, the old
    checkouts staying) filled the file system pluginsdir shares with the
    host.  Clones and fetches stop short of its last 5 %."""

    def test_many_namespaces_of_a_plugin_do_not_fill_the_disk(self):
        needs_root(self)
        pd = self.agent.values["pluginsdir"]
        os.makedirs(pd, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0755",
                        "tmpfs", pd], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", pd])
        # 2 MB that do not compress: a checkout takes twice that
        self.repos.create(f"{GROUP}/fat", version_plugin(1),
                          files={"blob": os.urandom(1 << 20).hex()})
        spaces = [f"n{i}.loda" for i in range(40)]
        for ns in spaces:
            self.add(ns, "fat", version_plugin(1))
        self.start_with(extra="\tgitmaxsize = 4194304\n")
        lst = self.wait_listed(
            lambda lst: all(lst.get(f"{ns}|fat", {}).get("checkout") in
                            ("ok", "failed") for ns in spaces),
            "every namespace's clone over")
        errors = [lst[f"{ns}|fat"]["git_error"] for ns in spaces]
        self.assertEqual([e for e in errors if "No space left" in e], [],
                         "the file system was filled")
        ok = [ns for ns in spaces if lst[f"{ns}|fat"]["checkout"] == "ok"]
        self.assertGreater(len(ok), 4)
        refused = [e for e in errors if "bytes free, under twice [agent] "
                   "gitmaxsize and 5 % of it" in e]
        self.assertGreater(len(refused), 0, errors)
        st = os.statvfs(pd)
        self.assertGreater(st.f_bavail * st.f_frsize, 64 << 20 >> 5)
