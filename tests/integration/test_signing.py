"""Plugins run only when a trusted key signed them (issue 15).

Keys are made with ssh-keygen, commits and tags signed with them in real
git repositories (gitrepos.py), and the real agent, with [agent]
gitsigners naming an allowed-signers file, pulls and runs the plugins:
what a trusted key signed runs; what is unsigned, signed by another key,
by a trusted key whose line is for another e-mail, or by a key whose
line expired, is not checked out, and /plugins/list, the log, a
plugin.result point (type "untrusted") and the counters say why.  An
update to an untrusted commit leaves the running one in place, even
when the checkout's own .git/config names a fake ssh-keygen; a newly
signed one is taken; a reload that drops the key stops the plugin.
With gitsignedtags, a signed tag on the tip is what counts.  Some of the
signing is done by contrib/sign-release.sh, as an operator would.

One agent run covers several plugins; the git side in detail is
tests/unit/test_gitpull_sign.c.
"""
import os
import subprocess
import time

from gitrepos import GIT_ENV, git, open_tree, ssh_key
from harness import AgentTest, wait_until
from test_plugins import (EXC_TOPIC, GROUP, NS, RESULT, PluginTest,
                          version_plugin)

DEV = "dev@example.com"
SIGN_RELEASE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            os.pardir, os.pardir, "contrib",
                            "sign-release.sh")


