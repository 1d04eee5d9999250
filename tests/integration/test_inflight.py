"""Plugin points on their way to a sender that dies arrive all the same:
the scheduler keeps what it sent until the sender says it took it, and
sends it again to the next sender (src/workers/worker_inflight.c).  A
review found them lost, and counted nowhere, when the sender died with
them in its socket."""
import os
import signal
import time

from harness import wait_until
from test_plugins import NS, PARAMS, PluginTest

TOPIC = "collect." + NS


class SenderDies(PluginTest):

    def runs_at_output(self):
        return {p["tags"]["a1"] for p in self.points(TOPIC)
                if p["measurement"] == "PLUGIN.params.argv"}

    def sender_pid(self):
        return self.agent.worker(self.agent.status(), "sender")["pid"]

    def test_points_sent_to_a_stopped_then_killed_sender_arrive(self):
        self.add(NS, "params", PARAMS)
        self.start_with(f"{NS}|params")
        self.run_plugin_ok(NS, "params", param="r1")
        wait_until(lambda: "r1" in self.runs_at_output(), timeout=20,
                   what="the first run at the output")
        pid = self.sender_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            # each run's points go to a sender that reads nothing more
            for i in range(2, 7):
                self.run_plugin_ok(NS, "params", param=f"r{i}")
        finally:
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: self.sender_pid() not in (0, pid), timeout=30,
                   what="a new sender")
        want = {f"r{i}" for i in range(1, 7)}
        wait_until(lambda: want <= self.runs_at_output(), timeout=30,
                   what=f"every run at the output: {sorted(want)}")

        def settled():
            st = self.agent.worker(self.agent.status(), "scheduler")
            s = st.get("stats") or {}
            return s if s.get("points_held") == 0 and \
                s.get("points_resent", 0) >= 5 else None
        st = wait_until(settled, timeout=20,
                        what="the scheduler holds nothing, resent 5")
        self.assertEqual(st["points_unsent"], 0, st)
        self.agent.wait_log(r"points sent again: the sender before did "
                            r"not say it took them")

    def test_runs_while_the_sender_is_killed_again_and_again(self):
        """Plugin runs one after the other while the sender is killed
        after every third, at once (its points in a socket, or being
        spooled) or a moment later: every run reaches the output."""
        self.add(NS, "params", PARAMS)
        self.start_with(f"{NS}|params")
        n, killed = 15, {0}
        for i in range(n):
            self.run_plugin_ok(NS, "params", param=f"r{i}")
            if i % 3 == 2:
                wait_until(lambda: self.sender_pid() not in killed,
                           timeout=30, what="a new sender")
                pid = self.sender_pid()
                if i % 2 == 1:
                    time.sleep(0.05)
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        want = {f"r{i}" for i in range(n)}
        wait_until(lambda: want <= self.runs_at_output(), timeout=30,
                   what="every run at the output: "
                   f"{sorted(want - self.runs_at_output())} missing")
        st = self.agent.worker(self.agent.status(), "sender")
        self.assertEqual(st["restarts"], 5, st)
