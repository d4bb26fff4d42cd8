#!/usr/bin/env python3
"""Tests of the watch checker (watch_guarantees.py): synthetic runs built correct by construction
(a history of writes, its truth, watchers cut into segments and responses as a member would send
them, with resumes and progress notifications) pass; the same runs with one guarantee broken on
purpose fail, naming that guarantee.

    /usr/bin/python3 tests/faults/watch_guarantees_test.py

Random runs print their seeds; KEEL_WATCH_SEED=<n> replays one.
"""
import copy
import dataclasses
import os
import random
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import watch_guarantees as wg  # noqa: E402
from watch_guarantees import Event, Response, Segment, Truth, Writes, check, known_revision  # noqa: E402

KEYS = ("k0", "k1", "k2")


class Run:
    """A correct synthetic run: `revisions` writes from revision 2 on (with `multi`, some
    revisions write two keys at once, as a txn would), most acknowledged, some of unknown
    outcome; the truth; and watchers built by watch()."""

    def __init__(self, seed, revisions=40, multi=True):
        self.rng = random.Random(seed)
        self.full = []  # the truth's events with their prev_kv
        self.writes = Writes()
        state = {}  # key -> (create_revision, version, value, mod_revision)
        rev = 1
        for _ in range(revisions):
            rev += 1
            keys = self.rng.sample(KEYS, 2) if multi and self.rng.random() < 0.3 else [self.rng.choice(KEYS)]
            for k in keys:
                value = "%d.%s" % (rev, k)
                if k in state:
                    create, version, old, old_rev = state[k]
                    version += 1
                    prev = (old, old_rev)
                else:
                    create, version, prev = rev, 1, None
                state[k] = (create, version, value, rev)
                self.full.append(Event("PUT", k, value, rev, create, version, prev))
                if self.rng.random() < 0.85:
                    self.writes.acknowledged.append((k, value, rev))
                else:
                    self.writes.unknown.append((k, value))
            if self.rng.random() < 0.2:
                self.writes.failed.append((self.rng.choice(KEYS), "failed.%d" % rev))
        self.end = rev
        self.writes.final = {k: state[k][2] for k in state}
        self.truth = Truth(events=[dataclasses.replace(e, prev=None) for e in self.full], start=1, end=rev)
        self.segments = []

    def events_in(self, lo, hi, prev_kv, begin="k", range_end="l"):
        return [e if prev_kv else dataclasses.replace(e, prev=None) for e in self.full
                if lo <= e.mod_revision <= hi and wg.in_range(e.key, begin, range_end)]

    def watch(self, wid, start, cuts, prev_kv=False, now_at=None):
        """A watcher from `start` (0: from now, created at `now_at`) whose streams end after the
        revisions in `cuts` (the last runs to the end), each resumed from the next revision on
        another member; responses carry whole revisions, one to three at a time, with a progress
        notification now and then."""
        lo = start if start > 0 else now_at + 1
        bounds = list(cuts) + [self.end]
        for index, hi in enumerate(bounds):
            seg = Segment(watcher=wid, index=index, member="m%d" % (index % 3),
                          start_revision=start if index == 0 else lo, prev_kv=prev_kv)
            seg.responses.append(Response(revision=now_at if start == 0 and index == 0 else self.end,
                                          created=True, watch_id=0))
            events = self.events_in(lo, hi, prev_kv)
            revs = sorted({e.mod_revision for e in events})
            i = 0
            while i < len(revs):
                take = revs[i:i + self.rng.randint(1, 3)]
                i += len(take)
                batch = [e for e in events if e.mod_revision in take]
                seg.responses.append(Response(revision=max(take[-1], self.rng.randint(take[-1], self.end)),
                                              events=batch))
                if self.rng.random() < 0.2:
                    seg.responses.append(Response(revision=take[-1], watch_id=-1))
            seg.end = "rotated"
            self.segments.append(seg)
            lo = hi + 1
        return self

    def check(self):
        return check(self.segments, self.truth, self.writes)

    def segment_with_events(self, min_responses=2):
        """A segment with at least `min_responses` responses carrying events."""
        for s in self.segments:
            if sum(1 for r in s.responses if r.events) >= min_responses:
                return s
        raise AssertionError("no segment with %d responses of events" % min_responses)


