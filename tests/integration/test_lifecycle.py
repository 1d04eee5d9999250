"""Start, status, stop, double start, stale pidfile, foreground mode, log
rotation."""
import http.client
import os
import pwd
import re
import signal
import subprocess
import time

from harness import (AgentTest, ROLES, needs_root, proc_alive,
                     wait_until)

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                      r"(DEBUG|INFO|WARN|ERROR) [a-z]+\[\d+\]: .*\n$")


class Lifecycle(AgentTest):

    def test_daemon_start_serves_tcp_and_unix_then_stops_clean(self):
        r = self.start_ok()
        self.assertIn("started", r.stdout)
        master = self.agent.master_pid()
        self.assertTrue(proc_alive(master))
        st = self.agent.status()
        self.assertEqual(st["pid"], master)
        self.assertEqual(sorted(w["role"] for w in st["workers"]),
                         sorted(ROLES))
        for w in st["workers"]:
            self.assertEqual(w["state"], "running", w)
            self.assertGreater(w["pid"], 0)
            self.assertEqual(w["restarts"], 0)
            self.assertIsNone(w["last_exit"])
        st_unix = self.agent.status(unix=True)
        self.assertEqual(st_unix["pid"], master)
        mode = os.stat(self.agent.values["socket"]).st_mode & 0o777
        self.assertEqual(mode, 0o660)
        code, body = self.agent.http("/healthz")
        self.assertEqual((code, body), (200, '{"status":"ok"}'))

        pids = [master] + [w["pid"] for w in st["workers"]]
        r = self.agent.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("stopped", r.stdout)
        self.assertFalse(os.path.exists(self.agent.values["pidfile"]))
        self.assertFalse(os.path.exists(self.agent.values["socket"]))
        wait_until(lambda: not any(proc_alive(p) for p in pids),
                   timeout=5, what="every agent process to be gone")
        self.assertIn("agent stopped", self.agent.log_text())

    def test_status_command_lists_workers(self):
        self.start_ok()
        r = self.agent.run("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"pid {self.agent.master_pid()}", r.stdout)
        for role in ROLES:
            self.assertIn(f"agent: {role}", r.stdout)
        self.agent.stop()
        r = self.agent.run("status")
        self.assertEqual(r.returncode, 3)
        self.assertIn("not running", r.stdout)

    def test_the_configs_warnings_at_start_reach_the_log(self):
        # said at start before the log opened (its path is in the
        # config): on the terminal that started it, and in agent.log,
        # once; they were in agent.log only when a reload said them
        self.agent.write_conf(agent_extra="\tfrobnicate = 1\n")
        r = self.start_ok()
        warning = r"unknown key \[agent\] frobnicate ignored"
        self.assertRegex(r.stderr, warning)
        log = self.agent.log_text()
        self.assertEqual(len(re.findall(
            r"WARN master\[\d+\]: conf_warn: .*" + warning, log)), 1, log)

    def test_double_start_is_refused(self):
        self.start_ok()
        master = self.agent.master_pid()
        r = self.agent.start()
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"already running (pid {master}", r.stderr)
        self.assertEqual(self.agent.master_pid(), master)
        self.agent.status()

    def test_stale_pidfile_is_replaced(self):
        dead = subprocess.Popen(["true"])
        dead.wait()
        with open(self.agent.values["pidfile"], "w") as f:
            f.write(f"{dead.pid}\n")
        self.start_ok()
        self.assertNotEqual(self.agent.master_pid(), dead.pid)
        self.assertRegex(self.agent.log_text(),
                         rf"stale pidfile .*pid {dead.pid}")

    def test_stop_with_stale_pidfile(self):
        with open(self.agent.values["pidfile"], "w") as f:
            f.write("999999\n")
        r = self.agent.stop()
        self.assertEqual(r.returncode, 0)
        self.assertIn("stale pidfile", r.stdout)
        self.assertFalse(os.path.exists(self.agent.values["pidfile"]))

    def test_stop_when_not_running(self):
        r = self.agent.stop()
        self.assertEqual(r.returncode, 0)
        self.assertIn("not running", r.stdout)

    def test_foreground_logs_to_stderr_and_stops_on_sigterm(self):
        p = self.agent.start_fg()
        st = self.agent.wait_serving()
        pids = [w["pid"] for w in st["workers"]]
        self.assertEqual(st["pid"], p.pid)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("started", err)
        self.assertIn("SIGTERM received", err)
        self.assertFalse(os.path.exists(self.agent.values["pidfile"]))
        wait_until(lambda: not any(proc_alive(x) for x in pids), timeout=5,
                   what="workers to exit")

    def test_stops_on_sigterm_though_started_with_it_blocked(self):
        # a launcher that blocks TERM and INT passes its mask on (as
        # this thread does to the agent it starts); the master must
        # still hear them
        old = signal.pthread_sigmask(signal.SIG_BLOCK,
                                     {signal.SIGTERM, signal.SIGINT})
        try:
            p = self.agent.start_fg()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        self.agent.wait_serving()
        with open(f"/proc/{p.pid}/status") as f:
            blk = [ln for ln in f if ln.startswith("SigBlk:")][0]
        self.assertEqual(int(blk.split()[1], 16) & (1 << (15 - 1)), 0, blk)
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0)

    def test_a_reload_asked_while_it_starts_is_done_once_up(self):
        # the file changed after the master read it, and SIGHUP came
        # before every worker was up: it was ignored ("still starting")
        # and the agent ran the old file until the next reload
        pidfile = self.agent.values["pidfile"]
        p = self.agent.start_fg()
        wait_until(lambda: os.path.exists(pidfile) or p.poll() is not None,
                   step=0.0005, what="the pidfile")
        self.agent.write_conf(loglevel="INFO")

        def catches_hup():
            with open(f"/proc/{p.pid}/status") as f:
                cgt = [ln for ln in f if ln.startswith("SigCgt:")][0]
            return int(cgt.split()[1], 16) & (1 << (signal.SIGHUP - 1))
        wait_until(catches_hup, step=0.0005, what="the SIGHUP handler")
        os.kill(p.pid, signal.SIGHUP)
        self.agent.wait_serving()
        # (a SIGHUP after the start is a plain reload: generation 2 too)
        wait_until(lambda: self.agent.status()["generation"] == 2,
                   what="config generation 2")
        self.agent.wait_log(r"reload: config generation 2 acknowledged")
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)

    def test_foreground_sigint(self):
        p = self.agent.start_fg()
        self.agent.wait_serving()
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0)

    def test_start_fails_when_port_taken(self):
        import socket
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.agent.port))
        s.listen(1)
        self.addCleanup(s.close)
        r = self.agent.start()
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"cannot listen on 127.0.0.1:{self.agent.port}",
                      r.stderr)
        self.assertIn("Address already in use", r.stderr)
        self.assertFalse(os.path.exists(self.agent.values["pidfile"]))

    def test_a_port_taken_by_a_local_user_names_the_user(self):
        """Any local user may listen on the API's port (above 1023) before
        the agent starts: the error names who holds it, as an operator
        needs to, by uid and pid."""
        needs_root(self)
        nobody = pwd.getpwnam("nobody").pw_uid

        def as_nobody():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(nobody)
        script = ("import socket, time\n"
                  "s = socket.socket()\n"
                  "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                  f"s.bind(('127.0.0.1', {self.agent.port}))\n"
                  "s.listen(1)\n"
                  "print('ready', flush=True)\n"
                  "time.sleep(120)\n")
        # the Debian python3 (make deps): one nobody can execute
        squatter = subprocess.Popen(["/usr/bin/python3", "-I", "-c", script],
                                    stdout=subprocess.PIPE, text=True,
                                    preexec_fn=as_nobody, cwd="/")
        self.addCleanup(squatter.wait, 10)
        self.addCleanup(squatter.kill)
        self.assertEqual(squatter.stdout.readline().strip(), "ready")
        r = self.agent.start()
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"cannot listen on 127.0.0.1:{self.agent.port}: "
                      f"Address already in use, held by uid {nobody}, pid "
                      f"{squatter.pid} (python3)", r.stderr)

    def test_start_fails_on_invalid_config(self):
        self.agent.write_conf(loglevel="LOUD")
        r = self.agent.start()
        self.assertEqual(r.returncode, 2)
        self.assertIn("[log] loglevel", r.stderr)
        self.assertIn("LOUD", r.stderr)

    def test_start_fails_when_chroot_is_a_file(self):
        # the chroot path is a file: refused with the other path checks,
        # before anything is made (exit 2: the configuration)
        path = os.path.join(self.agent.dir, "notadir")
        with open(path, "w") as f:
            f.write("x")
        self.agent.write_conf(chroot=path)
        r = self.agent.start()
        self.assertEqual(r.returncode, 2)
        self.assertIn(f"[agent] chroot {path}: {path} is not a directory",
                      r.stderr)
        self.assertFalse(os.path.exists(self.agent.values["pidfile"]))

    def test_stop_clean_removes_plugins(self):
        self.start_ok()
        d = os.path.join(self.agent.values["pluginsdir"], "pool.loda", "x")
        os.makedirs(d)
        with open(os.path.join(d, "plugin"), "w") as f:
            f.write("#!/bin/sh\n")
        r = self.agent.stop("-m", "clean")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.isdir(self.agent.values["pluginsdir"]))
        self.assertEqual(os.listdir(self.agent.values["pluginsdir"]), [])

    def test_sigusr1_reopens_the_log(self):
        self.start_ok()
        log = os.path.join(self.agent.values["logdir"], "agent.log")
        os.rename(log, log + ".moved")
        os.kill(self.agent.master_pid(), signal.SIGUSR1)
        wait_until(lambda: os.path.exists(log), timeout=10,
                   what="agent.log to be recreated")
        self.agent.wait_log("log file reopened")


