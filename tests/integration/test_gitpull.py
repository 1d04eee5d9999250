"""The gitpull worker in the real daemon.

Its requests come from the scheduler; the git side (clone, update, branch
switch, timeout, shutdown with git running) is tested against real
repositories by tests/unit/test_gitpull_ops.c and test_gitpull_worker.c,
which run worker_main() under its real sandbox.  Here: what it does on its
own at start, as `user`, in pluginsdir.
"""
import os
import unittest

from harness import AgentTest, is_root, nobody_uid, proc_status, wait_until


def give_to_nobody(top):
    """What gitpull makes in pluginsdir belongs to `user`."""
    if not is_root():
        return
    for d, dirs, files in os.walk(top):
        for n in [d] + [os.path.join(d, x) for x in dirs + files]:
            os.chown(n, nobody_uid(), -1)


class Gitpull(AgentTest):

    def test_start_removes_unfinished_clones_and_writes_its_git_config(self):
        plugins = self.agent.values["pluginsdir"]
        ns = os.path.join(plugins, "pool.loda")
        left = os.path.join(ns, ".clone-mysql-Ab12Cd")
        os.makedirs(os.path.join(left, ".git"))
        keep = os.path.join(ns, "mysql")
        os.makedirs(keep)
        give_to_nobody(ns)
        self.agent.write_conf(
            agent_extra=f'\tgit = "file://{self.agent.dir}/src/%s.git"\n')
        self.start_ok()
        st = self.agent.wait_serving()
        gp = self.agent.worker(st, "gitpull")
        wait_until(lambda: not os.path.exists(left), what="leftover gone")
        self.assertTrue(os.path.isdir(keep))
        self.agent.wait_log(r"gitpull.*removed 1 unfinished clone")
        # [agent] gitsigners empty: today's behaviour, and said so
        self.agent.wait_log(r"gitpull.*plugin signatures are not checked "
                            r"\(\[agent\] gitsigners is empty\)")
        cfg = os.path.join(plugins, ".gitpull.gitconfig")
        with open(cfg) as f:
            self.assertIn("[safe]", f.read())
        if is_root():
            self.assertEqual(os.stat(cfg).st_uid, nobody_uid())
            self.assertEqual(proc_status(gp["pid"])["Uid"].split()[0],
                             str(nobody_uid()))
        stats = wait_until(lambda: self.agent.worker(
            self.agent.status(), "gitpull").get("stats"),
            what="gitpull stats")
        self.assertEqual(stats["requests"], 0)
        self.assertEqual(stats["git_runs"], 0)
        self.assertIsNone(stats["last_error"])

    @unittest.skipUnless(is_root(), "skipped: needs root")
    def test_gitpull_killed_is_restarted_and_cleans_again(self):
        self.start_ok()
        st = self.agent.wait_serving()
        old = self.agent.worker(st, "gitpull")["pid"]
        ns = os.path.join(self.agent.values["pluginsdir"], "web.loda")
        left = os.path.join(ns, ".clone-x-Zz99Yy")
        os.makedirs(left)
        give_to_nobody(ns)
        os.kill(old, 9)

        def restarted():
            w = self.agent.worker(self.agent.status(), "gitpull")
            return w if w["pid"] not in (0, old) and \
                w["state"] == "running" else None
        wait_until(restarted, timeout=20, what="gitpull restarted")
        wait_until(lambda: not os.path.exists(left), what="leftover gone")
