"""A wall clock that steps back (NTP correcting a clock that ran fast, a
VM resumed) holds no point back: a partial message waits flushms on the
monotonic clock, never the size of the step.  The sender's wall clock is
stepped with an LD_PRELOAD shim (tests/peers/clockjump.c)."""
import json
import os
import signal
import time

from harness import preload, wait_until
from nsq_common import NS, NsqTest, make_points


class ClockJump(NsqTest):
    TRANSPORT, COMMANDS = "tcp", ("PUB", "MPUB")

    def jump(self, role):
        """The wall clock of `role` steps back 10 minutes once the test
        says so (step())."""
        self.arm = os.path.join(self.agent.dir, "clockjump.arm")
        with open(self.arm, "w") as f:
            f.write("0")
        os.chmod(self.arm, 0o644)
        preload(self, "clockjump", [f"CLOCKJUMP_ROLE={role}",
                                    f"CLOCKJUMP_ARM={self.arm}",
                                    "CLOCKJUMP_BY=-600"])

    def step(self):
        with open(self.arm, "w") as f:
            f.write("1")

    def test_points_held_across_a_step_back_are_not_held_for_it(self):
        d = self.double(fault="refuse")
        # one message of 10 points a request: 15 points take two, the
        # second a partial one that waits flushms once the first is done
        self.configure([f"tcp://{d.tcp_address}"],
                       "\tbatchpoints = 10\n\trequestmessages = 1\n"
                       "\tflushms = 200\n")
        self.jump("sender")
        self.start_ok()
        self.agent.wait_serving()
        sent = make_points(0, 15, name="cj.m")
        self.post_ok(sent)
        # the sender's wall clock steps back 10 minutes, then the
        # output comes back
        self.step()
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=20)

    def test_logrotate_after_a_step_back_gets_a_new_output_file(self):
        """SIGUSR1 (logrotate moved the file output away) is answered at
        most once a second; the master's wall clock stepped back since
        the last one, it was answered only after the step: the sender
        wrote on into the moved file, which logrotate compresses and
        removes, for 10 minutes."""
        out = os.path.join(self.agent.dir, "out")
        os.mkdir(out)
        os.chmod(out, 0o755)
        path = os.path.join(out, "points.jsonl")
        self.agent.write_conf(agent_extra=f'\tnamespaces = [ "{NS}" ]\n',
                              output_name="file",
                              output_extra=f'\tpath = "{path}"\n')
        self.jump("master")
        self.start_ok()
        self.agent.wait_serving()
        os.kill(self.agent.master_pid(), signal.SIGUSR1)
        self.agent.wait_log(r"output file .*points\.jsonl reopened")
        # past the once a second SIGUSR1 is answered at most, then the
        # step back
        time.sleep(1.5)
        self.step()
        os.rename(path, path + ".1")
        os.kill(self.agent.master_pid(), signal.SIGUSR1)
        self.post_ok(make_points(0, 1, name="cj.m"))

        def in_new_file():
            try:
                with open(path) as f:
                    return [json.loads(x) for x in f if x.strip()]
            except FileNotFoundError:
                return None
        wait_until(in_new_file, timeout=10,
                   what="the point in a new output file")