def standard_run(seed):
    run = Run(seed)
    run.watch(0, 1, [10, 25], prev_kv=True)
    run.watch(1, 12, [20])
    run.watch(2, 0, [30, 31], now_at=15)
    return run


def seed_of(default):
    env = os.environ.get("KEEL_WATCH_SEED")
    return int(env) if env else default


class CorrectRuns(unittest.TestCase):
    def test_correct_runs_pass(self):
        for seed in range(seed_of(0), seed_of(0) + 50):
            run = standard_run(seed)
            result = run.check()
            self.assertTrue(result.ok, "seed %d: %s" % (seed, "\n".join(map(str, result.violations))))
            self.assertEqual(result.stats["watchers"], 3)
            self.assertEqual(result.stats["segments"], 8)
            self.assertEqual(result.stats["resumes"], 5)

    def test_one_event_per_revision_passes(self):
        run = Run(7, multi=False)
        run.watch(0, 2, [5, 6, 7])
        self.assertTrue(run.check().ok, run.check().violations)

    def test_future_start_and_a_segment_that_never_connected(self):
        run = Run(3)
        run.watch(0, run.end + 5, [])  # a watch from a revision not reached yet: nothing comes
        run.segments.insert(0, Segment(watcher=1, index=0, member="m0", start_revision=1, end="broken: UNAVAILABLE"))
        run.watch(1, 1, [])
        run.segments[-1].index = 1
        result = run.check()
        self.assertTrue(result.ok, result.violations)
        self.assertEqual(result.stats["segments_not_connected"], 1)

    def test_compaction_lets_a_resume_start_at_the_compacted_revision(self):
        run = Run(4)
        run.watch(0, 1, [8])
        second = run.segments[1]
        # The resume from 9 is refused: history was compacted at 15. The watcher goes on from 15.
        second.responses = [Response(revision=run.end, created=True),
                            Response(revision=run.end, canceled=True, compact_revision=15)]
        third = Segment(watcher=0, index=2, member="m2", start_revision=15)
        third.responses = [Response(revision=run.end, created=True),
                           Response(revision=run.end, events=run.events_in(15, run.end, False))]
        run.segments.append(third)
        self.assertEqual(known_revision(second, 8), 14)
        result = run.check()
        self.assertTrue(result.ok, result.violations)

    def test_a_truth_that_starts_at_a_compaction_leaves_older_writes_unchecked(self):
        run = Run(5, multi=False)
        # Compacted at 20: the truth is read from there; writes (and keys' last writes) before it
        # cannot be seen in it, which is no violation.
        run.truth = Truth(events=[e for e in run.truth.events if e.mod_revision >= 20], start=20, end=run.end)
        run.writes.final["k-never-again"] = "1.k"
        run.writes.acknowledged.append(("k-never-again", "1.k", 2))
        result = run.check()
        self.assertTrue(result.ok, result.violations)
        # But a write acknowledged after the compaction must still be there.
        run.writes.acknowledged.append(("k0", "lost", run.end))
        self.assertFalse(run.check().ok)

    def test_known_revision(self):
        seg = Segment(watcher=0, index=0, member="m0", start_revision=0)
        self.assertIsNone(known_revision(seg, None))
        seg.responses.append(Response(revision=9, created=True))
        self.assertEqual(known_revision(seg, None), 9)  # from now: everything up to 9 is history
        seg.responses.append(Response(revision=12, events=[Event("PUT", "k0", "a", 11, 11, 1)]))
        self.assertEqual(known_revision(seg, None), 11)  # the header is not a promise; the event is
        seg.responses.append(Response(revision=14, watch_id=-1))
        self.assertEqual(known_revision(seg, None), 14)  # a progress notification is
        from_five = Segment(watcher=0, index=0, member="m0", start_revision=5,
                            responses=[Response(revision=30, created=True)])
        self.assertEqual(known_revision(from_five, None), 4)
        refused = Segment(watcher=0, index=0, member="m0", start_revision=5,
                          responses=[Response(revision=30, created=True, canceled=True)])
        self.assertEqual(known_revision(refused, 3), 3)

    def test_json_round_trip(self):
        run = standard_run(1)
        segments, truth, writes = wg.from_json(wg.to_json(run.segments, run.truth, run.writes))
        self.assertEqual(segments, run.segments)
        self.assertEqual(truth, run.truth)
        self.assertTrue(check(segments, truth, writes).ok)


