"""Watch against a real keeld: etcdctl watch (a key, --prefix, --rev, --prev-kv, -i) and
python3-etcd3 watches, compaction cancels, cancel, and a client that goes away mid-stream.

Run with /usr/bin/python3; KEELD names the binary, KEEL_BACKEND the backend plugin.
"""
import json
import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import ETCDCTL, ClientTestCase, MemberTestCase, metric  # noqa: E402



class EtcdctlWatch(MemberTestCase):
    def ctl(self, *args):
        return self.k.etcdctl(*args)[1]

    def wait_watchers(self, want, what, timeout=30):
        """Waits until the member counts `want` watchers (etcd_debugging_mvcc_watcher_total,
        which the member reads from its watch hub on every heartbeat)."""
        deadline = time.monotonic() + timeout
        while True:
            n = metric(self.k, "etcd_debugging_mvcc_watcher_total")
            if n == want:
                return
            self.assertLess(time.monotonic(), deadline, "%s: the member counts %r watchers, not %d"
                            % (what, n, want))
            time.sleep(0.05)

    def watch_lines(self, args, count, stdin=None, during=None, timeout=30):
        """Runs `etcdctl watch ARGS`, does `during` once it is watching, and returns the first
        `count` lines it prints."""
        # Each watch here is the member's only watcher: wait for an earlier test's (its etcdctl
        # killed) to be gone, so that a count of one below is this etcdctl's.
        self.wait_watchers(0, "before etcdctl watch")
        p = subprocess.Popen([ETCDCTL, "--endpoints", self.k.endpoint, "watch"] + args,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ, ETCDCTL_API="3"))
        lines = []
        done = threading.Event()

        def read():
            for line in p.stdout:
                lines.append(line.rstrip("\n"))
                if len(lines) >= count:
                    break
            done.set()

        t = threading.Thread(target=read, daemon=True)
        t.start()
        try:
            if stdin is not None:
                p.stdin.write(stdin)
                p.stdin.flush()
            # etcdctl prints nothing when its watch is created, and a put before that would be
            # missed: the member's count of watchers says when it is.
            self.wait_watchers(1, "etcdctl watch %s" % " ".join(args))
            if during:
                during()
            self.assertTrue(done.wait(timeout), "watch printed only %r" % lines)
        finally:
            p.kill()
            p.communicate(timeout=10)
        return lines[:count]

    def test_watch_a_key(self):
        lines = self.watch_lines(["w1/k"], 6, during=lambda: (
            self.ctl("put", "w1/other", "x"), self.ctl("put", "w1/k", "v1"), self.ctl("del", "w1/k")))
        self.assertEqual(lines, ["PUT", "w1/k", "v1", "DELETE", "w1/k", ""])

    def test_watch_prefix_with_prev_kv(self):
        self.ctl("put", "w2/a", "old")
        lines = self.watch_lines(["w2/", "--prefix", "--prev-kv"], 5, during=lambda: (
            self.ctl("put", "w2/a", "new"), self.ctl("put", "w3", "outside")))
        self.assertEqual(lines, ["PUT", "w2/a", "old", "w2/a", "new"])

    def test_watch_from_a_past_revision(self):
        r = int(json.loads(self.ctl("put", "w4/k", "first", "-w", "json"))["header"]["revision"])
        self.ctl("put", "w4/k", "second")
        lines = self.watch_lines(["w4/k", "--rev", str(r)], 6)
        self.assertEqual(lines, ["PUT", "w4/k", "first", "PUT", "w4/k", "second"])

    def test_interactive_watch(self):
        lines = self.watch_lines(["-i"], 3, stdin="watch w5/k\n",
                                 during=lambda: self.ctl("put", "w5/k", "v"))
        self.assertEqual(lines, ["PUT", "w5/k", "v"])

    def test_watch_from_a_compacted_revision_is_canceled(self):
        r = int(json.loads(self.ctl("put", "w6/k", "a", "-w", "json"))["header"]["revision"])
        self.ctl("put", "w6/k", "b")
        self.ctl("compaction", str(r + 1))
        code = subprocess.run([ETCDCTL, "--endpoints", self.k.endpoint, "watch", "w6/k", "--rev", str(r)],
                              capture_output=True, text=True, timeout=30, env=dict(os.environ, ETCDCTL_API="3"))
        self.assertIn("required revision has been compacted", code.stdout + code.stderr)


class PythonEtcd3Watch(ClientTestCase):
    def test_many_watchers_on_one_stream_each_see_their_events_in_order(self):
        events = {"a": [], "b": []}
        got_all = threading.Event()

        def callback_for(name):
            def cb(resp):
                for e in resp.events:
                    events[name].append((e.key, e.value, e.mod_revision))
                if len(events["a"]) >= 20 and len(events["b"]) >= 20:
                    got_all.set()
            return cb

        ida = self.c.add_watch_prefix_callback("pyw/a/", callback_for("a"))
        idb = self.c.add_watch_prefix_callback("pyw/b/", callback_for("b"))
        for i in range(20):
            self.c.put("pyw/a/%02d" % i, "va%d" % i)
            self.c.put("pyw/b/%02d" % i, "vb%d" % i)
        self.assertTrue(got_all.wait(20), events)
        self.c.cancel_watch(ida)
        self.c.cancel_watch(idb)
        for name in "ab":
            keys = [k for k, _, _ in events[name]]
            self.assertEqual(keys, [("pyw/%s/%02d" % (name, i)).encode() for i in range(20)])
            revs = [r for _, _, r in events[name]]
            self.assertEqual(revs, sorted(revs))
            self.assertEqual(len(set(revs)), 20)

    def test_watchers_sharing_a_stream_and_a_key_each_get_every_event_small_and_large(self):
        """Thirty watchers of one key on one stream: each revision queues thirty responses
        behind each other (written with gRPC's buffer hint but the last), a 200 KiB value
        among small ones goes unhinted, and every watcher sees every event, in order, whole."""
        values = ["v%02d" % i for i in range(10)] + ["L" * (200 * 1024)] + ["w%02d" % i for i in range(5)]
        seen = [[] for _ in range(30)]
        lock = threading.Lock()
        got_all = threading.Event()

        def callback_for(n):
            def cb(resp):
                with lock:
                    for e in resp.events:
                        seen[n].append((e.value.decode(), e.mod_revision))
                    if all(len(s) >= len(values) for s in seen):
                        got_all.set()
            return cb

        ids = [self.c.add_watch_callback("pyw/shared", callback_for(n)) for n in range(30)]
        for v in values:
            self.c.put("pyw/shared", v)
        self.assertTrue(got_all.wait(30), [len(s) for s in seen])
        for i in ids:
            self.c.cancel_watch(i)
        for n in range(30):
            self.assertEqual([v for v, _ in seen[n]], values, "watcher %d" % n)
            revs = [r for _, r in seen[n]]
            self.assertEqual(revs, list(range(revs[0], revs[0] + len(values))), "watcher %d" % n)

    def test_a_client_that_goes_away_mid_stream_leaves_the_server_serving(self):
        import etcd3
        for _ in range(5):
            other = etcd3.client(host="127.0.0.1", port=self.k.client_port, timeout=20)
            it, cancel = other.watch_prefix("pygone/")
            other.put("pygone/k", "v")
            next(it)
            other.close()  # the channel goes with its watch stream still open
        self.c.put("pygone/after", "ok")
        self.assertEqual(self.c.get("pygone/after")[0], b"ok")


if __name__ == "__main__":
    unittest.main(verbosity=2)
