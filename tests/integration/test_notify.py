"""systemd's readiness protocol (Type=notify): `agent start -F` with
NOTIFY_SOCKET pointing at a datagram socket this test owns, the way the
service manager runs it.  READY=1 once every worker is up, RELOADING=1
(with MONOTONIC_USEC) then READY=1 on SIGHUP, for a reload applied and
for one refused, STOPPING=1 on SIGTERM; and no worker inherits the
variable."""
import os
import signal
import socket
import subprocess

from harness import AGENT, AgentTest


class Notify(AgentTest):

    def listen(self, abstract=False):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"agent-it-notify-{os.getpid()}-{id(s)}"
            s.bind("\0" + name)
            env_value = "@" + name
        else:
            path = os.path.join(self.agent.dir, "notify.sock")
            s.bind(path)
            env_value = path
        s.settimeout(30)   # a hang is the failure, not the timing
        self.addCleanup(s.close)
        return s, env_value

    def start_fg(self, env_value, **extra):
        env = dict(os.environ, NOTIFY_SOCKET=env_value, **extra)
        p = subprocess.Popen([AGENT, "start", "-F", "-f", self.agent.conf],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=env)
        self.agent.fg = p
        self.agent.seen_pids.add(p.pid)
        return p

    def next_msg(self, s):
        data = s.recv(4096).decode()
        return dict(line.split("=", 1) for line in data.splitlines())

    def expect(self, s, key):
        """The next datagram, which must carry key=1."""
        m = self.next_msg(s)
        self.assertEqual(m.get(key), "1", m)
        return m

    def run_protocol(self, abstract):
        s, env_value = self.listen(abstract)
        p = self.start_fg(env_value)
        m = self.expect(s, "READY")
        self.assertIn("workers ready", m.get("STATUS", ""))
        # READY means every worker is up
        st = self.agent.status()
        self.assertTrue(all(w["state"] == "running" for w in st["workers"]),
                        st)
        # only the master speaks for the service
        for w in st["workers"]:
            with open(f"/proc/{w['pid']}/environ", "rb") as f:
                self.assertNotIn(b"NOTIFY_SOCKET", f.read(), w["role"])

        # a reload that is applied
        self.agent.write_conf(loglevel="INFO")
        os.kill(p.pid, signal.SIGHUP)
        m = self.expect(s, "RELOADING")
        self.assertGreater(int(m["MONOTONIC_USEC"]), 0)
        m = self.expect(s, "READY")
        self.assertIn("applied", m.get("STATUS", ""))
        self.assertEqual(self.agent.status()["generation"], 2)

        # a reload that is refused: READY=1 all the same
        good = open(self.agent.conf).read()
        self.agent.write_conf(raw="[agent]\n\tlisten = \"127.0.0.1:0x\"\n")
        os.kill(p.pid, signal.SIGHUP)
        self.expect(s, "RELOADING")
        m = self.expect(s, "READY")
        self.assertIn("refused", m.get("STATUS", ""))
        self.assertEqual(self.agent.status()["generation"], 2)
        self.agent.write_conf(raw=good)

        p.send_signal(signal.SIGTERM)
        self.expect(s, "STOPPING")
        self.assertEqual(p.wait(timeout=30), 0)

    def test_path_socket(self):
        self.run_protocol(abstract=False)

    def test_abstract_socket(self):
        self.run_protocol(abstract=True)

    def test_no_socket_no_trouble(self):
        # an unusable NOTIFY_SOCKET is a warning, not a failure
        p = self.start_fg("not-a-socket-address")
        st = self.agent.wait_serving()
        self.assertEqual(st["pid"], p.pid)
        self.agent.wait_log(r"NOTIFY_SOCKET=\"not-a-socket-address\": "
                            r"neither a path nor an abstract socket")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=30), 0)

    def test_watchdog(self):
        # WatchdogSec=: WATCHDOG=1 every half of WATCHDOG_USEC, from the
        # master's loop (one that hangs stops them, and systemd restarts
        # the service); a WATCHDOG_PID of another process means not us
        s, env_value = self.listen()
        p = self.start_fg(env_value, WATCHDOG_USEC="400000")
        kinds = []
        # pings start with the master's loop, READY once the workers are
        # up: on a loaded machine (ASan, two suites) that is many periods
        while "READY" not in kinds or kinds.count("WATCHDOG") < 4:
            m = self.next_msg(s)
            kinds.append("READY" if "READY" in m else
                         "WATCHDOG" if m.get("WATCHDOG") == "1" else str(m))
            self.assertLess(len(kinds), 150, "no READY in 30 s of pings")
        self.assertEqual(set(kinds), {"READY", "WATCHDOG"}, kinds)
        self.agent.wait_log(r"WATCHDOG=1 every 0\.200 s")
        # stopped, the master sends none
        os.kill(p.pid, signal.SIGSTOP)
        try:
            # what was sent before the stop (a running master's would
            # keep coming, and this ends failing below)
            s.settimeout(0.3)
            for _ in range(10):
                s.recv(4096)
        except socket.timeout:
            pass
        try:
            s.settimeout(0.6)   # three periods
            s.recv(4096)
            self.fail("a WATCHDOG=1 from a stopped master")
        except socket.timeout:
            pass
        finally:
            os.kill(p.pid, signal.SIGCONT)
        s.settimeout(30)
        # nothing we start inherits the variables
        for w in self.agent.status()["workers"]:
            with open(f"/proc/{w['pid']}/environ", "rb") as f:
                self.assertNotIn(b"WATCHDOG_", f.read(), w["role"])
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=30), 0)

        # WATCHDOG_PID names another process: no pings
        s2, env2 = self.listen(abstract=True)
        p2 = self.start_fg(env2, WATCHDOG_USEC="400000",
                           WATCHDOG_PID="1")
        self.expect(s2, "READY")
        s2.settimeout(1.5)
        try:
            m = self.next_msg(s2)
            self.fail(f"a datagram with another WATCHDOG_PID: {m}")
        except socket.timeout:
            pass
        p2.send_signal(signal.SIGTERM)
        self.assertEqual(p2.wait(timeout=30), 0)
