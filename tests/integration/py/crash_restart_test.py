"""SIGKILL keeld under a write load from many concurrent clients, restart it, and check that
every write acknowledged before the kill is there, at its revision, and that nothing else
changed: a key holds its last acknowledged value or the one write that was in flight on it.
Snapshots come every few hundred entries, so kills also land around a snapshot and its purge.

KEEL_CRASH_CYCLES sets the number of kill cycles (20 in CI); KEEL_BACKEND the backend plugin.
"""
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import Keeld  # noqa: E402

import etcd3  # noqa: E402

BACKEND = os.environ.get("KEEL_BACKEND", "lmdb")
CYCLES = int(os.environ.get("KEEL_CRASH_CYCLES", "20"))
WRITERS = 8


class Writer(threading.Thread):
    """Puts w<id>/<n> keys (each key written once, value = its name and cycle) until stopped,
    recording the acknowledged ones with their revision and the one in flight."""

    def __init__(self, port, wid, cycle):
        super().__init__(daemon=True)
        self.client = etcd3.client(host="127.0.0.1", port=port, timeout=10)
        self.wid, self.cycle = wid, cycle
        self.acked = {}        # key -> (value, revision)
        self.in_flight = None  # (key, value)
        self.stop = False

    def run(self):
        n = 0
        while not self.stop:
            key = "crash/w%d/c%d/%d" % (self.wid, self.cycle, n)
            value = "%s@%d" % (key, self.cycle)
            self.in_flight = (key, value)
            try:
                resp = self.client.put(key, value)
            except Exception:
                return  # the server died; this write may or may not have landed
            self.acked[key] = (value, resp.header.revision)
            self.in_flight = None
            n += 1


class CrashRestart(unittest.TestCase):
    def test_acknowledged_writes_survive_sigkill(self):
        seed = int(os.environ.get("KEEL_CRASH_SEED", str(int(time.time()))))
        print("crash-restart seed %d (replay: KEEL_CRASH_SEED=%d)" % (seed, seed), file=sys.stderr, flush=True)
        rng = random.Random(seed)
        k = Keeld(BACKEND, extra_args=["--snapshot-count=300", "--max-snapshots=2"])
        try:
            k.start()
            acked = {}        # every acknowledged write across cycles
            maybe = {}        # writes in flight at a kill: present or absent
            for cycle in range(CYCLES):
                writers = [Writer(k.client_port, w, cycle) for w in range(WRITERS)]
                for w in writers:
                    w.start()
                # The kill lands under the load: once this cycle's writers have a write
                # acknowledged, after a random further while (the moment of the kill varies;
                # nothing waits on it).
                deadline = time.monotonic() + 30
                while not any(w.acked for w in writers):
                    self.assertLess(time.monotonic(), deadline,
                                    "cycle %d: no write acknowledged:\n%s" % (cycle, k.log()[-4000:]))
                    time.sleep(0.01)
                time.sleep(rng.uniform(0, 0.55))
                k.kill()
                for w in writers:
                    w.join(30)
                    acked.update(w.acked)
                    if w.in_flight:
                        maybe[w.in_flight[0]] = w.in_flight[1]
                    w.client.close()
                k.start()
                c = etcd3.client(host="127.0.0.1", port=k.client_port, timeout=20)
                stored = {m.key.decode(): (v.decode(), m.mod_revision)
                          for v, m in c.get_prefix("crash/")}
                for key, (value, rev) in acked.items():
                    self.assertIn(key, stored, "cycle %d: acknowledged %s lost" % (cycle, key))
                    self.assertEqual(stored[key], (value, rev), "cycle %d: %s changed" % (cycle, key))
                for key, value in stored.items():
                    if key not in acked:
                        self.assertEqual(maybe.get(key), value[0], "cycle %d: %s never written" % (cycle, key))
                        acked[key] = value  # it landed: from now on it must stay
                c.close()
            self.assertGreater(len(acked), CYCLES, "the load wrote almost nothing")
            if len(acked) > 2 * 300:
                self.assertIn("snapshot at index", k.log(), "no snapshot was taken under the load")
            print("%d writes acknowledged over %d kills" % (len(acked), CYCLES))
        finally:
            k.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
