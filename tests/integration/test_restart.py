"""Workers that die are restarted, re-wired, and shown in /me/status."""
import os
import signal
import time

from harness import (AgentTest, FuseStall, ROLES, needs_root, proc_alive,
                     wait_until)


class Restart(AgentTest):

    def test_kill_each_worker_in_turn(self):
        self.start_ok()
        for n, role in enumerate(ROLES):
            st = self.agent.status()
            old = self.agent.worker(st, role)["pid"]
            os.kill(old, signal.SIGKILL)

            def restarted():
                s = self.agent.status()
                w = self.agent.worker(s, role)
                if w["pid"] not in (0, old) and w["state"] == "running":
                    return s
                return None
            st = wait_until(restarted, timeout=20,
                            what=f"{role} to be restarted")
            w = self.agent.worker(st, role)
            self.assertEqual(w["restarts"], 1, w)
            self.assertIn("killed by signal 9", w["last_exit"])
            self.assertIsNotNone(w["last_exit_at"])
            self.assertFalse(proc_alive(old))
            self.agent.wait_log(rf"worker {role} \(pid {old}\) killed by "
                                rf"signal 9")
            # every other worker is still the same process
            for other in st["workers"]:
                if other["role"] != role:
                    self.assertEqual(other["state"], "running")

    def test_peers_rewired_after_restart(self):
        self.start_ok()
        st = self.agent.status()
        sender = self.agent.worker(st, "sender")["pid"]
        front = self.agent.worker(st, "front")

        def peers_see(role_pid, watcher, role):
            s = self.agent.status()
            return self.agent.worker(s, watcher)["peers"][role] == role_pid
        wait_until(lambda: peers_see(sender, "front", "sender"),
                   what="front to see the sender")
        wait_until(lambda: peers_see(sender, "collector", "sender"),
                   what="collector to see the sender")
        os.kill(sender, signal.SIGKILL)

        def new_sender():
            s = self.agent.status()
            p = self.agent.worker(s, "sender")["pid"]
            return p if p not in (0, sender) else None
        new = wait_until(new_sender, timeout=20, what="a new sender")
        for watcher in ("front", "scheduler", "collector"):
            wait_until(lambda: peers_see(new, watcher, "sender"),
                       what=f"{watcher} to see the new sender")
        # the front kept running through its peer's restart
        st = self.agent.status()
        self.assertEqual(self.agent.worker(st, "front")["pid"], front["pid"])
        self.assertEqual(self.agent.worker(st, "front")["restarts"], 0)

    def test_backoff_grows_for_repeated_deaths(self):
        self.start_ok()
        delays = []
        for i in range(3):
            st = self.agent.status()
            pid = self.agent.worker(st, "fetcher")["pid"]
            os.kill(pid, signal.SIGKILL)
            m = self.agent.wait_log(
                rf"worker fetcher \(pid {pid}\) killed by signal 9 \(Killed\) "
                rf"after "
                rf"[0-9.]+ s; restarting in ([0-9.]+) s")
            delays.append(float(m.group(1)))

            def back(pid=pid):
                s = self.agent.status()
                w = self.agent.worker(s, "fetcher")
                return w["pid"] not in (0, pid) and w["state"] == "running"
            wait_until(back, timeout=20, what="fetcher back")
        self.assertEqual(delays, [0.1, 0.2, 0.4])
        st = self.agent.status()
        self.assertEqual(self.agent.worker(st, "fetcher")["restarts"], 3)

    def test_master_death_takes_workers_down(self):
        self.start_ok()
        st = self.agent.status()
        pids = [w["pid"] for w in st["workers"]]
        os.kill(self.agent.master_pid(), signal.SIGKILL)
        wait_until(lambda: not any(proc_alive(p) for p in pids),
                   timeout=10, what="workers to exit without their master")

    def test_a_hung_worker_is_killed_and_restarted(self):
        # [agent] workertimeout: a worker that answers nothing for that
        # long (here stopped, as a loop stuck in a read would be) is
        # killed and restarted; idle ones answer the master's questions
        self.agent.write_conf(agent_extra="\tworkertimeout = 4\n")
        self.start_ok()
        st = self.agent.wait_serving()
        # two timeouts and more, idle: nobody killed
        time.sleep(9)
        st = self.agent.status()
        for w in st["workers"]:
            self.assertEqual((w["restarts"], w["state"]), (0, "running"), w)
        self.assertNotIn("killing", self.agent.log_text())
        # the master itself stopped for longer than the timeout (as in a
        # suspend): its workers were not silent, it was; nobody killed
        master = self.agent.master_pid()
        os.kill(master, signal.SIGSTOP)
        try:
            time.sleep(5)
        finally:
            os.kill(master, signal.SIGCONT)
        self.agent.wait_log(r"the master itself did not run for [4-9] s: "
                            r"every worker gets a new window")
        time.sleep(1)
        st = self.agent.status()
        for w in st["workers"]:
            self.assertEqual((w["restarts"], w["state"]), (0, "running"), w)
        self.assertNotIn("killing", self.agent.log_text())

        old = self.agent.worker(st, "collector")["pid"]
        os.kill(old, signal.SIGSTOP)

        def back():
            w = self.agent.worker(self.agent.status(), "collector")
            return w if w["pid"] not in (0, old) and \
                w["state"] == "running" else None
        w = wait_until(back, timeout=20, what="the collector restarted")
        self.assertEqual(w["restarts"], 1, w)
        self.agent.wait_log(rf"killing collector \(pid {old}\): it answered "
                            r"nothing for [4-9] s \(\[agent\] workertimeout "
                            r"4\): hung")
        self.assertFalse(proc_alive(old))
        # the others were left alone
        for o in self.agent.status()["workers"]:
            if o["role"] != "collector":
                self.assertEqual(o["restarts"], 0, o)

    def test_a_worker_held_in_the_kernel_is_replaced(self):
        """A worker killed while the kernel holds it (here the fetcher in
        the close of a registry file on a file system that does not
        answer, which even SIGKILL does not end) kept its role's slot
        until the kernel let go: no fetcher for as long as the file
        system hung.  5 s after its SIGKILL a new one takes its place,
        and the old one is reaped once the kernel lets it go."""
        needs_root(self)
        a = self.agent
        fuse = FuseStall(os.path.join(a.dir, "fuse"))
        self.addCleanup(fuse.stop)
        a.write_conf(agent_extra="\tworkertimeout = 3\n")
        self.start_ok()
        old = a.worker(a.wait_serving(), "fetcher")["pid"]
        self.addCleanup(fuse.let_go)
        # a changed registry is read at once: its close waits for ever
        a.write_conf(agent_extra="\tworkertimeout = 3\n"
                     f'\tregistryaddr = "file://{fuse.file}"\n')
        os.kill(a.master_pid(), signal.SIGHUP)
        fuse.wait_held(old)
        a.wait_log(rf"killing fetcher \(pid {old}\): it answered nothing",
                   timeout=20)
        a.wait_log(rf"fetcher \(pid {old}\) not reaped 5 s after SIGKILL "
                   r"\(held in the kernel\?\): a new one takes its place",
                   timeout=20)
        wait_until(lambda: a.worker(a.status(), "fetcher")["pid"] not in
                   (0, old), timeout=20, what="a new fetcher")
        self.assertTrue(proc_alive(old), "the old one was not held")
        fuse.let_go()
        a.wait_log(rf"fetcher \(pid {old}\), left behind held in the "
                   r"kernel, is gone", timeout=20)
