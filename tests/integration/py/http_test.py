"""keeld's HTTP endpoints against a real keeld: /health, /version and /metrics on the client URL
(which also carries gRPC: etcdctl and python3-etcd3 go through the same port, as with etcd's
cmux) and on --listen-metrics-urls; etcd's answers for unknown paths and wrong methods; the
Prometheus text parsed, and its counters rising with the requests made.

Run with /usr/bin/python3; KEELD names the binary, KEEL_BACKEND the backend plugin.
"""
import http.client
import json
import os
import re
import socket
import sys
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from keel_harness import Keeld, MemberTestCase, free_port  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{name: {frozenset(labels): value}} and {name: type} from the text exposition format."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        samples.setdefault(m.group(1), {})[labels] = float(m.group(3))
    return samples, types


def read_until_closed(sock):
    """Everything the server sends on `sock` until it closes the connection."""
    reply = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return reply
        reply += chunk


def value(samples, name, **labels):
    return samples.get(name, {}).get(frozenset(labels.items()), 0.0)


class HttpEndpoints(MemberTestCase):
    @classmethod
    def extra_args(cls):
        cls.metrics_port = free_port()
        return ["--listen-metrics-urls", "http://127.0.0.1:%d" % cls.metrics_port]

    def get(self, path, port=None, method="GET"):
        """(status, headers, body) of one request."""
        url = "http://127.0.0.1:%d%s" % (port or self.k.client_port, path)
        req = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def scrape(self, port=None):
        status, headers, body = self.get("/metrics", port)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        return parse_metrics(body)

    def ctl(self, *args, **kw):
        return self.k.etcdctl(*args, **kw)

    # -- gRPC still served on the shared port --

    def test_etcdctl_through_the_shared_client_port(self):
        self.assertEqual(self.ctl("put", "mux/k", "v")[1], "OK\n")
        self.assertEqual(self.ctl("get", "mux/k")[1], "mux/k\nv\n")
        code, out, err = self.ctl("endpoint", "health")
        self.assertIn("is healthy", out + err)

    def test_python_etcd3_through_the_shared_client_port(self):
        import etcd3
        c = etcd3.client(host="127.0.0.1", port=self.k.client_port, timeout=20)
        try:
            c.put("mux/py", "v")
            self.assertEqual(c.get("mux/py")[0], b"v")
        finally:
            c.close()

    # -- /health --

    def test_health(self):
        status, headers, body = self.get("/health")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"health": "true"})
        self.assertEqual(body, '{"health":"true"}')

    def test_health_serializable_and_exclude(self):
        for query in ("?serializable=true", "?exclude=NOSPACE", "?serializable=false&exclude=CORRUPT"):
            status, _, body = self.get("/health" + query)
            self.assertEqual((status, json.loads(body)), (200, {"health": "true"}), query)

    def test_health_counts_checks(self):
        before, _ = self.scrape()
        self.get("/health")
        after, types = self.scrape()
        self.assertEqual(types["etcd_server_health_success"], "counter")
        self.assertGreater(value(after, "etcd_server_health_success"), value(before, "etcd_server_health_success"))

    def test_health_wrong_method(self):
        status, headers, body = self.get("/health", method="POST")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET")
        self.assertEqual(body, "Method Not Allowed\n")

    # -- /version --

    def test_version_matches_maintenance_status(self):
        status, headers, body = self.get("/version")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        version = json.loads(body)
        self.assertEqual(version, {"etcdserver": "3.4.0", "etcdcluster": "3.4.0"})
        out = json.loads(self.ctl("endpoint", "status", "-w", "json")[1])
        self.assertEqual(out[0]["Status"]["version"], version["etcdserver"])

    def test_unknown_path_and_version_wrong_method(self):
        status, _, body = self.get("/nope")
        self.assertEqual((status, body), (404, "404 page not found\n"))
        self.assertEqual(self.get("/health/")[0], 404)
        self.assertEqual(self.get("/version", method="PUT")[0], 405)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.k.client_port, timeout=30)
        try:
            for path in ("/health", "/version", "/metrics", "/nope", "/health?serializable=true"):
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                self.assertIn(r.status, (200, 404), path)
        finally:
            conn.close()

    def test_first_bytes_split_and_silent_clients(self):
        """The listener tells HTTP/1 from HTTP/2 however the first bytes arrive, and a client
        that sends nothing holds up no one."""
        silent = socket.create_connection(("127.0.0.1", self.k.client_port), timeout=30)
        self.addCleanup(silent.close)
        s = socket.create_connection(("127.0.0.1", self.k.client_port), timeout=30)
        self.addCleanup(s.close)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each sendall its own segment
        s.sendall(b"PR")  # a prefix of HTTP/2's "PRI * HTTP/2.0" so far
        # Not a synchronisation: the pause makes it likely that the server sees "PR" alone, and
        # the reply must be the same however the bytes arrive.
        time.sleep(0.05)
        s.sendall(b"OPFIND /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = read_until_closed(s)
        self.assertTrue(reply.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n"), reply)
        self.assertEqual(self.ctl("get", "nothing")[1], "")
        self.assertEqual(self.get("/health")[0], 200)

    def raw_exchange(self, request):
        """Sends `request` whole on a fresh connection and reads the reply until the server
        closes; (status line, headers dict, body)."""
        s = socket.create_connection(("127.0.0.1", self.k.client_port), timeout=30)
        self.addCleanup(s.close)
        s.sendall(request)
        head, _, body = read_until_closed(s).partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        return lines[0], headers, body.decode()

    def test_unreadable_requests_get_gos_answers_and_the_connection_closes(self):
        """A request keeld cannot read is answered as Go's http.Server answers it (etcd's client
        port), the connection closes, and nothing else happens."""
        status, headers, body = self.raw_exchange(b"NOT A REQUEST\r\n\r\n")
        self.assertEqual((status, body), ("HTTP/1.1 400 Bad Request", "400 Bad Request"))
        self.assertEqual(headers["Content-Type"], "text/plain; charset=utf-8")
        self.assertEqual(headers["Connection"], "close")

        # Headers up to 64 KiB in all are read (Go's limit is 1 MiB: keel's departure); past
        # that the answer is Go's 431, for one long value or for a megabyte of them.
        big = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: %s\r\n\r\n"
        status, _, body = self.raw_exchange(big % (b"a" * 60 * 1024))
        self.assertEqual((status, json.loads(body)["health"]), ("HTTP/1.1 200 OK", "true"))
        for oversized in (big % (b"a" * 70 * 1024),
                          big % b"a\r\nX-More: ".join(b"a" * 1000 for _ in range(1100))):
            status, headers, body = self.raw_exchange(oversized)
            self.assertEqual((status, body), ("HTTP/1.1 431 Request Header Fields Too Large",
                                              "431 Request Header Fields Too Large"))
            self.assertEqual(headers["Connection"], "close")

        self.assertEqual(self.ctl("put", "after-unreadable", "v")[0], 0)
        self.assertEqual(self.ctl("get", "after-unreadable", "--print-value-only")[1], "v\n")
        self.assertEqual(self.get("/health")[0], 200)

    # -- /metrics --

    def test_metrics_names_and_types(self):
        samples, types = self.scrape()
        expected = {
            "etcd_server_has_leader": "gauge",
            "etcd_server_is_leader": "gauge",
            "etcd_server_proposals_committed_total": "gauge",
            "etcd_server_proposals_applied_total": "gauge",
            "etcd_mvcc_db_total_size_in_bytes": "gauge",
            "etcd_mvcc_db_total_size_in_use_in_bytes": "gauge",
            "etcd_debugging_mvcc_current_revision": "gauge",
            "etcd_debugging_mvcc_watch_stream_total": "gauge",
            "etcd_server_version": "gauge",
            "etcd_server_id": "gauge",
            "etcd_cluster_version": "gauge",
            "grpc_server_started_total": "counter",
            "grpc_server_handled_total": "counter",
            "grpc_server_msg_received_total": "counter",
            "grpc_server_msg_sent_total": "counter",
            # measured by the member itself (NodeOptions::metrics)
            "etcd_server_proposals_pending": "gauge",
            "etcd_server_proposals_failed_total": "counter",
            "etcd_server_leader_changes_seen_total": "counter",
            "etcd_disk_wal_fsync_duration_seconds": "histogram",
            "etcd_disk_backend_commit_duration_seconds": "histogram",
            "etcd_disk_backend_defrag_duration_seconds": "histogram",
            "etcd_disk_backend_snapshot_duration_seconds": "histogram",
            "etcd_mvcc_put_total": "counter",
            "etcd_mvcc_delete_total": "counter",
            "etcd_mvcc_txn_total": "counter",
            "etcd_mvcc_range_total": "counter",
            "etcd_debugging_mvcc_compact_revision": "gauge",
            "etcd_server_slow_apply_total": "counter",
            "etcd_server_read_indexes_failed_total": "counter",
            "etcd_server_slow_read_indexes_total": "counter",
        }
        for name, kind in expected.items():
            self.assertEqual(types.get(name), kind, name)
            self.assertIn(name + "_count" if kind == "histogram" else name, samples)
        self.assertEqual(value(samples, "etcd_disk_wal_fsync_duration_seconds_bucket", le="+Inf"),
                         value(samples, "etcd_disk_wal_fsync_duration_seconds_count"))
        self.assertGreaterEqual(value(samples, "etcd_server_leader_changes_seen_total"), 1)
        self.assertEqual(value(samples, "etcd_server_has_leader"), 1)
        self.assertEqual(value(samples, "etcd_server_is_leader"), 1)
        self.assertEqual(value(samples, "etcd_server_version", server_version="3.4.0"), 1)
        self.assertEqual(value(samples, "etcd_cluster_version", cluster_version="3.4"), 1)
        self.assertGreater(value(samples, "etcd_mvcc_db_total_size_in_bytes"), 0)
        # As go-grpc-prometheus: every method of the served services, every code, from zero.
        handled = samples["grpc_server_handled_total"]
        self.assertIn(frozenset({"grpc_type": "unary", "grpc_service": "etcdserverpb.KV",
                                 "grpc_method": "Compact", "grpc_code": "DataLoss"}.items()), handled)
        self.assertIn(frozenset({"grpc_type": "bidi_stream", "grpc_service": "etcdserverpb.Watch",
                                 "grpc_method": "Watch"}.items()), samples["grpc_server_started_total"])

    def test_counters_rise_with_requests(self):
        kv = dict(grpc_type="unary", grpc_service="etcdserverpb.KV")
        before, _ = self.scrape()
        for i in range(3):
            self.ctl("put", "m/k%d" % i, "v")
        self.ctl("get", "m/k0", "--rev=999999", check=False)  # a future revision: OutOfRange
        after, _ = self.scrape()

        def rise(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        self.assertEqual(rise("grpc_server_started_total", grpc_method="Put", **kv), 3)
        self.assertEqual(rise("grpc_server_handled_total", grpc_method="Put", grpc_code="OK", **kv), 3)
        self.assertEqual(rise("grpc_server_msg_received_total", grpc_method="Put", **kv), 3)
        self.assertEqual(rise("grpc_server_msg_sent_total", grpc_method="Put", **kv), 3)
        self.assertGreaterEqual(rise("grpc_server_handled_total", grpc_method="Range", grpc_code="OutOfRange", **kv), 1)
        self.assertGreaterEqual(rise("etcd_debugging_mvcc_current_revision"), 3)
        self.assertGreaterEqual(rise("etcd_server_proposals_applied_total"), 3)
        self.assertGreaterEqual(rise("etcd_server_proposals_committed_total"), 3)
        self.assertGreaterEqual(rise("etcd_disk_wal_fsync_duration_seconds_count"), 1)
        self.assertGreaterEqual(rise("etcd_mvcc_put_total"), 3)
        self.assertGreaterEqual(rise("etcd_mvcc_range_total"), 1)

    def test_lease_and_watcher_measures(self):
        import etcd3
        c = etcd3.client(host="127.0.0.1", port=self.k.client_port, timeout=20)
        self.addCleanup(c.close)
        before, _ = self.scrape()
        lease = c.lease(60)
        lease.refresh()
        lease.revoke()
        # A watch stream held open (raw, so no client thread outlives the test).
        from etcd3 import etcdrpc
        import threading
        held = threading.Event()
        self.addCleanup(held.set)

        def requests():
            yield etcdrpc.WatchRequest(create_request=etcdrpc.WatchCreateRequest(key=b"m/watched"))
            held.wait()
        stream = etcdrpc.WatchStub(c.channel).Watch(requests())
        self.assertTrue(next(stream).created)
        # The watcher gauges are read from the hub every heartbeat: wait for one.
        deadline = time.monotonic() + 60
        while True:
            after, _ = self.scrape()
            if value(after, "etcd_debugging_mvcc_watcher_total") >= 1:
                break
            self.assertLess(time.monotonic(), deadline, "the watcher was never counted")
            time.sleep(0.05)

        def rise(name):
            return value(after, name) - value(before, name)

        self.assertEqual(rise("etcd_debugging_lease_granted_total"), 1)
        self.assertEqual(rise("etcd_debugging_lease_revoked_total"), 1)
        self.assertGreaterEqual(rise("etcd_debugging_lease_renewed_total"), 1)
        self.assertEqual(rise("etcd_debugging_lease_ttl_total_count"), 1)
        self.assertEqual(value(after, "etcd_debugging_mvcc_slow_watcher_total"), 0)
        self.assertEqual(value(after, "etcd_server_quota_backend_bytes"), 2 * 1024 ** 3)

    def test_unknown_methods_share_one_label(self):
        """Paths nobody serves are counted under "unknown": a client inventing method names must
        not grow the registry."""
        import grpc
        with grpc.insecure_channel(self.k.endpoint) as ch:
            for i in range(20):
                with self.assertRaises(grpc.RpcError) as e:
                    ch.unary_unary("/made.Up/Method%d" % i)(b"", timeout=20)
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        samples, _ = self.scrape()
        started = samples["grpc_server_started_total"]
        services = {dict(labels).get("grpc_service") for labels in started}
        self.assertNotIn("made.Up", services)
        # gRPC's catch-all handler takes them as streams, whatever the client meant.
        unknown = sum(v for labels, v in started.items()
                      if dict(labels).get("grpc_service") == "unknown" and dict(labels).get("grpc_method") == "unknown")
        self.assertGreaterEqual(unknown, 20)

    def test_bad_request_counts_its_code(self):
        before, _ = self.scrape()
        code, _, err = self.ctl("put", "", "v", check=False)  # etcd: key is not provided
        self.assertNotEqual(code, 0)
        after, _ = self.scrape()
        labels = dict(grpc_type="unary", grpc_service="etcdserverpb.KV", grpc_method="Put",
                      grpc_code="InvalidArgument")
        self.assertEqual(value(after, "grpc_server_handled_total", **labels) -
                         value(before, "grpc_server_handled_total", **labels), 1)

    def test_unparsable_request_counts_internal_and_no_message_received(self):
        # KV's methods parse and count their requests themselves (no interceptor): a payload
        # that is not a PutRequest is handled with Internal, and no message is received.
        import grpc
        before, _ = self.scrape()
        with grpc.insecure_channel("127.0.0.1:%d" % self.k.client_port) as channel:
            put = channel.unary_unary("/etcdserverpb.KV/Put", request_serializer=lambda b: b,
                                      response_deserializer=lambda b: b)
            with self.assertRaises(grpc.RpcError) as caught:
                put(b"\xff\xff\xff", timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.INTERNAL)
        self.assertTrue(caught.exception.details().startswith("grpc: error unmarshalling request: "))
        after, _ = self.scrape()
        labels = dict(grpc_type="unary", grpc_service="etcdserverpb.KV", grpc_method="Put")

        def rise(name, **more):
            return value(after, name, **labels, **more) - value(before, name, **labels, **more)

        self.assertEqual(rise("grpc_server_started_total"), 1)
        self.assertEqual(rise("grpc_server_handled_total", grpc_code="Internal"), 1)
        self.assertEqual(rise("grpc_server_msg_received_total"), 0)
        self.assertEqual(rise("grpc_server_msg_sent_total"), 0)

    # -- --listen-metrics-urls --

    def test_metrics_url_serves_metrics_and_health_only(self):
        samples, _ = self.scrape(self.metrics_port)
        self.assertEqual(value(samples, "etcd_server_has_leader"), 1)
        status, _, body = self.get("/health", self.metrics_port)
        self.assertEqual((status, json.loads(body)), (200, {"health": "true"}))
        self.assertEqual(self.get("/version", self.metrics_port)[0], 404)


class HealthWithAlarms(unittest.TestCase):
    """/health under raised alarms (raised through the Alarm RPC, as etcdctl cannot)."""

    def setUp(self):
        import etcd3
        from etcd3 import etcdrpc
        self.k = Keeld(os.environ.get("KEEL_BACKEND", "lmdb")).start()
        self.addCleanup(self.k.close)
        self.c = etcd3.client(host="127.0.0.1", port=self.k.client_port, timeout=20)
        self.addCleanup(self.c.close)
        self.rpc = etcdrpc
        self.stub = etcdrpc.MaintenanceStub(self.c.channel)

    def alarm(self, action, alarm):
        self.stub.Alarm(self.rpc.AlarmRequest(action=action, memberID=7, alarm=alarm), timeout=20)

    def health(self, query=""):
        url = "http://127.0.0.1:%d/health%s" % (self.k.client_port, query)
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_alarms_make_it_unhealthy_unless_excluded(self):
        req = self.rpc.AlarmRequest
        self.assertEqual(self.health(), (200, {"health": "true"}))
        self.alarm(req.ACTIVATE, self.rpc.NOSPACE)
        self.assertEqual(self.health(), (503, {"health": "false", "reason": "ALARM NOSPACE"}))
        self.assertEqual(self.health("?serializable=true")[0], 503)
        self.assertEqual(self.health("?exclude=NOSPACE"), (200, {"health": "true"}))
        self.alarm(req.ACTIVATE, self.rpc.CORRUPT)
        self.assertEqual(self.health("?exclude=NOSPACE"), (503, {"health": "false", "reason": "ALARM CORRUPT"}))
        self.assertEqual(self.health("?exclude=NOSPACE&exclude=CORRUPT"), (200, {"health": "true"}))
        self.alarm(req.DEACTIVATE, self.rpc.NOSPACE)
        self.alarm(req.DEACTIVATE, self.rpc.CORRUPT)
        self.assertEqual(self.health(), (200, {"health": "true"}))
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.k.client_port, timeout=30) as r:
            samples, _ = parse_metrics(r.read().decode())
        self.assertEqual(value(samples, "etcd_server_health_failures"), 3)
        self.assertEqual(self.k.stop(), 0, self.k.log()[-4000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
