"""SIGHUP with a valid and with an invalid file."""
import errno
import os
import shutil
import signal
import struct
import subprocess
import threading
import time
import unittest

import inject
from harness import AGENT, AgentTest, FuseStall, free_port, needs_root, \
    preload, wait_until


class Reload(AgentTest):

    def test_valid_reload_is_applied_by_every_worker(self):
        self.start_ok()
        st = self.agent.status()
        self.assertEqual(st["generation"], 1)
        pids = {w["role"]: w["pid"] for w in st["workers"]}
        self.agent.write_conf(loglevel="INFO")
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        # it returns once every worker has the new config (systemd 252
        # has no Type=notify-reload: ExecReload= is what it waits for)
        self.assertRegex(r.stdout, r"^reload applied \(pid \d+\): config "
                         r"generation 2: acknowledged by every worker\n$")
        st = self.agent.status()
        self.assertEqual(st["generation"], 2)
        for w in st["workers"]:
            self.assertEqual(w["generation"], 2, w)
        for role in pids:
            self.agent.wait_log(rf"{role} applied config generation 2")
        self.agent.wait_log(r"reload: config generation 2 acknowledged by "
                            r"every worker")
        st = self.agent.status()
        for w in st["workers"]:
            self.assertEqual(w["generation"], 2, w)
        # applied in place: nobody was restarted
        self.assertEqual({w["role"]: w["pid"] for w in st["workers"]}, pids)

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_a_worker_asking_a_respawn_unasked_is_restarted_as_a_crash(self):
        # exit 3 restarts at once only for a config the worker has not
        # acknowledged (supervise.c): a compromised worker exiting so
        # between reloads gets the backoff of any crash, growing
        self.start_ok()
        delays = []
        for i in range(2):
            pid = self.agent.worker(self.agent.status(), "collector")["pid"]
            with self.assertRaises(inject.Dead) as d:
                inject.syscall(pid, "exit_group", 3)
            self.assertEqual(os.WEXITSTATUS(d.exception.status), 3)
            m = self.agent.wait_log(
                rf"worker collector \(pid {pid}\) exited with status 3 "
                r"after [\d.]+ s; restarting in ([\d.]+) s")
            delays.append(float(m.group(1)))
            wait_until(lambda: self.agent.worker(
                self.agent.status(), "collector")["state"] == "running",
                what="the collector back")
        self.assertEqual(delays, [0.1, 0.2])
        self.assertNotRegex(self.agent.log_text(), r"in a new process")

    @staticmethod
    def conf_ack(pid, gen, ok, text):
        """A worker's MSG_CONF_ACK on its control edge (frame.h: a 16-byte
        header; codec.c: tagged u64 generation, u32 ok, str reason)."""
        body = (b"L" + struct.pack("<Q", gen) + b"I" + struct.pack("<I", ok) +
                b"S" + struct.pack("<I", len(text)) + text)
        return struct.pack("<IHHII", 16 + len(body), 8, 0, 0, pid) + body

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_a_compromised_worker_can_fail_a_reload_and_no_more(self):
        # code run in the collector writes acknowledgements of its own
        # on its control edge (descriptor 3): one refusing the reload in
        # progress ends it "unapplied", naming the collector alone, while
        # every other worker runs the new generation; one refusing a
        # generation already over changes nothing; one for a generation
        # the master never made is a broken protocol, and the collector
        # (not the agent) is restarted
        self.start_ok()
        st = self.agent.status()
        pids = {w["role"]: w["pid"] for w in st["workers"]}
        coll = pids["collector"]
        self.assertTrue(os.readlink(f"/proc/{coll}/fd/3").startswith(
            "socket:"))

        # held under ptrace, it cannot acknowledge generation 2 itself
        ack = self.conf_ack(coll, 2, 0, b"forged refusal")
        with inject.held(coll) as h:
            self.agent.write_conf(loglevel="INFO")
            rl = subprocess.Popen([AGENT, "reload", "-f", self.agent.conf],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
            for role in pids:
                if role != "collector":
                    self.agent.wait_log(
                        rf"{role} applied config generation 2")
            self.assertEqual(h.syscall("write", 3, ack, len(ack)), len(ack))
            out, err = rl.communicate(timeout=30)
        self.assertEqual(rl.returncode, 1, out + err)
        self.assertTrue(err.endswith(
            "agent: reload of config generation 2 not applied: collector "
            "cannot apply it (that worker keeps the config it had, the "
            "others run this one; see the log)\n"), err)
        self.agent.wait_log(r"collector cannot apply config generation 2: "
                            r"forged refusal")
        # let go, it reads generation 2 and applies it: still itself
        self.agent.wait_log(r"collector applied config generation 2")
        st = self.agent.status()
        self.assertEqual({w["role"]: w["pid"] for w in st["workers"]}, pids)
        for w in st["workers"]:
            self.assertEqual(w["generation"], 2, w)

        # a refusal of the generation it has, out of any reload: logged
        log = len(self.agent.log_text())
        ack = self.conf_ack(coll, 2, 0, b"late forged refusal")
        self.assertEqual(inject.syscall(coll, "write", 3, ack, len(ack)),
                         len(ack))
        self.agent.wait_log(r"collector cannot apply config generation 2: "
                            r"late forged refusal")
        self.assertEqual(self.agent.worker(self.agent.status(),
                                           "collector")["pid"], coll)
        self.assertEqual(self.agent.http("/healthz")[0], 200)
        self.assertNotRegex(self.agent.log_text()[log:],
                            r"reload|restarting")

        # a generation from the future: the collector is not trusted on
        ack = self.conf_ack(coll, 99, 1, b"")
        try:
            self.assertEqual(inject.syscall(coll, "write", 3, ack,
                                            len(ack)), len(ack))
        except inject.Dead as d:
            # the master read it and killed the collector before the
            # step that wrote it came back to us
            self.assertEqual(d.signal, signal.SIGKILL, d)
        self.agent.wait_log(r"bad CONF_ACK message from collector")
        wait_until(lambda: (lambda w: w["pid"] != coll and
                            w["state"] == "running")(self.agent.worker(
                                self.agent.status(), "collector")),
                   what="a new collector")
        st = self.agent.status()
        self.assertEqual({w["role"]: w["pid"] for w in st["workers"]
                          if w["role"] != "collector"},
                         {r: p for r, p in pids.items() if r != "collector"})
        self.assertEqual(st["generation"], 2)

    @staticmethod
    def spool_inuse(pid, path):
        """The sender's MSG_SPOOL_INUSE (proto.h: number 28): str path."""
        body = b"S" + struct.pack("<I", len(path)) + path
        return struct.pack("<IHHII", 16 + len(body), 28, 0, 0, pid) + body

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_a_compromised_sender_names_no_spool_for_the_next(self):
        # code run in the sender says it holds a spool of its choosing:
        # a directory of root's, the pidfile's, with control characters
        # in its name.  The master writes down (beside the pidfile, as
        # root) and hands a restarted sender only a spool a config named
        # since the start: these are logged, escaped, and nothing else
        self.start_ok()
        a = self.agent
        sender = self.agent.worker(a.status(), "sender")["pid"]
        kept = a.values["pidfile"] + ".spool"
        for path in (b"/etc", os.path.dirname(a.values["pidfile"]).encode(),
                     b"/tmp/x\n\x1b]0;owned\x07"):
            msg = self.spool_inuse(sender, path)
            self.assertEqual(inject.syscall(sender, "write", 3, msg,
                                            len(msg)), len(msg))
        a.wait_log(r"the sender says it holds the spool /etc, which no "
                   r"config named: ignored")
        self.assertFalse(os.path.lexists(kept))
        self.assertNotIn("\x1b", a.log_text())
        os.kill(sender, signal.SIGKILL)
        wait_until(lambda: (lambda w: w["pid"] not in (0, sender) and
                            w["state"] == "running")(a.worker(
                                a.status(), "sender")),
                   what="a new sender")
        self.assertNotIn("its predecessor held", a.log_text())
        self.assertFalse(os.path.lexists(kept))

    def test_a_worker_dying_before_its_ack_ends_the_reload(self):
        # the collector cannot ack (stopped), then dies, and its next
        # process fails at its start (tests/peers/failstart.c): nobody is
        # left to ack, and the reload is over at once, not left without
        # an outcome past the 10 s window (`agent reload` said "no answer
        # in 30 s")
        arm = os.path.join(self.agent.dir, "failstart.arm")
        with open(arm, "w") as f:
            f.write("0")
        preload(self, "failstart", ["FAILSTART_ROLE=collector",
                                    f"FAILSTART_ARM={arm}"])
        self.start_ok()
        pid = self.agent.worker(self.agent.status(), "collector")["pid"]
        os.kill(pid, signal.SIGSTOP)
        with open(arm, "w") as f:
            f.write("1")

        def disarm():
            with open(arm, "w") as f:
                f.write("0")
        self.addCleanup(disarm)
        self.agent.write_conf(loglevel="INFO")
        res = []
        t = threading.Thread(target=lambda: res.append(
            self.agent.run("reload")))
        t.start()
        self.agent.wait_log(r"reload: config generation 2 loaded")
        self.agent.wait_log(r"front applied config generation 2")
        os.kill(pid, signal.SIGKILL)
        t.join(timeout=60)
        self.assertEqual(res[0].returncode, 0, res[0].stderr)
        self.assertIn("config generation 2: acknowledged by every running "
                      "worker (collector restarting, with it)",
                      res[0].stdout)

    def assert_reload_refused(self, why_rx, why):
        """SIGHUP now: refused for `why_rx`, generation 1 kept, every
        worker running; and `agent reload` refuses it naming `why`."""
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(r"reload failed, keeping config generation 1: "
                            + why_rx)
        st = self.agent.status()
        self.assertEqual(st["generation"], 1)
        for w in st["workers"]:
            self.assertEqual(w["state"], "running")
        # the CLI checks the file before signalling
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 2)
        self.assertIn(why, r.stderr)

    def test_invalid_reload_keeps_running_config(self):
        self.start_ok()
        self.agent.write_conf(raw="[agent]\n\tlisten = \"127.0.0.1:0x\"\n")
        self.assert_reload_refused(r".*\[agent\] listen", "[agent] listen")

    def test_a_truncated_file_keeps_running_config(self):
        # what a SIGHUP finds while an editor or `cat >` writes the file
        # in place: empty, which would be every default
        self.start_ok()
        with open(self.agent.conf, "w"):
            pass
        self.assert_reload_refused(r".*: no \[section\] in it \(empty\)",
                                   "no [section] in it (empty)")

    def test_a_name_service_that_does_not_answer_is_bounded(self):
        """getpwnam() at reload waited for the name service as long as
        it let it: an LDAP server down held the master's loop (no worker
        reaped or restarted, no WATCHDOG=1).  Here /etc/passwd, in the
        agent's own mount namespace, becomes a FUSE file whose close
        never ends: the reload fails within seconds, saying why, the
        master answers meanwhile, later reloads fail at once without a
        thread of their own, and once the service answers again a reload
        goes through."""
        needs_root(self)
        a = self.agent
        fuse = FuseStall(os.path.join(a.dir, "fuse"))
        self.addCleanup(fuse.stop)
        passwd = os.path.join(a.dir, "passwd")
        shutil.copy("/etc/passwd", passwd)
        a.in_mount_ns(f"mount --bind {passwd} /etc/passwd")
        self.start_ok()
        master = a.master_pid()

        def in_ns(*cmd):
            subprocess.run(["nsenter", "-t", str(master), "-m", *cmd],
                           check=True, timeout=30)
        in_ns("mount", "--bind", fuse.file, "/etc/passwd")
        self.addCleanup(fuse.let_go)
        t0 = time.monotonic()
        os.kill(master, signal.SIGHUP)
        a.wait_log(r"reload failed, keeping config generation 1: looking "
                   r"up \[agent\] user, pluginsuser and apiusers took "
                   r"more than 3 s: the name service")
        self.assertLess(time.monotonic() - t0, 10)
        st = a.status()
        self.assertEqual(st["generation"], 1)
        for w in st["workers"]:
            self.assertEqual(w["state"], "running")
        # more reloads meanwhile fail at once, and start no lookup of
        # their own: one thread waits for the service, not one a reload
        threads = len(os.listdir(f"/proc/{master}/task"))
        for n in (1, 2):
            t0 = time.monotonic()
            os.kill(master, signal.SIGHUP)
            wait_until(lambda: a.log_text().count(
                "has still not answered the lookup of [agent] user, "
                "pluginsuser and apiusers an earlier reload gave up on")
                == n, what=f"reload {n + 1} refused")
            self.assertLess(time.monotonic() - t0, 2.5)
        self.assertEqual(len(os.listdir(f"/proc/{master}/task")), threads)
        self.assertEqual(a.status()["generation"], 1)
        # the service answers again: the thread ends, a reload goes.
        # A reload that comes before the thread has its answer is still
        # refused (under load that can take a moment): ask again until
        # one goes, each refusal saying the thread is why
        fuse.let_go()
        # lazily: the lookup let go may still hold the file a moment
        in_ns("umount", "-l", "/etc/passwd")
        refusal = ("has still not answered the lookup of [agent] user, "
                   "pluginsuser and apiusers an earlier reload gave up on")
        asked = 0

        def reloaded():
            nonlocal asked
            if a.status()["generation"] >= 2:
                return True
            # the last one refused (or not yet looked at): again
            if a.log_text().count(refusal) >= 2 + asked:
                asked += 1
                os.kill(master, signal.SIGHUP)
            return False
        asked = 1
        os.kill(master, signal.SIGHUP)
        wait_until(reloaded, what="generation 2")
        self.assertEqual(a.status()["generation"], 2)
        self.assertNotIn("reload failed, keeping config generation 1: "
                         "looking up", a.log_text().split(
                             "has still not answered")[-1])

    def test_reload_moves_the_listener(self):
        self.start_ok()
        new_port = free_port()
        self.agent.write_conf(listen=f"127.0.0.1:{new_port}")
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        wait_until(lambda: self.agent.http("/healthz", port=new_port)[0] ==
                   200, what="the new port to serve")
        with self.assertRaises(ConnectionError):
            self.agent.http("/healthz")
        # the unix socket kept serving throughout
        self.assertEqual(self.agent.http("/healthz", unix=True)[0], 200)

    def test_reload_to_a_taken_port_keeps_everything(self):
        import socket
        self.start_ok()
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        self.addCleanup(s.close)
        taken = s.getsockname()[1]
        self.agent.write_conf(listen=f"127.0.0.1:{taken}")
        # the file passes agent reload's own checks; the master refuses
        # it, and agent reload (systemctl reload) says so
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"agent: reload refused: cannot listen on "
                      f"127.0.0.1:{taken}", r.stderr)
        self.assertIn("(config generation 1 runs on; see the log)", r.stderr)
        self.agent.wait_log(r"reload failed, keeping config generation 1: "
                            rf"cannot listen on 127.0.0.1:{taken}")
        self.assertEqual(self.agent.http("/healthz")[0], 200)
        self.assertEqual(self.agent.status()["generation"], 1)

    def test_reload_to_a_name_no_dns_server_answers_is_bounded(self):
        # the master looked the name up on its loop: with a DNS server
        # that takes the query and never answers (timeout:5 attempts:2)
        # it stood still 10 s, a killed worker waiting for its restart
        # (as long, with the defaults, as systemd's WatchdogSec=30)
        import socket
        import time
        if os.geteuid() != 0:
            self.skipTest("skipped: needs root (a mount namespace)")
        # port 53 is the resolver's: an address of the loopback /8 of
        # our own, not one the suite running beside this one (make check
        # runs two) may hold for the same test
        dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(dead.close)
        for n in range(2, 10000):
            addr = f"127.{(os.getpid() + n) % 250 + 2}.{n % 250 + 2}.2"
            try:
                dead.bind((addr, 53))
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
        else:
            self.fail("no loopback address with port 53 free")
        rc = os.path.join(self.agent.dir, "resolv.conf")
        with open(rc, "w") as f:
            f.write(f"nameserver {addr}\noptions timeout:5 attempts:2\n")
        self.agent.in_mount_ns(f"mount --bind {rc} /etc/resolv.conf")
        self.start_ok()
        st = self.agent.wait_serving()
        self.agent.write_conf(listen=f"agent-it-nohost.invalid:"
                              f"{self.agent.port}")
        t0 = time.monotonic()
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(r"reload failed, keeping config generation 1: "
                            r"listen agent-it-nohost\.invalid:\d+: the name "
                            r"did not resolve within 3 s", timeout=30)
        self.assertLess(time.monotonic() - t0, 8)
        self.assertEqual(self.agent.http("/healthz")[0], 200)
        self.assertEqual(self.agent.worker(self.agent.status(), "front")[
            "pid"], self.agent.worker(st, "front")["pid"])