class BrokenRuns(unittest.TestCase):
    """Each test breaks one thing in a correct run and expects the guarantee it names."""

    def assertCaught(self, run, guarantee, *words):
        result = run.check()
        self.assertFalse(result.ok, "not caught: %s" % guarantee)
        names = [v.guarantee for v in result.violations]
        self.assertIn(guarantee, names, "\n".join(map(str, result.violations)))
        text = "\n".join(str(v) for v in result.violations if v.guarantee == guarantee)
        for w in words:
            self.assertIn(w, text)
        return text

    def test_reordered_events(self):
        run = standard_run(11)
        seg = run.segment_with_events()
        r = next(r for r in seg.responses if len({e.mod_revision for e in r.events}) >= 2)
        r.events.reverse()
        self.assertCaught(run, "ordered", "came after")

    def test_responses_out_of_order(self):
        run = standard_run(12)
        seg = run.segment_with_events(3)
        with_events = [i for i, r in enumerate(seg.responses) if r.events]
        a, b = with_events[0], with_events[1]
        seg.responses[a], seg.responses[b] = seg.responses[b], seg.responses[a]
        self.assertCaught(run, "ordered")
        self.assertCaught(run, "reliable")

    def test_duplicate_event(self):
        run = standard_run(13)
        seg = run.segment_with_events()
        rs = [r for r in seg.responses if r.events]
        # The last event of one response comes again at the start of the next (a redelivery).
        rs[1].events.insert(0, rs[0].events[-1])
        text = self.assertCaught(run, "unique", "came twice", seg.describe())
        self.assertIn(str(rs[0].events[-1]), text)

    def test_duplicate_across_a_resume(self):
        run = Run(14)
        run.watch(0, 1, [10])
        first, second = run.segments
        # The resumed stream delivers revision 10 again (as a member would if the resume were
        # from 10): caught as a bad resume and as a duplicate.
        second.start_revision = 10
        second.responses.insert(1, Response(revision=run.end, events=run.events_in(10, 10, False)))
        self.assertCaught(run, "unique")
        self.assertCaught(run, "resumable", "asked again from 10")

    def test_gap(self):
        run = standard_run(15)
        seg = run.segments[4]  # watcher 1's second segment
        victim = next(r for r in seg.responses if r.events)
        dropped = victim.events.pop(0)
        if not victim.events:
            seg.responses.remove(victim)
        text = self.assertCaught(run, "reliable", seg.describe())
        self.assertIn(str(dropped), text)

    def test_gap_at_the_end_behind_a_progress_notification(self):
        run = Run(16, multi=False)
        run.watch(0, 1, [])
        seg = run.segments[0]
        # The last response of events is lost, but a progress notification at the end says
        # everything came.
        last = max(i for i, r in enumerate(seg.responses) if r.events)
        lost = seg.responses.pop(last)
        seg.responses.append(Response(revision=run.end, watch_id=-1))
        text = self.assertCaught(run, "reliable", "missing")
        self.assertIn(str(lost.events[0]), text)

    def test_event_with_a_wrong_value(self):
        run = standard_run(17)
        seg = run.segment_with_events()
        r = next(r for r in seg.responses if r.events)
        r.events[0] = dataclasses.replace(r.events[0], value="bogus")
        self.assertCaught(run, "reliable", "expected", "'bogus'")

    def test_event_with_a_wrong_version(self):
        run = standard_run(18)
        seg = run.segment_with_events()
        r = next(r for r in seg.responses if r.events)
        r.events[0] = dataclasses.replace(r.events[0], version=r.events[0].version + 1)
        self.assertCaught(run, "reliable")

    def test_revision_split_across_responses(self):
        run = Run(19, multi=True)
        run.watch(0, 1, [])
        seg = run.segments[0]
        i, r = next((i, r) for i, r in enumerate(seg.responses)
                    if len(r.events) >= 2 and r.events[-1].mod_revision == r.events[-2].mod_revision)
        # The last revision of this response: its last event goes in a response of its own.
        tail = r.events.pop()
        seg.responses.insert(i + 1, Response(revision=r.revision, events=[tail]))
        self.assertCaught(run, "atomic", "split across responses")

    def test_resume_that_skips(self):
        run = Run(20)
        run.watch(0, 1, [10])
        second = run.segments[1]
        second.start_revision = 13
        second.responses = [second.responses[0]] + [
            Response(revision=r.revision, events=[e for e in r.events if e.mod_revision >= 13])
            for r in second.responses[1:] if any(e.mod_revision >= 13 for e in r.events)]
        text = self.assertCaught(run, "resumable", "had to resume from 11", "asked for 13")
        self.assertIn("r11 ", text)

    def test_resume_from_now_skips(self):
        run = Run(21)
        run.watch(0, 1, [10])
        run.segments[1].start_revision = 0
        self.assertCaught(run, "resumable", "asked for now")

    def test_event_before_the_start_revision(self):
        run = Run(22)
        run.watch(0, 12, [])
        seg = run.segments[0]
        seg.responses[1].events[:0] = run.events_in(11, 11, False)
        self.assertCaught(run, "ordered", "before the segment's start revision 12")

    def test_watch_from_now_gets_an_old_event(self):
        run = Run(23)
        run.watch(0, 0, [], now_at=20)
        seg = run.segments[0]
        seg.responses[1].events[:0] = run.events_in(20, 20, False)
        self.assertCaught(run, "ordered", "before the segment's start revision 21")

    def test_event_newer_than_its_header(self):
        run = Run(24)
        run.watch(0, 1, [])
        r = next(r for r in run.segments[0].responses if r.events)
        r.revision = r.events[-1].mod_revision - 1
        self.assertCaught(run, "ordered", "greater than its response's header revision")

    def test_event_after_a_progress_notification(self):
        run = Run(25, multi=False)
        run.watch(0, 1, [])
        seg = run.segments[0]
        i = next(i for i, r in enumerate(seg.responses) if r.events and i > 2)
        # A progress notification that promises one revision too many.
        seg.responses.insert(i, Response(revision=seg.responses[i].events[0].mod_revision, watch_id=-1))
        self.assertCaught(run, "bookmarkable", "after a progress notification")

    def test_wrong_prev_kv(self):
        run = standard_run(26)
        seg = run.segments[0]  # prev_kv asked
        r = next(r for r in seg.responses if any(e.prev for e in r.events))
        j = next(j for j, e in enumerate(r.events) if e.prev)
        r.events[j] = dataclasses.replace(r.events[j], prev=None)
        self.assertCaught(run, "reliable", "came with prev_kv none")

    def test_event_outside_the_watched_range(self):
        run = Run(27)
        run.watch(0, 1, [])
        seg = run.segments[0]
        seg.range_end = ""
        seg.key = "k0"
        self.assertCaught(run, "reliable", "outside the watched range")

    def test_second_created_response(self):
        run = Run(28)
        run.watch(0, 1, [])
        run.segments[0].responses.insert(2, Response(revision=run.end, created=True))
        self.assertCaught(run, "protocol", "second created")

    def test_truth_value_nobody_wrote(self):
        run = standard_run(29)
        k, v = run.writes.unknown[0] if run.writes.unknown else run.writes.acknowledged[-1][:2]
        # Forget that write: its value is in the truth but no client wrote it.
        run.writes.unknown = [w for w in run.writes.unknown if w != (k, v)]
        run.writes.acknowledged = [w for w in run.writes.acknowledged if w[:2] != (k, v)]
        self.assertCaught(run, "history", "no write of the history wrote it", repr(v))

    def test_failed_cas_took_effect(self):
        run = standard_run(30)
        k, v, rev = run.writes.acknowledged[3]
        run.writes.acknowledged.remove((k, v, rev))
        run.writes.failed.append((k, v))
        self.assertCaught(run, "history", "answered that it did not swap")

    def test_acknowledged_write_missing_from_the_truth(self):
        run = standard_run(31)
        run.writes.acknowledged.append(("k1", "lost.1", 17))
        self.assertCaught(run, "history", "acknowledged write k1='lost.1'", "nowhere in the truth")

    def test_acknowledged_write_at_another_revision(self):
        run = standard_run(32)
        k, v, rev = run.writes.acknowledged[5]
        run.writes.acknowledged[5] = (k, v, rev + 1)
        self.assertCaught(run, "history", "is at revision(s) [%d]" % rev)

    def test_truth_with_a_missing_revision(self):
        run = standard_run(33)
        run.truth.events = [e for e in run.truth.events if e.mod_revision != 9]
        self.assertCaught(run, "history", "revisions with no event", ": 9")

    def test_truth_that_stops_early(self):
        run = standard_run(34)
        run.truth.end += 3
        self.assertCaught(run, "history", "%d..%d" % (run.end + 1, run.end + 3))

    def test_value_written_twice(self):
        run = Run(35, multi=False)
        run.watch(0, 1, [])
        # Revision 10 repeats revision 9's write (one write applied twice), everywhere.
        nine = next(e for e in run.full if e.mod_revision == 9)
        again = dataclasses.replace(nine, mod_revision=10, version=nine.version + 1)
        for seq in (run.truth.events,):
            i = next(i for i, e in enumerate(seq) if e.mod_revision == 10)
            seq[i] = dataclasses.replace(again, prev=None)
        self.assertCaught(run, "history", "written more than once")

    def test_wrong_version_in_the_truth(self):
        run = standard_run(36)
        run.truth.events[5] = dataclasses.replace(run.truth.events[5], version=run.truth.events[5].version + 2)
        self.assertCaught(run, "history", "expected create")

    def test_final_read_disagrees(self):
        run = standard_run(37)
        run.writes.final["k0"] = "stale"
        self.assertCaught(run, "history", "final read of k0")

    def test_cluster_not_at_revision_one(self):
        run = standard_run(38)
        run.truth.base_revision = 2
        self.assertCaught(run, "history", "at revision 2 before any write")

    def test_the_explanation_shows_both_sides(self):
        run = Run(39, multi=False)
        run.watch(0, 1, [])
        seg = run.segments[0]
        r = next(r for r in seg.responses if r.events and r.events[0].mod_revision > 10)
        r.events.pop(0)
        if not r.events:
            seg.responses.remove(r)  # else it would read as a progress notification
        text = self.assertCaught(run, "reliable")
        self.assertEqual([v.guarantee for v in run.check().violations], ["reliable"])
        self.assertIn("expected around", text)
        self.assertIn("received around", text)
        self.assertIn("watcher 0, segment 0 on m0 (start revision 1", text)


