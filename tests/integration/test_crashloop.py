"""200 means delivered, under fire: clients post without a pause while
the sender (or the front) is killed with SIGKILL again and again at
random moments, its spool small enough that segments fill, are sealed,
recycled and removed between the kills, and the output drops
connections now and then.  Every point answered 200 must reach the nsqd
double at least once (README "Spool": a point may come twice after a
crash, never not at all)."""
import collections
import os
import random
import signal
import threading
import subprocess
import time

from harness import is_root, nobody_uid, proc_alive

from harness import wait_until
from nsq_common import NsqTest, expected_key, make_points, received


class CrashLoop(NsqTest):
    TRANSPORT, COMMANDS = "tcp", ("PUB", "MPUB")
    PER = 20            # points a request

    def poster(self, first, acked, stop, unix):
        """Post requests of PER points numbered from `first` until
        stop is set; the points of each 200 go into acked."""
        i = first
        while not stop.is_set():
            pts = make_points(i, self.PER, name="cl.m")
            i += self.PER
            try:
                status, _, _ = self.post(pts, unix=unix)
            except OSError:
                # the agent is stopped or starting
                time.sleep(0.02)
                continue
            if status == 200:
                acked.extend(pts)

    def pid(self, role):
        return self.agent.worker(self.agent.status(), role)["pid"]

    def kill(self, role):
        pid = self.pid(role)
        if pid != 0:
            os.kill(pid, signal.SIGKILL)

    def crash_loop(self, roles, kills, extra="", act=None):
        rnd = random.Random(os.getpid())
        d = self.d = self.double()
        # 8 segments of 8 KiB: a few requests fill one
        self.configure([f"tcp://{d.tcp_address}"],
                       "\tbuffersize = 100\n" + extra +
                       ("" if "spoolbytes" in extra else
                        "\tspoolbytes = 65536\n"))
        self.start_ok()
        self.agent.wait_serving()
        acked, stop = [], threading.Event()
        threads = [threading.Thread(target=self.poster,
                                    args=(n * 10**7, acked, stop, n == 1))
                   for n in range(2)]
        for t in threads:
            t.start()
        try:
            for k in range(kills):
                role = roles[k % len(roles)]
                wait_until(lambda: self.pid(role) != 0, timeout=30,
                           what=f"a {role}")
                time.sleep(rnd.uniform(0.05, 0.6))
                if k % 3 == 2:
                    d.set_fault("drop")
                    time.sleep(rnd.uniform(0.0, 0.2))
                    d.set_fault("ok")
                if act is not None:
                    act(k, rnd)
                else:
                    self.kill(role)
            time.sleep(0.3)
        finally:
            stop.set()
            for t in threads:
                t.join()
        want = collections.Counter(expected_key(p) for p in acked)
        self.assertGreater(len(want), 1000, "too few points answered 200")

        def missing():
            got = collections.Counter(received(d, self.TRANSPORT,
                                               self.COMMANDS))
            return want - got
        try:
            wait_until(lambda: not missing(), timeout=30,
                       what="every point answered 200 at the double")
        except AssertionError:
            lost = missing()
            self.fail(f"{len(lost)} of {len(want)} points answered 200 "
                      f"never arrived, e.g. {sorted(lost)[:3]}")

    def test_sender_and_front_killed_in_turn_while_clients_post(self):
        self.crash_loop(("sender", "front"), 8)

    def test_sender_killed_with_spoolsync_zero(self):
        self.crash_loop(("sender",), 6, "\tspoolsync = 0\n")

    def test_spool_moved_by_reloads_and_the_sender_killed_meanwhile(self):
        """Each reload names the other of two spool directories (the
        sender carries what it holds over, README "Spool"), and the
        sender is killed from 0 to 300 ms later: before, during or after
        the copy."""
        spools = [self.agent.values["spool"],
                  os.path.join(self.agent.dir, "spool2")]

        def act(k, rnd):
            self.agent.write_conf(spool=spools[(k + 1) % 2])
            os.kill(self.agent.master_pid(), signal.SIGHUP)
            time.sleep(rnd.uniform(0.0, 0.3))
            self.kill("sender")
        self.crash_loop(("sender",), 6, act=act)
        self.agent.wait_log(r"spool: " + spools[1])

    def test_agent_stopped_or_its_master_killed_then_started(self):
        """`agent stop` (the sender flushes what it can, the rest stays
        in the spool; or it is killed in the middle of it) and the kill
        -9 of the master (its workers go with it) in turn, each followed
        by a start, while clients post."""
        def act(k, rnd):
            if k % 2 == 0:
                # the output down for some stops: what the sender
                # holds stays in the spool for the next start; for
                # others the sender is killed in the middle of its stop
                if k % 4 == 0:
                    self.d.set_fault("refuse")
                sender = self.pid("sender")
                stop = threading.Thread(target=self.agent.stop)
                stop.start()
                if k % 4 == 2 and sender:
                    time.sleep(rnd.uniform(0.0, 0.2))
                    try:
                        os.kill(sender, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                stop.join()
                self.d.set_fault("ok")
                wait_until(lambda: not proc_alive(sender),
                           what="the sender gone")
            else:
                st = self.agent.status()
                pids = [st["pid"]] + [w["pid"] for w in st["workers"]
                                      if w["pid"]]
                os.kill(st["pid"], signal.SIGKILL)
                wait_until(lambda: not any(proc_alive(p) for p in pids),
                           what="every agent process gone")
            self.start_ok()
            self.agent.wait_serving()
        self.crash_loop(("sender",), 8, act=act)

    def test_sender_killed_with_its_disk_full(self):
        """The spool on a tmpfs of 96 KiB, below spoolbytes: writes
        fail with ENOSPC (503), partial ones are cut off, segments are
        sealed, while the sender is killed again and again."""
        if not is_root():
            self.skipTest("skipped: needs root")
        spool = os.path.join(self.agent.dir, "small")
        os.makedirs(spool)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            f"size=96k,mode=0700,uid={nobody_uid()}",
                            "agent-spool-test", spool],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"skipped: cannot mount a tmpfs: {r.stderr}")
        self.addCleanup(subprocess.run, ["umount", "-l", spool])
        self.agent.values["spool"] = spool
        self.crash_loop(("sender",), 6, "\tspoolbytes = 1048576\n")
        self.assertRegex(self.agent.log_text(), "No space left on device")
