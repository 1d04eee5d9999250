"""The nsq output over nsqd's TCP protocol V2 (servers "tcp://host:port"),
end to end against the nsqd test double (tests/peers/nsqd.py): every point
answered 200 arrives exactly once, several messages per request (MPUB), an
MPUB nsqd refuses, load spread and failover across servers,
a stalled or dropped connection loses nothing and is re-established (and
counted), heartbeats are answered so an idle connection stays up, a
message over nsqd's size limit is never sent, and a server's name is
looked up again on reconnect (a hosts file of the test's own, in a mount
namespace of the agent's)."""
import errno
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

from nsq_common import HOST, MultiMessageTests, NsqTest, expected_key, key, \
    make_points, received
from harness import ClosedPort, NetNs, free_port, maps_libcurl, \
    needs_root, preload, read_available, wait_until
from rawpeer import NSQ_FRAME_ERROR, RawServer, nsq_frame


class NsqTcp(MultiMessageTests, NsqTest):

    TRANSPORT, COMMANDS = "tcp", ("PUB", "MPUB")
    SINGLE, MULTI = "PUB", "MPUB"

    @staticmethod
    def tcp(d):
        return f"tcp://{d.tcp_address}"

    def server(self, d):
        return self.tcp(d)

    @staticmethod
    def refusals(d):
        return d.counters()["errors"].get("E_BAD_BODY", 0)

    @staticmethod
    def failures(d):
        return d.counters()["errors"].get("E_MPUB_FAILED", 0)

    @staticmethod
    def keys_over(d, transport):
        """received()'s keys of the messages that came over `transport`
        (the double takes both)."""
        return [key(p["measurement"], p["tags"], p["fields"]["value"],
                    p["timestamp"])
                for m in d.messages() if m.transport == transport
                for p in json.loads(m.body)["points"]]

    def held_by_a_sender(self, **changes):
        """The agent started on the nsqd double over TCP (`changes` to
        its config), the double refusing, and 30 points posted, held by
        the sender: (the double, the sender's pid, the points)."""
        d = self.double()
        self.configure([self.tcp(d)], **changes)
        self.start_ok()
        pid = self.agent.worker(self.agent.status(), "sender")["pid"]
        d.set_fault("refuse")
        held = make_points(0, 30)
        self.post_ok(held)
        return d, pid, held

    def all_published(self, n):
        st = self.wait_stats(lambda s: s.get("published") == n,
                             f"published == {n}")
        self.assertEqual(st["accepted"], n, st)
        self.assertEqual(st["buffer_points"], 0, st)
        return st

    # -----------------------------------------------------------------
    def test_a_reload_to_the_http_output_starts_a_sender_with_libcurl(self):
        # a sender with a spool and this output never maps libcurl
        # (curl_dl.h); the same nsqd over HTTP needs it: a new sender
        d = self.double()
        self.configure([self.tcp(d)])
        self.start_ok()
        old = self.agent.worker(self.agent.status(), "sender")["pid"]
        self.assertFalse(maps_libcurl(self, old))
        sent = make_points(0, 40)
        self.post_ok(sent)

        # posts go on through the reload: each one answered 200 arrives
        stop, lock = threading.Event(), threading.Lock()

        def post_on():
            i = 1
            while not stop.is_set():
                pts = make_points(i * 10, 10)
                if self.post(pts)[0] == 200:
                    with lock:
                        sent.extend(pts)
                i += 1
                time.sleep(0.02)
        t = threading.Thread(target=post_on)
        t.start()
        try:
            time.sleep(0.3)
            self.configure([d.http_address])
            r = self.agent.run("reload")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^reload applied \(pid \d+\): "
                             r"config generation 2: acknowledged by every "
                             r"worker\n$")
            time.sleep(0.3)
        finally:
            stop.set()
            t.join()
        self.agent.wait_log(rf"sender \(pid {old}\) stopped to apply "
                            r"config generation 2 in a new process")
        w = self.agent.worker(self.agent.status(), "sender")
        self.assertNotEqual(w["pid"], old)
        self.assertEqual(w["generation"], 2)
        self.assertTrue(maps_libcurl(self, w["pid"]))
        later = make_points(100000, 40)
        self.post_ok(later)
        sent.extend(later)

        want = {expected_key(p) for p in sent}
        wait_until(lambda: want <= set(self.keys_over(d, "tcp") +
                                       self.keys_over(d, "http")),
                   what=f"{len(want)} points over TCP and then HTTP")
        self.assertTrue({expected_key(p) for p in later} <=
                        set(self.keys_over(d, "http")))
        self.assertNotRegex(self.agent.log_text(),
                            r"worker sender .* restarting in|stopping "
                            r"with \d+ points")

    def test_a_sender_without_a_spool_takes_the_http_output_in_place(self):
        # its stop could keep nothing (sender_needs_curl()): it loads
        # libcurl at the start, and a reload to HTTP keeps the process
        # and the points it holds
        d, pid, held = self.held_by_a_sender(spool="")
        self.assertTrue(maps_libcurl(self, pid))
        self.configure([d.http_address], spool="")
        d.set_fault("ok")
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("acknowledged by every worker", r.stdout)
        self.assertEqual(
            self.agent.worker(self.agent.status(), "sender")["pid"], pid)
        wait_until(lambda: sorted(self.keys_over(d, "http")) ==
                   sorted(expected_key(p) for p in held),
                   what="the held points over HTTP")
        self.assertNotRegex(self.agent.log_text(), r"in a new process")

    def test_a_reload_to_no_spool_applies_in_place(self):
        # no spool needs libcurl (sender_needs_curl()), but a new sender
        # is given the spool this one holds to read first (spoolheld.c):
        # started with it, it did not load libcurl either, stopped again
        # at the config's "", and the master took that for a crash at
        # every start.  The move to memory only is applied in place.
        d, pid, held = self.held_by_a_sender()
        self.configure([self.tcp(d)], spool="")
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("acknowledged by every worker", r.stdout)
        self.agent.wait_log(r"spool: off, points are kept in memory only")
        d.set_fault("ok")
        wait_until(lambda: sorted(self.keys_over(d, "tcp")) ==
                   sorted(expected_key(p) for p in held),
                   what="the held points over TCP")
        self.assertEqual(
            self.agent.worker(self.agent.status(), "sender")["pid"], pid)
        self.assertNotRegex(self.agent.log_text(),
                            r"in a new process|worker sender .* "
                            r"restarting in")

        # an HTTP output now needs a restart: refused, nothing lost
        self.configure([d.http_address], spool="")
        r = self.agent.run("reload")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        # said at once, not at the 10 s of an unacknowledged reload
        # the others run generation 3: not "the running config stays"
        self.assertIn("agent: reload of config generation 3 not applied: "
                      "sender cannot apply it (that worker keeps the "
                      "config it had, the others run this one; see the "
                      "log)", r.stderr)
        self.agent.wait_log(r"this one has no spool to keep its points "
                            r"in while it stops; restart the agent")
        later = make_points(1000, 20)
        self.post_ok(later)
        wait_until(lambda: set(expected_key(p) for p in later) <=
                   set(self.keys_over(d, "tcp")),
                   what="the later points over TCP")
        self.assertEqual(
            self.agent.worker(self.agent.status(), "sender")["pid"], pid)

    def test_a_reload_back_while_the_sender_stops_for_one_is_no_crash(self):
        # generation 2 (HTTP) stops the sender for a new one; generation
        # 3 (back to TCP) comes while it publishes for its 5 s: it is
        # the successor's to apply, and the exit is no crash
        d, old, held = self.held_by_a_sender()
        master = self.agent.master_pid()
        self.configure([d.http_address])
        os.kill(master, signal.SIGHUP)
        self.agent.wait_log(r"config generation 2 needs a new sender "
                            r"process")
        self.configure([self.tcp(d)])
        os.kill(master, signal.SIGHUP)
        self.agent.wait_log(r"reload: config generation 3 loaded")
        d.set_fault("ok")
        self.agent.wait_log(rf"sender \(pid {old}\) stopped to apply "
                            r"config generation 3 in a new process")
        wait_until(lambda: (lambda w: w["pid"] != old and
                            w["generation"] == 3 and w)(
            self.agent.worker(self.agent.status(), "sender")),
            what="a new sender with generation 3")
        wait_until(lambda: set(expected_key(p) for p in held) <=
                   set(self.keys_over(d, "tcp")),
                   what="the held points over TCP")
        self.assertNotRegex(self.agent.log_text(),
                            r"worker sender .* restarting in")

    def test_a_stop_while_the_sender_stops_for_a_respawn_is_a_stop(self):
        # the agent stops while the sender publishes for its 5 s before a
        # respawn: it becomes the agent's stop (it ends 0, its points in
        # the spool for the next start), not a respawn nobody starts
        d, old, held = self.held_by_a_sender()
        self.configure([d.http_address])
        os.kill(self.agent.master_pid(), signal.SIGHUP)
        self.agent.wait_log(r"config generation 2 needs a new sender "
                            r"process")
        r = self.agent.stop()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.agent.wait_log(rf"sender \(pid {old}\) exited with status 0")
        self.assertNotRegex(self.agent.log_text(), r"in a new process")
        # the next start publishes them, over HTTP now
        d.set_fault("ok")
        self.start_ok()
        wait_until(lambda: set(expected_key(p) for p in held) <=
                   set(self.keys_over(d, "http")),
                   what="the held points over HTTP after the start")

    def test_a_reload_from_a_stalled_file_output_to_http_waits_not(self):
        # the master closes the file output before the sender reads the
        # config that needs a new sender: what this one holds then has
        # nowhere to go, and its stop tried the closed file for its 5 s
        # (the log's "stopped to apply" came 5 s after "needs a new
        # sender process") while the spool keeps it for the successor
        d = self.double()
        out = os.path.join(self.agent.dir, "out.fifo")
        os.mkfifo(out, 0o640)
        # a reader that reads nothing: the pipe (64 KiB) fills up
        rfd = os.open(out, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, rfd)
        self.configure([d.http_address])
        self.agent.write_conf(output_name="file",
                              output_extra=f'\tpath = "{out}"\n')
        self.start_ok()
        old = self.agent.worker(self.agent.status(), "sender")["pid"]
        pad = "p" * 200
        sent = [{"name": "m", "timestamp": 1714538000 + i,
                 "tags": {"seq": str(i), "pad": pad}, "value": i}
                for i in range(1000)]
        for i in range(0, 1000, 100):
            self.post_ok(sent[i:i + 100])
        self.wait_stats(lambda st: st.get("buffer_points", 0) > 0,
                        "points waiting for the FIFO")

        self.configure([d.http_address])
        r = self.agent.run("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.agent.wait_log(rf"sender \(pid {old}\) stopped to apply "
                            r"config generation 2 in a new process")
        log = self.agent.log_text()

        def when(pattern):
            m = re.search(r"^(\S+)Z .*" + pattern, log, re.M)
            self.assertIsNotNone(m, pattern)
            return time.mktime(time.strptime(m.group(1)[:19],
                                             "%Y-%m-%dT%H:%M:%S")) + \
                float("0" + m.group(1)[19:])
        waited = when(rf"sender \(pid {old}\) stopped to apply") - \
            when(r"config generation 2 needs a new sender process")
        self.assertLess(waited, 2.5, "the stop waited for a closed file")
        self.assertRegex(log, r"they stay in the spool")

        # what the FIFO did not take arrives over HTTP
        data = read_available(rfd)
        seqs = {p["tags"]["seq"] for line in data.decode().splitlines()
                if line.endswith("}")
                for p in json.loads(line)["points"]}
        want = {expected_key(p) for p in sent if p["tags"]["seq"] not in seqs}
        self.assertTrue(want, "the FIFO took every point")
        wait_until(lambda: want <= set(self.keys_over(d, "http")),
                   what=f"{len(want)} held points over HTTP")

    def test_a_new_sender_that_cannot_start_fails_the_reload(self):
        # the sender that takes the HTTP output cannot load libcurl (as
        # on a host without it): it acknowledged its config as soon as it
        # read it, before its setup failed, and `agent reload` said the
        # reload applied
        preload(self, "nocurl", ["NOCURL_ROLE=sender"])
        d = self.double()
        self.configure([self.tcp(d)])
        self.start_ok()
        old = self.agent.worker(self.agent.status(), "sender")["pid"]
        self.configure([d.http_address])
        r = self.agent.run("reload")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stderr, r"agent: reload of config generation 2 "
                         r"not acknowledged in time by: sender.* \(the "
                         r"workers that acknowledged it run it; see the "
                         r"log\)\n$")
        self.agent.wait_log(r"libcurl")
        self.assertNotEqual(
            self.agent.worker(self.agent.status(), "sender")["pid"], old)

    def test_ten_thousand_points_mixed_batches(self):
        d = self.double()
        self.configure([self.tcp(d)])
        self.start_ok()
        rnd = random.Random(11)
        sent, n, unix = [], 0, False
        while n < 10000:
            k = min(rnd.randint(1, 700), 10000 - n)
            pts = make_points(n, k, name="tcp.m", dc="west")
            self.post_ok(pts, unix=unix)
            sent.extend(pts)
            n += k
            unix = not unix
        self.assert_arrived([d], sent)
        st = self.all_published(10000)
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["reconnects"], 0, st)
        self.assertEqual(st["messages"], len(d.messages()), st)
        # one connection, kept open and reused for every message
        self.assertEqual(d.counters()["tcp_connections"], 1)
        cl = d.clients()
        self.assertEqual(len(cl), 1, cl)
        self.assertTrue(cl[0]["open"], cl)
        ident = cl[0]["identify"]
        self.assertIs(ident["feature_negotiation"], True, ident)
        self.assertEqual(ident["hostname"], HOST, ident)
        self.assertTrue(ident["user_agent"].startswith("agent/"), ident)

    def test_load_spread_over_two_servers(self):
        a, b = self.double(), self.double()
        self.configure([self.tcp(a), self.tcp(b)])
        self.start_ok()
        sent = self.post_apart(0, 20, 40, name="tcp.m", dc="west")
        self.assert_arrived([a, b], sent)
        st = self.all_published(len(sent))
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertGreater(a.message_count(), 0)
        self.assertGreater(b.message_count(), 0)

    def failover(self, first, good):
        self.configure([first, self.tcp(good)])
        self.start_ok()
        sent = self.post_apart(0, 20, 50, name="tcp.m", dc="west")
        self.assert_arrived([good], sent)
        st = self.all_published(len(sent))
        # failing over is within one attempt: no failed message
        self.assertEqual(st["publish_errors"], 0, st)
        return st

    def test_failover_first_server_refusing(self):
        bad = self.double(fault="refuse")
        good = self.double()
        self.failover(self.tcp(bad), good)
        self.assertGreater(bad.counters()["tcp_refused"], 0)
        self.assertEqual(bad.message_count(), 0)

    def test_failover_first_server_closed_port(self):
        closed = ClosedPort()
        self.addCleanup(closed.close)
        good = self.double()
        self.failover(f"tcp://127.0.0.1:{closed.port}", good)
        # the closed port was tried, and refused
        self.agent.wait_log(rf"nsq: tcp://127\.0\.0\.1:{closed.port}: "
                            r".*[Rr]efused")

    def test_failover_first_server_unresolvable(self):
        # its lookups fail (or time out) in their threads while the
        # other server takes every request
        good = self.double()
        self.failover("tcp://no-such-host.invalid:4150", good)
        self.agent.wait_log(r"nsq: tcp://no-such-host\.invalid:4150: "
                            r"resolving no-such-host\.invalid: ")

    def test_failover_first_server_answering_errors(self):
        bad = self.double(fault="error")
        good = self.double()
        self.failover(self.tcp(bad), good)
        # each error is fatal, so nsqd hung up and we reconnected
        self.assertGreater(bad.counters()["errors"].get("E_PUB_FAILED", 0),
                           0)
        self.assertGreater(bad.counters()["tcp_connections"], 1)
        self.assertEqual(bad.message_count(), 0)

    def test_a_local_user_at_a_host_address_of_the_output_gets_nothing(self):
        """The output at one of the host's own addresses, not loopback,
        and down: a local user (uid 4242) listening there is told apart
        as on loopback, and gets not a byte."""
        needs_root(self)
        ns = NetNs()
        self.addCleanup(ns.delete)
        ns.veth("agt0", "agt1", addrs=("10.233.0.1/24",),
                peer_addrs=("10.233.0.2/24",))
        self.agent.in_netns(ns)
        port = 4150
        script = ("import socket\n"
                  "s = socket.socket()\n"
                  "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                  f"s.bind(('10.233.0.1', {port}))\n"
                  "s.listen()\n"
                  "print('ready', flush=True)\n"
                  "c, _ = s.accept()\n"
                  "n = 0\n"
                  "while True:\n"
                  "    b = c.recv(4096)\n"
                  "    if not b:\n"
                  "        break\n"
                  "    n += len(b)\n"
                  "print(n, flush=True)\n")
        squat = subprocess.Popen(
            ns.prefix() + ["setpriv", "--reuid=4242", "--regid=4242",
                           "--clear-groups", sys.executable, "-c", script],
            stdout=subprocess.PIPE, text=True, cwd="/")
        self.addCleanup(lambda: (squat.poll() is None and squat.kill(),
                                 squat.wait()))
        self.assertEqual(squat.stdout.readline().strip(), "ready")
        self.configure([f"tcp://10.233.0.1:{port}"])
        self.start_ok()
        # the unix socket: TCP to 127.0.0.1 is the host's, not the namespace's
        self.post_ok(make_points(0, 10, name="host.m"), unix=True)
        self.agent.wait_log(r"10\.233\.0\.1:4150.*the port is served by "
                            r"uid 4242, a login account's", timeout=20)
        got = []
        t = threading.Thread(target=lambda: got.append(
            squat.stdout.readline().strip()), daemon=True)
        t.start()
        t.join(20)
        self.assertEqual(got, ["0"], "bytes the squatter was sent")

    def test_stall_then_recover(self):
        d = self.double()
        # [output] timeout: the stall is noticed in 2 s, not 10
        self.configure([self.tcp(d)], "\ttimeout = 2\n")
        self.start_ok()
        before = make_points(0, 100, name="tcp.m", dc="west")
        self.post_ok(before)
        self.assert_arrived([d], before)
        d.set_fault("stall")
        during = []
        for i in range(5):
            pts = make_points(1000 + i * 200, 200, name="tcp.m", dc="west")
            self.post_ok(pts, unix=i % 2 == 0)   # buffered, so 200
            during.extend(pts)
        # the connection is held by the stall with points waiting
        wait_until(lambda: any(c["stalled"] for c in d.clients()),
                   what="the connection stalled")
        st = self.wait_stats(lambda s: s.get("buffer_points", 0) > 0,
                             "points buffered")
        self.assertEqual(len(received(d, "tcp", self.COMMANDS)),
                         len(before))
        d.set_fault("ok")
        # the stalled connection stays stalled: the answer timeout
        # notices, then a new connection takes the buffered points
        self.assert_arrived([d], before + during, timeout=30)
        st = self.all_published(len(before) + len(during))
        self.assertGreaterEqual(st["publish_errors"], 1, st)
        self.assertGreaterEqual(st["reconnects"], 1, st)
        self.assertRegex(st["last_error"], r"no answer to M?PUB")
        self.assertGreaterEqual(d.counters()["tcp_connections"], 2)

    def test_drop_reconnects_and_loses_nothing(self):
        d = self.double()
        self.configure([self.tcp(d)])
        self.start_ok()
        before = make_points(0, 100, name="tcp.m", dc="west")
        self.post_ok(before)
        self.assert_arrived([d], before)
        d.set_fault("drop")
        during = make_points(1000, 300, name="tcp.m", dc="west")
        self.post_ok(during, unix=True)
        wait_until(lambda: d.counters()["tcp_dropped"] >= 1,
                   what="a PUB dropped by the double")
        d.set_fault("ok")
        more = make_points(2000, 300, name="tcp.m", dc="west")
        self.post_ok(more)
        self.assert_arrived([d], before + during + more, timeout=20)
        st = self.all_published(len(before) + len(during) + len(more))
        self.assertGreaterEqual(st["publish_errors"], 1, st)
        self.assertGreaterEqual(st["reconnects"], 1, st)
        self.assertGreaterEqual(d.counters()["tcp_connections"], 2)

    def test_heartbeats_answered(self):
        # the double heartbeats every second (its default, as the agent
        # asks for the server's) and hangs up after two unanswered ones
        d = self.double(heartbeat_ms=1000)
        self.configure([self.tcp(d)])
        self.start_ok()
        first = make_points(0, 50, name="tcp.m", dc="west")
        self.post_ok(first)
        self.assert_arrived([d], first)
        # three heartbeats with nothing else to send: had the agent not
        # answered them, the double would have hung up after the second
        # (a state awaited; 30 s is only a bound for a hang)
        cl = wait_until(lambda: (c := d.clients()) and
                        c[-1]["heartbeats"] >= 3 and c, timeout=30,
                        what="three heartbeats on the connection")
        self.assertEqual(len(cl), 1, cl)
        self.assertTrue(cl[0]["open"], cl)
        self.assertEqual(cl[0]["heartbeat_interval"], 1000, cl)
        c = d.counters()
        self.assertEqual(c["tcp_timeouts"], 0, c)
        self.assertEqual(c["tcp_connections"], 1, c)
        second = make_points(100, 50, name="tcp.m", dc="west")
        self.post_ok(second, unix=True)
        self.assert_arrived([d], first + second)
        st = self.all_published(100)
        self.assertEqual(st["reconnects"], 0, st)
        self.assertEqual(d.counters()["tcp_connections"], 1)

    def test_a_server_flooding_heartbeats_does_not_grow_the_sender(self):
        """A hostile nsqd that sends heartbeats as fast as it can and
        reads nothing: each one used to queue a NOP, unbounded (the
        sender grew by what the server sent, megabytes a second); two
        waiting NOPs answer for all it may count."""
        go, done, first = threading.Event(), threading.Event(), []

        def session(r):
            if not r.nsq_identify() or first:
                return      # one flood, from the first connection
            first.append(r)
            go.wait(30)
            block = nsq_frame(b"_heartbeat_") * 20000
            try:
                for _ in range(200):         # 4 million, 76 MB
                    r.sendall(block)
            finally:
                done.set()
        port = RawServer(self, session).port
        self.configure([f"tcp://127.0.0.1:{port}"])
        self.start_ok()
        self.agent.wait_log(rf"nsq: tcp://127.0.0.1:{port}: connected")
        pid = self.agent.worker(self.agent.status(), "sender")["pid"]

        def rss_kb():
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
            return 0
        before = rss_kb()
        go.set()
        self.assertTrue(done.wait(120), "the sender stopped reading")
        grown = rss_kb() - before
        # 4 million NOPs are 16 MB; two are 8 bytes
        self.assertLess(grown, 6 * 1024, f"the sender grew {grown} kB")
        self.assertEqual(self.agent.worker(self.agent.status(),
                                           "sender")["pid"], pid)

    def test_host_name_resolved(self):
        # "localhost" may give ::1 first, where the double does not
        # listen: the next address is tried within the same connect
        d = self.double()
        self.configure([f"tcp://localhost:{d.tcp_port}"])
        self.start_ok()
        sent = make_points(0, 200, name="tcp.m", dc="west")
        self.post_ok(sent)
        self.assert_arrived([d], sent)
        st = self.all_published(len(sent))
        self.assertEqual(st["publish_errors"], 0, st)
        # looked up in a thread, off the sender's event loop
        self.agent.wait_log(r"resolving localhost in the background")

    def test_name_resolved_again_on_reconnect(self):
        # nsqd.test is 127.0.0.1 in the agent's /etc/hosts, then ::1: the
        # same port on each, a double on each; when the first goes away
        # the reconnect looks the name up again and follows it
        needs_root(self)
        port = same_port_on_both()
        if port is None:
            self.skipTest("no IPv6 on loopback here (::1)")
        d4 = self.double(tcp_port=port)
        d6 = self.double(tcp_port=port, host="::1")
        hosts = os.path.join(self.agent.dir, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n127.0.0.1 nsqd.test\n")
        os.chmod(hosts, 0o644)
        self.agent.in_mount_ns(f"mount --bind '{hosts}' /etc/hosts")
        self.configure([f"tcp://nsqd.test:{port}"])
        self.start_ok()
        first = make_points(0, 100, name="dns.m", dc="west")
        self.post_ok(first)
        self.assert_arrived([d4], first)
        self.assertEqual(d6.message_count(), 0)

        # the answer changes (rewritten in place: the bind mount is of
        # this file), then the server it pointed to goes away
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n::1 nsqd.test\n")
        d4.stop()
        second = make_points(100, 100, name="dns.m", dc="west")
        self.post_ok(second, unix=True)
        self.assert_arrived([d6], second, timeout=30)
        self.assertEqual(len(received(d4, "tcp", self.COMMANDS)),
                         len(first))
        self.all_published(len(first) + len(second))
        # looked up at the first connect and again at the reconnect
        wait_until(lambda: self.agent.log_text().count(
            "resolving nsqd.test in the background") >= 2,
            what="two lookups of nsqd.test")

    def test_large_batches_are_cut_under_max_msg_size(self):
        d = self.double()
        # 1000 points (batchpoints) of about 1.2 KB each would be one
        # message over nsqd's 1 MiB: the sender cuts by messagebytes too
        self.configure([self.tcp(d)], "\tflushms = 1000\n")
        self.start_ok()
        for i in range(10):
            self.post_ok(make_points(i * 100, 100, bigtags=4, name="tcp.m", dc="west"))
        st = self.wait_stats(lambda s: s.get("published", 0) == 1000,
                             "every point published")
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["buffer_points"], 0, st)
        bodies = d.bodies()
        self.assertGreater(len(bodies), 1)
        for b in bodies:
            self.assertLessEqual(len(b), 1048576)
        self.assertEqual(sum(len(json.loads(b)["points"]) for b in bodies),
                         1000)


    def test_heartbeat_between_pub_and_its_ok(self):
        # nsqd's heartbeat may come while a PUB waits for its OK: answered
        # with NOP, not taken for the answer
        d = self.double(heartbeat_before_ok=True, heartbeat_ms=1000)
        self.configure([self.tcp(d)])
        self.start_ok()
        sent = []
        for i in range(10):
            pts = make_points(i * 200, 200, name="tcp.h", dc="west")
            self.post_ok(pts, unix=i % 2 == 1)
            sent.extend(pts)
        self.assert_arrived([d], sent)
        st = self.all_published(len(sent))
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["reconnects"], 0, st)
        cl = d.clients()
        self.assertEqual(len(cl), 1, cl)
        self.assertGreaterEqual(cl[0]["heartbeats"], 1, cl)
        self.assertTrue(cl[0]["open"], cl)

    def silent_server(self):
        """A server that takes connections and reads them, and never
        answers (an nsqd stopped with SIGSTOP: the kernel still accepts
        for it).  Returns its port and the number of connections so far
        (a callable)."""
        srv = RawServer(self)
        return srv.port, lambda: len(srv.conns)

    def test_a_server_that_never_answers_identify_holds_up_no_request(self):
        """One of two servers accepts and never answers IDENTIFY: every
        request goes to the other one at once.  Each request that began
        at the silent server used to wait there for the IDENTIFY
        timeout (10 s), while the other server was up."""
        port, nconns = self.silent_server()
        good = self.double()
        self.configure([f"tcp://127.0.0.1:{port}", self.tcp(good)])
        self.start_ok()
        self.agent.wait_log(rf"nsq: {re.escape(self.tcp(good))}: connected")
        wait_until(lambda: nconns() >= 1, what="the silent server reached")
        sent = self.post_apart(0, 10, 20, name="tcp.s", dc="west")
        self.assert_arrived([good], sent)
        st = self.all_published(len(sent))
        self.assertEqual(st["publish_errors"], 0, st)
        # all of it went before the silent server's IDENTIFY timed out
        self.assertNotIn("no answer to IDENTIFY", self.agent.log_text(),
                         "a request waited for the silent server")

    def test_a_server_that_never_answers_a_pub_holds_up_one_request(self):
        """One of two servers answers IDENTIFY and never a PUB: after the
        request that found it out ([output] timeout, 2 s here), the
        others go to the other server.  It reconnected at once, READY
        again, and every second request, each starting one server
        further, waited the timeout there."""
        pubs = []

        def session(r):
            if not r.nsq_identify():
                return
            while True:
                words, _ = r.nsq_command()
                if words[0] in (b"PUB", b"MPUB") and r.c not in pubs:
                    pubs.append(r.c)
        srv = RawServer(self, session)
        port = srv.port
        good = self.double()
        self.configure([f"tcp://127.0.0.1:{port}", self.tcp(good)],
                       "\ttimeout = 2\n")
        self.start_ok()
        for s in (f"tcp://127.0.0.1:{port}", self.tcp(good)):
            self.agent.wait_log(rf"nsq: {re.escape(s)}: connected")
        first = make_points(0, 20, name="tcp.s", dc="west")
        self.post_ok(first)
        # the first request starts at the silent server and times out
        self.assert_arrived([good], first, timeout=30)
        self.assertEqual(len(pubs), 1)
        # it is back, READY
        wait_until(lambda: len(srv.conns) >= 2, what="a reconnect")
        self.agent.wait_log(rf"nsq: tcp://127.0.0.1:{port}: reconnected")
        sent = first + self.post_apart(1, 11, 20, name="tcp.s", dc="west")
        self.assert_arrived([good], sent)
        st = self.all_published(len(sent))
        self.assertEqual(st["publish_errors"], 0, st)
        # none of them went to the silent server again
        self.assertEqual(len(pubs), 1)

    def test_a_large_mpub_over_a_slow_link_goes(self):
        """An nsqd behind a link of 128 KiB/s takes an MPUB of 360 KB
        of points (about 3 s): the answer is waited for as long as the
        request takes to go at 64 KiB/s, plus [output] timeout (1 s
        here).  A fixed timeout from the start of the request (10 s,
        whatever the size) timed large ones out each time: sent again
        and again, forever."""
        got_msgs = []

        def session(r):
            r.pace(128 * 1024)
            if not r.nsq_identify():
                return
            while True:
                # the link's pace from the command on: the seconds the
                # connection sat idle before it are no credit
                _, msgs = r.nsq_command(pace=True)
                got_msgs.extend(msgs)
                r.nsq_ok()
        port = RawServer(self, session, rcvbuf=32768).port
        self.configure([f"tcp://127.0.0.1:{port}"],
                       "\tflushms = 3000\n\ttimeout = 1\n")
        self.start_ok()
        self.agent.wait_log(rf"nsq: tcp://127.0.0.1:{port}: connected")
        # about 1.2 KB each in json: the 300 wait flushms and go in one
        # request of some 360 KB, about 3 s on the link
        for i in range(2):
            self.post_ok(make_points(i * 150, 150, bigtags=4,
                                     name="tcp.slow", dc="west"))
        st = self.wait_stats(lambda s: s.get("published") == 300 or
                             s.get("publish_errors"),
                             "every point published, or an error",
                             timeout=60)
        self.assertEqual(st["publish_errors"], 0, st)
        self.assertEqual(st["published"], 300, st)
        self.assertEqual(sum(len(json.loads(m)["points"])
                             for m in got_msgs), 300)

    def test_a_server_announcing_tiny_limits_does_not_drop_points(self):
        """One of two servers answers IDENTIFY with "max_msg_size": 100
        (nsqd never announces its limits; a broken or hostile one can
        say anything): every point goes to the other one, none is
        dropped.  The announced limit was the sender's for every
        server, and trusted: each point, over 100 bytes, was dropped
        as too large."""
        bad = self.double(announce_limits=True, max_msg_size=100,
                          max_body_size=5242880)
        good = self.double()
        self.configure([self.tcp(bad), self.tcp(good)])
        self.start_ok()
        for d in (bad, good):
            self.agent.wait_log(rf"nsq: {re.escape(self.tcp(d))}: connected")
        sent = self.post_apart(0, 10, 30, name="tcp.l", dc="west")
        self.assert_none_dropped(sent)
        self.assert_arrived([good], sent)

    def test_one_server_refusing_every_size_drops_nothing(self):
        """One of two servers refuses every message as too big
        (E_BAD_MESSAGE ... message too big N > 10: a broken nsqd): the
        other takes them all, none is dropped.  Each refusal went to the
        sender as the request's, which cut smaller down to a point per
        message and dropped the points refused so."""
        bad = self.double(max_msg_size=10)
        good = self.double()
        self.configure([self.tcp(bad), self.tcp(good)])
        self.start_ok()
        for d in (bad, good):
            self.agent.wait_log(rf"nsq: {re.escape(self.tcp(d))}: connected")
        sent = self.post_apart(0, 10, 30, name="tcp.r", dc="west")
        self.assert_none_dropped(sent, timeout=30)
        self.assert_arrived([good], sent)
        # said once, not once a request
        self.assertEqual(len(re.findall(
            r"refused a request: nsqd refused the M?PUB: E_BAD_MESSAGE.* "
            r"trying the other servers", self.agent.log_text())), 1)

    def test_a_server_flooding_non_fatal_errors_does_not_flood_the_log(self):
        """A hostile nsqd sends 20,000 E_FIN_FAILED frames (an error
        nsqd does not hang up after, about a consumer's message; a
        producer never causes one): a line every 10 s says how many,
        not one line each."""
        done, first = threading.Event(), []

        def session(r):
            if not r.nsq_identify() or first:
                return      # one flood, from the first connection
            first.append(r)
            try:
                r.sendall(nsq_frame(b"E_FIN_FAILED FIN 0123456789abcdef "
                                    b"failed", NSQ_FRAME_ERROR) * 20000)
            finally:
                done.set()
        port = RawServer(self, session).port
        self.configure([f"tcp://127.0.0.1:{port}"])
        self.start_ok()
        self.assertTrue(done.wait(30), "the sender stopped reading")
        self.agent.wait_log(r"E_FIN_FAILED")
        time.sleep(1)
        n = self.agent.log_text().count("E_FIN_FAILED")
        self.assertLessEqual(n, 2, f"{n} lines of E_FIN_FAILED")


def same_port_on_both():
    """A port free on 127.0.0.1 and on ::1, or None without IPv6."""
    for _ in range(50):
        port = free_port()
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
                s.bind(("::1", port))
            return port
        except OSError as e:
            if e.errno != errno.EADDRINUSE:     # else try another
                return None
    return None
