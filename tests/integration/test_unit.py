"""contrib/agent.service: systemd-analyze verify accepts it, and its
exposure score (systemd-analyze security --offline) stays at most 3.7,
as Debian's chrony unit (a root daemon that drops privileges) scores.
contrib/agent.logrotate: logrotate accepts it, and it rotates by
SIGUSR1 without copytruncate."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import AGENT, AgentTest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
UNIT = os.path.join(TOP, "contrib", "agent.service")
LOGROTATE = os.path.join(TOP, "contrib", "agent.logrotate")
MAX_EXPOSURE = 3.7


def analyze():
    tool = shutil.which("systemd-analyze")
    if tool is None:
        print("skipped: systemd-analyze missing (Debian package systemd; "
              "make deps installs it)")
        raise unittest.SkipTest("systemd-analyze missing")
    return tool


class Unit(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="agent-unit-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def installed_copy(self):
        """The unit as `make install` would place it: ExecStart pointing
        at the binary under test, the manual pages where man finds them."""
        text = open(UNIT).read()
        self.assertIn("/usr/local/sbin/agent", text)
        text = text.replace("/usr/local/sbin/agent", os.path.abspath(AGENT))
        if shutil.which("man") is None:
            # verify looks the pages up with man(1)
            print("note: man missing: Documentation= not verified")
            text = re.sub(r"^Documentation=.*\n", "", text, flags=re.M)
        path = os.path.join(self.dir, "agent.service")
        with open(path, "w") as f:
            f.write(text)
        for sec, page in (("8", "agent.8"), ("5", "agent.conf.5")):
            d = os.path.join(self.dir, "man", "man" + sec)
            os.makedirs(d, exist_ok=True)
            shutil.copy(os.path.join(TOP, "doc", page), d)
        return path

    def test_verify(self):
        tool = analyze()
        path = self.installed_copy()
        env = dict(os.environ, MANPATH=os.path.join(self.dir, "man"))
        r = subprocess.run([tool, "verify", path], capture_output=True,
                           text=True, timeout=120, env=env, cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # verify prints problems it does not count as errors too
        self.assertEqual(r.stdout + r.stderr, "", r.stdout + r.stderr)

    def test_security_exposure(self):
        tool = analyze()
        r = subprocess.run([tool, "security", "--offline=yes",
                            "--no-pager", UNIT], capture_output=True,
                           text=True, timeout=120)
        m = re.search(r"Overall exposure level for agent\.service: "
                      r"([0-9.]+)", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        score = float(m.group(1))
        print(f"exposure {score}")
        self.assertLessEqual(score, MAX_EXPOSURE, r.stdout)

    def test_what_the_agent_needs_is_kept(self):
        # the directives that would break the agent are not there (each
        # is explained in the unit): it must keep root's identity
        # switches and the collector's reading capabilities
        text = open(UNIT).read()
        directives = dict(re.findall(r"^(\w+)=(.*)$", text, re.M))
        self.assertEqual(directives["Type"], "notify")
        self.assertIn("start -F", directives["ExecStart"])
        self.assertNotIn("User", directives)
        caps = directives["CapabilityBoundingSet"].split()
        for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_CHOWN",
                    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_DAC_READ_SEARCH",
                    "CAP_SYS_PTRACE", "CAP_SETPCAP"):
            self.assertIn(cap, caps)
        for key in ("MemoryDenyWriteExecute", "PrivateUsers",
                    "PrivateNetwork", "ProcSubset", "IPAddressDeny"):
            self.assertNotIn(key, directives, f"{key}: see the unit")
        self.assertNotEqual(directives.get("ProtectProc"), "invisible")
        self.assertEqual(directives["UMask"], "0027")


class Logrotate(AgentTest):

    def test_snippet_rotates_a_running_agent(self):
        text = open(LOGROTATE).read()
        rules = "\n".join(l for l in text.splitlines()
                          if not l.strip().startswith("#"))
        self.assertNotIn("copytruncate", rules)
        self.assertIn("kill -USR1", rules)
        tool = shutil.which("logrotate")
        if tool is None:
            print("skipped: logrotate missing (make deps installs it)")
            self.skipTest("logrotate missing")
        # the snippet with this agent's paths, forced to rotate now
        log = os.path.join(self.agent.values["logdir"], "agent.log")
        text = text.replace("/var/log/agent/agent.log", log).replace(
            "/run/agent/agent.pid", self.agent.values["pidfile"])
        conf = os.path.join(self.agent.dir, "logrotate.conf")
        with open(conf, "w") as f:
            f.write(text)
        self.start_ok()
        self.agent.wait_serving()
        r = subprocess.run([tool, "--force", "--state",
                            os.path.join(self.agent.dir, "lr.state"), conf],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.path.exists(log + ".1"))
        # the master reopened: its next lines go to a new agent.log
        self.agent.wait_log(r"SIGUSR1: log file reopened")
        self.assertNotIn("SIGUSR1: log file reopened",
                         open(log + ".1").read())
        self.assertEqual(self.agent.stop().returncode, 0)
        self.assertIn("agent stopped", open(log).read())
