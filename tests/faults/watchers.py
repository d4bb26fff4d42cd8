#!/usr/bin/env python3
"""The watch side of a fault run (run_faults.py): watcher threads that record what they get, and
the reading of the truth after the run; watch_guarantees.py checks both.

A Watcher is one logical watch over the run's keys (prefix "k"), kept open through the faults as
etcd's clients keep theirs: a Watch stream (raw gRPC, python3-etcd3's messages) on a member
picked at random, from a start revision chosen by the run's seed (1: the beginning; a recent
revision; or 0: from now on); every WatchResponse is recorded as it comes. A stream ends when the
member breaks it (killed: the stream fails), when the member goes silent (paused: no answer, not
even to the progress requests sent every `progress_every` seconds, for `idle_timeout`), when its
lifetime (drawn per stream) is over, or when the run stops. The watcher then resumes on another
member from the revision after the last one it had everything of
(watch_guarantees.known_revision), as a new Segment. Every loop is bounded in time and count.

python3-etcd3's messages predate WatchProgressRequest; a progress request is written as its
bytes on the wire (WatchRequest field 3, an empty message).
"""
import queue
import random
import threading
import time

from watch_guarantees import Event, Response, Segment, Truth, known_revision

PROGRESS_REQUEST = b"\x1a\x00"  # WatchRequest{progress_request: {}}
WATCH_METHOD = "/etcdserverpb.Watch/Watch"
MODES = ("first", "recent", "now")


def _serialize(request):
    return request if isinstance(request, bytes) else request.SerializeToString()


def _decode(b):
    return b.decode("utf-8", "backslashreplace")


def convert(resp, prev_kv):
    """A WatchResponse message as a watch_guarantees.Response."""
    events = []
    for ev in resp.events:
        kv = ev.kv
        kind = "PUT" if ev.type == 0 else "DELETE"
        prev = None
        if prev_kv and ev.HasField("prev_kv"):
            prev = (_decode(ev.prev_kv.value), ev.prev_kv.mod_revision)
        events.append(Event(type=kind, key=_decode(kv.key), value=_decode(kv.value) if kind == "PUT" else None,
                            mod_revision=kv.mod_revision, create_revision=kv.create_revision,
                            version=kv.version, prev=prev))
    return Response(revision=resp.header.revision, events=events, created=resp.created,
                    canceled=resp.canceled, compact_revision=resp.compact_revision,
                    cancel_reason=resp.cancel_reason, watch_id=resp.watch_id)


class _Stream:
    """One Watch stream: the create request, then progress requests on demand; the responses
    arrive on a queue, then ("end", why). close() ends it and returns within a few seconds."""

    def __init__(self, endpoint, key, range_end, start_revision, prev_kv, deadline_s):
        import grpc
        from etcd3 import etcdrpc as rpc
        self.channel = grpc.insecure_channel(endpoint)
        self.requests = queue.Queue()
        self.incoming = queue.Queue()
        create = rpc.WatchRequest(create_request=rpc.WatchCreateRequest(
            key=key.encode(), range_end=range_end.encode(), start_revision=start_revision, prev_kv=prev_kv))
        self.requests.put(create)
        watch = self.channel.stream_stream(WATCH_METHOD, request_serializer=_serialize,
                                           response_deserializer=rpc.WatchResponse.FromString)
        self.call = watch(self._outgoing(), timeout=deadline_s)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _outgoing(self):
        while True:
            item = self.requests.get()
            if item is None:
                return
            yield item

    def _read(self):
        import grpc
        try:
            for r in self.call:
                self.incoming.put(r)
            self.incoming.put(("end", "closed by the member"))
        except grpc.RpcError as e:
            self.incoming.put(("end", "%s: %s" % (e.code().name, e.details())))
        except Exception as e:  # noqa: BLE001 (recorded as the stream's end)
            self.incoming.put(("end", "error: %r" % (e,)))

    def request_progress(self):
        self.requests.put(PROGRESS_REQUEST)

    def close(self):
        self.call.cancel()
        self.requests.put(None)
        self.reader.join(timeout=5)
        self.channel.close()