class RunFaultsSideLists(unittest.TestCase):
    """run_faults.History keeps what the watch checker needs beside the operations."""

    def test_history_side_lists(self):
        import run_faults
        h = run_faults.History()
        h.add(process=0, key="k0", kind="put", value="0.1", expected=None, invoked=1, completed=2, outcome="ok",
              result=None, revision=2)
        h.add(process=0, key="k0", kind="cas", value="0.2", expected="0.1", invoked=3, completed=4, outcome="ok",
              result=True, revision=3)
        h.add(process=1, key="k1", kind="cas", value="1.1", expected="x", invoked=3, completed=4, outcome="ok",
              result=False)
        h.add(process=1, key="k1", kind="put", value="1.2", expected=None, invoked=5, completed=None,
              outcome="unknown", result=None)
        h.add(process=-1, key="k0", kind="get", value=None, expected=None, invoked=6, completed=7, outcome="ok",
              result="0.2")
        w = h.writes()
        self.assertEqual(w.acknowledged, [("k0", "0.1", 2), ("k0", "0.2", 3)])
        self.assertEqual(w.failed, [("k1", "1.1")])
        self.assertEqual(w.unknown, [("k1", "1.2")])
        self.assertEqual(w.final, {"k0": "0.2"})
        self.assertEqual(h.latest_revision(), 3)
        self.assertEqual(len(h.ops), 5)


if __name__ == "__main__":
    print("watch_guarantees_test: KEEL_WATCH_SEED=%s" % os.environ.get("KEEL_WATCH_SEED", "(default seeds)"))
    unittest.main(verbosity=1)
