"""A wall clock that steps back (NTP correcting a clock that ran fast, a
VM resumed) holds no point back: a partial message waits flushms on the
monotonic clock, never the size of the step.  The sender's wall clock is
stepped with an LD_PRELOAD shim (tests/peers/clockjump.c)."""
import os
import subprocess
import time

from nsq_common import NsqTest, make_points

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM_SRC = os.path.join(HERE, "..", "peers", "clockjump.c")


class ClockJump(NsqTest):
    TRANSPORT, COMMANDS = "tcp", ("PUB", "MPUB")

    def shim(self):
        so = os.path.join(self.agent.dir, "clockjump.so")
        r = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", so,
                            SHIM_SRC, "-ldl"], capture_output=True,
                           text=True)
        if r.returncode != 0:
            self.skipTest(f"skipped: cannot build the shim: {r.stderr}")
        os.chmod(so, 0o755)
        os.chmod(self.agent.dir, 0o755)
        return so

    def test_points_held_across_a_step_back_are_not_held_for_it(self):
        after = 4.0
        d = self.double(fault="refuse")
        # one message of 10 points a request: 15 points take two, the
        # second a partial one that waits flushms once the first is done
        self.configure([f"tcp://{d.tcp_address}"],
                       "\tbatchpoints = 10\n\trequestmessages = 1\n"
                       "\tflushms = 200\n")
        self.agent.prefix = ["env", f"LD_PRELOAD={self.shim()}",
                             "CLOCKJUMP_ROLE=sender",
                             f"CLOCKJUMP_AFTER={after}",
                             "CLOCKJUMP_BY=-600"] + self.agent.prefix
        t0 = time.monotonic()
        self.start_ok()
        self.agent.wait_serving()
        sent = make_points(0, 15, name="cj.m")
        self.post_ok(sent)
        if time.monotonic() - t0 >= after - 0.5:
            self.skipTest("skipped: the agent took too long to start")
        # the sender's wall clock steps back 10 minutes, then the
        # output comes back
        time.sleep(max(0.0, t0 + after + 0.5 - time.monotonic()))
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=20)
