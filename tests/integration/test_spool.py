"""200 means delivered: the spool.  Points answered 200 are on disk
(the write(2) returned) and survive the kill -9 of the sender, of the
front, of the whole agent; a torn or corrupt record costs only itself,
counted; a full spool answers 503 to pushed points and ages scheduled ones
out; a spool that cannot be written answers 503, never 200; one that
cannot be used at all leaves the memory buffer carrying on, said in the
log and /me/status; a reload may move it; `agent stop` leaves what was
not published in it, and `stop -m clean` keeps it."""
import collections
import glob
import json
import os
import re
import signal
import struct
import subprocess
import threading
import time
import urllib.parse

from gitrepos import PluginRepos
from harness import (ClosedPort, is_root, nobody_uid, preload, proc_alive,
                     wait_until)
from nsq_common import (NS, NsqTest, expected_key, make_points,
                        received_lines)


def segments(d):
    return sorted(glob.glob(os.path.join(d, "*.seg")))


def records(path):
    """(offset, length) of each record of a segment file."""
    with open(path, "rb") as f:
        data = f.read()
    out, off = [], 16
    while off + 28 <= len(data) and data[off:off + 4] == b"AGSR":
        n = struct.unpack("<I", data[off + 4:off + 8])[0]
        out.append((off, n))
        off += n
    return out


