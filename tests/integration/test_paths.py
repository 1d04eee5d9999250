"""The master trusts no path an unprivileged user can change (issue 10).

Each test does what a hostile local user would: `nobody` is the attacker
(it is also the agent's `user` and `pluginsuser` here, so it owns
pluginsdir as a compromised worker or plugin would), and what it plants
points at a root-only file or directory the test made.  Directories like
/tmp are stood in for by a root-owned 01777 directory under the test's
own temp dir.
"""
import json
import os
import signal
import stat
import subprocess
import sys
import time
import unittest

from harness import AgentTest, is_root, nobody_uid, wait_until

NS = "pool.loda"


def as_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(nobody_uid())


def attacker(script, *args, wait=True):
    """Run python `script` as nobody: the hostile local user."""
    # the Debian python3 (make deps): one nobody can execute
    cmd = ["/usr/bin/python3", "-I", "-c", script, *[str(a) for a in args]]
    if not wait:
        return subprocess.Popen(cmd, preexec_fn=as_nobody, cwd="/",
                                stdout=subprocess.PIPE, text=True)
    r = subprocess.run(cmd, preexec_fn=as_nobody, cwd="/",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"attacker failed: {r.stderr}"
    return r


def root_only_file(path, content=b"root's own data\n"):
    with open(path, "wb") as f:
        f.write(content)
    os.chmod(path, 0o600)
    return content


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def public_dir(path):
    """Like /tmp: root's, world-writable, sticky."""
    os.makedirs(path)
    os.chmod(path, 0o1777)
    return path


def file_points(path):
    pts = []
    try:
        with open(path) as f:
            for line in f:
                pts.extend(json.loads(line)["points"])
    except FileNotFoundError:
        pass
    return pts


@unittest.skipUnless(is_root(), "skipped: needs root")
class Paths(AgentTest):

    # -- finding 1: the marker directory ----------------------------------
    def test_symlinked_marker_dir_is_replaced_on_reload_and_start(self):
        """A compromised worker (uid nobody, the owner of pluginsdir)
        swaps the scheduler's marker directory for a link to a root-only
        directory: the master neither follows it nor gives up over it
        (refusing let that user keep the agent from ever starting or
        reloading): it removes the link, never what it points to, and
        makes the directory again."""
        a = self.agent
        self.start_ok()
        pd = a.values["pluginsdir"]
        marker = os.path.join(pd, "plugin.disabled")
        secret = os.path.join(a.dir, "secret")
        os.mkdir(secret, 0o700)
        os.chmod(secret, 0o700)
        swap = ("import os, sys\n"
                "d = os.path.join(sys.argv[1], 'plugin.disabled')\n"
                "os.rename(d, d + '.old%d' % os.getpid())\n"
                "os.symlink(sys.argv[2], d)\n")
        attacker(swap, pd, secret)
        os.kill(a.master_pid(), signal.SIGHUP)
        a.wait_log(r"config generation 2 loaded")
        a.wait_log(rf"{marker} was a symbolic link \(uid \d+\), not a "
                   r"directory: removed, made again")
        self.assertTrue(stat.S_ISDIR(os.lstat(marker).st_mode))
        self.assertEqual(os.stat(marker).st_uid, nobody_uid())
        st = os.stat(secret)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o700))
        # `agent reload` says so, and goes ahead
        attacker(swap, pd, secret)
        r = a.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        a.wait_log(r"config generation 3 loaded")
        # and a start with it in place starts, the link replaced
        self.assertEqual(a.stop().returncode, 0)
        attacker(swap, pd, secret)
        self.start_ok()
        self.assertTrue(stat.S_ISDIR(os.lstat(marker).st_mode))
        st = os.stat(secret)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o700))

    def test_config_another_user_could_write_is_refused(self):
        """The config decides what root runs (pluginsuser = root and
        allowrootplugins, among others): one another user owns, or
        anyone may write, is refused, as sshd refuses such files."""
        a = self.agent
        os.chown(a.conf, nobody_uid(), 0)
        r = a.start()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"{a.conf}: the file is owned by uid {nobody_uid()}:"
                      " it must be root's", r.stderr)
        os.chown(a.conf, 0, 0)
        os.chmod(a.conf, 0o666)
        r = a.run("check")
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("the file is writable by group or others (mode 666)",
                      r.stderr)
        os.chmod(a.conf, 0o644)
        os.chmod(a.dir, 0o777)
        r = a.start()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("its directory is writable by group or others",
                      r.stderr)
        os.chmod(a.dir, 0o755)
        self.start_ok()
        # a reload finds it changed: refused, the running config kept
        os.chmod(a.conf, 0o666)
        os.kill(a.master_pid(), signal.SIGHUP)
        a.wait_log(r"reload failed, keeping config generation 1: .*the "
                   r"file is writable by group or others")
        os.chmod(a.conf, 0o644)

    # -- finding 2: the log file and the pidfile --------------------------
    def test_log_dir_made_by_another_user_is_refused(self):
        a = self.agent
        pub = public_dir(os.path.join(a.dir, "pub"))
        victim = os.path.join(a.dir, "victim")
        before = root_only_file(victim)
        # the seed's logdir is /tmp/agent/log: nobody makes it first
        attacker("import os, sys\n"
                 "d = os.path.join(sys.argv[1], 'agent')\n"
                 "os.makedirs(d + '/log')\n"
                 "os.chmod(d, 0o755)\n"
                 "os.symlink(sys.argv[2], d + '/log/agent.log')\n",
                 pub, victim)
        logdir = os.path.join(pub, "agent", "log")
        a.write_conf(logdir=logdir)
        r = a.start()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"[log] logdir {logdir}: unsafe directory "
                      f"{pub}/agent (owner nobody, mode 0755): not owned by "
                      "root", r.stderr)
        self.assertEqual(file_bytes(victim), before)
        self.assertFalse(os.path.exists(a.values["pidfile"]))
        r = a.run("check")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"[log] logdir {logdir}: unsafe directory", r.stderr)

    def test_pidfile_dir_of_another_user_is_refused(self):
        a = self.agent
        pub = public_dir(os.path.join(a.dir, "pub"))
        victim = os.path.join(a.dir, "victim")
        before = root_only_file(victim)
        attacker("import os, sys\n"
                 "d = os.path.join(sys.argv[1], 'run')\n"
                 "os.mkdir(d)\n"
                 "os.chmod(d, 0o755)\n"
                 "os.symlink(sys.argv[2], d + '/agent.pid')\n", pub, victim)
        pidfile = os.path.join(pub, "run", "agent.pid")
        a.write_conf(pidfile=pidfile)
        r = a.start()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"[agent] pidfile {pidfile}: unsafe directory "
                      f"{pub}/run (owner nobody, mode 0755)", r.stderr)
        self.assertEqual(file_bytes(victim), before)

    def test_pidfile_planted_as_a_link_in_a_sticky_dir_is_refused(self):
        a = self.agent
        pub = public_dir(os.path.join(a.dir, "pub"))
        victim = os.path.join(a.dir, "victim")
        before = root_only_file(victim)
        attacker("import os, sys\n"
                 "os.symlink(sys.argv[2], sys.argv[1] + '/agent.pid')\n",
                 pub, victim)
        pidfile = os.path.join(pub, "agent.pid")
        a.write_conf(pidfile=pidfile)
        r = a.start()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"[agent] pidfile {pidfile}: unsafe file {pidfile} "
                      "(owner nobody, mode 0777): a symbolic link", r.stderr)
        self.assertEqual(file_bytes(victim), before)
        # nor does `stop` read a pid from it
        r = a.stop()
        self.assertEqual(r.returncode, 1)
        self.assertIn("a symbolic link", r.stderr)

    # nobody opens the pidfile when told to ("open" on stdin: it says
    # "open" or "denied"), then flocks it when told ("lock": "held")
    LOCK_HOLDER = (
        "import fcntl, sys\n"
        "sys.stdin.readline()\n"
        "try:\n"
        "    f = open(sys.argv[1])\n"
        "except PermissionError:\n"
        "    print('denied', flush=True)\n"
        "    sys.exit(0)\n"
        "print('open', flush=True)\n"
        "sys.stdin.readline()\n"
        "fcntl.flock(f, fcntl.LOCK_EX)\n"
        "print('held', flush=True)\n"
        "sys.stdin.readline()\n")

    def lock_holder(self, pidfile):
        p = subprocess.Popen(["/usr/bin/python3", "-I", "-c",
                              self.LOCK_HOLDER, pidfile],
                             preexec_fn=as_nobody, cwd="/",
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p

    def tell(self, p, what):
        p.stdin.write(what + "\n")
        p.stdin.flush()
        return p.stdout.readline().strip()

    def crash_then_stop(self, holder, opened):
        """The master dies without its cleanup (kill -9, the OOM killer)
        and its pid goes to another root process: `stop` must leave that
        one alone, and the agent must start again."""
        a = self.agent
        pidfile = a.values["pidfile"]
        master = a.master_pid()
        if opened:
            holder.stdin.write("lock\n")
            holder.stdin.flush()
        os.kill(master, signal.SIGKILL)
        wait_until(lambda: not os.path.exists(f"/proc/{master}"),
                   what="master gone")
        if opened:
            self.assertEqual(holder.stdout.readline().strip(), "held")
        victim = subprocess.Popen(["sleep", "300"])
        self.addCleanup(lambda: victim.poll() is None and victim.kill())
        with open(pidfile, "w") as f:
            f.write(f"{victim.pid}\n")
        r = a.stop("-t", "2")
        self.assertIsNone(victim.poll(), f"stop signalled pid {victim.pid}:"
                          f" {r.stdout}{r.stderr}")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("removed stale pidfile", r.stdout)
        self.start_ok()
        self.assertEqual(a.stop().returncode, 0)
        self.assertIsNone(victim.poll())

    def test_the_pidfile_is_no_lock_another_user_can_hold(self):
        """flock(2) needs only an open file: with the pidfile 0644, nobody
        opened it and waited in flock; once the master died without
        removing it the lock was nobody's, and `agent stop` sent SIGTERM
        to the pid in it (by then anyone's) while `agent start` said
        "already running"."""
        a = self.agent
        self.start_ok()
        mode = stat.S_IMODE(os.stat(a.values["pidfile"]).st_mode)
        holder = self.lock_holder(a.values["pidfile"])
        opened = self.tell(holder, "open") == "open"
        self.crash_then_stop(holder, opened)
        self.assertFalse(opened, "nobody opened the pidfile")
        self.assertEqual(mode, 0o600)

    def test_a_stale_pidfile_others_could_open_is_made_again(self):
        """An older agent's pidfile (0644), left by a crash: nobody holds
        it open before the agent starts, to lock it once the agent is
        gone.  The master makes a new file instead of locking that one."""
        a = self.agent
        pidfile = a.values["pidfile"]
        with open(pidfile, "w") as f:
            f.write("999999\n")
        os.chmod(pidfile, 0o644)
        holder = self.lock_holder(pidfile)
        self.assertEqual(self.tell(holder, "open"), "open")
        self.start_ok()
        self.assertIn("stale pidfile", a.log_text())
        mode = stat.S_IMODE(os.stat(pidfile).st_mode)
        self.crash_then_stop(holder, True)
        self.assertEqual(mode, 0o600)

    def test_a_lock_on_an_older_agents_pidfile_is_not_the_agent(self):
        """An older agent's pidfile (0644) left by a crash, its pid since
        given to another root process, and nobody holding its lock: `stop`
        sent that process SIGTERM, `status` called it the agent and
        `start` said "already running".  The lock is the agent's only when
        the pid named holds the file."""
        a = self.agent
        pidfile = a.values["pidfile"]
        victim = subprocess.Popen(["sleep", "300"])
        self.addCleanup(lambda: victim.poll() is None and victim.kill())
        with open(pidfile, "w") as f:
            f.write(f"{victim.pid}\n")
        os.chmod(pidfile, 0o644)
        holder = self.lock_holder(pidfile)
        self.assertEqual(self.tell(holder, "open"), "open")
        self.assertEqual(self.tell(holder, "lock"), "held")
        r = a.stop("-t", "2")
        self.assertIsNone(victim.poll(), f"stop signalled pid {victim.pid}:"
                          f" {r.stdout}{r.stderr}")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"pid {victim.pid}, which it names, does not hold it",
                      r.stderr)
        r = a.run("status")
        self.assertNotIn("agent is running", r.stdout)
        self.start_ok()
        self.assertEqual(stat.S_IMODE(os.stat(pidfile).st_mode), 0o600)
        r = a.run("status")
        self.assertIn("agent is running", r.stdout)
        self.assertEqual(a.stop().returncode, 0)
        self.assertIsNone(victim.poll())

    def test_a_worker_directory_holding_the_masters_is_refused(self):
        """pluginsdir = logdir gave the log directory to `user` (nobody),
        who removed agent.log: the master wrote on into the unlinked file,
        SIGUSR1 and SIGHUP made no new one, and the next start was
        refused.  start, check and reload refuse such a config."""
        a = self.agent
        logdir = a.values["logdir"]
        a.write_conf(pluginsdir=logdir)
        r = a.start()
        if r.returncode == 0:
            attacker("import os, sys\n"
                     "os.unlink(sys.argv[1] + '/agent.log')\n", logdir)
            os.kill(a.master_pid(), signal.SIGUSR1)
            os.kill(a.master_pid(), signal.SIGHUP)
            time.sleep(1)
        self.assertEqual(r.returncode, 2,
                         f"started; agent.log now: "
                         f"{os.path.exists(logdir + '/agent.log')}")
        self.assertIn(f"[agent] pluginsdir {logdir} holds [log] logdir "
                      f"{logdir}: it is given to [agent] user", r.stderr)
        self.assertFalse(os.path.exists(logdir))
        # the pidfile's directory inside the spool, the unix socket's
        # directory as the spool
        spool = os.path.join(a.dir, "spool")
        a.write_conf(pluginsdir=os.path.join(a.dir, "plugins"),
                     pidfile=os.path.join(spool, "run", "agent.pid"))
        r = a.run("check")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"[output] spool {spool} holds [agent] pidfile "
                      f"{spool}/run/agent.pid", r.stderr)
        a.write_conf(pidfile=os.path.join(a.dir, "agent.pid"),
                     socket=os.path.join(spool, "agent.sock"))
        r = a.run("check")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"[output] spool {spool} holds [agent] socket",
                      r.stderr)
        # a reload naming such a config is refused, the running one kept
        a.write_conf(socket=os.path.join(a.dir, "agent.sock"))
        self.start_ok()
        a.write_conf(pluginsdir=logdir)
        os.kill(a.master_pid(), signal.SIGHUP)
        a.wait_log(r"reload failed, keeping config generation 1: "
                   r"\[agent\] pluginsdir \S+ holds \[log\] logdir")
        self.assertEqual(os.stat(logdir).st_uid, 0)
        # below its own directory, the spool is fine
        a.write_conf(pluginsdir=os.path.join(a.dir, "plugins"),
                     spool=os.path.join(logdir, "spool"))
        r = a.run("check")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_worker_directory_holding_the_config_is_refused(self):
        """pluginsdir = the config file's directory gave it to `user`:
        from then on the config failed its checks, so reload was refused,
        `agent stop` could not read it (exit 2) and the next start was
        refused; and `user` could remove or replace it."""
        a = self.agent
        etc = os.path.join(a.dir, "etc")
        os.mkdir(etc, 0o755)
        conf = os.path.join(etc, "agent.conf")
        a.write_conf(pluginsdir=etc)
        os.rename(a.conf, conf)
        a.conf = conf
        r = a.start()
        if r.returncode == 0:
            r = a.stop()
            self.fail(f"started; etc now uid {os.stat(etc).st_uid}; agent "
                      f"stop: {r.returncode} {r.stderr}")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"[agent] pluginsdir {etc} holds the config file "
                      f"{conf}", r.stderr)
        self.assertEqual(os.stat(etc).st_uid, 0)
        r = a.run("check")
        self.assertEqual(r.returncode, 2, r.stderr)

    # -- the file output --------------------------------------------------
    def file_agent(self, path):
        self.agent.write_conf(agent_extra=f'\tnamespaces = [ "{NS}" ]\n',
                              output_name="file",
                              output_extra=f'\tpath = "{path}"\n')

    def post(self, name, value):
        code, body = self.agent.http("/post", method="POST",
                                     data=json.dumps([{"name": name,
                                                       "value": value}]))
        self.assertEqual(code, 200, body)

    def test_file_output_in_a_root_directory_rotates_on_sigusr1(self):
        a = self.agent
        out = os.path.join(a.dir, "out")
        os.mkdir(out)
        os.chmod(out, 0o755)
        path = os.path.join(out, "points.jsonl")
        self.file_agent(path)
        self.start_ok()
        self.post("a", 1)
        wait_until(lambda: len(file_points(path)) == 1,
                   what="the first point in the file")
        st = os.stat(path)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o640))
        # logrotate: move it away, then SIGUSR1 for a new one
        os.rename(path, path + ".1")
        os.kill(a.master_pid(), signal.SIGUSR1)
        a.wait_log(r"output file .*points\.jsonl reopened")
        self.post("b", 2)
        wait_until(lambda: len(file_points(path)) == 1,
                   what="the second point in a new file")
        self.assertEqual(file_points(path)[0]["measurement"], "RUN.b")
        self.assertEqual(len(file_points(path + ".1")), 1)
        # a reload to another path: the master opens that one
        other = os.path.join(out, "other.jsonl")
        self.file_agent(other)
        os.kill(a.master_pid(), signal.SIGHUP)
        a.wait_log(r"reload: config generation 2 acknowledged")
        self.post("c", 3)
        wait_until(lambda: len(file_points(other)) == 1,
                   what="the third point in the new path")
        self.assertEqual(len(file_points(path)), 1)

    def test_file_output_planted_as_a_link_is_refused(self):
        a = self.agent
        pub = public_dir(os.path.join(a.dir, "pub"))
        victim = os.path.join(a.dir, "victim")
        before = root_only_file(victim)
        path = os.path.join(pub, "points.jsonl")
        attacker("import os, sys\nos.symlink(sys.argv[2], sys.argv[1])\n",
                 path, victim)
        self.file_agent(path)
        r = a.start()
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"[output] path {path}: unsafe file {path}", r.stderr)
        self.assertEqual(file_bytes(victim), before)

    # -- a word beside the pidfile: the outcome of a reload ---------------
    def test_a_reload_outcome_planted_beside_the_pidfile_is_not_told(self):
        """With the pidfile in a sticky directory (allowed: others may add
        names there, not take ours), nobody plants `agent.pid.reload`
        before the first reload, and rewrites it.  The master would not
        write through it, and `agent reload` read it as the master's
        word: a refused reload was told "applied" (exit 0, systemctl
        reload too), with nobody's bytes on root's terminal.  `agent
        reload` now reads only the master's file, and the master takes
        the name back."""
        import socket
        a = self.agent
        pub = public_dir(os.path.join(a.dir, "pub"))
        pidfile = os.path.join(pub, "agent.pid")
        a.write_conf(pidfile=pidfile)
        self.start_ok()
        liar = attacker(
            "import os, sys, time\n"
            "p = sys.argv[1] + '.reload'\n"
            "def put(n):\n"
            "    with open(p + '.new', 'w') as f:\n"
            "        f.write('1:%d applied 7: every worker\\x1b]0;owned'\n"
            "                '\\x07\\n' % n)\n"
            "    os.rename(p + '.new', p)\n"
            "put(0)\n"
            "print('ready', flush=True)\n"
            "end = time.monotonic() + 20\n"
            "n = 1\n"
            "while time.monotonic() < end:\n"
            "    time.sleep(0.05)\n"
            "    try:\n"
            "        put(n)\n"
            "    except PermissionError:\n"
            "        break\n"
            "    n += 1\n", pidfile, wait=False)
        self.addCleanup(lambda: liar.poll() is None and liar.kill())
        self.assertEqual(liar.stdout.readline().strip(), "ready")
        # a reload the master refuses: its port is taken
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        self.addCleanup(s.close)
        taken = s.getsockname()[1]
        a.write_conf(listen=f"127.0.0.1:{taken}")
        r = a.run("reload")
        out = r.stdout + r.stderr
        liar.kill()
        liar.wait()
        a.wait_log(r"reload failed, keeping config generation 1: "
                   rf"cannot listen on 127.0.0.1:{taken}")
        self.assertEqual(r.returncode, 1, out)
        self.assertNotIn("applied", out)
        for c in ("\x1b", "\x07"):
            self.assertNotIn(c, out)
        # the master took its name back, and the answer is its own
        self.assertIn(f"agent: reload refused: cannot listen on "
                      f"127.0.0.1:{taken}", out)
        a.wait_log(rf"{pidfile}\.reload was not the master's \(a file of "
                   rf"uid {nobody_uid()}\): removed, made again")
        self.assertEqual(os.stat(pidfile + ".reload").st_uid, 0)

    # -- finding 7: stop -m clean -----------------------------------------
    def test_stop_clean_with_a_directory_swapped_mid_walk(self):
        a = self.agent
        n = 5000
        outside = os.path.join(a.dir, "outside")
        os.mkdir(outside)
        for i in range(n):
            with open(os.path.join(outside, f"f{i}"), "w") as f:
                f.write("keep\n")
        pd = a.values["pluginsdir"]
        os.mkdir(pd)
        os.chown(pd, nobody_uid(), 65534)
        # the checkouts are the attacker's, as gitpull made them
        attacker("import os, sys\n"
                 "d = os.path.join(sys.argv[1], 'ns')\n"
                 "os.mkdir(d)\n"
                 "for i in range(int(sys.argv[2])):\n"
                 "    open(os.path.join(d, 'f%d' % i), 'w').close()\n",
                 pd, n)
        # it waits for the walk to start emptying `ns`, then swaps it
        racer = attacker(
            "import os, sys, time\n"
            "d = os.path.join(sys.argv[1], 'ns')\n"
            "n = len(os.listdir(d))\n"
            "print('ready', flush=True)\n"
            "end = time.monotonic() + 60\n"
            "try:\n"
            "    while len(os.listdir(d)) >= n and time.monotonic() < end:\n"
            "        pass\n"
            "    os.rename(d, d + '.gone')\n"
            "    os.symlink(sys.argv[2], d)\n"
            "    print('swapped', flush=True)\n"
            "except OSError as e:\n"
            "    print('late', e, flush=True)\n", pd, outside, wait=False)
        self.addCleanup(lambda: racer.poll() is None and racer.kill())
        self.assertEqual(racer.stdout.readline().strip(), "ready")
        a.stop("-m", "clean")
        racer.wait(timeout=60)
        print(f"racer: {racer.stdout.read().strip()}", file=sys.stderr)
        left = sorted(os.listdir(outside))
        self.assertEqual(len(left), n,
                         f"{n - len(left)} files outside pluginsdir gone")
        for name in left:
            self.assertEqual(file_bytes(os.path.join(outside, name)),
                             b"keep\n")

    def test_stop_clean_failures_named_by_the_tree_are_escaped(self):
        """pluginsdir is nobody's, and so are the names in it.  What
        `stop -m clean` cannot remove it names on root's terminal: with
        one failure escaped, with more ("... (and N more)") as it was.
        nobody makes a removal fail by writing into a directory as the
        walk empties it (ENOTEMPTY, a race); mounts stand in for that
        here, which fail every time."""
        a = self.agent
        pd = a.values["pluginsdir"]
        os.mkdir(pd)
        os.chown(pd, nobody_uid(), 65534)
        evil = "x\x1b[2J\x1b]0;owned\x07"
        attacker("import os, sys\n"
                 "for n in ('1', '2'):\n"
                 "    os.mkdir(os.path.join(sys.argv[1], n + sys.argv[2]))\n",
                 pd, evil)
        for n in ("1", "2"):
            d = os.path.join(pd, n + evil)
            subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k",
                            "none", d], check=True)
            self.addCleanup(subprocess.run, ["umount", "-l", d])
        r = a.stop("-m", "clean")
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("another file system is mounted there", out)
        self.assertIn("(and 1 more)", out)
        for c in ("\x1b", "\x07"):
            self.assertNotIn(c, out)

    # -- finding 7: a worker's last warning on the terminal ---------------
    def test_start_failure_text_from_a_worker_is_escaped(self):
        # A chroot others can write to (sticky, so the master's rules let
        # it through) is refused by the front, which quotes the config
        # value; the value holds terminal escape sequences.
        a = self.agent
        jail = os.path.join(a.dir, "jail\x1b[2J\x1b]0;owned\x07")
        public_dir(jail)
        a.write_conf(chroot=jail)
        r = a.start()
        self.assertNotEqual(r.returncode, 0)
        out = r.stdout + r.stderr
        for c in ("\x1b", "\x07"):
            self.assertNotIn(c, out)
        self.assertIn("jail\\x1b[2J\\x1b]0;owned\\x07", r.stderr)
        self.assertIn("worker front", r.stderr)
