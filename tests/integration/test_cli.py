"""The command line: check, version, help, usage errors."""
import os

from harness import AgentTest

SEED = os.path.join(os.path.dirname(__file__), "..", "..", "etc",
                    "agent.conf")


class Cli(AgentTest):

    def test_check_seed_file(self):
        r = self.agent.run("check", "-f", SEED, conf=False)
        if os.geteuid() == 0:
            # the seed's pluginsuser "user" does not exist here
            self.assertEqual(r.returncode, 2)
            self.assertIn('pluginsuser = "user"', r.stderr)
        else:
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_check_prints_effective_config(self):
        r = self.agent.run("check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("[agent]", r.stdout)
        self.assertIn(f'listen = "127.0.0.1:{self.agent.port}"', r.stdout)
        self.assertIn("buffersize = 65536", r.stdout)

    def test_check_output_reads_back(self):
        """What `check` prints is a config file that reads back as the same
        config.  A token holding both quotes and ending in a backslash was
        once printed bare, and the backslash joined the next line to it."""
        self.agent.write_conf(agent_extra=(
            "\ttoken = a\"b'c0123456789abcdef\\\n"
            "\\ ;the line above goes on here\n"
            "\tcoredumpdir = '/var/core \"dumps\"'\n"
            "\tnamespaces = \"a.loda\"\n"))
        r = self.agent.run("check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("\ttoken = a\"b'c0123456789abcdef\\ #\n", r.stdout)
        self.assertNotIn("cannot be written", r.stdout)
        printed = os.path.join(self.agent.dir, "printed.conf")
        with open(printed, "w") as f:
            f.write(r.stdout)
        r2 = self.agent.run("check", "-f", printed, conf=False)
        self.assertEqual(r2.returncode, 0, r2.stderr)
        body = r.stdout.partition("\n")[2]
        self.assertEqual(r2.stdout.partition("\n")[2], body)

    def test_check_rejects_bad_value(self):
        self.agent.write_conf(listen="127.0.0.1:99999")
        r = self.agent.run("check")
        self.assertEqual(r.returncode, 2)
        self.assertIn("[agent] listen", r.stderr)
        self.assertIn("99999", r.stderr)

    def test_version_and_help(self):
        r = self.agent.run("version", conf=False)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^agent \d+\.\d+\.\d+")
        for args in (["-h"], ["start", "-h"], ["stop", "-h"],
                     ["status", "-h"], ["check", "-h"], ["reload", "-h"]):
            r = self.agent.run(*args, conf=False)
            self.assertEqual(r.returncode, 0, args)
            self.assertIn("usage: agent", r.stdout)

    def test_usage_errors(self):
        r = self.agent.run("frobnicate", conf=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown command", r.stderr)
        r = self.agent.run("stop", "-m", "dirty")
        self.assertEqual(r.returncode, 2)
        r = self.agent.run("worker", "front", conf=False)
        self.assertEqual(r.returncode, 2)

    def test_check_warns_of_credentials_in_the_git_url(self):
        """git keeps the URL it cloned in every checkout's .git/config,
        which pluginsuser must read (and so may every local user): a
        password in [agent] git would be every plugin's.  gitpull takes
        those of an http or https URL out of it (test_plugins
        GitCredentials); of another scheme, check (and start, reload)
        say so; an ssh user name is no secret."""
        warning = "[agent] git: credentials in the URL"
        for url, said in (("https://ci:s3cret@git.example.com/%s.git", 0),
                          ("https://0123token@git.example.com/%s.git", 0),
                          ("ssh://deploy:pw@git.example.com/%s.git", 1),
                          ("ssh://git@git.example.com/%s.git", 0),
                          ("https://git.example.com/%s.git", 0),
                          ("https://git.example.com/%s@v.git", 0)):
            self.agent.write_conf(agent_extra=f'\tgit = "{url}"\n')
            r = self.agent.run("check")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(warning in r.stderr, bool(said),
                             (url, r.stderr))
