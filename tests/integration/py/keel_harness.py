"""Running real keeld processes on free loopback ports for the integration tests.

A Keeld is one member in its own temporary data dir; start() returns once keeld logs that it is
ready to serve clients. Every process a test starts is killed when the test ends, so a failing
test never leaves a keeld behind.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

KEELD = os.environ.get("KEELD", "keeld")
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"
READY_LINE = "ready to serve client requests"


def _ephemeral_ports():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port():
    """A port nothing listens on, below the kernel's ephemeral range: a port the kernel picked
    would be free again once this returns, and any process's next outgoing connection (a member
    dialing its peers) could take it before keeld binds it."""
    low, _ = _ephemeral_ports()
    candidates = list(range(10000, low)) if low > 11000 else []
    for port in random.sample(candidates, min(50, len(candidates))):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Keeld:
    def __init__(self, backend="lmdb", data_dir=None, extra_args=(), name="it"):
        self.backend = backend
        self.name = name
        self.initial_cluster = None  # "name=url,...": set by a Cluster; None: this member alone
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="keel-it-")
        self.client_port = free_port()
        self.peer_port = free_port()
        self.extra_args = list(extra_args)
        self.env = {}  # variables this member gets beside the harness's own
        self.proc = None
        self.log_path = os.path.join(self.data_dir, "keeld.log")

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.client_port

    @property
    def peer_url(self):
        return "http://127.0.0.1:%d" % self.peer_port

    def args(self):
        peer = self.peer_url
        client = "http://127.0.0.1:%d" % self.client_port
        return [KEELD, "--name", self.name, "--data-dir", os.path.join(self.data_dir, "member-data"),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", self.initial_cluster or (self.name + "=" + peer),
                "--backend", self.backend] + self.extra_args

    def launch(self):
        """Starts the process and returns at once; wait_ready() waits for it to serve."""
        self._offset = len(self.log())  # a restart appends to the log: look only at this run's part
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=dict(os.environ, **self.env))
        log.close()
        return self

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("keeld exited with %d:\n%s" % (self.proc.returncode, self.log()))
            if READY_LINE in self.log()[self._offset:]:
                return self
            time.sleep(0.02)
        raise RuntimeError("keeld did not become ready:\n" + self.log())

    def start(self, timeout=60):
        return self.launch().wait_ready(timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def kill(self):
        """SIGKILL: nothing is flushed, nothing is closed."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        # The log is appended to by the next start; mark where this run ended.
        with open(self.log_path, "a") as f:
            f.write("\n--- killed ---\n")

    def stop(self, timeout=30):
        """SIGTERM, and the exit code."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        with open(self.log_path, "a") as f:
            f.write("\n--- stopped ---\n")
        return self.proc.returncode if self.proc else None

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def etcdctl(self, *args, stdin=None, check=True, timeout=60):
        """Runs etcdctl against this member; returns (exit code, stdout, stderr)."""
        env = dict(os.environ, ETCDCTL_API="3")
        p = subprocess.run([ETCDCTL, "--endpoints", self.endpoint, "--dial-timeout", "5s",
                            "--command-timeout", "20s"] + list(args),
                           input=stdin, capture_output=True, text=True, env=env, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("etcdctl %s failed (%d): %s%s\nkeeld log:\n%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr, self.log()[-4000:]))
        return p.returncode, p.stdout, p.stderr


def metric(member, name, **labels):
    """The value of one sample on `member`'s /metrics (None when absent)."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % member.client_port, timeout=30) as r:
        text = r.read().decode()
    want = name + ("{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}" if labels else "")
    for line in text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return None


class MemberTestCase(unittest.TestCase):
    """A test class sharing one keeld (backend from KEEL_BACKEND) across its tests; it must
    exit 0 on SIGTERM at the end."""

    @classmethod
    def extra_args(cls):
        """Flags the shared member gets beyond the harness's own."""
        return []

    @classmethod
    def setUpClass(cls):
        cls.k = Keeld(os.environ.get("KEEL_BACKEND", "lmdb"), extra_args=cls.extra_args()).start()

    @classmethod
    def tearDownClass(cls):
        code = cls.k.stop()
        log = cls.k.log()
        cls.k.close()
        assert code == 0, "keeld exited %r after SIGTERM; its log ends:\n%s" % (code, log[-6000:])


class ClientTestCase(MemberTestCase):
    """A MemberTestCase with a python3-etcd3 client on its member as cls.c."""

    @classmethod
    def setUpClass(cls):
        import etcd3
        super().setUpClass()
        cls.c = etcd3.client(host="127.0.0.1", port=cls.k.client_port, timeout=20)

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        super().tearDownClass()


class Cluster:
    """`n` keeld members on loopback forming one cluster, started as etcd's members are: each
    with the whole --initial-cluster, --initial-cluster-state new and one --initial-cluster-token.
    `backends` gives each member's backend in turn (so one cluster can mix engines)."""

    def __init__(self, n, backends=("lmdb",), transport="grpc", extra_args=(), token=None):
        self.members = []
        for i in range(n):
            args = ["--transport", transport, "--initial-cluster-state", "new",
                    "--initial-cluster-token", token or "keel-it-%d" % os.getpid()] + list(extra_args)
            self.members.append(Keeld(backends[i % len(backends)], extra_args=args, name="m%d" % i))
        cluster = ",".join("%s=%s" % (m.name, m.peer_url) for m in self.members)
        for m in self.members:
            m.initial_cluster = cluster

    def start(self, timeout=60):
        for m in self.members:
            m.launch()
        for m in self.members:
            m.wait_ready(timeout)
        return self

    def status(self, member, timeout=10):
        """etcdctl endpoint status of one member as a dict (None when it does not answer)."""
        code, out, _ = member.etcdctl("endpoint", "status", "-w", "json", check=False, timeout=timeout + 20)
        if code != 0:
            return None
        return json.loads(out)[0]["Status"]

    def leader(self, timeout=30, among=None):
        """The member every live member (or those in `among`) names as leader, once they agree."""
        live = [m for m in (among or self.members) if m.alive()]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leaders = set()
            ids = {}
            for m in live:
                st = self.status(m)
                if st is None:
                    leaders.add(None)
                    continue
                leaders.add(st.get("leader", 0))  # Go's JSON leaves out a zero
                ids[st["header"]["member_id"]] = m
            if len(leaders) == 1 and None not in leaders and 0 not in leaders:
                lead = leaders.pop()
                if lead in ids:
                    return ids[lead]
            time.sleep(0.2)
        raise AssertionError("the members did not agree on a leader within %ds:\n%s" % (
            timeout, self.logs()))

    def follower(self, leader):
        """A member other than `leader`."""
        return next(m for m in self.members if m is not leader)

    def logs(self, tail=3000):
        return "\n".join("--- %s ---\n%s" % (m.name, m.log()[-tail:]) for m in self.members)

    def stop(self):
        """SIGTERM to every live member; returns their exit codes."""
        return [m.stop() for m in self.members if m.alive()]

    def close(self):
        for m in self.members:
            m.close()