class Spool(NsqTest):
    TRANSPORT, COMMANDS = "tcp", ("PUB", "MPUB")

    def down_double(self):
        """The nsqd double, refusing every connection (output down)."""
        return self.double(fault="refuse")

    def setup_agent(self, d, extra="", **changes):
        self.configure([f"tcp://{d.tcp_address}"], extra, **changes)
        self.start_ok()
        self.agent.wait_serving()

    def start_with_plugins(self, d, plugins, agent_extra="", **changes):
        """The agent started with on-demand plugins (name: script), from
        git repositories and a registry file, publishing to double d."""
        repos = PluginRepos(os.path.join(self.agent.dir, "repos"))
        for name, script in plugins.items():
            repos.create("spool/" + name, script)
        reg = os.path.join(self.agent.dir, "registry.json")
        with open(reg, "w") as f:
            json.dump({"ns": {NS: ""}, "resources": {NS: [
                {"measurement_type": "PLUGIN", "name": "PLUGIN." + name,
                 "git": repos.registry_git("spool/" + name),
                 "interval": "0"} for name in plugins]}}, f)
        os.chmod(reg, 0o644)
        self.agent.write_conf(
            agent_extra=f"\tregistryaddr = \"file://{reg}\"\n"
                        f"\tgit = \"{repos.template}\"\n" + agent_extra,
            output_name="nsq", servers=f'"tcp://{d.tcp_address}"',
            **changes)
        self.start_ok()
        self.agent.wait_serving()
        want = {"spool/" + name for name in plugins}

        def listed():
            code, body = self.agent.http("/plugins/list")
            return code == 200 and want <= {p["repo"]
                                            for p in json.loads(body)}
        wait_until(listed, timeout=30, what="the plugins listed")
        return repos

    def post_thousands(self, first, n):
        sent = make_points(first, n, name="sp.m")
        for i in range(0, n, 1000):
            self.post_ok(sent[i:i + 1000], unix=(i // 1000) % 2 == 1)
        return sent

    def tmpfs_spool(self, name, size):
        """A spool directory on a tmpfs of `size`, the sender's user's."""
        spool = os.path.join(self.agent.dir, name)
        os.makedirs(spool)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            f"size={size},mode=0700,uid={nobody_uid()}",
                            "agent-spool-test", spool],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"skipped: cannot mount a tmpfs: {r.stderr}")
        # after the agent's own cleanup (cleanups run last in, first out)
        self.addCleanup(subprocess.run, ["umount", "-l", spool])
        return spool

    def kill_whole_agent(self, crash=False):
        """kill -9 of every agent process.  crash: all stopped first, so
        that none runs a line more (a worker that sees the master gone
        ends cleanly, syncing what it holds), as in a power failure."""
        st = self.agent.status()
        pids = [st["pid"]] + [w["pid"] for w in st["workers"] if w["pid"]]
        for p in pids if crash else ():
            os.kill(p, signal.SIGSTOP)
        for p in pids:
            os.kill(p, signal.SIGKILL)
        wait_until(lambda: not any(proc_alive(p) for p in pids),
                   what="every agent process gone")

    def restarted(self, role, old):
        def up():
            st = self.agent.status()
            w = self.agent.worker(st, role)
            return (w["pid"] not in (0, old) and w["state"] == "running" and
                    all(x["state"] == "running" for x in st["workers"]))
        wait_until(up, timeout=30, what=f"a new {role}")

    def three_thousand_spooled(self):
        """Root only: 3000 points accepted with the output down, in the
        spool: (double, spool, points sent)."""
        if not is_root():
            self.skipTest("skipped: needs root")
        d = self.down_double()
        self.setup_agent(d)
        sent = self.post_thousands(0, 3000)
        self.wait_stats(lambda s: s.get("accepted") == 3000, "accepted")
        return d, self.agent.values["spool"], sent

    def fail_a_move(self):
        """three_thousand_spooled(), then a reload to a spool too small to
        take them (a tmpfs): (double, old spool, new spool, points sent)."""
        d, old, sent = self.three_thousand_spooled()
        new = self.tmpfs_spool("small", "96k")
        self.agent.write_conf(spool=new)
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        return d, old, new, sent

    # -----------------------------------------------------------------
    def test_sender_and_front_killed_with_the_output_down(self):
        d = self.down_double()
        self.setup_agent(d)
        sent = self.post_thousands(0, 20000)
        st = self.wait_stats(lambda s: s.get("accepted") == 20000,
                             "20000 accepted")
        self.assertGreaterEqual(st["spool_records_written"], 20, st)
        self.assertEqual(st["published"], 0, st)
        for role in ("sender", "front"):
            old = self.agent.worker(self.agent.status(), role)["pid"]
            os.kill(old, signal.SIGKILL)
            self.restarted(role, old)
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=60)
        st = self.wait_stats(lambda s: s.get("published") == 20000,
                             "the new sender published 20000")
        self.assertGreaterEqual(st["spool_records_replayed"], 20, st)

    def test_whole_agent_killed_then_started(self):
        d = self.down_double()
        self.setup_agent(d)
        sent = self.post_thousands(0, 10000)
        self.kill_whole_agent()
        self.start_ok()
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=60)
        self.agent.wait_log(r"spool .*: 10000 points in \d+ records to "
                            r"publish first")

    def test_torn_and_corrupt_records(self):
        d = self.down_double()
        self.setup_agent(d)
        a = make_points(0, 100, name="sp.a")
        b = make_points(1000, 100, name="sp.b")
        c = make_points(2000, 100, name="sp.c")
        for pts in (a, b, c):
            self.post_ok(pts)
        self.kill_whole_agent()
        segs = segments(self.agent.values["spool"])
        self.assertEqual(len(segs), 1, segs)
        recs = records(segs[0])
        self.assertEqual(len(recs), 3, recs)
        # a flipped byte in the first, the last cut short mid-record
        with open(segs[0], "r+b") as f:
            f.seek(recs[0][0] + recs[0][1] // 2)
            byte = f.read(1)
            f.seek(recs[0][0] + recs[0][1] // 2)
            f.write(bytes([byte[0] ^ 0x01]))
            f.truncate(recs[2][0] + recs[2][1] // 3)
        self.start_ok()
        d.set_fault("ok")
        self.assert_arrived([d], b, timeout=30)
        st = self.wait_stats(lambda s: s.get("published") == 100,
                             "the one whole record published")
        self.assertEqual(st["spool_records_skipped"], 1, st)
        self.assertEqual(st["spool_records_cut"], 1, st)
        name = os.path.basename(segs[0])
        self.agent.wait_log(rf"segment {name}: \d+ corrupt bytes at offset "
                            rf"{recs[0][0]} skipped")
        self.agent.wait_log(rf"segment {name}: torn record at offset "
                            rf"{recs[2][0]} .* cut off")

    def test_full_spool_503_for_pushed_ageing_for_scheduled(self):
        d = self.down_double()
        # a plugin printing about 8 KB a run: a segment of its own each
        per_run = 50
        plugin = ("#!/bin/sh\ni=0\nprintf '['\n"
                  f"while [ $i -lt {per_run} ]; do\n"
                  "    [ $i -gt 0 ] && printf ','\n"
                  "    printf '{\"name\":\"m%d\",\"timestamp\":0,\"tags\":"
                  "{\"i\":\"%d\",\"pad\":\"" + "p" * 100 + "\"},"
                  "\"value\":%d}' $i $i \"$1\"\n"
                  "    i=$((i + 1))\ndone\nprintf ']\\n'\n")
        repos = self.start_with_plugins(
            d, {"filler": plugin}, output_extra="\tspoolbytes = 65536\n")
        git = repos.registry_git("spool/filler")
        # pushed points first, while there is room: 200
        pushed = make_points(0, 50)
        self.post_ok(pushed)
        q = urllib.parse.urlencode({"ns": NS, "repo": git})
        runs = 14
        for run in range(1, runs + 1):
            code, body = self.agent.http(f"/plugins/run?{q}&param={run}",
                                         method="POST")
            self.assertEqual(code, 200, body)
        st = self.wait_stats(lambda s: s.get("dropped_full", 0) > 0,
                             "scheduled points aged out")
        self.assertLessEqual(st["spool_bytes"], 65536, st)
        self.agent.wait_log(r"WARN .*sender\[\d+\]: \w+: \d+ scheduled "
                            r"points dropped, the oldest first, to make "
                            r"room: the spool is full \(65536 bytes")
        # the spool is full: pushed points get 503, with Retry-After
        status, retry, body = self.post(make_points(100, 200))
        self.assertEqual(status, 503, body)
        self.assertIsNotNone(retry)
        self.assertIn("the spool is full", body)
        st = self.wait_stats(lambda s: s.get("refused_full") == 200,
                             "200 refused")
        d.set_fault("ok")
        st = self.wait_stats(
            lambda s: s.get("accepted") == s.get("published", 0) +
            s.get("dropped_full", 0) and s.get("buffer_points") == 0,
            "everything published or aged out", timeout=60)
        got = {}
        seqs = set()
        for m in d.messages():
            for p in json.loads(m.body)["points"]:
                if p["measurement"].startswith("PLUGIN.filler."):
                    v = p["fields"]["value"]
                    got[v] = got.get(v, 0) + 1
                elif p["measurement"].startswith("RUN."):
                    seqs.add(p["tags"]["seq"])
        # every pushed point answered 200, the last run whole, not the
        # first one
        self.assertEqual(seqs, {str(i) for i in range(50)})
        self.assertEqual(got.get(runs), per_run, got)
        self.assertNotIn(1, got, got)

    def test_unwritable_spool_answers_503_never_200(self):
        d = self.down_double()
        # segments of 256 KiB: the second request of 1000 opens another
        self.setup_agent(d, "\tspoolbytes = 2097152\n")
        spool = self.agent.values["spool"]
        ok = self.post_thousands(0, 1000)
        os.chmod(spool, 0o500)
        self.addCleanup(os.chmod, spool, 0o700)
        refused = None
        for i in range(1, 8):
            pts = make_points(i * 1000, 1000, name="sp.m")
            status, _, body = self.post(pts)
            if status == 200:
                ok.extend(pts)
                continue
            self.assertEqual(status, 503, body)
            refused = body
            break
        self.assertIsNotNone(refused, "no 503 from an unwritable spool")
        self.assertIn("the spool cannot be written", refused)
        self.assertIn("Permission denied", refused)
        self.wait_stats(lambda s: s.get("spool_write_errors", 0) >= 1,
                        "a write error counted")
        self.agent.wait_log(r"spool: write: cannot create segment .*: "
                            r"Permission denied")
        os.chmod(spool, 0o700)
        more = make_points(50000, 1000, name="sp.m")
        self.post_ok(more)
        d.set_fault("ok")
        self.assert_arrived([d], ok + more, timeout=60)

    def test_tiny_tmpfs_answers_503_never_200(self):
        if not is_root():
            self.skipTest("skipped: needs root")
        spool = self.tmpfs_spool("tiny", "256k")
        d = self.down_double()
        self.setup_agent(d, spool=spool)
        ok, refused = [], None
        for i in range(10):
            pts = make_points(i * 1000, 1000, name="sp.t")
            status, _, body = self.post(pts)
            if status == 200:
                ok.extend(pts)
                continue
            self.assertEqual(status, 503, body)
            refused = body
            break
        self.assertIsNotNone(refused, "a 256 KiB spool took 10 MB")
        self.assertIn("No space left on device", refused)
        self.assertGreater(len(ok), 0)
        st = self.wait_stats(lambda s: s.get("spool_write_errors", 0) >= 1,
                             "a write error counted")
        d.set_fault("ok")
        self.assert_arrived([d], ok, timeout=60)
        self.agent.stop()

    def run_into_a_full_disk(self):
        """Root only: a spool on a tmpfs filled to its last page with
        pushed points (output down), then a plugin run whose points the
        disk refuses and memory holds: (double, spool, pushed points)."""
        if not is_root():
            self.skipTest("skipped: needs root")
        spool = self.tmpfs_spool("tiny", "256k")
        d = self.down_double()
        plugin = ("#!/bin/sh\nprintf '[{\"name\":\"held\",\"timestamp\":0,"
                  "\"tags\":{},\"value\":%d}]\\n' \"$1\"\n")
        repos = self.start_with_plugins(d, {"held": plugin}, spool=spool)
        git = repos.registry_git("spool/held")
        # pushed points until the disk is full, to its last page
        ok = []
        for first, n in ((0, 1000), (100000, 10)):
            for i in range(first, first + 1000 * n, n):
                pts = make_points(i, n, name="sp.h")
                status, _, body = self.post(pts)
                if status != 200:
                    self.assertIn("No space left on device", body)
                    break
                ok.extend(pts)
            else:
                self.fail(f"the spool took 1000 requests of {n}")
        before = self.stats()["accepted"]
        q = urllib.parse.urlencode({"ns": NS, "repo": git})
        code, body = self.agent.http(f"/plugins/run?{q}&param=7",
                                     method="POST")
        self.assertEqual(code, 200, body)
        # taken into memory, the disk refusing it
        self.wait_stats(lambda s: s.get("accepted", 0) > before,
                        "the run's points taken in memory")
        return d, spool, ok

    def assert_run_arrived(self, d, ok):
        want = {p["tags"]["seq"] for p in ok}

        def arrived():
            seqs, runs = set(), []
            for m in d.messages():
                for p in json.loads(m.body)["points"]:
                    if p["measurement"].startswith("PLUGIN.held"):
                        runs.append(p["fields"]["value"])
                    elif p["measurement"].startswith("RUN."):
                        seqs.add(p["tags"]["seq"])
            return seqs, runs
        wait_until(lambda: want <= arrived()[0], timeout=60,
                   what=f"the {len(want)} pushed points at the output")
        runs = wait_until(lambda: arrived()[1], timeout=20,
                          what="the plugin run's point at the output")
        self.assertEqual(set(runs), {7}, runs)

        def settled():
            st = self.agent.worker(self.agent.status(), "scheduler")
            s = st.get("stats") or {}
            return s if s.get("points_held") == 0 else None
        st = wait_until(settled, timeout=20,
                        what="the scheduler holds nothing")
        self.assertEqual(st["points_unsent"], 0, st)
        return st

    def test_plugin_points_held_in_memory_outlive_the_sender(self):
        """A spool the disk cannot grow (ENOSPC): a plugin run's points
        are held in memory only.  The sender told the scheduler it took
        them, which then let go of its copy, and a kill -9 of the sender
        lost them, counted nowhere.  Now the scheduler is told only once
        the output has them: it sends them again to the next sender."""
        d, spool, ok = self.run_into_a_full_disk()
        # room on the disk again, and the sender dies
        r = subprocess.run(["mount", "-o", "remount,size=64m", spool],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        pid = self.agent.worker(self.agent.status(), "sender")["pid"]
        os.kill(pid, signal.SIGKILL)
        self.restarted("sender", pid)
        d.set_fault("ok")
        st = self.assert_run_arrived(d, ok)
        self.assertEqual(st["points_resent"], st["points_sent"], st)

    def test_plugin_points_held_in_memory_answered_once_published(self):
        """The same points are answered once published: the scheduler
        holds them until then, and no longer."""
        d, spool, ok = self.run_into_a_full_disk()
        time.sleep(1.5)
        st = self.agent.worker(self.agent.status(), "scheduler")["stats"]
        self.assertGreater(st["points_held"], 0, st)
        d.set_fault("ok")
        st = self.assert_run_arrived(d, ok)
        self.assertEqual(st["points_resent"], 0, st)

    def test_plugin_points_held_in_memory_outlive_a_stop(self):
        """The same points, the disk with room again, and `agent stop`
        with the output down: they go to the spool as the sender stops,
        and the next start publishes them.  The sender said they stayed
        in the spool, and dropped them, counted nowhere."""
        d, spool, ok = self.run_into_a_full_disk()
        r = subprocess.run(["mount", "-o", "remount,size=64m", spool],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.agent.stop().returncode, 0)
        self.start_ok()
        self.agent.wait_serving()
        d.set_fault("ok")
        self.assert_run_arrived(d, ok)

    def test_plugin_points_held_in_memory_a_full_disk_loses_at_a_stop(self):
        """The disk still full at the stop: they are lost, and said to
        be, not said to stay in the spool."""
        d, spool, ok = self.run_into_a_full_disk()
        self.assertEqual(self.agent.stop().returncode, 0)
        log = self.agent.log_text()
        self.assertRegex(log, r"spool_memory_only: \d+ points held in "
                              r"memory only are lost: .*No space left")
        self.assertRegex(log, rf"stopping with {len(ok)} points "
                              rf"unpublished \({len(ok)} in memory")

    def test_plugin_points_the_scheduler_sends_as_it_stops_are_kept(self):
        """`agent stop` while a run's points wait in the scheduler's
        outbox (pluginflushms) for a run still going: the scheduler ends
        that run and sends them as it stops, as agent.conf(5) says.  The
        sender had left already (nothing buffered), or refused them ("the
        agent is stopping"), and they were lost; it waits for the
        scheduler and the collector now, and spools what they send."""
        if not is_root():
            self.skipTest("skipped: needs root")
        d = self.double()
        quick = ("#!/bin/sh\nprintf '[{\"name\":\"last\",\"timestamp\":0,"
                 "\"tags\":{},\"value\":%d}]\\n' \"$1\"\n")
        repos = self.start_with_plugins(
            d, {"quick": quick, "slow": "#!/bin/sh\nsleep 60\n"},
            agent_extra="\tpluginflushms = 60000\n")

        def run(project, param):
            q = urllib.parse.urlencode({
                "ns": NS, "repo": repos.registry_git("spool/" + project),
                "param": param})
            return self.agent.http(f"/plugins/run?{q}", method="POST")
        slow = threading.Thread(target=run, args=("slow", 1), daemon=True)
        slow.start()
        time.sleep(1)
        code, body = run("quick", 7)
        self.assertEqual(code, 200, body)

        def last():
            return [p["fields"]["value"] for m in d.messages()
                    for p in json.loads(m.body)["points"]
                    if p["measurement"] == "PLUGIN.quick.last"]
        time.sleep(0.5)
        self.assertEqual(last(), [], "the run's points did not wait")
        self.assertEqual(self.agent.stop().returncode, 0)
        # the slow run the stop ended did not fail: said, not warned of
        log = self.agent.log_text()
        self.assertRegex(log, r" INFO scheduler\[\d+\]: run_done: plugin "
                         r"\S+\|slow \(call run\) after [\d.]+ s: stopped "
                         r"with the agent \(killed by signal \d+\)")
        self.assertNotRegex(log, r" WARN scheduler\[\d+\]: run_done: "
                            r"plugin \S+\|slow")
        self.start_ok()
        self.agent.wait_serving()
        got = wait_until(last, timeout=20,
                         what="the run's point at the output")
        self.assertEqual(got, [7])

    def test_points_waiting_in_line_go_as_json_after_a_reload(self):
        """Points are encoded once, by their producer: those taken in
        line protocol while the output was influxdb (down) and still
        waiting, in the spool and in memory, when a reload makes it nsq
        with format json, reach nsqd as lodastack json messages, every
        one (they went as lines a json consumer cannot read).  nsqd's
        limits are lower than the json of what was cut as lines: the
        requests it refuses as too big are cut smaller until they fit
        (measured as json, the limits never went down and the sender
        sent the same request again, forever)."""
        down = ClosedPort()
        self.addCleanup(down.close)
        self.agent.write_conf(
            agent_extra=f'\tnamespaces = [ "{NS}" ]\n',
            output_name="influxdb",
            servers=f'"http://127.0.0.1:{down.port}"')
        self.start_ok()
        self.agent.wait_serving()
        sent = self.post_thousands(0, 2000)
        self.wait_stats(lambda s: s.get("accepted") == 2000 and
                        s.get("publish_errors", 0) > 0,
                        "points taken in line protocol, the output down")
        d = self.double(max_msg_size=65536, max_body_size=131072)
        self.configure([f"tcp://{d.tcp_address}"])
        self.assertEqual(self.agent.run("reload").returncode, 0)
        self.assert_arrived([d], sent, timeout=30)
        st = self.wait_stats(lambda s: s.get("published") == 2000,
                             "published == 2000")
        self.assertGreaterEqual(st["refused_toobig"], 1, st)
        # what nsqd said is the limit, for the points taken in json too
        self.assertEqual(st["output_messagebytes"], 65536, st)
        self.agent.wait_log(r"refused a rewritten (message|request) of "
                            r"\d+ bytes as too big .*: cutting points "
                            r"waiting in line within 1/2 of the limits")

    def test_points_waiting_in_json_go_as_lines_after_a_reload(self):
        """The other way: points taken in json while nsq was down, still
        waiting when a reload sets format line, reach nsqd as the lines
        their producer would have written (they went as json, which a
        line consumer cannot read).  A point whose tag ends in a
        backslash, which a line cannot say, is refused and counted, not
        sent: among others in its message, and alone in its request
        (which then is no request)."""
        def lines():
            return received_lines(d, self.TRANSPORT, self.COMMANDS)

        def bad_point(i):
            p = make_points(i, 1, name="sp.m")
            p[0]["tags"]["path"] = "C:\\"
            return p

        down = self.down_double()
        self.setup_agent(down)
        sent = make_points(0, 1000, name="sp.m")
        self.post_ok(sent[:500] + bad_point(1000) + sent[500:])
        self.wait_stats(lambda s: s.get("accepted") == 1001 and
                        s.get("publish_errors", 0) > 0,
                        "points taken in json, the output down")
        d = self.double()
        self.configure([f"tcp://{d.tcp_address}"], '\tformat = "line"\n')
        self.assertEqual(self.agent.run("reload").returncode, 0)
        want = collections.Counter(expected_key(p) for p in sent)
        wait_until(lambda: len(lines()) >= len(sent), timeout=30,
                   what=f"{len(sent)} points at the nsqd double")
        self.assertEqual(collections.Counter(lines()), want)
        st = self.wait_stats(lambda s: s.get("published") == 1000 and
                             s.get("dropped_rejected") == 1,
                             "1000 published, 1 refused")
        self.assertEqual(st["buffer_points"], 0, st)
        requests = st["requests"]
        self.agent.wait_log(r"1 points taken in json cannot be written in "
                            r"line .*ends in a backslash.*; they are "
                            r"refused")

        # alone: back to json with the output down, one such point
        self.configure([f"tcp://{down.tcp_address}"])
        self.assertEqual(self.agent.run("reload").returncode, 0)
        self.agent.wait_log(r"sender applied config generation 3")
        self.post_ok(bad_point(1001))
        self.wait_stats(lambda s: s.get("accepted") == 1002 and
                        s.get("buffer_points") == 1, "one point waiting")
        self.configure([f"tcp://{d.tcp_address}"], '\tformat = "line"\n')
        self.assertEqual(self.agent.run("reload").returncode, 0)
        st = self.wait_stats(lambda s: s.get("dropped_rejected") == 2,
                             "the second refused")
        self.assertEqual((st["published"], st["buffer_points"],
                          st["requests"], len(lines())),
                         (1000, 0, requests, 1000), st)

    def test_a_json_point_over_the_stated_limit_goes_as_its_line(self):
        """A point taken in json whose json is over the message limit
        nsqd states, but whose line is within it, reaches nsqd as that
        line after a reload sets format line (it was dropped, measured
        as json); one whose line is over the limit too is dropped,
        counted and said, without being sent."""
        def quoted(i, ntags):
            p = make_points(i, 1, name="sp.q")[0]
            # '"' is two bytes in json and one in a line
            p["tags"].update({f"q{t:02}": '"' * 250 for t in range(ntags)})
            return p

        down = self.down_double()
        self.setup_agent(down)
        sent = make_points(0, 10, name="sp.m")
        fits, over = quoted(10, 8), quoted(11, 16)
        self.post_ok(sent[:5] + [fits, over] + sent[5:])
        self.wait_stats(lambda s: s.get("accepted") == 12 and
                        s.get("publish_errors", 0) > 0,
                        "points taken in json, the output down")
        d = self.double(max_msg_size=3072)
        self.configure([f"tcp://{d.tcp_address}"], '\tformat = "line"\n')
        self.assertEqual(self.agent.run("reload").returncode, 0)
        st = self.wait_stats(lambda s: s.get("published") == 11 and
                             s.get("dropped_toolarge") == 1,
                             "11 published, 1 too large")
        self.assertEqual(st["buffer_points"], 0, st)
        self.assertEqual(
            collections.Counter(received_lines(d, self.TRANSPORT,
                                               self.COMMANDS, quotes=True)),
            collections.Counter(expected_key(p) for p in sent + [fits]))
        self.agent.wait_log(r"a point of \S+ is larger than the output "
                            r"takes \(3072 bytes per message, said the "
                            r"server\), also as line \(\d+ bytes\): "
                            r"dropped")

    def test_reload_moves_the_spool(self):
        d = self.down_double()
        self.setup_agent(d)
        old = self.agent.values["spool"]
        sent = self.post_thousands(0, 3000)
        self.assertGreater(len(segments(old)), 0)
        new = os.path.join(self.agent.dir, "spool2")
        self.agent.write_conf(spool=new)
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(rf"spool: {new}")
        self.agent.wait_log(r"sender applied config generation 2")
        # carried over: the old one is empty, the new one holds them
        self.assertEqual(segments(old), [])
        self.assertGreater(len(segments(new)), 0)
        sent += self.post_thousands(3000, 1000)
        self.wait_stats(lambda s: s.get("spool") == new,
                        "the new spool in /me/status")
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=60)

    def test_reload_that_changes_user_keeps_the_spool_usable(self):
        """A reload that names another [agent] user takes it at the next
        start: the master chowned the spool (and pluginsdir) to the new
        user at once, the sender running on as the old one could create
        no segment, and /post answered 503 "Permission denied"."""
        if not is_root():
            self.skipTest("skipped: needs root")
        d = self.down_double()
        self.setup_agent(d, "\tspoolbytes = 2097152\n")
        spool = self.agent.values["spool"]
        sent = self.post_thousands(0, 1000)
        self.agent.write_conf(user="daemon")
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(r"sender applied config generation 2")
        self.agent.wait_log(r"\[agent\] user changed \(\"daemon\", "
                            r"running as \"nobody\"\); it takes effect at "
                            r"the next start")
        for i in range(1, 4):
            pts = make_points(i * 1000, 1000, name="sp.m")
            status, _, body = self.post(pts)
            self.assertEqual(status, 200, body)
            sent.extend(pts)
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=60)
        self.assertEqual(os.stat(spool).st_uid, nobody_uid())

    def test_reload_to_a_spool_too_small_keeps_the_old_one(self):
        """A new spool that fills up while the old one is carried over:
        all or nothing, the old one stays in use with everything in it,
        what was copied leaves the new one, and every point arrives
        (2500 of 3000 stayed behind in the old directory, and the sender
        read freed memory, when the switch went ahead half done)."""
        d, old, new, sent = self.fail_a_move()
        self.agent.wait_log(rf"cannot carry the spool over to {new}: "
                            r".*No space left on device; keeping "
                            rf"{old}")
        self.agent.wait_log(r"sender applied config generation 2")
        st = self.wait_stats(lambda s: "spool_error" in s, "counters")
        self.assertEqual(st["spool"], old, st)
        self.assertIn("No space left on device", st["spool_error"])
        self.assertEqual(segments(new), [])
        self.assertGreater(len(segments(old)), 0)
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=60)

    def test_a_sender_started_after_a_failed_move_keeps_the_old_spool(self):
        """The move failed and the sender kept the old spool, with 3000
        acknowledged points in it; then it crashed.  Its successor used
        to be given the configured (new) path, and the points stayed in
        the old directory, unsent.  It is given the old one, until a
        reload moves the spool for real."""
        d, old, new, sent = self.fail_a_move()
        self.agent.wait_log(rf"the sender keeps the spool {old}, not "
                            rf"\[output\] spool {new}")
        pid = self.agent.worker(self.agent.status(), "sender")["pid"]
        os.kill(pid, signal.SIGKILL)
        self.restarted("sender", pid)
        self.agent.wait_log(rf"the sender is given the spool {old} its "
                            r"predecessor held")
        st = self.wait_stats(lambda s: s.get("spool") == old, "old spool")
        self.assertGreaterEqual(st["spool_records_replayed"], 1, st)
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=60)

        # a reload to a spool that can take it: moved, and forgotten
        big = os.path.join(self.agent.dir, "big")
        self.agent.write_conf(spool=big)
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(rf"the sender left the spool {old}")
        pid = self.agent.worker(self.agent.status(), "sender")["pid"]
        os.kill(pid, signal.SIGKILL)
        self.restarted("sender", pid)
        self.wait_stats(lambda s: s.get("spool") == big, "the new spool")
        self.assertEqual(self.agent.log_text().count(
            "its predecessor held"), 1)

    def test_a_restart_after_a_failed_move_reads_the_old_spool(self):
        """The move failed, the sender kept the old spool with 3000
        acknowledged points, and then the whole agent was stopped and
        started again: the new master used to give the sender the
        configured spool, and the points stayed in the old directory for
        good.  The held spool is kept next to the pidfile."""
        d, old, new, sent = self.fail_a_move()
        self.agent.wait_log(rf"the sender keeps the spool {old}, not "
                            rf"\[output\] spool {new}")
        kept = self.agent.values["pidfile"] + ".spool"
        wait_until(lambda: os.path.exists(kept), what=kept)
        with open(kept) as f:
            self.assertEqual(f.read(), old + "\n")
        self.assertEqual(os.stat(kept).st_uid, 0)
        self.restart_reads_the_held_spool(d, old, new, sent)
        # room made, a reload: moved, and the file gone
        r = subprocess.run(["mount", "-o", "remount,size=64m", new],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(rf"the sender left the spool {old}")
        wait_until(lambda: not os.path.exists(kept), what=f"{kept} gone")

    def restart_reads_the_held_spool(self, d, old, new, sent):
        """The agent stopped and started again after a failed move: the
        sender is given the spool it held, and what was sent arrives."""
        self.assertEqual(self.agent.stop().returncode, 0)
        self.start_ok()
        self.agent.wait_log(rf"the sender kept the spool {old} before the "
                            rf"restart \(a move to {new} failed\)")
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=60)

    def test_a_restart_reads_the_old_spool_whatever_was_planted_beside(self):
        """The pidfile in a sticky directory (allowed: others may add
        names there, not take ours), and nobody took `agent.pid.spool`
        first.  The master would not write through it: after a failed
        move it could not say where the 3000 acknowledged points were,
        and once restarted gave the sender the new spool, leaving them in
        the old directory for good.  The name is the agent's: what
        another user put there is removed (the name, never followed) and
        the master's file made."""
        if not is_root():
            self.skipTest("skipped: needs root")
        pub = os.path.join(self.agent.dir, "pub")
        os.mkdir(pub)
        os.chmod(pub, 0o1777)
        pidfile = os.path.join(pub, "agent.pid")
        kept = pidfile + ".spool"
        victim = os.path.join(self.agent.dir, "victim")
        with open(victim, "w") as f:
            f.write("root's own\n")
        os.chmod(victim, 0o600)

        def as_nobody():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(nobody_uid())
        subprocess.run(["/usr/bin/python3", "-I", "-c",
                        "import os, sys\n"
                        "os.symlink(sys.argv[2], sys.argv[1])\n",
                        kept, victim], preexec_fn=as_nobody, cwd="/",
                       check=True, timeout=30)
        self.agent.write_conf(pidfile=pidfile)
        d, old, new, sent = self.fail_a_move()
        self.agent.wait_log(rf"the sender keeps the spool {old}, not "
                            rf"\[output\] spool {new}")
        wait_until(lambda: not os.path.islink(kept), what=f"{kept} ours")
        with open(kept) as f:
            self.assertEqual(f.read(), old + "\n")
        self.assertEqual(os.stat(kept).st_uid, 0)
        with open(victim) as f:
            self.assertEqual(f.read(), "root's own\n")
        self.restart_reads_the_held_spool(d, old, new, sent)

    def test_a_sender_that_dies_before_its_move_leaves_nothing_behind(self):
        """The sender dies between the master's reload (spool A to B) and
        its own move: stopped here; a crash, or the watchdog during a long
        copy.  Its successor was given B, and the 3000 acknowledged points
        in A were never sent.  It is given A, reads it, and then moves."""
        d, old, sent = self.three_thousand_spooled()
        pid = self.agent.worker(self.agent.status(), "sender")["pid"]
        os.kill(pid, signal.SIGSTOP)
        new = os.path.join(self.agent.dir, "spool2")
        self.agent.write_conf(spool=new)
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(r"reload: config generation 2 loaded")
        os.kill(pid, signal.SIGKILL)
        self.restarted("sender", pid)
        self.agent.wait_log(rf"the sender is given the spool {old} its "
                            r"predecessor held")
        self.agent.wait_log(rf"the sender left the spool {old}")
        self.wait_stats(lambda s: s.get("spool") == new, "the new spool")
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=60)

    def test_a_move_whose_moving_file_stays_keeps_the_old_spool(self):
        """The file `moving` of a whole copy cannot be removed (here the
        new spool's directory is append-only: files are made in it, none
        removed; EIO or a read-only remount do the same): the next open
        of the new spool would take it for a copy cut short and remove
        the copied segments, after the old spool let go of them.  The
        move fails instead, and the old spool stays."""
        import array
        import fcntl
        if not is_root():
            self.skipTest("skipped: needs root")
        d = self.down_double()
        self.setup_agent(d)
        old = self.agent.values["spool"]
        sent = self.post_thousands(0, 6000)
        self.wait_stats(lambda s: s.get("accepted") == 6000, "accepted")
        new = os.path.join(self.agent.dir, "spool2")
        moving = os.path.join(new, "moving")
        pid = self.agent.worker(self.agent.status(), "sender")["pid"]

        def append_only(path, on):
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                flags = array.array("i", [0])
                fcntl.ioctl(fd, 0x80086601, flags)      # FS_IOC_GETFLAGS
                flags[0] = flags[0] | 0x20 if on else flags[0] & ~0x20
                fcntl.ioctl(fd, 0x40086602, flags)      # FS_IOC_SETFLAGS
            finally:
                os.close(fd)

        # the directory as the master would make it, then append-only
        os.mkdir(new, 0o700)
        os.chown(new, nobody_uid(), -1)
        append_only(new, True)
        self.addCleanup(append_only, new, False)
        self.agent.write_conf(spool=new)
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(rf"cannot carry the spool over to {new}: "
                            rf"cannot remove {moving}: Operation not "
                            rf"permitted; keeping {old}")
        # the next sender opens the spool the master says it holds
        os.kill(pid, signal.SIGKILL)
        self.restarted("sender", pid)
        append_only(new, False)
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=60)

    def test_a_reload_tries_a_failed_move_again(self):
        """After a failed move the operator makes room and reloads the
        same config: the sender tries again (it compared the config with
        the last config, not with the spool it held, and never did)."""
        d, old, new, sent = self.fail_a_move()
        self.agent.wait_log(rf"the sender keeps the spool {old}, not "
                            rf"\[output\] spool {new}")
        r = subprocess.run(["mount", "-o", "remount,size=64m", new],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(rf"the sender left the spool {old}")
        self.wait_stats(lambda s: s.get("spool") == new, "the new spool")
        d.set_fault("ok")
        self.assert_arrived([d], sent, timeout=60)

    def test_unusable_spool_leaves_memory_carrying_on(self):
        d = self.double()
        if is_root():
            # another user made it first, in a sticky directory where
            # anyone may: the master leaves it alone (a warning), and
            # the sender, which can read it, refuses it for its owner
            sticky = os.path.join(self.agent.dir, "sticky")
            os.makedirs(sticky)
            os.chmod(sticky, 0o1777)
            spool = os.path.join(sticky, "foreign")
            os.makedirs(spool)
            os.chown(spool, 12345, 12345)
            os.chmod(spool, 0o755)
            why = "owned by uid 12345"
        else:
            spool = os.path.join(self.agent.dir, "foreign")
            os.makedirs(spool)
            os.chmod(spool, 0o777)
            why = "writable by group or others"
        self.setup_agent(d, spool=spool)
        if is_root():
            self.agent.wait_log(rf"\[output\] spool {spool}: .*owned by a "
                                r"user who had no business making it; "
                                r"its worker does without")
        self.agent.wait_log(rf"cannot use the spool: {spool}: {why}.*; "
                            r"points are kept in memory only")
        st = self.wait_stats(lambda s: "spool_ok" in s, "sender counters")
        self.assertEqual(st["spool_ok"], 0, st)
        self.assertIsNone(st["spool"], st)
        self.assertIn(spool, st["spool_error"])
        self.assertIn(why, st["spool_error"])
        sent = make_points(0, 500)
        self.post_ok(sent)
        self.assert_arrived([d], sent)
        self.assertEqual(segments(spool), [])

    def test_stop_leaves_the_rest_in_the_spool_and_clean_keeps_it(self):
        d = self.down_double()
        self.setup_agent(d)
        sent = make_points(0, 500)
        self.post_ok(sent)
        r = self.agent.stop("-m", "clean")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.agent.wait_log(r"stopping with 500 points unpublished .* they "
                            r"stay in the spool")
        self.assertGreater(len(segments(self.agent.values["spool"])), 0)
        d.set_fault("ok")
        self.start_ok()
        self.assert_arrived([d], sent, timeout=30)

    def test_points_the_output_took_in_time_are_never_synced(self):
        # published (flushms, then nsqd's OK) long before spoolsync: a
        # power failure could take nothing the output does not have, so
        # no sync, and a healthy agent does not flush the disk a second
        d = self.double()
        self.setup_agent(d, "\tspoolsync = 2000\n")
        sent = []
        for i in range(3):
            pts = make_points(i * 10, 10, name="sp.h")
            self.post_ok(pts)
            sent += pts
            time.sleep(0.5)
        self.assert_arrived([d], sent)
        # past the deadline of the last write, and the counters' lag
        time.sleep(2.5)
        st = self.wait_stats(lambda s: s.get("published") == 30,
                             "30 published")
        self.assertEqual((st["spool_records_written"], st["spool_syncs"]),
                         (3, 0), st)

    def file_output(self, spoolsync):
        """The agent writing to a file output: its path."""
        d = os.path.join(self.agent.dir, "out")
        os.makedirs(d, exist_ok=True)
        # the master opens it: a directory only root writes in
        os.chmod(d, 0o755)
        out = os.path.join(d, "points.jsonl")
        self.agent.write_conf(
            agent_extra=f'\tnamespaces = [ "{NS}" ]\n',
            output_name="file",
            output_extra=f'\tpath = "{out}"\n\tspoolsync = {spoolsync}\n')
        return out

    @staticmethod
    def seqs_in(out):
        """The seq tags of the points in the file output, in order."""
        try:
            with open(out) as f:
                return [p["tags"]["seq"] for line in f if line.strip()
                        for p in json.loads(line)["points"]]
        except FileNotFoundError:
            return []

    def wait_seqs(self, out, want, what):
        """The output file comes to hold exactly the points `want`."""
        try:
            wait_until(lambda: self.seqs_in(out) == want, timeout=40,
                       what=what)
        except AssertionError:
            self.assertEqual(self.seqs_in(out), want, what)
            raise

    def test_the_file_outputs_points_stay_in_the_spool_until_synced(self):
        """The file output has a point once write(2) returned: in the page
        cache, which a power failure loses.  Its record stays in the spool
        until the file is synced, spoolsync after the write: a crash
        before then (the kill -9 of the whole agent) publishes it again;
        a crash after, not."""
        if not is_root():
            self.skipTest("skipped: needs root")
        out = self.file_output(60000)
        self.start_ok()
        self.agent.wait_serving()
        first = make_points(0, 10, name="sp.f")
        self.post_ok(first)
        want = [p["tags"]["seq"] for p in first]
        wait_until(lambda: self.seqs_in(out) == want,
                   what="the points in the output file")
        self.kill_whole_agent(crash=True)
        # from here on the output is synced 200 ms after a write
        self.file_output(200)
        self.start_ok()
        self.wait_seqs(out, want + want, "the points published again from "
                       "the spool")
        second = make_points(10, 10, name="sp.f")
        self.post_ok(second)
        want += want + [p["tags"]["seq"] for p in second]
        self.wait_seqs(out, want, "the second points in the output file")
        # past spoolsync: the output is synced, the records let go
        time.sleep(1.5)
        self.kill_whole_agent(crash=True)
        self.start_ok()
        self.agent.wait_serving()
        time.sleep(1.5)
        self.assertEqual(self.seqs_in(out), want, "nothing published "
                         "again once the output file was synced")

    def synclog_agent(self, faildir):
        """The agent started on a file output not there yet, the master's
        syncs logged (tests/peers/synclog.c; `faildir`: a directory's
        sync fails with EIO): (output, the lines logged so far)."""
        out = self.file_output(200)
        log = os.path.join(self.agent.dir, "sync.log")
        preload(self, "synclog", [f"SYNCLOG={log}",
                                  f"SYNCLOG_FAILDIR={int(faildir)}"])
        self.start_ok()
        self.agent.wait_serving()

        def lines():
            try:
                with open(log) as f:
                    return f.read().splitlines()
            except FileNotFoundError:
                return []
        return out, lines

    def test_a_new_output_file_has_its_directory_synced(self):
        """Syncing the output file before the spool lets its points go
        is worth nothing if the file's directory entry is lost: the
        master syncs the directory of a file it creates."""
        out, lines = self.synclog_agent(False)
        self.assertIn(f"fsync {os.path.dirname(out)}", lines())
        pts = make_points(0, 5, name="sp.d")
        self.post_ok(pts)
        self.wait_seqs(out, [p["tags"]["seq"] for p in pts],
                       "the points in the output file")
        # opened again, not created: no second sync of the directory
        os.kill(self.agent.master_pid(), signal.SIGUSR1)
        self.agent.wait_log(r"SIGUSR1: log file reopened")
        more = make_points(5, 5, name="sp.d")
        self.post_ok(more)
        self.wait_seqs(out, [p["tags"]["seq"] for p in pts + more],
                       "the points in the file opened again")
        self.assertEqual(lines().count(f"fsync {os.path.dirname(out)}"), 1)

    def test_an_output_file_whose_directory_cannot_be_synced_is_refused(
            self):
        # and removed, so that the next open creates and syncs it again
        out, lines = self.synclog_agent(True)
        self.agent.wait_log(rf"cannot sync {re.escape(os.path.dirname(out))}"
                            r": Input/output error")
        self.assertFalse(os.path.exists(out))
        self.assertIn(f"fsync {os.path.dirname(out)}", lines())
        # what comes is kept in the spool, not written anywhere
        self.post_ok(make_points(0, 1, name="sp.r"))
        st = self.agent.worker(self.agent.status(), "sender")["stats"]
        self.assertEqual(st.get("published", 0), 0, st)
        self.assertFalse(os.path.exists(out))

    def syncfail_agent(self, spoolsync, armed):
        """The agent started on a file output whose sync fails when the
        file `arm` says "1" (tests/peers/syncfail.c; "e": always EINVAL):
        (output, arm, the sender's pid)."""
        out = self.file_output(spoolsync)
        open(out, "w").close()
        arm = os.path.join(self.agent.dir, "syncfail.arm")
        with open(arm, "w") as f:
            f.write(armed)
        preload(self, "syncfail", [f"SYNCFAIL_ARM={arm}",
                                   f"SYNCFAIL_INO={os.stat(out).st_ino}"])
        self.start_ok()
        self.agent.wait_serving()
        return out, arm, self.agent.worker(self.agent.status(),
                                           "sender")["pid"]

    def syncfail_started(self, spoolsync, armed, name):
        """syncfail_agent(), and 10 points posted: (output, arm, the
        sender's pid, their seq tags)."""
        out, arm, old = self.syncfail_agent(spoolsync, armed)
        pts = make_points(0, 10, name=name)
        self.post_ok(pts)
        return out, arm, old, [p["tags"]["seq"] for p in pts]

    def test_a_failed_sync_of_the_file_output_publishes_again(self):
        """fdatasync of the output file fails (EIO: the disk may have lost
        what the file took since its last sync, and the kernel says so
        once): the sender restarts and publishes those points again from
        the spool, where they stayed."""
        if not is_root():
            self.skipTest("skipped: needs root")
        out, arm, old, want = self.syncfail_started(200, "1", "sp.e")
        self.agent.wait_log(r"fdatasync of .*points\.jsonl: what it took "
                            r"since its last sync may be lost")
        self.restarted("sender", old)
        self.wait_seqs(out, want + want, "the points published again")
        with open(arm) as f:
            self.assertEqual(f.read(), "0", "the failure happened")

    def test_the_file_outputs_held_records_make_room_in_a_full_spool(self):
        """The records of points the file output took stay in the spool
        until the file is synced (here a minute after the write), but a
        spool they fill has the file synced at once to let them go: a
        spool of 64 KiB takes 200 KiB of points posted one after the
        other, every one answered 200, as it did before they were held."""
        if not is_root():
            self.skipTest("skipped: needs root")
        out = self.file_output(60000)
        self.agent.write_conf(output_extra=self.agent.values["output_extra"]
                              + "\tspoolbytes = 65536\n")
        self.start_ok()
        self.agent.wait_serving()
        want = []
        for i in range(40):
            pts = make_points(i * 40, 40, name="sp.room")
            status, _, body = self.post(pts)
            self.assertEqual(status, 200, f"post {i}: {body}")
            want += [p["tags"]["seq"] for p in pts]
            # each in the file before the next: one record at a time
            wait_until(lambda: self.seqs_in(out) == want,
                       what=f"the points of post {i} in the output file")
        self.assertGreater(os.path.getsize(out), 3 * 65536)

    def test_a_file_output_that_cannot_be_synced_is_said_once(self):
        """fdatasync of the output file says EINVAL, every time (a file
        system that cannot sync): its points are let go unsynced, as
        before records were held for it, and the log says so once, not
        at every sync (with spoolsync = 0, at every turn of the loop)."""
        if not is_root():
            self.skipTest("skipped: needs root")
        out, _, _ = self.syncfail_agent(0, "e")
        want = []
        for i in range(20):
            pts = make_points(i * 5, 5, name="sp.ns")
            self.post_ok(pts)
            want += [p["tags"]["seq"] for p in pts]
            wait_until(lambda: self.seqs_in(out) == want,
                       what=f"the points of post {i} in the output file")
        self.agent.wait_log(r"points\.jsonl cannot be synced")
        self.assertEqual(len(re.findall(r"points\.jsonl cannot be synced",
                                        self.agent.log_text())), 1)

    def test_a_failed_sync_of_the_file_output_at_a_spool_move(self):
        """A reload moves the spool while the file output holds points
        not synced yet; the move syncs the output first, and that sync
        fails.  Their records are in the old spool alone (read, they are
        not carried over to the new one): the sender that follows
        publishes them again from there, and the move waits."""
        if not is_root():
            self.skipTest("skipped: needs root")
        out, arm, old, want = self.syncfail_started(60000, "0", "sp.v")
        wait_until(lambda: self.seqs_in(out) == want,
                   what="the points in the output file")
        with open(arm, "w") as f:
            f.write("1")
        self.agent.write_conf(spool=os.path.join(self.agent.dir, "spool2"))
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(r"fdatasync of .*points\.jsonl: what it took "
                            r"since its last sync may be lost")
        self.restarted("sender", old)
        wait_until(lambda: self.seqs_in(out) == want + want, timeout=20,
                   what="the points published again")
        with open(arm) as f:
            self.assertEqual(f.read(), "0", "the failure happened")

    def test_points_the_output_does_not_take_are_synced_in_spoolsync(self):
        # the output down: a write is synced by a timer spoolsync after
        # it, not at once; one right after that sync waits its own
        # spoolsync (not the turn after: the deadline starts again).
        # (That they arrive once the output is back: the tests above.)
        d = self.down_double()
        self.setup_agent(d, "\tspoolsync = 3000\n")
        first = make_points(0, 10, name="sp.d")
        self.post_ok(first)
        # (the counters lag 1.25 s at most; the sync is due at 3 s)
        time.sleep(1.5)
        self.assertEqual(self.stats()["spool_syncs"], 0)
        # (the new segment's directory is synced with it: 2 counted)
        st = self.wait_stats(lambda s: s.get("spool_syncs", 0) >= 1,
                             "a sync of the unpublished write", timeout=10)
        synced = st["spool_syncs"]
        second = make_points(10, 10, name="sp.d")
        self.post_ok(second)
        time.sleep(1.5)
        self.assertEqual(self.stats()["spool_syncs"], synced)

    def test_spoolsync_zero_answers_after_the_sync(self):
        d = self.double()
        self.setup_agent(d, "\tspoolsync = 0\n")
        sent, lock, errors = [], threading.Lock(), []

        def client(k):
            for j in range(5):
                pts = make_points(k * 10000 + j * 100, 100, name="sp.z")
                status, _, body = self.post(pts, unix=k % 2 == 0)
                with lock:
                    if status == 200:
                        sent.extend(pts)
                    else:
                        errors.append((status, body))
        ts = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])
        self.assert_arrived([d], sent)
        st = self.wait_stats(lambda s: s.get("published") == 2000,
                             "2000 published")
        # every answer waited for a sync; one may serve several
        self.assertGreaterEqual(st["spool_syncs"], 1, st)
        self.assertLessEqual(st["spool_syncs"], 20 + 2, st)
        self.assertEqual(st["spool_write_errors"], 0, st)
