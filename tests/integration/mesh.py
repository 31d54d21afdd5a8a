"""mesh.py: start the three real node binaries on loopback for a test.

Each Mesh gets its own free ports and a temporary data directory, and always
cleans up (context manager + atexit): processes are killed, the directory
removed. Helpers wait on conditions with deadlines instead of sleeping.
Standard library only, plus python3-zmq and python3-msgpack (Debian) for
talking to node inboxes directly.
"""
import atexit
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

NODES = ("accounts", "fraud", "gateway")
# Every scope of the public API (nodes/gateway/gateway_principals.h).
CUSTOMER_SCOPES = ["transfers:write", "transfers:read", "accounts:read", "events:read"]
ALL_SCOPES = CUSTOMER_SCOPES + ["accounts:open", "deposits:write", "risk:read", "accounts:manage"]
TESTER = "tester"  # the operator principal whose key every /api request carries by default
ACCOUNT_ID = re.compile(r"[a-z0-9_-]{1,64}")  # the account-id rule (proto_account_id_valid)
SETTLEMENT = {"GBP": "funding"}  # the settlement account of each currency
# The demo accounts (the accounts node opens them at zero, owned by the principal of each id)
# and what start_all deposits into each, in pence: the balances tests start from.
DEMO_BALANCES = {"alice": 100000, "bob": 25000, "carol": 500000, "dave": 5000, "mallory": 1000000}
_live = []


# The statuses a transfer ends in (pending and authorized are not final).
FINAL_STATUSES = frozenset({"settled", "rejected_fraud", "declined", "voided", "expired"})

def _cleanup_all():
    for mesh in list(_live):
        mesh.close()


atexit.register(_cleanup_all)


_handed_out = set()
_rng = random.Random(os.getpid() * 7919 + time.monotonic_ns())


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


# Ports handed out to a test process, one file each (its pid inside): a node stopped for a
# while leaves its port free, and a test running beside this one (ctest -j) must not take it.
PORT_CLAIMS = os.path.join(tempfile.gettempdir(), "ledger-it-ports")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _claim(port):
    """Claims `port` for this process across test processes; False if another live one has it."""
    os.makedirs(PORT_CLAIMS, exist_ok=True)
    path = os.path.join(PORT_CLAIMS, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    owner = int(f.read() or 0)
            except (OSError, ValueError):
                return False
            if owner and _pid_alive(owner):
                return False
            try:
                os.unlink(path)  # left by a test process that is gone
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def _release_claims():
    for port in _handed_out:
        path = os.path.join(PORT_CLAIMS, str(port))
        try:
            with open(path) as f:
                mine = f.read() == str(os.getpid())
            if mine:
                os.unlink(path)
        except (OSError, ValueError):
            pass


atexit.register(_release_claims)


def free_port():
    """A port that is free now, outside the kernel's ephemeral range (so that the
    nodes' own outgoing connections can never take it first), and claimed for this
    process until it exits (so that a test beside it cannot take it while a node of
    this one is stopped)."""
    low, high = _ephemeral_range()
    candidates = (10000, low - 1) if low > 12000 else (high + 1, 65535)
    for _ in range(1000):
        port = _rng.randint(*candidates)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        if not _claim(port):
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port")


def wait_until(check, timeout=20.0, what="condition", interval=0.02):
    """Polls check() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, urllib.error.URLError, ConnectionError):
            last = None  # not up yet: keep waiting
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def parse_metrics(text):
    """{(name, ((label, value), ...)): float} for every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)$', line)
        assert m, f"not a sample line: {line!r}"
        labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