class Watcher(threading.Thread):
    """One logical watch, kept through faults; its record is `segments`."""

    def __init__(self, wid, seed, cluster, stop, recent_revision, mode, prev_kv, delay=0.0, key="k",
                 range_end="l", idle_timeout=2.0, progress_every=0.5, lifetime=(2.0, 8.0), max_segments=400):
        super().__init__(daemon=True)
        self.wid = wid
        self.rng = random.Random(seed)
        self.cluster = cluster
        self.stop = stop
        self.recent_revision = recent_revision  # () -> the latest revision a write was acknowledged at
        self.mode = mode
        self.prev_kv = prev_kv
        self.delay = delay
        self.key = key
        self.range_end = range_end
        self.idle_timeout = idle_timeout
        self.progress_every = progress_every
        self.lifetime = lifetime
        self.max_segments = max_segments
        self.segments = []
        self.error = None

    def first_start(self):
        if self.mode == "first":
            return 1
        if self.mode == "recent":
            return max(1, self.recent_revision() - self.rng.randint(0, 20))
        return 0

    def run(self):
        try:
            if self.stop.wait(self.delay):
                return
            known = None
            start = self.first_start()
            member = None
            while not self.stop.is_set() and len(self.segments) < self.max_segments:
                others = [m for m in self.cluster.members if m is not member]
                member = self.rng.choice(others or self.cluster.members)
                seg = self.one_segment(member, start if known is None else known + 1)
                self.segments.append(seg)
                known = known_revision(seg, known)
                if seg.created() is None:
                    self.stop.wait(0.1)  # the member is down: try another soon, not in a tight loop
        except Exception as e:  # the harness's own fault: reported, never taken for a pass
            self.error = e

    def one_segment(self, member, start):
        seg = Segment(watcher=self.wid, index=len(self.segments), member=member.name, start_revision=start,
                      key=self.key, range_end=self.range_end, prev_kv=self.prev_kv)
        lifetime = self.rng.uniform(*self.lifetime)
        stream = _Stream(member.endpoint, self.key, self.range_end, start, self.prev_kv, lifetime + 10)
        opened = last = time.monotonic()
        next_progress = opened + self.progress_every
        try:
            while True:
                now = time.monotonic()
                if self.stop.is_set():
                    seg.end = "stop"
                    break
                if now - opened > lifetime:
                    seg.end = "rotated"  # a resume on another member, though nothing broke
                    break
                if now - last > self.idle_timeout:
                    seg.end = "idle: nothing for %.1f s" % (now - last)
                    break
                if now >= next_progress:
                    stream.request_progress()
                    next_progress = now + self.progress_every
                try:
                    item = stream.incoming.get(timeout=0.1)
                except queue.Empty:
                    continue
                if isinstance(item, tuple):
                    seg.end = "broken: " + item[1]
                    break
                last = time.monotonic()
                r = convert(item, self.prev_kv)
                seg.responses.append(r)
                if r.canceled:
                    seg.end = "canceled: %s (compact revision %d)" % (r.cancel_reason, r.compact_revision)
                    break
        finally:
            stream.close()
        return seg


def start_watchers(n, seed, cluster, stop, recent_revision, duration):
    """`n` watchers, their start modes spread over first/recent/now (in an order the seed
    picks), half of them asking for prev_kv, each starting after a delay within the first 40% of
    the run (so that "recent" means something)."""
    rng = random.Random(seed)
    modes = list(MODES)
    rng.shuffle(modes)
    watchers = []
    for i in range(n):
        w = Watcher(i, rng.getrandbits(64), cluster, stop, recent_revision, mode=modes[i % len(modes)],
                    prev_kv=i % 2 == 0, delay=rng.uniform(0, 0.4 * duration))
        watchers.append(w)
        w.start()
    return watchers


def read_truth(endpoint, final_revision, base_revision, timeout=30.0):
    """Every event of the cluster's history up to `final_revision`: one watch over the whole key
    space from revision 1 (from the compacted revision, if history was compacted: said in the
    note). A watch that does not get that far within `timeout` gives what it got, and the note
    says so (the checker then finds the revisions missing)."""
    start = 1
    notes = []
    deadline = time.monotonic() + timeout
    for _ in range(3):
        stream = _Stream(endpoint, "\0", "\0", start, False, timeout + 5)
        events = []
        compacted = None
        ended = None
        high = 0
        next_progress = time.monotonic()
        try:
            while high < final_revision and time.monotonic() < deadline:
                if time.monotonic() >= next_progress:
                    stream.request_progress()
                    next_progress = time.monotonic() + 0.5
                try:
                    item = stream.incoming.get(timeout=0.1)
                except queue.Empty:
                    continue
                if isinstance(item, tuple):
                    ended = item[1]
                    break
                r = convert(item, False)
                if r.canceled:
                    if r.compact_revision > 0:
                        compacted = r.compact_revision
                    else:
                        ended = "canceled: %s" % r.cancel_reason
                    break
                events.extend(r.events)
                if r.events:
                    high = max(high, r.events[-1].mod_revision)
                elif r.progress:
                    high = max(high, r.revision)
        finally:
            stream.close()
        if compacted is not None and compacted > start:
            notes.append("history compacted at revision %d: the truth starts there" % compacted)
            start = compacted
            continue
        if high < final_revision:
            notes.append("the truth watch from revision %d got only up to revision %d of %d (%s)" % (
                start, high, final_revision, ended or "out of time after %g s" % timeout))
        # Revisions made after the final one (a lease expiring since) are not part of it.
        return Truth(events=[e for e in events if e.mod_revision <= final_revision], start=start,
                     end=final_revision, base_revision=base_revision, note="; ".join(notes))
    raise RuntimeError("the truth watch kept being canceled for compaction: %s" % "; ".join(notes))
