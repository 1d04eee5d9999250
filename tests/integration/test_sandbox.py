"""Workers run sandboxed: user, chroot, capabilities, no_new_privs,
seccomp; and a worker made to run a forbidden call dies of it."""
import fcntl
import json
import os
import re
import select
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

import inject
from harness import (AGENT, AgentTest, free_port, is_root, needs_root,
                     nobody_uid, proc_alive, proc_status, wait_until)

# CAP_DAC_READ_SEARCH | CAP_SYS_PTRACE: the collector's, nothing else
READ_CAPS = (1 << 2) | (1 << 19)
SYS_pidfd_getfd = 438
TIOCGEXCL = 0x80045440     # _IOR('T', 0x40, int), asm-generic/ioctls.h


def steal_fd(pid, fd):
    """A copy of process `pid`'s descriptor `fd`, as a compromised
    process holding it would use it (pidfd_getfd; root)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        got = libc.syscall(SYS_pidfd_getfd, pidfd, fd, 0)
        if got < 0:
            raise OSError(ctypes.get_errno(), f"pidfd_getfd {pid} {fd}")
        return got
    finally:
        os.close(pidfd)


def unix_peers():
    """Each unix stream socket's inode to its peer's (ss -x)."""
    r = subprocess.run(["ss", "-x", "-a", "-H"], capture_output=True,
                       text=True, check=True)
    peers = {}
    for ln in r.stdout.splitlines():
        f = ln.split()
        if len(f) >= 8 and f[0] == "u_str":
            peers[f[5]] = f[7]
    return peers


def socket_inodes(pid):
    """{fd: socket inode} of process `pid`."""
    out = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        m = re.fullmatch(r"socket:\[(\d+)\]",
                         os.readlink(f"/proc/{pid}/fd/{name}"))
        if m:
            out[int(name)] = m.group(1)
    return out


class Sandbox(AgentTest):

    def test_every_worker_has_no_new_privs_and_seccomp(self):
        self.start_ok()
        st = self.agent.status()
        for w in st["workers"]:
            s = proc_status(w["pid"])
            self.assertEqual(s["NoNewPrivs"], "1", w["role"])
            self.assertEqual(s["Seccomp"], "2", w["role"])
            self.assertGreaterEqual(int(s["Seccomp_filters"]), 1)

    @unittest.skipUnless(is_root(), "skipped: needs root")
    def test_workers_run_as_their_users_and_front_is_chrooted(self):
        self.start_ok()
        st = self.agent.status()
        nobody = str(nobody_uid())
        for w in st["workers"]:
            s = proc_status(w["pid"])
            uids = s["Uid"].split()
            keep = READ_CAPS if w["role"] == "collector" else 0
            # the bounding set too: nothing any exec could get back
            for k in ("CapEff", "CapPrm", "CapBnd"):
                self.assertEqual(int(s[k], 16), keep, (w["role"], k))
            for k in ("CapInh", "CapAmb"):
                self.assertEqual(int(s[k], 16), 0, (w["role"], k))
            if w["role"] == "collector":
                self.assertEqual(uids, ["0"] * 4)
            else:
                self.assertEqual(uids, [nobody] * 4, w["role"])
                self.assertEqual(s["Groups"].split(),
                                 [str(pwd.getpwnam("nobody").pw_gid)])
        front = self.agent.worker(st, "front")["pid"]
        self.assertEqual(os.readlink(f"/proc/{front}/root"),
                         self.agent.values["chroot"])
        for w in st["workers"]:
            if w["role"] != "front":
                self.assertEqual(os.readlink(f"/proc/{w['pid']}/root"), "/")

    @unittest.skipUnless(is_root(), "skipped: needs root")
    def test_unprivileged_start_warns_and_still_sandboxes(self):
        a = self.agent
        uid = nobody_uid()
        gid = pwd.getpwnam("nobody").pw_gid
        os.chown(a.dir, uid, gid)
        # the build tree may be private to root (mktemp -d is 0700)
        binary = os.path.join(a.dir, "agent")
        shutil.copy(AGENT, binary)
        os.chmod(binary, 0o755)

        def drop():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        p = a.start_fg(preexec=drop, binary=binary)
        st = a.wait_serving()
        self.assertEqual(st["pid"], p.pid)
        for w in st["workers"]:
            s = proc_status(w["pid"])
            self.assertEqual(s["Uid"].split()[0], str(uid))
            self.assertEqual(s["NoNewPrivs"], "1")
            self.assertEqual(s["Seccomp"], "2")
        a.wait_log("not running as root")

    @unittest.skipUnless(is_root(), "skipped: needs root")
    def test_root_pluginsuser_refused(self):
        self.agent.write_conf(pluginsuser="root")
        r = self.agent.start()
        self.assertEqual(r.returncode, 2)
        self.assertIn("pluginsuser", r.stderr)

    @unittest.skipUnless(is_root(), "skipped: needs root")
    def test_unknown_user_refused(self):
        self.agent.write_conf(user="no-such-user-here")
        r = self.agent.start()
        self.assertEqual(r.returncode, 2)
        self.assertIn("no-such-user-here", r.stderr)

    @unittest.skipUnless(is_root(), "skipped: needs root")
    def test_worker_failing_its_sandbox_fails_the_start(self):
        # a chroot others can write to is refused by the front itself;
        # sticky, so that the master's path rules (which allow sticky
        # directories, like /tmp) let it get that far
        os.makedirs(self.agent.values["chroot"])
        os.chmod(self.agent.values["chroot"], 0o1777)
        r = self.agent.start()
        self.assertEqual(r.returncode, 1)
        self.assertIn("worker front exited with status 2 during startup",
                      r.stderr)
        self.assertIn("sandbox", r.stderr)
        self.assertIn(self.agent.values["chroot"], r.stderr)
        self.assertFalse(os.path.exists(self.agent.values["pidfile"]))
        self.assertFalse(os.path.exists(self.agent.values["socket"]))
        # the others, stopped while they set up, were ready only once
        # (whether one was still setting up is up to the scheduler)
        self.assertNotIn("READY twice", self.agent.log_text())

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_a_worker_made_to_do_what_it_must_not_dies(self):
        """Code running in a worker (ptrace stands in for the exploit)
        that tries what its filter refuses is killed by SIGSYS: the
        collector, root, opening a file for writing (finding 4); the
        fetcher and the sender starting a shell (finding 5); the front
        making a socket.  An allowed call first: the injection works and
        the worker lives on after it."""
        a = self.agent
        self.start_ok()
        st = a.status()
        target = os.path.join(a.dir, "written-by-a-worker")
        tries = {
            "collector": ("openat", inject.AT_FDCWD, target.encode(),
                          os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644),
            "fetcher": ("execve", b"/bin/sh", 0, 0),
            "sender": ("execve", b"/bin/sh", 0, 0),
            "front": ("socket", 2, 1, 0),
        }
        for role, call in tries.items():
            pid = a.worker(st, role)["pid"]
            self.assertEqual(inject.syscall(pid, "getpid"), pid, role)
            self.assertTrue(proc_alive(pid), role)
            with self.assertRaises(inject.Dead, msg=role) as d:
                inject.syscall(pid, *call)
            self.assertEqual(d.exception.signal, signal.SIGSYS, role)
            a.wait_log(rf"{role} \(pid {pid}\) killed by signal 31")
        self.assertFalse(os.path.exists(target))
        # and the master starts them again
        wait_until(lambda: all(
            w["state"] == "running" and w["pid"] != a.worker(st, w["role"])[
                "pid"] for w in a.status()["workers"] if w["role"] in tries),
            timeout=60, what="the killed workers back")

    def memory_holder(self, script):
        """A process that runs `script`, which prints the address of a
        secret it holds; its /proc/<pid>/mem and that address."""
        holder = subprocess.Popen(
            [sys.executable, "-c", script + "sys.stdin.read()\n"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(holder.wait, 10)
        self.addCleanup(holder.kill)
        addr = int(holder.stdout.readline())
        return f"/proc/{holder.pid}/mem".encode(), addr

    def assert_collector_dies_reading(self, mem, addr, how):
        """Code running in the collector (ptrace stands in for the
        exploit) opens `mem`, which it may, and reads at `addr` by
        `how` (pread64, or lseek there first): killed by SIGSYS, and
        the master starts it again."""
        a = self.agent
        pid = a.worker(a.status(), "collector")["pid"]
        with self.assertRaises(inject.Dead, msg=how) as d:
            with inject.held(pid) as h:
                fd = h.syscall("openat", inject.AT_FDCWD, mem,
                               os.O_RDONLY | os.O_CLOEXEC)
                self.assertGreaterEqual(
                    fd, 0, "the collector does not open it: this test "
                    "proves nothing")
                if how == "pread64":
                    got = h.syscall("pread64", fd, b"\0" * 84, 84, addr)
                else:
                    got = h.syscall("lseek", fd, addr, os.SEEK_SET)
                self.fail(f"{how} at {addr:#x}: {got}")
        self.assertEqual(d.exception.signal, signal.SIGSYS, how)
        a.wait_log(rf"collector \(pid {pid}\) killed by signal 31")
        wait_until(lambda: a.worker(a.status(), "collector")["pid"]
                   != pid and a.worker(a.status(), "collector")[
                       "state"] == "running",
                   timeout=60, what="the collector back")

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_the_collector_cannot_read_another_processs_memory(self):
        """The collector opens any process's /proc/<pid>/mem: it has
        CAP_SYS_PTRACE, which its PROC checks need for other users'
        /proc/<pid>/io, fd and exe.  Code running in it must still not
        read what a process holds there (an ssh-agent's keys): a read at
        an address of a PIE program's memory, by pread or after an
        lseek, kills it."""
        self.start_ok()
        mem, addr = self.memory_holder(
            "import ctypes, sys\n"
            "b = ctypes.create_string_buffer(b'hunter2 in memory ' * 5)\n"
            "print(ctypes.addressof(b), flush=True)\n")
        self.assertGreater(addr, 1 << 40)
        for how in ("pread64", "lseek"):
            self.assert_collector_dies_reading(mem, addr, how)

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_the_collector_cannot_read_a_go_programs_heap(self):
        """A Go program's heap lies at 0xc000000000 on x86-64, below the
        2^40 the collector's filter first bounded its offsets with: code
        running in it read there what a Go daemon holds (a token, a
        key).  A holder maps its secret where Go would."""
        go_heap = 0xc000000000
        self.start_ok()
        mem, addr = self.memory_holder(
            "import ctypes, mmap, sys\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "libc.mmap.restype = ctypes.c_void_p\n"
            "libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, "
            "ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]\n"
            f"p = libc.mmap({go_heap}, 4096, 3, mmap.MAP_PRIVATE | "
            "mmap.MAP_ANONYMOUS | 0x100000, -1, 0)\n"
            "ctypes.memmove(p, b'hunter2 in a Go heap ' * 4, 84)\n"
            "print(p, flush=True)\n")
        self.assertEqual(addr, go_heap)
        self.assert_collector_dies_reading(mem, addr, "pread64")

    def start_on_pty(self, ctty=True):
        """`agent start -F` on a terminal of its own, as from root's login
        shell; what the terminal shows collects in the list returned.
        ctty=False: in a session of its own without the terminal as its
        controlling one (`setsid -f agent start -F`)."""
        import fcntl
        import termios
        import threading
        a = self.agent
        master_fd, slave_fd = os.openpty()
        self.addCleanup(self.close_pty)

        def session():
            # a login shell's: its own session, the terminal its own
            os.setsid()
            if ctty:
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        fg = subprocess.Popen([AGENT, "start", "-F", "-f", a.conf],
                              stdin=slave_fd, stdout=slave_fd,
                              stderr=slave_fd, preexec_fn=session)
        os.close(slave_fd)
        a.fg = fg
        self.pty = master_fd        # root's side: what it types
        a.seen_pids.add(fg.pid)
        seen = []
        stop = threading.Event()

        def drain():
            # not a read that blocks: it would hold the terminal's
            # master side open past close_pty(), so it never hung up
            while not stop.is_set():
                if not select.select([master_fd], [], [], 0.1)[0]:
                    continue
                try:
                    b = os.read(master_fd, 65536)
                except OSError:
                    return
                if not b:
                    return
                seen.append(b)
        t = threading.Thread(target=drain, daemon=True)
        t.start()
        self.pty_drain = (t, stop)
        self.seen = seen
        return seen

    def close_pty(self):
        """Root's side of the terminal closed, as sshd closes it when the
        connection drops: the terminal hangs up."""
        if getattr(self, "pty", None) is None:
            return
        t, stop = self.pty_drain
        stop.set()
        t.join(timeout=10)
        os.close(self.pty)
        self.pty = None

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_a_worker_cannot_type_on_roots_terminal(self):
        """`agent start -F` by hand, on root's terminal: code running in a
        worker (ptrace stands in for the exploit) must not push input
        into it (TIOCSTI): what it typed, root's shell would run once the
        agent ends.  Each worker's standard input was that terminal, and
        its controlling terminal too, and gitpull's and the scheduler's
        filters let the ioctl through."""
        import termios
        a = self.agent
        self.start_on_pty()
        a.wait_serving()
        st = a.status()
        a.remember_pids()
        links, typed = {}, {}
        for w in st["workers"]:
            links[w["role"]] = os.readlink(f"/proc/{w['pid']}/fd/0")
            # on each of its stdio: 1 and 2 stay the terminal, for what
            # it writes there
            for fd in (0, 1, 2):
                try:
                    typed[w["role"], fd] = inject.syscall(
                        w["pid"], "ioctl", fd, termios.TIOCSTI, b"\x15")
                except inject.Dead as e:
                    # its filter kills it (the front): typed nothing
                    typed[w["role"], fd] = f"killed ({e})"
                    break
        self.assertEqual({k: v for k, v in typed.items() if v == 0}, {},
                         f"workers that typed on the terminal: {typed}")
        for role, link in links.items():
            self.assertFalse(link.startswith("/dev/pts/"),
                             f"{role}'s stdin is {link}")

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_the_collector_cannot_read_roots_terminal(self):
        """The collector runs as root and may open any file for reading:
        code running in it (ptrace stands in for the exploit) must not
        open root's terminal, by its name or through the master's
        descriptors, and read what root types there (a password).  The
        master makes the terminal it runs on exclusive (TIOCEXCL) while
        it runs.  Not covered: root's other terminals on the host, which
        the collector of a daemon can still open (seccomp sees no path,
        /proc/<pid>/fd/N passes a mount namespace, and a Landlock domain
        would cut PROC off other processes' /proc/<pid>)."""
        a = self.agent
        self.start_on_pty()
        a.wait_serving()
        st = a.status()
        a.remember_pids()
        pid = next(w["pid"] for w in st["workers"]
                   if w["role"] == "collector")
        master = a.master_pid()
        tty = os.readlink(f"/proc/{master}/fd/0")
        self.assertTrue(tty.startswith("/dev/pts/"), tty)
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY
        got = {}
        for path in (tty, f"/proc/{master}/fd/0", f"/proc/{master}/fd/1"):
            fd = inject.syscall(pid, "openat", inject.AT_FDCWD,
                                path.encode(), flags)
            if fd < 0:
                got[path] = f"open: {os.strerror(-fd)}"
                continue
            os.write(self.pty, b"hunter2\n")
            n = inject.syscall(pid, "read", fd, b"\0" * 64, 64)
            inject.syscall(pid, "close", fd)
            got[path] = n
        self.assertEqual({k: v for k, v in got.items()
                          if not isinstance(v, str)}, {},
                         f"the collector opened root's terminal: {got}")
        # and the terminal is root's again once the agent is gone
        a.fg.send_signal(signal.SIGTERM)
        self.assertEqual(a.fg.wait(timeout=30), 0)
        fd = os.open(tty, os.O_RDWR | os.O_NOCTTY)
        try:
            excl = bytearray(4)
            fcntl.ioctl(fd, TIOCGEXCL, excl)
            self.assertEqual(int.from_bytes(excl, "little"), 0)
        finally:
            os.close(fd)

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_a_stopped_terminal_holds_the_writer_not_the_master(self):
        """`agent start -F` on root's terminal, which root stops (^S, or
        an ssh session whose client stopped reading): a worker that
        writes there must wait for it, alone, as when it wrote to the
        terminal itself; the master, which copies its lines, goes on
        answering.  (At INFO: the master's own lines on the terminal are
        the next test's.)"""
        a = self.agent
        a.write_conf(loglevel="INFO")
        self.start_on_pty()
        a.wait_serving()
        st = a.status()
        a.remember_pids()
        os.write(self.pty, b"\x13")          # ^S: the terminal stops
        self.addCleanup(os.write, self.pty, b"\x11")
        pid = a.worker(st, "collector")["pid"]
        msg = b"a line the stopped terminal holds\n" * 64
        self.assertEqual(inject.syscall(pid, "write", 1, msg, len(msg)),
                         len(msg))
        time.sleep(0.5)
        t0 = time.monotonic()
        st = a.status()
        self.assertLess(time.monotonic() - t0, 5)
        os.write(self.pty, b"\x11")          # ^Q: it goes on
        seen = self.seen
        wait_until(lambda: b"".join(seen).count(
            b"a line the stopped terminal holds") >= 64,
            what="the held lines once the terminal goes on")

    def test_a_stopped_terminal_does_not_stop_the_masters_log(self):
        """The same stopped terminal at DEBUG, where the front logs every
        request: the master's own copy of each line to the terminal
        (-F) waited for it, and held the master's whole loop, so that
        /me/status timed out.  Now the lines it cannot show go to the
        log file only, and the terminal is told how many once it takes
        again."""
        a = self.agent
        a.write_conf(loglevel="DEBUG")
        self.start_on_pty()
        a.wait_serving()
        a.remember_pids()
        os.write(self.pty, b"\x13")          # ^S: the terminal stops
        self.addCleanup(os.write, self.pty, b"\x11")
        # each connection two DEBUG lines of the front's, which a
        # stopped terminal does not take
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", a.port)):
                pass
        wait_until(lambda: a.log_text().count(": accepted") >= 20,
                   what="the front's lines in the log file")
        t0 = time.monotonic()
        self.assertEqual(a.status()["pid"], a.fg.pid)
        self.assertLess(time.monotonic() - t0, 5)
        os.write(self.pty, b"\x11")          # ^Q: it goes on
        a.http("/me/status")
        wait_until(lambda: re.search(rb"agent: \d+ lines not shown here, "
                                     rb"the terminal took nothing",
                                     b"".join(self.seen)),
                   what="the count of the lines the terminal missed")

    def test_a_hangup_of_its_terminal_stops_a_foreground_agent(self):
        """`agent start -F` in an ssh session that drops: its terminal
        hangs up and the kernel sends SIGHUP, which the master took for
        `agent reload`: it reloaded for nobody and ran on, its lines and
        the workers' going nowhere.  It now ends with its terminal, as a
        foreground program does.  A SIGHUP while the terminal lives is
        still a reload."""
        a = self.agent
        self.start_on_pty()
        a.wait_serving()
        a.remember_pids()
        pids = [w["pid"] for w in a.status()["workers"]]
        a.fg.send_signal(signal.SIGHUP)
        a.wait_log(r"reload: config generation \d+ acknowledged")
        self.close_pty()
        self.assertEqual(a.fg.wait(timeout=30), 0)
        log = a.log_text()
        self.assertIn("SIGHUP and the terminal hung up: stopping", log)
        self.assertEqual(log.count("reload: reading"), 1, log)
        self.assertEqual([p for p in pids if proc_alive(p)], [])

    def test_a_hangup_of_another_terminal_leaves_sighup_a_reload(self):
        """The same on a terminal that is not the agent's controlling one
        (`setsid -f agent start -F`): its hangup sends the agent no
        SIGHUP, and nothing stops it then; one that comes later is `agent
        reload`, and reloads, rather than stop an agent whose terminal
        went long ago."""
        a = self.agent
        self.start_on_pty(ctty=False)
        a.wait_serving()
        a.remember_pids()
        self.close_pty()
        time.sleep(5)
        self.assertIsNone(a.fg.poll(), "the agent ended with a terminal "
                          "that sent it nothing")
        a.fg.send_signal(signal.SIGHUP)
        a.wait_log(r"reload: config generation \d+ acknowledged")
        time.sleep(1)
        self.assertIsNone(a.fg.poll(), a.log_text())
        self.assertNotIn("SIGHUP and the terminal hung up", a.log_text())
        a.fg.send_signal(signal.SIGTERM)
        self.assertEqual(a.fg.wait(timeout=30), 0)

    def test_a_disowned_agent_that_outlived_its_terminal_reloads(self):
        """`agent start -F &` then `disown`, in a login shell that then
        goes: the terminal is still the agent's controlling one, but the
        agent is not in its foreground group, so its hangup sends the
        shell a SIGHUP and the agent none, and the agent runs on.  A
        SIGHUP that comes seconds later is `agent reload`: the master had
        found its terminal hung up and stopped the agent at every reload
        after the logout."""
        a = self.agent
        master_fd, slave_fd = os.openpty()
        rfd, wfd = os.pipe()
        # the login shell: the session and its terminal; the agent a job
        # of its own group, which it does not bring to the foreground
        shell = subprocess.Popen(
            [sys.executable, "-c",
             "import fcntl, os, signal, sys, termios\n"
             "signal.signal(signal.SIGHUP, signal.SIG_DFL)  # nohup make\n"
             "os.setsid()\n"
             "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
             "w = int(sys.argv[1])\n"
             "pid = os.fork()\n"
             "if pid == 0:\n"
             "    os.close(w)\n"
             "    os.setpgid(0, 0)\n"
             "    os.execv(sys.argv[2], sys.argv[2:])\n"
             "os.write(w, b'%d' % pid)\n"
             "os.close(w)\n"
             "while True:\n"
             "    signal.pause()\n",
             str(wfd), AGENT, "start", "-F", "-f", a.conf],
            stdin=slave_fd, stdout=slave_fd, stderr=slave_fd,
            pass_fds=(wfd,))
        os.close(slave_fd)
        os.close(wfd)
        self.addCleanup(shell.wait, 10)
        self.addCleanup(shell.kill)
        with os.fdopen(rfd, "rb") as r:
            pid = int(r.read())
        a.seen_pids.update((shell.pid, pid))
        a.wait_serving()
        a.remember_pids()
        os.close(master_fd)             # the ssh connection drops
        self.assertEqual(shell.wait(timeout=10), -signal.SIGHUP)
        time.sleep(5)
        self.assertTrue(proc_alive(pid), "the agent ended with a terminal "
                        "that sent it nothing")
        os.kill(pid, signal.SIGHUP)
        a.wait_log(r"reload: config generation \d+ acknowledged")
        time.sleep(1)
        self.assertTrue(proc_alive(pid), a.log_text())
        self.assertNotIn("SIGHUP and the terminal hung up", a.log_text())
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not proc_alive(pid), timeout=30,
                   what="the agent stopped")

    def test_the_senders_long_messages_stay_whole_on_a_terminal(self):
        """The sender's `path = "-"` output through the master on a
        terminal: a message of many points (over the relay's 4 KiB line
        buffer, a character of two bytes in each point) stays one line of
        JSON, and the messages come whole and in order across a sender
        restart."""
        a = self.agent
        a.write_conf(agent_extra='\tnamespaces = [ "pool.loda" ]\n',
                     output_name="file", output_extra='\tpath = "-"\n',
                     loglevel="INFO")
        seen = self.start_on_pty()
        a.wait_serving()
        a.remember_pids()
        n, per = 3, 150
        for i in range(n):
            if i == 2:
                st = a.status()
                os.kill(a.worker(st, "sender")["pid"], signal.SIGKILL)
            body = json.dumps([{"name": "long.check", "value": i * per + j,
                                "tags": {"pad": "caf\u00e9 " * 8}}
                               for j in range(per)])
            for _ in range(100):
                try:
                    code, _ = a.http("/post", method="POST", data=body)
                except ConnectionError:
                    code = 0
                if code == 200:
                    break
                time.sleep(0.1)
            self.assertEqual(code, 200)

        def values():
            v = []
            for ln in b"".join(seen).split(b"\n"):
                if b"long.check" in ln:
                    msg = json.loads(ln.strip(b"\r"))
                    v.extend(p["fields"]["value"] for p in msg["points"])
            return v
        try:
            wait_until(lambda: len(values()) >= n * per,
                       what="every point at the terminal")
        except ValueError as e:
            self.fail(f"a message cut: {e}")
        self.assertEqual(values(), list(range(n * per)))

    @unittest.skipUnless(inject.supported(),
                         "skipped: needs root on x86_64 (ptrace)")
    def test_a_worker_cannot_drive_roots_terminal(self):
        """`agent start -F` by hand: code running in a worker (ptrace
        stands in for the exploit) writes escape sequences to its stdout
        and stderr, which were root's terminal (set its title, clear it,
        and on some terminals have it answer into root's input).  They
        now go through the master, which shows them escaped; the
        sender's `path = "-"` output still reaches the terminal."""
        a = self.agent
        a.write_conf(agent_extra='\tnamespaces = [ "pool.loda" ]\n',
                     output_name="file", output_extra='\tpath = "-"\n')
        seen = self.start_on_pty()
        a.wait_serving()
        st = a.status()
        a.remember_pids()
        want = []
        for w in st["workers"]:
            for fd in (1, 2):
                msg = (f"\x1b]0;owned by {w['role']} {fd}\x07\x1b[2J"
                       "\x9b\xc2\x9b\n").encode("latin-1")
                self.assertEqual(inject.syscall(w["pid"], "write", fd, msg,
                                                len(msg)), len(msg),
                                 w["role"])
                want.append(f"\\x1b]0;owned by {w['role']} {fd}\\x07"
                            "\\x1b[2J\\x9b\\xc2\\x9b".encode())
        code, body = a.http("/post", method="POST",
                            data=json.dumps([{"name": "tty.check",
                                              "value": 1}]))
        self.assertEqual(code, 200, body)
        try:
            wait_until(lambda: all(x in b"".join(seen) for x in want) and
                       b'"RUN.tty.check"' in b"".join(seen),
                       what="the workers' writes and the point")
        except AssertionError:
            pass            # said below, with what the terminal showed
        out = b"".join(seen)
        self.assertEqual([x for x in want if x not in out], [],
                         out[-3000:])
        self.assertIn(b'"RUN.tty.check"', out, out[-3000:])
        for raw in (b"\x1b]0;", b"\x1b[2J", b"\x9b", b"\x07"):
            self.assertNotIn(raw, out)
        # the output's line whole, as the sender wrote it
        line = next(ln for ln in out.split(b"\n") if b"tty.check" in ln)
        self.assertEqual(json.loads(line.strip(b"\r"))["points"][0][
            "measurement"], "RUN.tty.check", line)

    def test_only_fetcher_and_sender_map_libcurl(self):
        # libcurl and its TLS stack are loaded at run time by the two
        # HTTP clients (src/common/curl_dl.h), when their config makes
        # them one (a registry, an output over HTTP); nobody else maps
        # them (test_fetcher, test_nsq_tcp: the two without)
        self.agent.write_conf(agent_extra="\tregistryaddr = "
                              f"\"http://127.0.0.1:{free_port()}\"\n")
        self.start_ok()
        st = self.agent.status()
        procs = [("master", st["pid"])] + [(w["role"], w["pid"])
                                           for w in st["workers"]]
        for role, pid in procs:
            with open(f"/proc/{pid}/maps") as f:
                libs = {os.path.basename(line.split()[-1])
                        for line in f if len(line.split()) >= 6}
            curl = {x for x in libs if x.startswith(("libcurl", "libssl",
                                                      "libcrypto."))}
            if role in ("fetcher", "sender"):
                self.assertTrue(any(x.startswith("libcurl.so")
                                    for x in curl), (role, sorted(libs)))
            else:
                self.assertEqual(curl, set(), role)

    def test_edges_refuse_descriptors(self):
        """A compromised worker cannot pass the master, or another worker,
        a descriptor (one whose close blocks the reader: a file on a
        stalled FUSE mount): its sendmsg with SCM_RIGHTS fails on its
        control edge (fd 3) and on every peer edge."""
        needs_root(self)
        self.start_ok()
        st = self.agent.status()
        peers = unix_peers()
        held = {pid: socket_inodes(pid) for pid in
                [self.agent.master_pid()] + [w["pid"] for w in
                                             st["workers"]]}
        tried = 0
        with open("/dev/null", "rb") as victim:
            for w in st["workers"]:
                others = set()
                for pid, inodes in held.items():
                    if pid != w["pid"]:
                        others |= set(inodes.values())
                for fd, inode in held[w["pid"]].items():
                    # an edge: its other end is the master's or a worker's
                    if peers.get(inode) not in others:
                        continue
                    s = socket.socket(fileno=steal_fd(w["pid"], fd))
                    try:
                        with self.assertRaises(PermissionError,
                                               msg=(w["role"], fd)):
                            socket.send_fds(s, [b"\0"], [victim.fileno()])
                    finally:
                        s.close()
                    tried += 1
        # six control edges and the peer edges, each end
        self.assertGreaterEqual(tried, 6 + 2 * 4, tried)
        # and nothing came of it
        st2 = self.agent.status()
        self.assertEqual([w["pid"] for w in st["workers"]],
                         [w["pid"] for w in st2["workers"]])

    def test_workers_hold_only_their_edges(self):
        self.start_ok()
        st = self.agent.status()
        spool = self.agent.values["spool"]
        for w in st["workers"]:
            fds = {}
            for fd in os.listdir(f"/proc/{w['pid']}/fd"):
                fds[int(fd)] = os.readlink(f"/proc/{w['pid']}/fd/{fd}")
            self.assertTrue(fds[3].startswith("socket:"), (w["role"], fds))
            for fd, target in fds.items():
                if fd <= 2:
                    self.assertEqual(target, "/dev/null", (w["role"], fds))
                elif w["role"] == "sender" and (
                        target + "/").startswith(spool + "/"):
                    continue    # its own spool: the directory, segments
                elif w["role"] == "scheduler" and target == "/dev/null":
                    continue    # the plugins' stdin, opened once
                elif w["role"] == "front" and re.fullmatch(
                        r"/proc/\d+/net/tcp6?", target):
                    # who a loopback client is (front_peeruid.c): opened
                    # before the chroot, for reading only
                    with open(f"/proc/{w['pid']}/fdinfo/{fd}") as f:
                        flags = [ln.split()[1] for ln in f
                                 if ln.startswith("flags:")][0]
                    self.assertEqual(int(flags, 8) & 3, os.O_RDONLY,
                                     (fd, target, flags))
                    continue
                else:
                    # no file of the master's (log, pidfile, binary)
                    self.assertFalse(target.startswith("/"),
                                     (w["role"], fd, target))
