"""Scheduled points age out, oldest first, while the output is down;
pushed points get 503 when the buffer is full, never a 200 and a drop
(DESIGN.md section 5).  Memory only here (spool = ""): the spool's own
ageing, a segment at a time, is in test_spool.py."""
import json
import os
import urllib.parse

from harness import wait_until
from nsq_common import NsqTest, NS, TOPIC, make_points
from gitrepos import PluginRepos

PER_RUN = 30
# prints PER_RUN points whose value is the run number given as $1
PLUGIN = f"""#!/bin/sh
i=0
printf '['
while [ $i -lt {PER_RUN} ]; do
    [ $i -gt 0 ] && printf ','
    printf '{{"name":"m%d","timestamp":0,"tags":{{"i":"%d"}},"value":%d}}' \\
        $i $i "$1"
    i=$((i + 1))
done
printf ']\\n'
"""


class Ageing(NsqTest):
    """nsqd refuses while the plugin runs five times into a buffer of
    100 points; then it comes back."""

    def start_counter(self):
        """The agent with the counter plugin, nsqd refusing, a buffer of
        100 points; the nsqd double and the query that runs the plugin."""
        nsqd = self.double(fault="refuse")
        repos = PluginRepos(os.path.join(self.agent.dir, "repos"))
        repo = "ageing/counter"
        repos.create(repo, PLUGIN)
        git = repos.registry_git(repo)
        reg = os.path.join(self.agent.dir, "registry.json")
        with open(reg, "w") as f:
            json.dump({"ns": {NS: ""}, "resources": {NS: [
                {"measurement_type": "PLUGIN", "name": "PLUGIN.counter",
                 "git": git, "interval": "0"}]}}, f)
        os.chmod(reg, 0o644)
        self.agent.write_conf(
            agent_extra=f"\tregistryaddr = \"file://{reg}\"\n"
                        f"\tgit = \"{repos.template}\"\n",
            servers=f"\"{nsqd.http_address}\"", spool="",
            output_extra="\tbuffersize = 100\n")
        self.start_ok()
        self.agent.wait_serving()

        def listed():
            code, body = self.agent.http("/plugins/list")
            return code == 200 and any(
                p["repo"] == repo
                for p in json.loads(body))
        try:
            wait_until(listed, timeout=30, what="the plugin listed")
        except AssertionError as e:
            raise AssertionError(f"{e}\nlog:\n"
                                 f"{self.agent.log_text()[-8000:]}") from None

        q = urllib.parse.urlencode({"ns": NS, "repo": git})
        return nsqd, q

    def metric(self, line):
        """The value of one sample of /metrics, 0 when it is not there."""
        code, page = self.agent.http("/metrics")
        self.assertEqual(code, 200)
        for ln in page.splitlines():
            if ln.startswith(line + " "):
                return float(ln.split()[-1])
        return 0

    def test_scheduled_points_the_buffer_cannot_take_are_said(self):
        # the buffer is full of pushed points, which stay (answered 200):
        # a plugin's points cannot make room by ageing any out and are
        # lost (its producer forgets them on the refusal); they are
        # dropped, not "refused" (a 503 a client sends again), and the
        # log says so (the sender's answer went to the scheduler alone)
        nsqd, q = self.start_counter()
        code, body = self.agent.http(f"/post?ns={NS}", method="POST",
                                     data=json.dumps(make_points(0, 100)))
        self.assertEqual(code, 200, body)
        code, body = self.agent.http(f"/plugins/run?{q}&param=1",
                                     method="POST")
        self.assertEqual(code, 200, body)
        self.agent.wait_log(r"WARN .*sender\[\d+\]: \w+: 30 scheduled "
                            r"points from the scheduler dropped: buffer "
                            r"full \(100 points")
        wait_until(lambda: self.metric('agent_points_dropped_total'
                                       '{reason="buffer_full"}') >= PER_RUN,
                   what="the plugin's points counted as dropped")
        self.assertEqual(self.metric("agent_points_refused_total"), 0)

    def test_oldest_scheduled_points_go_first(self):
        nsqd, q = self.start_counter()
        for run in range(1, 6):
            code, body = self.agent.http(f"/plugins/run?{q}&param={run}",
                                         method="POST")
            self.assertEqual(code, 200, body)
            self.assertEqual(json.loads(body)["status"], "ok", body)

        # a full buffer refuses pushed points: the client keeps them
        pushed = make_points(0, 20)
        code, body = self.agent.http(f"/post?ns={NS}", method="POST",
                                     data=json.dumps(pushed))
        self.assertEqual(code, 503, body)

        # the sender pushes its counters about once a second: wait for a
        # snapshot that has both the drops and the refusal, not for a time
        st = wait_until(lambda: (s := self.stats()) and
                        s.get("dropped_full", 0) > 0 and
                        s.get("refused_full", 0) >= 20 and s,
                        what="scheduled points aged out and the push "
                        "refused")
        self.assertLessEqual(st["buffer_points"], 100)
        self.assertEqual(st["refused_full"], 20, st)
        # the drops are said, not only counted: a warning (every 10 s at
        # most) with how many, where and why
        self.agent.wait_log(r"WARN .*sender\[\d+\]: \w+: \d+ scheduled "
                            r"points dropped, the oldest first, to make "
                            r"room: the memory buffer is full \(100 "
                            r"points")

        nsqd.set_fault("ok")
        wait_until(lambda: self.stats().get("buffer_points") == 0,
                   timeout=30, what="the buffer drained")
        s = self.stats()
        self.assertEqual(s["accepted"], s["published"] + s["dropped_full"],
                         s)
        self.assertGreaterEqual(s["dropped_full"], 5 * (PER_RUN + 1) - 100)
        code, body = self.agent.http(f"/post?ns={NS}", method="POST",
                                     data=json.dumps(pushed))
        self.assertEqual(code, 200, body)
        accepted = s["accepted"] + 20
        wait_until(lambda: self.stats().get("published") ==
                   accepted - s["dropped_full"], timeout=30,
                   what="the pushed points published")

        runs, seqs = {}, set()
        for m in nsqd.messages():
            for p in json.loads(m.body)["points"]:
                if p["measurement"].startswith("PLUGIN.counter."):
                    runs.setdefault(p["fields"]["value"], 0)
                    runs[p["fields"]["value"]] += 1
                elif m.topic == TOPIC and p["measurement"].startswith("RUN."):
                    seqs.add(p["tags"]["seq"])
        # every pushed point once accepted, the whole last run, never the
        # first one
        self.assertEqual(seqs, {str(i) for i in range(20)})
        self.assertEqual(runs.get(5), PER_RUN, runs)
        self.assertNotIn(1, runs, runs)