class LogRotation(AgentTest):
    """logrotatesize and logrotatenum through the real binary: the front
    logs each request (loglevel DEBUG); 300 numbered requests make a few
    rotations of 4096 bytes."""

    overrides = {"logrotatesize": 4096, "logrotatenum": 2}

    def test_rotates_at_the_size_and_keeps_the_number(self):
        self.start_ok()
        self.agent.wait_serving()
        c = http.client.HTTPConnection("127.0.0.1", self.agent.port,
                                       timeout=10)
        try:
            for i in range(300):
                c.request("GET", f"/rot-{i}")
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 404)
        finally:
            c.close()
        logdir = self.agent.values["logdir"]

        def snapshot():
            out = {}
            for name in sorted(os.listdir(logdir)):
                with open(os.path.join(logdir, name)) as f:
                    out[name] = f.read()
            return out

        # every request and the connection's end logged, and the files
        # read while no rotation moved them (two reads alike)
        def settled():
            a = snapshot()
            text = "".join(a.values())
            return ("GET /rot-299 -> 404" in text and
                    re.search(r"rot-299 -> 404.*\n(.*\n)*.*: closed\n",
                              "".join(a[k] for k in sorted(a)[::-1])) and
                    a == snapshot() and a)
        files = wait_until(settled, what="the last request logged")
        self.assertEqual(sorted(files),
                         ["agent.log", "agent.log.1", "agent.log.2"])
        seqs = {}
        for name in ("agent.log.2", "agent.log.1", "agent.log"):
            lines = files[name].splitlines(keepends=True)
            self.assertLessEqual(len(files[name]), 4096, name)
            self.assertTrue(lines, name)
            for line in lines:                  # whole lines only
                self.assertRegex(line, LOG_LINE, name)
            seqs[name] = [int(m) for m in re.findall(
                r"GET /rot-(\d+) -> ", files[name])]
        # oldest to newest: .2, .1, the current file; each in order, each
        # request once, and the oldest dropped (only two rotated kept)
        got = seqs["agent.log.2"] + seqs["agent.log.1"] + seqs["agent.log"]
        self.assertEqual(got, list(range(got[0], 300)), seqs)
        self.assertGreater(got[0], 0, "nothing was dropped")
        for name in ("agent.log.2", "agent.log.1"):
            self.assertTrue(seqs[name], f"{name} holds no request")