def sample(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def parse_loadgen_output(text):
    """ledger-bench-loadgen's summary line ("requests=... accepted=... elapsed_s=...") as
    {name: float}."""
    return {k: float(v) for k, v in (kv.split("=") for kv in text.split())}


def split_entries(tags, payload):
    """The (tag, envelope) pairs of one message a node's relay sent: [tag][envelope], or a
    bundle of n entries [n x 8-byte tags][n x (u32 big-endian length, envelope)]
    (proto/README.md, Framing). Tags stay 8-byte strings, as a ROUTER answers with them."""
    n = len(tags) // 8
    assert n >= 1 and len(tags) == 8 * n, f"bad tag frame of {len(tags)} bytes"
    if n == 1:
        return [(tags, payload)]
    out, offset = [], 0
    for i in range(n):
        size = int.from_bytes(payload[offset:offset + 4], "big")
        out.append((tags[8 * i:8 * i + 8], payload[offset + 4:offset + 4 + size]))
        offset += 4 + size
    assert offset == len(payload), "bundle payload does not match its tags"
    return out


class Mesh:
    def __init__(self, build_dir=None, demo=True, env=None, fraud_rules=None, log_level="info",
                 plaintext=False, harness=False):
        """plaintext: every node runs with --insecure-plaintext (no keys at all).
        harness: the harness key is allowed at every node, which also accept its replays
        (LEDGER_HARNESS_REPLAY=1), as an operator enables it for the README's walk-through."""
        self.build_dir = build_dir or os.environ.get("LEDGER_BUILD_DIR", "build")
        self.tmp = tempfile.mkdtemp(prefix="ledger-it-")
        self.plaintext = plaintext
        self.harness = harness
        self.keys_dir = os.path.join(self.tmp, "keys")  # this mesh's keys (ledger-keys init)
        self.ports = {}
        self.pick_ports()
        self.procs = {}
        self.log_at_start = {}  # node -> the size of its log when it was last started
        self.demo = demo
        self.extra_env = env or {}
        self.log_level = log_level
        self.fraud_rules = None
        self.key = None  # the tester's API key (ensure_key), sent on every /api request
        self.owner_keys = {}  # account -> API key of the customer principal that owns it
        self.funding_ids = set()  # the deposits start_all made (fund_demo), left out of lists
        if fraud_rules is not None:
            self.fraud_rules = os.path.join(self.tmp, "fraud.rules")
            with open(self.fraud_rules, "w") as f:
                f.write(fraud_rules)
        _live.append(self)
        if not plaintext:
            self.keys_tool("init", "--dir", self.keys_dir)
            if harness:
                self.keys_tool("allow", "harness", "--to", *NODES, "--dir", self.keys_dir)

    def keys_tool(self, *args):
        """Runs ledger-keys; fails the test if it does not exit 0."""
        tool = os.path.join(self.build_dir, "tools", "keys", "ledger-keys")
        r = subprocess.run([tool, *args], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"ledger-keys {' '.join(args)}: {r.stdout}{r.stderr}"
        return r.stdout

    def key_pair(self, name):
        """(public, secret) of <keys>/<name>.key, as pyzmq wants them."""
        import zmq.auth
        return zmq.auth.load_certificate(os.path.join(self.keys_dir, f"{name}.key"))

    def peer_socket(self, node, key="gateway", kind=None, endpoint_kind=None):
        """A CURVE socket of python3-zmq connected to `node` (its inbox for a DEALER, its
        feed for a SUB) with the key pair <keys>/<key>.key. key=None: a plain socket (no
        CURVE at all); key may also be a (public, secret) pair of a key the mesh never saw.
        The caller closes it."""
        import zmq
        import zmq.auth
        kind = zmq.DEALER if kind is None else kind
        sock = zmq.Context.instance().socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        if key is not None:
            public, secret = key if isinstance(key, tuple) else self.key_pair(key)
            server, _ = zmq.auth.load_certificate(
                os.path.join(self.keys_dir, "public", f"{node}.pub"))
            sock.curve_publickey, sock.curve_secretkey = public, secret
            sock.curve_serverkey = server
        if kind == zmq.SUB:
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        where = endpoint_kind or ("feed" if kind == zmq.SUB else "inbox")
        sock.connect(self.endpoint(node, where))
        return sock

    # --- processes ---------------------------------------------------------
    def endpoint(self, node, kind="inbox"):
        return f"tcp://127.0.0.1:{self.ports[node][kind]}"

    def env_for(self, node):
        env = dict(os.environ)
        env.update({
            "LEDGER_DATA_DIR": os.path.join(self.tmp, "data", node),
            "LEDGER_INBOX": self.endpoint(node, "inbox"),
            "LEDGER_FEED": self.endpoint(node, "feed"),
            "LEDGER_ADMIN_PORT": str(self.ports[node]["admin"]),
            "LEDGER_ACCOUNTS_ENDPOINT": self.endpoint("accounts"),
            "LEDGER_FRAUD_ENDPOINT": self.endpoint("fraud"),
            "LEDGER_GATEWAY_ENDPOINT": self.endpoint("gateway"),
            "LEDGER_HTTP_PORT": str(self.http_port),
            "LEDGER_LOG_LEVEL": self.log_level,
            "LEDGER_RETRY_MIN_MS": "50",
            "LEDGER_RETRY_MAX_MS": "500",
        })
        if self.plaintext:
            env["LEDGER_INSECURE_PLAINTEXT"] = "1"
        else:
            env["LEDGER_KEYS_DIR"] = self.keys_dir
            if self.harness:
                env["LEDGER_HARNESS_REPLAY"] = "1"
        if node == "accounts" and self.demo:
            env["LEDGER_DEMO"] = "1"
        if node == "fraud" and self.fraud_rules:
            env["LEDGER_FRAUD_RULES"] = self.fraud_rules
        env.update(self.extra_env.get(node, {}))
        return env

    def start(self, node):
        assert node not in self.procs or self.procs[node].poll() is not None, f"{node} already running"
        binary = os.path.join(self.build_dir, "nodes", f"ledger-{node}")
        log = open(os.path.join(self.tmp, f"{node}.log"), "ab")
        self.log_at_start[node] = log.tell()
        self.procs[node] = subprocess.Popen([binary], env=self.env_for(node), stdout=log,
                                            stderr=subprocess.STDOUT)
        log.close()

    def pick_ports(self):
        for node in NODES:
            self.ports[node] = {"inbox": free_port(), "feed": free_port(), "admin": free_port()}
        self.http_port = free_port()

    def start_all(self, attempts=3):
        """Starts the three nodes; if one dies at start (another test took one of
        its ports in the meantime), starts again on fresh ports."""
        for attempt in range(attempts):
            for node in NODES:
                self.start(node)
            try:
                wait_until(lambda: self.all_answer() or any(not self.running(n) for n in NODES),
                           20, "the mesh to start")
            except AssertionError:
                pass
            if all(self.running(n) for n in NODES) and self.all_answer():
                if self.demo and not self.funding_ids:
                    self.fund_demo()
                return self
            for node in NODES:
                self.kill(node)
            shutil.rmtree(os.path.join(self.tmp, "data"), ignore_errors=True)
            self.key = None  # its record went with the data
            self.owner_keys = {}
            self.funding_ids = set()
            self.pick_ports()
        raise AssertionError("the mesh did not start; see the node logs")

    def answers(self, node):
        """True once the node's admin HTTP answers (any status). A node binds its
        inbox and feed before it opens the admin port, and exits when a bind
        fails, so an answer means it really started; the gateway answering
        alone does not (a peer that lost its port to another test dies a few
        milliseconds later, and the test would run with it dead)."""
        try:
            self.admin(node, "GET", "/health", timeout=2)
            return True
        except (OSError, urllib.error.URLError, ConnectionError):
            return False

    def all_answer(self):
        return (all(self.answers(n) for n in NODES) and self.ensure_key()
                and self.get("/api/accounts")[0] == 200 and self.owners_filled())

    def owners_filled(self):
        """True once the gateway's latest start filled its owner map from the accounts node
        (gateway_owners_fill.h, ledger_gateway_owners_fill_done 1 on /metrics): before that, a
        transfer from an account it has not passed yet is refused 403 forbidden_account."""
        status, text, _ = self.admin("gateway", "GET", "/metrics", headers=self.admin_headers())
        return status == 200 and sample(parse_metrics(text), "ledger_gateway_owners_fill_done") == 1

    def wait_ready(self, timeout=20.0):
        wait_until(lambda: self.ensure_key() and self.get("/api/accounts")[0] == 200
                   and self.owners_filled(), timeout, "gateway and accounts to answer")

    # --- principals and keys (the gateway's admin routes) --------------------
    def admin_headers(self):
        token = self.extra_env.get("gateway", {}).get("LEDGER_ADMIN_TOKEN")
        return {"Authorization": f"Bearer {token}"} if token else {}

    def principal(self, pid, kind="customer", scopes=None):
        """Creates (or finds) principal `pid` and returns a new key of it."""
        body = {"id": pid, "kind": kind, "scopes": CUSTOMER_SCOPES if scopes is None else scopes}
        status, payload, _ = self.admin("gateway", "POST", "/principals", body,
                                        headers=self.admin_headers())
        assert status in (200, 201), (status, payload)
        status, payload, _ = self.admin("gateway", "POST", f"/principals/{pid}/keys",
                                        headers=self.admin_headers())
        assert status == 201, (status, payload)
        return payload["key"]

    def revoke(self, pid, key):
        key_id = key.split("_")[1]
        status, payload, _ = self.admin("gateway", "DELETE", f"/principals/{pid}/keys/{key_id}",
                                        headers=self.admin_headers())
        assert status == 204, (status, payload)

    def ensure_key(self):
        """The tester (an operator with every scope) and its key, made once per data dir."""
        if not self.key:
            self.key = self.principal(TESTER, "operator", ALL_SCOPES)
        return True

    def fund_demo(self):
        """Deposits DEMO_BALANCES into the demo accounts as the operator, all at once, and waits
        until each settled: accounts open at zero, and no request creates money."""
        sent = []
        for account, amount in DEMO_BALANCES.items():
            status, t = self.deposit(account, amount, key=f"demo-{account}", reference="demo")
            assert status == 202, (status, t)
            sent.append(t["id"])
        for tid in sent:
            final = self.wait_final(tid)
            assert final["status"] == "settled", final
        self.funding_ids = set(sent)

    def owner_key(self, account):
        """The API key of the customer principal that owns `account`: the principal of the
        account's id (the demo's accounts and those opened with open_account are owned so),
        made with CUSTOMER_SCOPES on first use and kept for the data dir."""
        if account not in self.owner_keys:
            self.owner_keys[account] = self.principal(account)
        return self.owner_keys[account]

    def open_account(self, account, name=None, owner=None, currency="GBP"):
        """POST /api/accounts as the tester (accounts:open): `account` owned by the customer
        principal `owner` (default: the principal of the account's id, made if need be); it
        opens at zero (fund() puts money in). (status, payload)."""
        owner = owner or account
        self.owner_key(owner)  # the owner must be a principal
        body = {"id": account, "name": name or account.title(), "currency": currency,
                "owner": owner}
        status, payload, _ = self.request("POST", "/api/accounts", body)
        return status, payload

    def _key_for(self, account, api_key):
        """`api_key` if given; else the owner's key of `account` when it is an account id (a
        principal can be made for it), else the tester's (a request the gateway refuses)."""
        if api_key is not None:
            return api_key
        if isinstance(account, str) and ACCOUNT_ID.fullmatch(account):
            return self.owner_key(account)
        return self.key

    def kill(self, node, sig=signal.SIGKILL):
        proc = self.procs.get(node)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(timeout=20)
        return proc.returncode if proc else None

    def stop(self, node):
        return self.kill(node, signal.SIGTERM)

    def restart(self, node, sig=signal.SIGKILL):
        self.kill(node, sig)
        self.start(node)

    def running(self, node):
        proc = self.procs.get(node)
        return proc is not None and proc.poll() is None

    def log(self, node):
        try:
            with open(os.path.join(self.tmp, f"{node}.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def close(self):
        for node in list(self.procs):
            self.kill(node)
        self.procs.clear()
        if os.environ.get("LEDGER_KEEP_TMP"):
            print(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self in _live:
            _live.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for node in NODES:
                print(f"----- {node} log (last 40 lines) -----")
                print("\n".join(self.log(node).splitlines()[-40:]))
        self.close()

    # --- HTTP ----------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, port=None, timeout=10, key=None):
        """An HTTP request; on the public port, /api requests carry `key` (default: the
        tester's; False: none) as "Authorization: Bearer" unless `headers` has one."""
        url = f"http://127.0.0.1:{port or self.http_port}{path}"
        data = None
        hdrs = dict(headers or {})
        key = self.key if key is None else key
        if port is None and path.startswith("/api") and key and "Authorization" not in hdrs:
            hdrs["Authorization"] = f"Bearer {key}"
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if body is not None or method == "POST":  # admin POSTs must say JSON, bodiless ones too
            hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                status, resp_headers = resp.status, dict(resp.headers)
        except urllib.error.HTTPError as e:
            raw = e.read()
            status, resp_headers = e.code, dict(e.headers)
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        return status, payload, resp_headers

    def get(self, path, **kw):
        status, payload, _ = self.request("GET", path, **kw)
        return status, payload

    def admin(self, node, method, path, body=None, **kw):
        return self.request(method, path, body, port=self.ports[node]["admin"], **kw)

    def metrics(self, node):
        """The node's /metrics, parsed (parse_metrics); read a value with sample()."""
        status, text, _ = self.admin(node, "GET", "/metrics")
        assert status == 200, f"{node} /metrics: {status}"
        return parse_metrics(text)

    def wait_outboxes_empty(self, nodes=NODES, timeout=20.0):
        """Until each node of `nodes`, in turn, reports an empty outbox (/health)."""
        for node in nodes:
            wait_until(lambda n=node: self.admin(n, "GET", "/health")[1]["outbox_depth"] == 0,
                       timeout, f"the {node} outbox to drain")

    def transfer(self, src, dst, amount, key=None, currency="GBP", reference=None, api_key=None):
        """POST /api/transfers `src` -> `dst` as the owner of `src` (owner_key) unless `api_key`
        says otherwise; `key` is the Idempotency-Key (default: a new one)."""
        body = {"from": src, "to": dst, "amount": amount, "currency": currency}
        if reference is not None:
            body["reference"] = reference
        key = key or f"k-{time.monotonic_ns()}-{os.getpid()}"
        status, payload, _ = self.request("POST", "/api/transfers", body, {"Idempotency-Key": key},
                                          key=self._key_for(src, api_key))
        return status, payload

    def _money(self, route, account, amount, key, currency, reference, api_key):
        body = {"account": account, "amount": amount, "currency": currency}
        if reference is not None:
            body["reference"] = reference
        key = key or f"{route}-{time.monotonic_ns()}-{os.getpid()}"
        status, payload, _ = self.request("POST", f"/api/{route}", body, {"Idempotency-Key": key},
                                          key=api_key)
        return status, payload

    def deposit(self, account, amount, key=None, currency="GBP", reference=None, api_key=None):
        """POST /api/deposits as the tester (an operator: deposits:write) unless `api_key`."""
        return self._money("deposits", account, amount, key, currency, reference, api_key)

    def withdraw(self, account, amount, key=None, currency="GBP", reference=None, api_key=None):
        """POST /api/withdrawals as the owner of `account` unless `api_key` says otherwise."""
        return self._money("withdrawals", account, amount, key, currency, reference,
                           self._key_for(account, api_key))

    def fund(self, account, amount, currency="GBP", timeout=20.0):
        """Deposits `amount` into `account` as the operator and waits until it settled (asserted);
        the settled deposit."""
        status, t = self.deposit(account, amount, currency=currency, reference="funding")
        assert status == 202, (status, t)
        final = self.wait_final(t["id"], timeout)
        assert final["status"] == "settled", final
        return final

    def one_key_two_principals(self, idem_key, amount, first, second):
        """alice -> bob `amount` under Idempotency-Key `idem_key`, sent with the API key of each of
        two principals: two new transfers (asserted); their answers."""
        status, a = self.transfer("alice", "bob", amount, key=idem_key, api_key=first)
        assert status == 202, (status, a)
        status, b = self.transfer("alice", "bob", amount, key=idem_key, api_key=second)
        assert status == 202, (status, b)
        assert a["id"] != b["id"], (a, b)
        return a, b

    def transfer_status(self, tid):
        status, payload = self.get(f"/api/transfers/{tid}")
        assert status == 200, (status, payload)
        return payload

    def wait_final(self, tid, timeout=20.0):
        """Until transfer `tid` is in a final status (FINAL_STATUSES: not pending, not
        authorized); the transfer."""
        return wait_until(lambda: (lambda t: t if t["status"] in FINAL_STATUSES else None)(self.transfer_status(tid)),
                          timeout, f"transfer {tid} to reach a final status")

    def wait_status(self, tid, status, timeout=20.0):
        """Until transfer `tid` has `status` (e.g. "authorized"); the transfer."""
        return wait_until(lambda: (lambda t: t if t["status"] == status else None)(self.transfer_status(tid)),
                          timeout, f"transfer {tid} to be {status}")

    def post(self, path, body, idem_key, api_key=None):
        """POST `body` to `path` with Idempotency-Key `idem_key`, as `api_key` (default: the
        tester's); (status, payload)."""
        status, payload, _ = self.request("POST", path, body, {"Idempotency-Key": idem_key},
                                          key=api_key)
        return status, payload

    def accounts(self):
        status, payload = self.get("/api/accounts?limit=200")
        assert status == 200, (status, payload)
        return {a["id"]: a for a in payload["accounts"]}

    def all_transfers(self, with_funding=False):
        """Every transfer the tester sees, newest first; without the demo's funding deposits
        (fund_demo) unless `with_funding`."""
        out, cursor = [], None
        while True:
            path = "/api/transfers?limit=200" + (f"&cursor={cursor}" if cursor else "")
            status, payload = self.get(path)
            assert status == 200, (status, payload)
            out.extend(t for t in payload["transfers"]
                       if with_funding or t["id"] not in self.funding_ids)
            cursor = payload.get("next_cursor")
            if not cursor:
                return out


import unittest  # noqa: E402  (kept next to the class that uses it)


class MeshTest(unittest.TestCase):
    """A test case with its own mesh, started before each test and always
    removed after it; the nodes' logs are printed when the test fails."""

    mesh_options = {}
    start_mesh = True

    def run(self, result=None):
        result = result or self.defaultTestResult()
        problems_before = len(result.failures) + len(result.errors)
        self.mesh = Mesh(**self.mesh_options)
        try:
            return super().run(result)
        finally:
            if len(result.failures) + len(result.errors) > problems_before:
                for node in NODES:
                    print(f"\n----- {node} log (last 60 lines) -----")
                    print("\n".join(self.mesh.log(node).splitlines()[-60:]))
            self.mesh.close()

    def setUp(self):
        if self.start_mesh:
            self.mesh.start_all()