class Signing(PluginTest):

    def setUp(self):
        super().setUp()
        self.keydir = os.path.join(self.agent.dir, "keys")
        os.makedirs(self.keydir)
        self.pub = {k: ssh_key(os.path.join(self.keydir, k))
                    for k in ("good", "other", "limited", "expired")}
        self.signers = os.path.join(self.agent.dir, "allowed_signers")
        self.write_signers(
            f'{DEV} namespaces="git" {self.pub["good"]}\n'
            # trusted, but only for another e-mail
            f'ops@example.com {self.pub["limited"]}\n'
            # trusted until 2020
            f'{DEV} valid-before="20200101Z" {self.pub["expired"]}\n')

    def write_signers(self, text):
        tmp = self.signers + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.signers)

    def by(self, key):
        return (os.path.join(self.keydir, key), DEV)

    def plugin(self, project, script, sign, interval="0"):
        self.repos.create(f"{GROUP}/{project}", script, sign=sign)
        self.add(NS, project, script, interval=interval)

    def sign_release(self, project, key, *args):
        """contrib/sign-release.sh in the work tree, pushed to origin."""
        r = subprocess.run([SIGN_RELEASE, "-k", os.path.join(self.keydir,
                                                             key),
                            "-e", DEV, "-p", "origin", *args],
                           cwd=self.repos.work(f"{GROUP}/{project}"),
                           env=GIT_ENV, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"gitsigners line: {DEV} namespaces=\"git\" "
                      f"{self.pub[key]}", r.stdout)
        return self.repos.head(f"{GROUP}/{project}")

    def checkout_head(self, project):
        return git("-c", "safe.directory=*", "rev-parse", "HEAD",
                   cwd=os.path.join(self.pd, NS, project))

    def untrusted_results(self, project):
        return [r for r in self.results(project) if r[1] == "untrusted"]

    def status_stats(self, role):
        return self.agent.worker(self.agent.status(), role).get("stats") \
            or {}

    def test_only_signed_commits_run(self):
        good = "good"
        self.plugin(good, version_plugin(1), self.by("good"), interval="10")
        refused = {
            "unsigned": "is not signed",
            "otherkey": "which gitsigners does not trust for that e-mail",
            # git finds the line by the key; the line for this e-mail
            # does not hold that key
            "limited": f"by <{DEV}>: signed with ED25519 key SHA256:",
            "expired": "; 1 line for that e-mail is not valid now",
        }
        self.plugin("unsigned", version_plugin(0), None)
        self.plugin("otherkey", version_plugin(0), self.by("other"))
        self.plugin("limited", version_plugin(0), self.by("limited"))
        self.plugin("expired", version_plugin(0), self.by("expired"))
        gkey = f"{NS}|{good}"
        self.start_with(gkey, extra=f'\tgitsigners = "{self.signers}"\n')
        self.agent.wait_log(r"gitpull.*plugin signatures are checked: only "
                            r"commits signed by a key of .*allowed_signers "
                            r"\(3 lines\)")
        lst = self.wait_checkout(*(f"{NS}|{p}" for p in refused),
                                 state="untrusted")

        # the trusted one runs, and says who signed it
        v1 = self.repos.head(f"{GROUP}/{good}")
        g = lst[gkey]
        self.assertEqual((g["commit"], g["scheduled"], g["git_error"]),
                         (v1, True, ""))
        self.assertTrue(g["signer"].startswith(f"{DEV} (ED25519 key "
                                               "SHA256:"), g["signer"])
        body = self.run_plugin_ok(NS, good)
        self.assertEqual(body["status"], "ok", body)
        self.assertIn('"value":1', body["output_head"])

        # the others: not there, not scheduled, and why
        for p, why in refused.items():
            item = lst[f"{NS}|{p}"]
            self.assertEqual((item["commit"], item["scheduled"],
                              item["signer"]), ("", False, ""), p)
            self.assertTrue(item["git_error"].startswith(
                "untrusted: commit "), item["git_error"])
            self.assertIn(why, item["git_error"])
            self.assertFalse(os.path.exists(os.path.join(self.pd, NS, p)))
            self.agent.wait_log(rf"plugin {NS}\|{p}: untrusted: commit "
                                rf"\w+ .*; not run")
            wait_until(lambda p=p: self.untrusted_results(p),
                       what=f"{RESULT} untrusted of {p}")
            self.assertEqual(self.untrusted_results(p)[0], (1, "untrusted"))
        st, body = self.run_plugin(NS, "unsigned")
        self.assertEqual(st, 502, body)
        self.assertIn("untrusted: commit", body["error"])

        # an update to an unsigned commit: the signed one stays and runs
        self.repos.commit(f"{GROUP}/{good}", version_plugin(2))
        st, _, body = self.call("update", NS, good)
        self.assertEqual(st, 502, body)
        self.assertIn("untrusted: commit", body["error"])
        self.assertIn("is not signed", body["error"])
        self.assertEqual(self.checkout_head(good), v1)
        g = self.listed()[gkey]
        self.assertEqual((g["checkout"], g["commit"], g["scheduled"]),
                         ("ok", v1, True))
        self.assertTrue(g["git_error"].startswith("untrusted: "), g)
        self.agent.wait_log(rf"plugin {NS}\|{good}: untrusted: .*; it keeps "
                            rf"running commit {v1[:12]}")
        body = self.run_plugin_ok(NS, good)
        self.assertIn('"value":1', body["output_head"])

        # the checkout's own config names a fake ssh-keygen that says
        # "Good" to all, and a file that trusts the other key: no use
        fake = os.path.join(self.agent.dir, "fake-ssh-keygen")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\ncase \"$*\" in\n*find-principals*) echo "
                    f"{DEV};;\n*) echo 'Good \"git\" signature for {DEV} "
                    "with ED25519 key SHA256:x';;\nesac\nexit 0\n")
        os.chmod(fake, 0o755)
        permissive = os.path.join(self.agent.dir, "permissive")
        with open(permissive, "w") as f:
            f.write(f'* {self.pub["other"]}\n')
        os.chmod(permissive, 0o644)
        co = os.path.join(self.pd, NS, good)
        for k, v in (("gpg.format", "ssh"), ("gpg.ssh.program", fake),
                     ("gpg.program", fake),
                     ("gpg.ssh.allowedSignersFile", permissive)):
            git("config", "--file", os.path.join(co, ".git", "config"), k, v)
        self.repos.commit(f"{GROUP}/{good}", version_plugin(3),
                          sign=self.by("other"))
        st, _, body = self.call("update", NS, good)
        self.assertEqual(st, 502, body)
        self.assertIn("which gitsigners does not trust", body["error"])
        self.assertEqual(self.checkout_head(good), v1)

        # a newly signed commit is taken: one made unsigned, then
        # signed on top with the release script
        self.repos.commit(f"{GROUP}/{good}", version_plugin(4))
        v4 = self.sign_release(good, "good", "-m", "release 4")
        st, _, body = self.call("update", NS, good)
        self.assertEqual((st, body["commit"]), (200, v4), body)
        self.assertEqual(self.checkout_head(good), v4)
        body = self.run_plugin_ok(NS, good)
        self.assertIn('"value":4', body["output_head"])
        g = self.listed()[gkey]
        self.assertEqual((g["commit"], g["git_error"]), (v4, ""))

        # the counters
        gs = wait_until(lambda: (s := self.status_stats("gitpull")) and
                        s.get("signatures_untrusted", 0) >= 7 and s,
                        what="gitpull signature counters")
        self.assertGreaterEqual(gs["signatures_verified"], 3)
        ss = wait_until(lambda: (s := self.status_stats("scheduler")) and
                        s.get("untrusted", 0) >= 7 and s,
                        what="scheduler untrusted counter")
        self.assertGreaterEqual(ss["git_errors"], ss["untrusted"])

        # the key dropped by a reload: what runs is refused at its next
        # check, and stops
        self.write_signers(f'{DEV} {self.pub["other"]}\n')
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.agent.wait_log(r"reload: config generation 2 acknowledged")
        self.agent.wait_log(r"gitpull.*plugin signatures are checked: .* "
                            r"\(1 line\)")
        st, body = self.run_plugin_settled(NS, good)
        self.assertEqual(st, 502, body)
        self.assertIn("which gitsigners does not trust", body["error"])
        g = self.listed()[gkey]
        self.assertEqual((g["checkout"], g["scheduled"], g["commit"]),
                         ("untrusted", False, ""))
        self.assert_no_strays()

    def test_a_branch_moved_back_to_an_older_signed_commit_is_refused(self):
        # every commit is signed by the trusted key; the server then
        # moves the branch back to v1, which has a bug fixed in v2
        self.plugin("back", version_plugin(1), self.by("good"))
        key = f"{NS}|back"
        self.start_with(key, extra=f'\tgitsigners = "{self.signers}"\n')
        v1 = self.repos.head(f"{GROUP}/back")
        v2 = self.repos.commit(f"{GROUP}/back", version_plugin(2),
                               sign=self.by("good"))
        st, _, body = self.call("update", NS, "back")
        self.assertEqual((st, body["commit"]), (200, v2), body)
        self.repos.publish(f"{GROUP}/back", v1, "refs/heads/release")
        st, _, body = self.call("update", NS, "back")
        self.assertEqual(st, 502, body)
        why = (f"untrusted: commit {v1[:12]} does not descend from "
               f"{v2[:12]}, the branch's commit checked out: a branch moved "
               f"back or rewritten is refused")
        self.assertIn(why, body["error"])
        self.assertEqual(self.checkout_head("back"), v2)
        g = self.listed()[key]
        self.assertEqual((g["checkout"], g["commit"]), ("ok", v2))
        # reported as any untrusted update is: the list, the log, a
        # plugin.result point and the counters
        self.assertTrue(g["git_error"].startswith(why), g)
        self.agent.wait_log(rf"plugin {NS}\|back: untrusted: commit "
                            rf"{v1[:12]} does not descend from {v2[:12]}, "
                            rf".*; it keeps running commit {v2[:12]}")
        wait_until(lambda: self.untrusted_results("back"),
                   what=f"{RESULT} untrusted of back")
        wait_until(lambda: self.status_stats("gitpull").get(
            "signatures_untrusted", 0) >= 1, what="signatures_untrusted")
        wait_until(lambda: self.status_stats("scheduler").get(
            "untrusted", 0) >= 1, what="scheduler untrusted counter")
        body = self.run_plugin_ok(NS, "back")
        self.assertIn('"value":2', body["output_head"])
        # the operator's way to take it: remove the checkout
        give_up = os.path.join(self.pd, NS, "back")
        subprocess.run(["rm", "-rf", give_up], check=True)
        st, _, body = self.call("update", NS, "back")
        self.assertEqual((st, body["commit"]), (200, v1), body)
        self.assertEqual(self.checkout_head("back"), v1)
        # a signed commit on top of v2 is taken again
        self.repos.publish(f"{GROUP}/back", v2, "refs/heads/release")
        v3 = self.repos.commit(f"{GROUP}/back", version_plugin(3),
                               sign=self.by("good"))
        st, _, body = self.call("update", NS, "back")
        self.assertEqual((st, body["commit"]), (200, v3), body)

    def test_a_plugin_moved_to_an_older_signed_release_is_refused(self):
        # g/mover at v2, every commit signed; the registry moves it to
        # g2/mover, a repository of its own holding a signed v1 (a fork
        # of an old release): taking it would roll the plugin back
        v2 = self.repos.create("g/mover", version_plugin(2),
                               sign=self.by("good"))
        self.repos.create("g2/mover", version_plugin(1),
                          sign=self.by("good"))
        v1 = self.repos.head("g2/mover")
        self.items.setdefault(NS, []).append({
            "measurement_type": "PLUGIN", "name": "PLUGIN.mover",
            "git": self.repos.registry_git("g/mover"), "interval": "0"})
        key = f"{NS}|mover"
        lst = self.start_with(key,
                              extra=f'\tgitsigners = "{self.signers}"\n')
        self.assertEqual(lst[key]["commit"], v2)

        self.items[NS][-1]["git"] = self.repos.registry_git("g2/mover")
        self.write_registry()
        self.refresh()
        why = (f"untrusted: commit {v1[:12]} does not descend from "
               f"{v2[:12]}, the branch's commit checked out from ")
        lst = self.wait_listed(lambda lst: lst[key]["repo"] == "g2/mover"
                               and lst[key]["git_error"].startswith(why),
                               "the move refused")
        self.assertIn("g2/mover.git, which does not hold that history, is "
                      "refused (remove the checkout to take it)",
                      lst[key]["git_error"])
        # a moved plugin does not run until the move is taken; the
        # checkout stays as it was, so that the next try is held to it
        self.assertEqual((lst[key]["checkout"], lst[key]["commit"]),
                         ("untrusted", ""), lst[key])
        self.assertEqual(self.checkout_head("mover"), v2)
        self.agent.wait_log(rf"plugin {NS}\|mover: untrusted: commit "
                            rf"{v1[:12]} does not descend from {v2[:12]}, "
                            rf".*; not run")
        wait_until(lambda: [p for p in self.points(EXC_TOPIC, RESULT)
                            if p["tags"]["name"] == "g2/mover" and
                            p["tags"]["type"] == "untrusted"],
                   what=f"{RESULT} untrusted of g2/mover")
        moved = {"ns": NS, "repo": self.repos.registry_git("g2/mover")}
        st, _, body = self.api("/plugins/update", moved)
        self.assertEqual(st, 502, body)
        self.assertIn(why, body["error"])
        self.assertEqual(self.checkout_head("mover"), v2)

        # the fork carries v2 forward: the move goes through
        v3 = self.repos.commit("g/mover", version_plugin(3),
                               sign=self.by("good"))
        git("fetch", "--quiet", self.repos.bare("g/mover"),
            "+refs/heads/release:refs/heads/release",
            cwd=self.repos.bare("g2/mover"))
        open_tree(self.repos.root)
        st, _, body = self.api("/plugins/update", moved)
        self.assertEqual((st, body["commit"]), (200, v3), body)
        self.assertEqual(self.checkout_head("mover"), v3)
        st, _, body = self.api("/plugins/run", moved)
        self.assertEqual((st, body["status"], body["commit"]),
                         (200, "ok", v3), body)
        self.assertIn('"value":3', body["output_head"])
        self.assert_no_strays()

    def test_signed_tags(self):
        self.plugin("tagged", version_plugin(1), self.by("good"))
        self.repos.tag(f"{GROUP}/tagged", "v1", sign=self.by("good"))
        self.plugin("commitonly", version_plugin(1), self.by("good"))
        self.start_with(f"{NS}|tagged",
                        extra=f'\tgitsigners = "{self.signers}"\n'
                              '\tgitsignedtags = yes\n')
        self.agent.wait_log(r"plugin signatures are checked: only commits "
                            r"carrying a tag signed by a key of")
        lst = self.wait_checkout(f"{NS}|commitonly", state="untrusted")
        self.assertTrue(lst[f"{NS}|tagged"]["signer"].startswith(
            f"tag v1: {DEV} (ED25519 key"), lst[f"{NS}|tagged"])
        self.assertIn("carries no annotated tag (gitsignedtags = yes)",
                      lst[f"{NS}|commitonly"]["git_error"])
        body = self.run_plugin_ok(NS, "tagged")
        self.assertEqual(body["status"], "ok", body)

        # a new signed commit, then its signed tag: taken with the tag
        v2 = self.repos.commit(f"{GROUP}/tagged", version_plugin(2),
                               sign=self.by("good"))
        st, _, body = self.call("update", NS, "tagged")
        self.assertEqual(st, 502, body)
        self.assertIn("carries no annotated tag", body["error"])
        self.sign_release("tagged", "good", "-t", "v2")
        st, _, body = self.call("update", NS, "tagged")
        self.assertEqual((st, body.get("commit")), (200, v2), body)
        wait_until(lambda: self.untrusted_results("commitonly"),
                   what="plugin.result untrusted of commitonly")

    def test_a_key_taken_out_by_a_reload_stops_what_it_signed(self):
        # a key leaked: the server's new release, signed with it, was
        # taken; the operator takes the key out of gitsigners and
        # reloads.  The scheduled plugin it signed must stop then, not
        # at the next /plugins/run or restart, which may never come.
        name = "leak"
        self.plugin(name, version_plugin(1), self.by("good"),
                    interval="10")
        key = f"{NS}|{name}"
        lst = self.start_with(key, extra=f'\tgitsigners = "{self.signers}"'
                                         '\n')
        self.assertTrue(lst[key]["scheduled"], lst[key])
        wait_until(lambda: [r for r in self.results(name)
                            if r[1] == "regular"], timeout=25,
                   what="a scheduled run")
        self.write_signers(f'{DEV} {self.pub["other"]}\n')
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        lst = self.wait_listed(
            lambda lst: lst[key]["checkout"] == "untrusted",
            "the plugin stopped by the reload")
        self.assertEqual((lst[key]["scheduled"], lst[key]["commit"]),
                         (False, ""), lst[key])
        self.assertIn("which gitsigners does not trust",
                      lst[key]["git_error"])
        ran = len([r for r in self.results(name) if r[1] == "regular"])
        time.sleep(11)
        self.assertEqual(len([r for r in self.results(name)
                              if r[1] == "regular"]), ran)

        # trusted again: it runs again, without being asked to
        self.write_signers(f'{DEV} namespaces="git" {self.pub["good"]}\n')
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_listed(lambda lst: lst[key]["checkout"] == "ok" and
                         lst[key]["scheduled"], "trusted again")

    def test_a_flood_of_tags_does_not_fill_the_checkout(self):
        # a hostile server adds 20,000 tags: a fetch of refs/tags/* made
        # a file of each in .git/refs/tags (a 4 kB block and an inode
        # apiece: in gittimeout, millions), which neither RLIMIT_FSIZE
        # nor gitmaxsize bounds
        self.plugin("flood", version_plugin(1), self.by("good"))
        self.repos.tag(f"{GROUP}/flood", "v1", sign=self.by("good"))
        key = f"{NS}|flood"
        lst = self.start_with(key, extra=f'\tgitsigners = "{self.signers}"'
                                         '\n\tgitsignedtags = yes\n')
        head = lst[key]["commit"]
        bare = self.repos.bare(f"{GROUP}/flood")
        with open(os.path.join(bare, "packed-refs"), "a") as f:
            for i in range(20000):
                f.write(f"{head} refs/tags/zz{i:05d}\n")
        st, _, body = self.call("update", NS, "flood")
        self.assertEqual((st, body.get("commit")), (200, head), body)
        refs = os.path.join(self.pd, NS, "flood", ".git", "refs")
        files = sum(len(f) for _, _, f in os.walk(refs))
        self.assertLess(files, 100, "a file per tag in .git/refs")
        body = self.run_plugin_ok(NS, "flood")
        self.assertIn('"value":1', body["output_head"])


class SigningConfig(AgentTest):
    """What the master refuses to start with."""

    def check_with(self, text, mode=0o644):
        path = os.path.join(self.agent.dir, "allowed_signers")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        self.agent.write_conf(agent_extra=f'\tgitsigners = "{path}"\n')
        return path, self.agent.run("check")

    def test_bad_signers_files_are_config_errors(self):
        key = ssh_key(os.path.join(self.agent.dir, "k"))
        path, r = self.check_with(f"{DEV} {key}\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f'gitsigners = "{path}"', r.stdout)

        path, r = self.check_with(f"{DEV} {key}\n{DEV} valid-before="
                                  f"20200101 {key}\n")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn(f'[agent] gitsigners = "{path}": line 2: option '
                      'valid-before: the value must be in double quotes',
                      r.stderr)

        path, r = self.check_with(f"{DEV} {key}\n", mode=0o666)
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("writable by group or others", r.stderr)

        # and a daemon does not start on it
        r = self.agent.start()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("writable by group or others", r.stderr)
