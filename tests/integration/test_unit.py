"""contrib/agent.service: systemd-analyze verify accepts it, and its
exposure score (systemd-analyze security --offline) stays at most 3.7,
as Debian's chrony unit (a root daemon that drops privileges) scores.
contrib/agent.logrotate: logrotate accepts it, and it rotates by
SIGUSR1 without copytruncate.  `make install` makes the agent's two
accounts (contrib/agent.sysusers) and an /etc/agent.conf that uses them."""
import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import AGENT, AgentTest, needs_root

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
UNIT = os.path.join(TOP, "contrib", "agent.service")
LOGROTATE = os.path.join(TOP, "contrib", "agent.logrotate")
SYSUSERS = os.path.join(TOP, "contrib", "agent.sysusers")
SHARED_WARNING = "user and pluginsuser are both"
MAX_EXPOSURE = 3.7


def analyze():
    tool = shutil.which("systemd-analyze")
    if tool is None:
        print("skipped: systemd-analyze missing (Debian package systemd; "
              "make deps installs it)")
        raise unittest.SkipTest("systemd-analyze missing")
    return tool


class Unit(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="agent-unit-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def installed_copy(self):
        """The unit as `make install` would place it: ExecStart pointing
        at the binary under test, the manual pages where man finds them."""
        text = open(UNIT).read()
        self.assertIn("/usr/local/sbin/agent", text)
        text = text.replace("/usr/local/sbin/agent", os.path.abspath(AGENT))
        if shutil.which("man") is None:
            # verify looks the pages up with man(1)
            print("note: man missing: Documentation= not verified")
            text = re.sub(r"^Documentation=.*\n", "", text, flags=re.M)
        path = os.path.join(self.dir, "agent.service")
        with open(path, "w") as f:
            f.write(text)
        for sec, page in (("8", "agent.8"), ("5", "agent.conf.5")):
            d = os.path.join(self.dir, "man", "man" + sec)
            os.makedirs(d, exist_ok=True)
            shutil.copy(os.path.join(TOP, "doc", page), d)
        return path

    def test_verify(self):
        tool = analyze()
        path = self.installed_copy()
        env = dict(os.environ, MANPATH=os.path.join(self.dir, "man"))
        r = subprocess.run([tool, "verify", path], capture_output=True,
                           text=True, timeout=120, env=env, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # verify prints problems it does not count as errors too
        self.assertEqual(r.stdout + r.stderr, "", r.stdout + r.stderr)

    def test_security_exposure(self):
        tool = analyze()
        r = subprocess.run([tool, "security", "--offline=yes",
                            "--no-pager", UNIT], capture_output=True,
                           text=True, timeout=120)
        m = re.search(r"Overall exposure level for agent\.service: "
                      r"([0-9.]+)", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        score = float(m.group(1))
        print(f"exposure {score}")
        self.assertLessEqual(score, MAX_EXPOSURE, r.stdout)

    def test_what_the_agent_needs_is_kept(self):
        # the directives that would break the agent are not there (each
        # is explained in the unit): it must keep root's identity
        # switches and the collector's reading capabilities
        text = open(UNIT).read()
        directives = dict(re.findall(r"^(\w+)=(.*)$", text, re.M))
        self.assertEqual(directives["Type"], "notify")
        self.assertIn("start -F", directives["ExecStart"])
        self.assertNotIn("User", directives)
        caps = directives["CapabilityBoundingSet"].split()
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN",
                    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_DAC_READ_SEARCH",
                    "CAP_SYS_PTRACE", "CAP_SETPCAP"):
            self.assertIn(cap, caps)
        for key in ("MemoryDenyWriteExecute", "PrivateUsers",
                    "PrivateNetwork", "ProcSubset", "IPAddressDeny"):
            self.assertNotIn(key, directives, f"{key}: see the unit")
        self.assertNotEqual(directives.get("ProtectProc"), "invisible")
        self.assertEqual(directives["UMask"], "0027")


    def test_an_invalid_config_is_not_started_again_and_again(self):
        """Restart=on-failure started an agent whose config is invalid
        again every RestartSec, for ever: StartLimitBurst= counts 5
        starts in 10 s, which starts 5 s apart never reach.  The status
        an invalid config exits with is one the unit does not restart;
        any other failure (a crash, the watchdog's SIGABRT) still is."""
        text = open(UNIT).read()
        directives = dict(re.findall(r"^(\w+)=(.*)$", text, re.M))
        conf = os.path.join(self.dir, "agent.conf")
        with open(conf, "w") as f:
            f.write('[agent]\n\tlisten = "127.0.0.1:0x"\n')
        os.chmod(conf, 0o600)
        r = subprocess.run([AGENT, "start", "-F", "-f", conf],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("[agent] listen", r.stderr)
        self.assertEqual(directives["Restart"], "on-failure")
        prevent = directives.get("RestartPreventExitStatus", "").split()
        self.assertEqual(prevent, [str(r.returncode)], r.stderr)
        self.assertNotIn("1", prevent)

    def test_the_runtime_directory_outlives_a_stop(self):
        """The master keeps the spool the sender holds after a failed
        move in <pidfile>.spool, so that an agent stopped and started
        again reads it (test_spool: 3000 points answered 200 in the old
        spool).  The pidfile is in the unit's RuntimeDirectory=, which
        with RuntimeDirectoryPreserve=restart systemd removes at every
        `systemctl stop` (systemd.exec(5): kept only across a restart):
        a stop and a start forgot the old spool and its points."""
        text = open(UNIT).read()
        directives = dict(re.findall(r"^(\w+)=(.*)$", text, re.M))
        self.assertEqual(directives["RuntimeDirectory"], "agent")
        conf = open(os.path.join(TOP, "doc", "agent.conf.5")).read()
        self.assertIn("/run/agent/agent.pid", conf)
        self.assertEqual(directives.get("RuntimeDirectoryPreserve"), "yes")


class InstalledLogLevel(AgentTest):

    def test_the_installed_config_logs_no_line_per_request(self):
        """The installed config kept the seed's loglevel = "DEBUG", with
        its listen = "0.0.0.0:1232": every request, from any address and
        unauthenticated (/healthz), wrote a line to agent.log, up to the
        front's budget of 100 a second.  It says INFO, the default."""
        text = open(os.path.join(TOP, "etc", "agent.conf")).read()
        r = subprocess.run(["sed", "-f", os.path.join(TOP, "contrib",
                                                      "install-conf.sed")],
                           input=text, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r'^\s*loglevel\s*=\s*"([A-Z]+)"', r.stdout, re.M)
        a = self.agent
        a.write_conf(loglevel=m.group(1))
        self.start_ok()
        a.wait_serving()
        for _ in range(20):
            self.assertEqual(a.http("/healthz")[0], 200)
        a.http("/me/status")
        self.assertEqual(a.log_text().count("GET /healthz"), 0,
                         f"loglevel {m.group(1)}")


class Logrotate(AgentTest):

    def snippet(self):
        """The snippet with this agent's paths, and its logrotate.conf."""
        tool = shutil.which("logrotate")
        if tool is None:
            print("skipped: logrotate missing (make deps installs it)")
            self.skipTest("logrotate missing")
        log = os.path.join(self.agent.values["logdir"], "agent.log")
        text = open(LOGROTATE).read().replace(
            "/var/log/agent/agent.log", log).replace(
            "/run/agent/agent.pid", self.agent.values["pidfile"])
        conf = os.path.join(self.agent.dir, "logrotate.conf")
        with open(conf, "w") as f:
            f.write(text)
        return [tool, "--force", "--state",
                os.path.join(self.agent.dir, "lr.state"), conf]

    def test_snippet_signals_no_stale_pid(self):
        """A master killed (kill -9, the OOM killer) leaves its pidfile,
        and its pid goes to another process: the snippet's `kill -USR1
        $(cat pidfile)` ended that process (SIGUSR1's default action) at
        the next rotation.  It signals only a pid whose file is locked."""
        a = self.agent
        cmd = self.snippet()
        self.start_ok()
        master = a.master_pid()
        os.kill(master, 9)
        while os.path.exists(f"/proc/{master}"):
            time.sleep(0.05)
        victim = subprocess.Popen(["sleep", "300"])
        self.addCleanup(lambda: victim.poll() is None and victim.kill())
        with open(a.values["pidfile"], "w") as f:
            f.write(f"{victim.pid}\n")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        time.sleep(0.2)
        self.assertIsNone(victim.poll(), "the snippet signalled pid "
                          f"{victim.pid}, the stale pidfile's")

    def test_signals_while_the_master_starts_do_not_kill_it(self):
        """The master locked the pidfile and wrote its pid there before
        it installed its signal handlers: a SIGUSR1 (the snippet's pkill
        -L -F, which checks only that lock) or a SIGHUP (agent reload,
        which checks the same) in between ended it, SIGUSR1's and
        SIGHUP's default action; 3 to 4 starts of 10 each.  Here each
        start is signalled as soon as the pidfile is locked and names
        the master, as those tools see it."""
        a = self.agent
        pidfile = a.values["pidfile"]
        for sig in (signal.SIGUSR1, signal.SIGHUP) * 8:
            p = a.start_fg()
            sent = 0
            deadline = time.monotonic() + 10
            while sent < 3 and p.poll() is None and \
                    time.monotonic() < deadline:
                try:
                    with open(pidfile) as f:
                        if f.read().strip() != str(p.pid):
                            continue
                        try:
                            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
                            continue    # not locked: pkill -L would not
                        except BlockingIOError:
                            pass
                except FileNotFoundError:
                    continue
                os.kill(p.pid, sig)
                sent += 1
            time.sleep(0.3)
            self.assertIsNone(p.poll(), f"the master ended by {sig.name} "
                              f"during its start: {p.returncode}")
            a.wait_serving()
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(30) in (0, 1), True, p.returncode)
            p.stdout.close()
            p.stderr.close()
            a.fg = None

    def test_reload_of_an_invalid_config_fails(self):
        """ExecReload was `/bin/kill -HUP $MAINPID`: `systemctl reload`
        of a config with an error succeeded (kill exits 0), and only the
        log said the master refused it and kept the old one.  The unit's
        ExecReload, run as systemd would (its $MAINPID the master's),
        fails on it, and the running config stays."""
        text = open(UNIT).read()
        line = re.search(r"^ExecReload=(.*)$", text, re.M).group(1)
        a = self.agent
        self.start_ok()
        a.wait_serving()
        cmd = line.replace("/usr/local/sbin/agent", os.path.abspath(AGENT))
        cmd = cmd.replace("/etc/agent.conf", a.conf)
        cmd = cmd.replace("$MAINPID", str(a.master_pid()))
        a.write_conf(listen="127.0.0.1:99999")
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                           timeout=60)
        self.assertNotEqual(r.returncode, 0, f"{line}: {r.stdout}"
                            f"{r.stderr}")
        self.assertIn("99999", r.stderr)
        self.assertEqual(a.http("/healthz")[0], 200)
        # a valid one is reloaded
        a.write_conf(listen=f"127.0.0.1:{a.port}", loglevel="INFO")
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        a.wait_log(r"config generation 2 acknowledged by every worker")

    def test_snippet_rotates_a_running_agent(self):
        text = open(LOGROTATE).read()
        rules = "\n".join(l for l in text.splitlines()
                          if not l.strip().startswith("#"))
        self.assertNotIn("copytruncate", rules)
        self.assertIn("pkill -USR1 -L -F", rules)
        tool = shutil.which("logrotate")
        if tool is None:
            print("skipped: logrotate missing (make deps installs it)")
            self.skipTest("logrotate missing")
        # the snippet with this agent's paths, forced to rotate now
        log = os.path.join(self.agent.values["logdir"], "agent.log")
        text = text.replace("/var/log/agent/agent.log", log).replace(
            "/run/agent/agent.pid", self.agent.values["pidfile"])
        conf = os.path.join(self.agent.dir, "logrotate.conf")
        with open(conf, "w") as f:
            f.write(text)
        self.start_ok()
        self.agent.wait_serving()
        r = subprocess.run([tool, "--force", "--state",
                            os.path.join(self.agent.dir, "lr.state"), conf],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(log + ".1"))
        # the master reopened: its next lines go to a new agent.log
        self.agent.wait_log(r"SIGUSR1: log file reopened")
        self.assertNotIn("SIGUSR1: log file reopened",
                         open(log + ".1").read())
        self.assertEqual(self.agent.stop().returncode, 0)
        self.assertIn("agent stopped", open(log).read())


class Install(unittest.TestCase):
    """`make install` into a DESTDIR, its accounts made by the real
    systemd-sysusers in a copy of this system's user database, and the
    installed config checked by the agent as root against that database
    (bind-mounted over /etc/passwd and /etc/group in a mount namespace of
    the test's own)."""

    def setUp(self):
        needs_root(self)
        self.tool = shutil.which("systemd-sysusers")
        if self.tool is None:
            print("skipped: systemd-sysusers missing (Debian package "
                  "systemd; make deps installs it)")
            self.skipTest("systemd-sysusers missing")
        self.dir = tempfile.mkdtemp(prefix="agent-install-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def install(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        r = subprocess.run(["make", "-s", "-C", TOP, "install",
                            f"DESTDIR={self.dir}"], capture_output=True,
                           text=True, timeout=300, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def check_as_root(self, conf):
        """`agent check` of conf as root, seeing the DESTDIR's users."""
        etc = os.path.join(self.dir, "etc")
        script = (f"mount --bind {etc}/passwd /etc/passwd && "
                  f"mount --bind {etc}/group /etc/group && "
                  f'exec "$0" check -f "$1"')
        return subprocess.run(["unshare", "-m", "--propagation", "private",
                               "sh", "-c", script, os.path.abspath(AGENT),
                               conf], capture_output=True, text=True,
                              timeout=60)

    def test_install_makes_two_accounts_and_a_config_that_uses_them(self):
        out = self.install()
        etc = os.path.join(self.dir, "etc")
        snippet = os.path.join(etc, "sysusers.d", "agent.conf")
        self.assertEqual(open(snippet).read(), open(SYSUSERS).read())
        # with a DESTDIR the accounts are the target's to make
        self.assertIn("run systemd-sysusers /etc/sysusers.d/agent.conf",
                      out)
        for f in ("passwd", "group", "shadow", "gshadow"):
            if os.path.exists(os.path.join("/etc", f)):
                shutil.copy(os.path.join("/etc", f), etc)
        r = subprocess.run([self.tool, f"--root={self.dir}", snippet],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        users = {}
        for line in open(os.path.join(etc, "passwd")):
            f = line.rstrip("\n").split(":")
            users[f[0]] = f
        for name in ("_agent", "_agentplug"):
            self.assertIn(name, users)
            uid = int(users[name][2])
            # system accounts without a login
            self.assertTrue(0 < uid < 1000, users[name])
            self.assertTrue(users[name][6].endswith("/nologin"),
                            users[name])
        self.assertNotEqual(users["_agent"][2], users["_agentplug"][2])

        conf = os.path.join(etc, "agent.conf")
        text = open(conf).read()
        self.assertIn('\tpluginsuser = "_agentplug"\n', text)
        self.assertIn('\tuser = "_agent"\n', text)
        r = self.check_as_root(conf)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('user = "_agent"', r.stdout)
        self.assertNotIn(SHARED_WARNING, r.stderr)

        # the check can fail: one account for both draws the warning, and
        # the seed's placeholder user exists on no fresh system
        shared = os.path.join(self.dir, "shared.conf")
        with open(shared, "w") as f:
            f.write(text.replace('"_agentplug"', '"_agent"'))
        r = self.check_as_root(shared)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(SHARED_WARNING, r.stderr)
        if "user" not in users:
            r = self.check_as_root(os.path.join(TOP, "etc", "agent.conf"))
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn('pluginsuser = "user": no such user', r.stderr)

    def test_installed_config_logs_where_the_unit_and_logrotate_look(self):
        """The installed config logged to the seed's /tmp/agent/log: under
        the unit's PrivateTmp=yes that is the service's own /tmp, which
        systemd removes at every stop (systemd.exec(5)), so each stop or
        restart lost the log; and the installed logrotate snippet, which
        rotates /var/log/agent/agent.log (the unit's LogsDirectory=),
        never found it."""
        self.install()
        etc = os.path.join(self.dir, "etc")
        text = open(os.path.join(etc, "agent.conf")).read()
        m = re.search(r'^\s*logdir\s*=\s*"([^"]*)"', text, re.M)
        self.assertIsNotNone(m, text)
        logdir = m.group(1)
        self.assertFalse(logdir == "/tmp" or logdir.startswith("/tmp/"),
                         f"logdir {logdir}: the unit's private /tmp")
        unit = open(os.path.join(self.dir, "usr", "local", "lib", "systemd",
                                 "system", "agent.service")).read()
        logs = re.search(r"^LogsDirectory=(\S+)$", unit, re.M).group(1)
        self.assertEqual(logdir, "/var/log/" + logs)
        rotate = open(os.path.join(etc, "logrotate.d", "agent")).read()
        self.assertIn(f"\n{logdir}/agent.log {{\n", rotate)

    def test_installed_config_is_roots_alone(self):
        """/etc/agent.conf was installed 0644: its [agent] token, which
        lets a client on any non-loopback address run, disable and update
        plugins and read their parameters, was readable by every local
        user and by every plugin (pluginsuser), which README says must not
        do any of that."""
        self.install()
        st = os.stat(os.path.join(self.dir, "etc", "agent.conf"))
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600),
                         oct(st.st_mode))
        # as the plugins' user, it cannot be read
        r = subprocess.run(["setpriv", "--reuid", "nobody", "--regid",
                            "nogroup", "--clear-groups", "cat",
                            os.path.join(self.dir, "etc", "agent.conf")],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0, r.stdout)

    def test_a_token_others_can_read_is_warned_about(self):
        """A config kept from before (make install leaves an existing
        one alone) may be 0644: with a token in it, check and start say
        so; they said nothing."""
        self.install()
        etc = os.path.join(self.dir, "etc")
        for f in ("passwd", "group", "shadow", "gshadow"):
            if os.path.exists(os.path.join("/etc", f)):
                shutil.copy(os.path.join("/etc", f), etc)
        r = subprocess.run([self.tool, f"--root={self.dir}",
                            os.path.join(etc, "sysusers.d", "agent.conf")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        conf = os.path.join(etc, "agent.conf")
        text = open(conf).read().replace(
            '\tuser = "_agent"\n',
            '\tuser = "_agent"\n\ttoken = "0123456789abcdef0123"\n')
        with open(conf, "w") as f:
            f.write(text)
        warning = "others can read it, and with it [agent] token"
        r = self.check_as_root(conf)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotIn(warning, r.stderr)
        os.chmod(conf, 0o644)
        r = self.check_as_root(conf)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"{conf}: mode 0644: {warning}", r.stderr)

    def test_uninstall_removes_what_install_made(self):
        """There was no `make uninstall`: "No rule to make target"."""
        etc = os.path.join(self.dir, "etc")
        # an operator's files beside ours stay
        os.makedirs(os.path.join(self.dir, "usr", "local", "sbin"))
        mine = os.path.join(self.dir, "usr", "local", "sbin", "other")
        with open(mine, "w") as f:
            f.write("the operator's\n")
        self.install()
        with open(os.path.join(etc, "agent.conf"), "a") as f:
            f.write("# the operator's change\n")
        before = open(os.path.join(etc, "agent.conf")).read()
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        r = subprocess.run(["make", "-s", "-C", TOP, "uninstall",
                            f"DESTDIR={self.dir}"], capture_output=True,
                           text=True, timeout=120, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        left = sorted(os.path.relpath(os.path.join(d, f), self.dir)
                      for d, _, fs in os.walk(self.dir) for f in fs)
        # the config (the operator's, maybe changed) stays, and is said
        self.assertEqual(left, ["etc/agent.conf", "usr/local/sbin/other"])
        self.assertEqual(open(os.path.join(etc, "agent.conf")).read(),
                         before)
        self.assertIn("/etc/agent.conf", r.stdout)
        # the accounts are left too, and said
        self.assertIn("_agentplug", r.stdout)

    def test_install_and_uninstall_as_root_without_destdir(self):
        """What an operator runs: make install, then make uninstall, as
        root into /, here in a mount namespace of the test's own (/etc an
        overlay whose upper layer shows what changed, /usr/local a
        tmpfs): the accounts made by systemd-sysusers, everything else
        taken away again but the config and the accounts."""
        up = os.path.join(self.dir, "up")
        script = f"""
            mount -n -t tmpfs tmpfs {self.dir}
            mkdir {up} {self.dir}/work
            mount -n -t overlay overlay \\
                -o lowerdir=/etc,upperdir={up},workdir={self.dir}/work /etc
            mount -n -t tmpfs -o mode=0755 tmpfs /usr/local
            make -s -C {TOP} install
            echo INSTALLED
            find /etc/agent.conf /etc/logrotate.d/agent \\
                /etc/sysusers.d/agent.conf /usr/local -type f | sort
            grep '^_agent' /etc/passwd
            make -s -C {TOP} uninstall
            echo UNINSTALLED
            find /usr/local {up} -type f | sort
            stat -c '%a %U' /etc/agent.conf
        """
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        r = subprocess.run(["unshare", "-m", "--propagation", "private",
                            "sh", "-ec", script], capture_output=True,
                           text=True, timeout=300, env=env)
        if "overlay" in r.stderr and r.returncode != 0:
            self.skipTest(f"no overlay mount here: {r.stderr}")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        installed, _, removed = r.stdout.partition("UNINSTALLED\n")
        installed = installed.partition("INSTALLED\n")[2]
        for path in ("/etc/agent.conf", "/etc/logrotate.d/agent",
                     "/etc/sysusers.d/agent.conf", "/usr/local/sbin/agent",
                     "/usr/local/lib/systemd/system/agent.service",
                     "/usr/local/share/man/man8/agent.8",
                     "/usr/local/share/man/man5/agent.conf.5"):
            self.assertIn(path + "\n", installed)
        self.assertRegex(installed, r"(?m)^_agent:x:\d+:")
        self.assertRegex(installed, r"(?m)^_agentplug:x:\d+:")
        left = [l[len(up):] for l in removed.splitlines()
                if l.startswith(up)]
        self.assertNotIn("/usr/local", removed.replace(up, ""))
        # what stays: the config and the accounts (user database files)
        self.assertIn("/agent.conf", left)
        for name in left:
            self.assertTrue(name == "/agent.conf" or name.lstrip("/")
                            .rstrip("-") in ("passwd", "group", "shadow",
                                             "gshadow", ".pwd.lock"),
                            left)
        self.assertIn("600 root", removed)
        self.assertIn("kept /etc/agent.conf", r.stdout)

    def test_uninstall_keeps_a_changed_logrotate_snippet(self):
        self.install()
        snip = os.path.join(self.dir, "etc", "logrotate.d", "agent")
        with open(snip, "a") as f:
            f.write("# the operator's\n")
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        r = subprocess.run(["make", "-s", "-C", TOP, "uninstall",
                            f"DESTDIR={self.dir}"], capture_output=True,
                           text=True, timeout=120, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(snip))

    def test_an_existing_config_is_kept(self):
        etc = os.path.join(self.dir, "etc")
        os.makedirs(etc)
        with open(os.path.join(etc, "agent.conf"), "w") as f:
            f.write("# the operator's\n")
        self.install()
        self.assertEqual(open(os.path.join(etc, "agent.conf")).read(),
                         "# the operator's\n")
