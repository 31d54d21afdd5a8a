#!/usr/bin/python3
"""bench.py: the ledger benchmark with its PostgreSQL baseline (run it through bench/run.sh).

For each account count it starts the three real nodes (fresh data dirs, own
loopback ports, durable: every node fsyncs before it acks or answers), opens
the accounts with ledger-bench-seed, drives the loads with ledger-bench-loadgen,
waits until every transfer has its final status, reads the figures from the
transfers' own timestamps (read through the gateway's API, GET /api/transfers:
created_ms when the 202 was committed, updated_ms when the final status was
applied) and from
/proc, and stops everything. Then it runs the same transfer as pgbench
transactions against a temporary PostgreSQL 15 cluster. Results: a table on
stdout, CSV + latency files + PNG plots in bench/results/.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NODES = ("accounts", "fraud", "gateway")
CLK_TCK = os.sysconf("SC_CLK_TCK")
ACCOUNT_PREFIX = "acct-"
DEPOSIT = 100_000_000_000  # pence per account: never short of funds in a run

# Fraud rules for the bench: amounts stay far below the threshold; velocity and
# new-payee rules would reject random traffic between many accounts, so they are off.
FRAUD_RULES = """# bench: velocity and new-payee rules off, threshold and blocklist kept
velocity_window_ms = 0
new_payee_limit_minor = 0
"""


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


# Ports: the integration tests' picker (never the same port twice in one
# process, never inside the kernel's ephemeral range).
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from mesh import free_port, parse_loadgen_output, parse_metrics, sample  # noqa: E402


# The API key every /api request and every loadgen run carries (Mesh.ensure_key): the
# gateway refuses /api requests without one. loadgen reads it from $LEDGER_API_KEY.
API_KEY = None
# The bench's principal: an operator (its bucket, 50,000 requests/s by default, is above
# anything this machine sends; the customers' 20,000/s would be too). It owns every seeded
# account (ledger-bench-seed's OWNER), so its one key may send from any of them.
BENCH_PRINCIPAL = {"id": "bench", "kind": "operator",
                   "scopes": ["transfers:write", "transfers:read", "accounts:read", "events:read",
                              "accounts:open"]}


def http(method, port, path, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if API_KEY and path.startswith("/api"):
        headers["Authorization"] = f"Bearer {API_KEY}"
    admin_token = os.environ.get("LEDGER_ADMIN_TOKEN")
    if admin_token and not path.startswith("/api"):
        headers["Authorization"] = f"Bearer {admin_token}"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p * (len(sorted_values) - 1) + 0.5))]


class Mesh:
    def __init__(self, build, accounts, no_sync=False, tag="run", wrapper=None, start_timeout_s=30,
                 extra_env=None):
        """wrapper(node, tmp) -> argv prefix for that node's binary (callgrind.py: valgrind);
        extra_env: LEDGER_* settings for every node on top of the bench's (ab.py variants).
        Every mesh has its own CURVE keys (make_keys), unless extra_env says
        LEDGER_INSECURE_PLAINTEXT=1."""
        self.build = build
        self.extra_env = extra_env or {}
        self.wrapper = wrapper
        self.start_timeout_s = start_timeout_s
        self.tmp = tempfile.mkdtemp(prefix=f"ledger-bench-{tag}-")
        self.plaintext = self.extra_env.get("LEDGER_INSECURE_PLAINTEXT") == "1"
        self.keys_dir = None if self.plaintext else os.path.join(self.tmp, "keys")
        if self.keys_dir:
            make_keys(build, self.keys_dir)
        self.accounts = accounts
        self.no_sync = no_sync
        self.pick_ports()
        self.procs = {}
        self.rules = os.path.join(self.tmp, "fraud.rules")
        with open(self.rules, "w") as f:
            f.write(FRAUD_RULES)

    def pick_ports(self):
        self.ports = {n: {"inbox": free_port(), "feed": free_port(), "admin": free_port()}
                      for n in NODES}
        self.http_port = free_port()

    def ep(self, node):
        return f"tcp://127.0.0.1:{self.ports[node]['inbox']}"

    def env(self, node):
        env = dict(os.environ)
        # Keys of the caller's shell (an exported LEDGER_KEYS_DIR for the harness) are not this
        # mesh's: the nodes get this mesh's own or none (plaintext).
        for name in ("LEDGER_KEYS_DIR", "LEDGER_NODE_KEY"):
            env.pop(name, None)
        if self.keys_dir:
            env["LEDGER_KEYS_DIR"] = self.keys_dir
        env.update({
            "LEDGER_DATA_DIR": os.path.join(self.tmp, "data", node),
            "LEDGER_INBOX": self.ep(node),
            "LEDGER_FEED": f"tcp://127.0.0.1:{self.ports[node]['feed']}",
            "LEDGER_ADMIN_PORT": str(self.ports[node]["admin"]),
            "LEDGER_ACCOUNTS_ENDPOINT": self.ep("accounts"),
            "LEDGER_FRAUD_ENDPOINT": self.ep("fraud"),
            "LEDGER_GATEWAY_ENDPOINT": self.ep("gateway"),
            "LEDGER_HTTP_PORT": str(self.http_port),
            "LEDGER_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warn"),
            "LEDGER_FRAUD_RULES": self.rules,
            "LEDGER_NO_SYNC": "1" if self.no_sync else "0",
            # The scheduled ledger verify (issue 20) is off in the benchmark: a walk that lands
            # in a measured window would be noise, not the cost of the feature.
            "LEDGER_VERIFY_EVERY_MS": "0",
        })
        env.update(self.extra_env)
        return env

    def start(self, attempts=3):
        """Seeds the accounts and starts the nodes. A node that dies at start (a port taken
        by another process since it was picked) is retried on fresh ports and a fresh seed."""
        for attempt in range(attempts):
            dead = self._start_once()
            if dead is None:
                return
            log_path = os.path.join(self.tmp, f"{dead}.log")
            tail = open(log_path, errors="replace").read()[-600:] if os.path.exists(log_path) else ""
            log(f"{dead} died at start (attempt {attempt + 1} of {attempts}): {tail.strip()}")
            self.stop()
            self.procs = {}
            shutil.rmtree(os.path.join(self.tmp, "data"), ignore_errors=True)
            self.pick_ports()
        raise RuntimeError(f"the mesh did not start in {attempts} attempts")

    def _start_once(self):
        """Returns None once the gateway answers, or the name of a node that died."""
        os.makedirs(os.path.join(self.tmp, "data"), exist_ok=True)
        self.keyed = False  # a fresh data dir: no principal yet
        t0 = time.monotonic()
        subprocess.run([os.path.join(self.build, "bench", "ledger-bench-seed"),
                        os.path.join(self.tmp, "data", "accounts"), str(self.accounts),
                        str(DEPOSIT), ACCOUNT_PREFIX, BENCH_PRINCIPAL["id"]], check=True)
        self.seed_s = time.monotonic() - t0
        log(f"seeded {self.accounts} accounts in {self.seed_s:.1f}s")
        for node in NODES:
            out = open(os.path.join(self.tmp, f"{node}.log"), "ab")
            prefix = self.wrapper(node, self.tmp) if self.wrapper else []
            self.procs[node] = subprocess.Popen(
                prefix + [os.path.join(self.build, "nodes", f"ledger-{node}")], env=self.env(node),
                stdout=out, stderr=subprocess.STDOUT)
            out.close()
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            for n, p in self.procs.items():
                if p.poll() is not None:
                    return n
            try:
                if (self.ensure_key() and http("GET", self.http_port, "/api/accounts?limit=1")[0] == 200 and
                        all(http("GET", self.ports[n]["admin"], "/health")[0] in (200, 503)
                            for n in NODES) and self.owners_filled()):
                    return None
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("mesh did not start")

    def owners_filled(self):
        """True once the gateway has its owner map from the accounts node (a build with
        ownership shows ledger_gateway_owners_fill_done 1 on /metrics; before, a transfer from a
        seeded account may be refused 403 forbidden_account). A build without ownership has no
        such metric and nothing to wait for."""
        status, body = http("GET", self.ports["gateway"]["admin"], "/metrics")
        if status != 200:
            return False
        for line in body.decode(errors="replace").splitlines():
            if line.startswith("ledger_gateway_owners_fill_done "):
                return line.split()[1] == "1"
        return True

    def ensure_key(self):
        """The bench principal and a key of it, once the gateway's admin port answers (a
        fresh data dir each start: a new key each time). Sets API_KEY and $LEDGER_API_KEY."""
        global API_KEY
        if self.keyed:
            return True
        admin = self.ports["gateway"]["admin"]
        status = http("POST", admin, "/principals", BENCH_PRINCIPAL)[0]
        if status == 404:  # a build before API keys (bench/ab.py's A side): nothing to send
            API_KEY = None
            os.environ.pop("LEDGER_API_KEY", None)
            self.keyed = True
            return True
        if status not in (200, 201):
            return False
        status, body = http("POST", admin, "/principals/bench/keys")
        if status == 409:  # two keys already (a retried start): revoke them, make one
            for k in json.loads(http("GET", admin, "/principals/bench")[1])["keys"]:
                http("DELETE", admin, f"/principals/bench/keys/{k['key_id']}")
            status, body = http("POST", admin, "/principals/bench/keys")
        if status != 201:
            return False
        API_KEY = json.loads(body)["key"]
        os.environ["LEDGER_API_KEY"] = API_KEY
        self.keyed = True
        return True

    def warm_up(self, build, seconds=2):
        """A short load before any measured phase: the first messages after start wait for
        the nodes' connections to come up (their resends take ~100-300 ms), which is start-up,
        not steady state. The warm-up transfers fall outside every phase's time range."""
        loadgen(build, self, "single", 16, seconds, tag="warmup")
        self.wait_drained(60)

    def pids(self):
        return {n: p.pid for n, p in self.procs.items()}

    def cpu(self):
        return {n: cpu_ticks(p.pid) for n, p in self.procs.items()}

    def rss(self, key="VmRSS"):
        return {n: proc_status(p.pid, key) for n, p in self.procs.items()}

    def metrics(self, node):
        """That node's /metrics now, parsed: {(name, labels): value} (read with mesh.sample)."""
        return parse_metrics(http("GET", self.ports[node]["admin"], "/metrics")[1].decode())

    def outbox_depths(self):
        return {node: int(sample(self.metrics(node), "ledger_outbox_depth")) for node in NODES}

    def wait_drained(self, timeout_s):
        """Until every outbox is empty twice in a row (then every transfer is final)."""
        deadline = time.monotonic() + timeout_s
        zero_streak = 0
        while time.monotonic() < deadline:
            d = self.outbox_depths()
            zero_streak = zero_streak + 1 if sum(d.values()) == 0 else 0
            if zero_streak >= 2:
                return True
            time.sleep(0.05)
        log(f"not drained after {timeout_s}s: {self.outbox_depths()}")
        return False

    def transfers_since(self, since_ms, until_ms=None):
        """[(created_ms, updated_ms, status)] of the transfers created in [since, until).

        Read through the gateway's API (GET /api/transfers, newest first, 200 per page),
        not from its LMDB, so the figures do not depend on how the gateway stores a
        record. Ids are "tr_" + 12 hex digits of the creation ms + a sequence, so the
        phase is an id range: the walk starts just below "tr_<until>00000000" and stops at the
        first id below "tr_<since>"."""
        start = "tr_%012x" % since_ms
        # The cursor must be a whole id: sequence 0 of the ms `until` (the walk returns ids < it).
        cursor = "tr_%012x00000000" % until_ms if until_ms else ""
        out = []
        while True:
            path = "/api/transfers?limit=200" + (f"&cursor={cursor}" if cursor else "")
            status, body = http("GET", self.http_port, path, timeout=60)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
            page = json.loads(body)
            for t in page["transfers"]:
                if t["id"] < start:
                    return out
                out.append((t["created_ms"], t["updated_ms"], t["status"]))
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def close(self):
        self.stop()
        if os.environ.get("BENCH_KEEP_TMP"):
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def make_keys(build, keys_dir):
    """The mesh's CURVE key pairs and allow-lists in keys_dir, made by the build's own
    ledger-keys. A build from before the keys (no tools/keys/ledger-keys, e.g. ab.py's A side)
    gets none: its nodes do not read LEDGER_KEYS_DIR (a build whose nodes do would refuse to
    start, keys_refused, rather than run without keys)."""
    tool = os.path.join(build, "tools", "keys", "ledger-keys")
    if not os.path.exists(tool):
        log(f"{tool} not built: no node keys for this mesh (a build from before CURVE)")
        return
    subprocess.run([tool, "init", "--dir", keys_dir], check=True, stdout=subprocess.DEVNULL)


def parse_variant(text):
    """NAME=BUILD_DIR[,ENV=VALUE...] (ab.py and callgrind.py) -> (name, build, {env: value}),
    e.g. plain=build,LEDGER_INSECURE_PLAINTEXT=1."""
    name, sep, spec = text.partition("=")
    parts = spec.split(",")
    if not sep or not name or not parts[0] or any("=" not in p for p in parts[1:]):
        raise SystemExit(f"bench: variant {text!r}: expected NAME=BUILD_DIR[,ENV=VALUE...]")
    return name, parts[0], dict(p.split("=", 1) for p in parts[1:])


def loadgen(build, mesh, mode, conns, duration, rate=0, batch=1000, tag="x", max_transfers=0):
    cmd = [os.path.join(build, "bench", "ledger-bench-loadgen"), "--port", str(mesh.http_port),
           "--conns", str(conns), "--duration", str(duration), "--mode", mode,
           "--batch", str(batch), "--accounts", str(mesh.accounts), "--account-prefix",
           ACCOUNT_PREFIX, "--key-prefix", f"{tag}-{time.time_ns()}",
           "--seed", str(random.randint(1, 1 << 40))]
    if rate:
        cmd += ["--rate", str(int(rate))]
    if max_transfers:
        cmd += ["--max-transfers", str(int(max_transfers))]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return parse_loadgen_output(out)


def warn_errors(name, lg):
    """Says how many transfers loadgen saw refused, and how (its error split)."""
    log(f"WARNING: {name}: {int(lg['errors'])} transfers were not accepted: "
        f"{int(lg.get('errors_status', 0))} answered otherwise (last HTTP status "
        f"{int(lg.get('last_error_status', 0))}; in a batch, 200 means refused items), "
        f"{int(lg.get('errors_closed', 0))} on a connection that closed first")


def run_phase(build, mesh, name, mode, conns, duration, rate=0, batch=1000, drain_s=300,
              keep_latencies=None, max_transfers=0):
    cpu0 = mesh.cpu()
    t0_ms = int(time.time() * 1000)
    lg = loadgen(build, mesh, mode, conns, duration, rate, batch, tag=name,
                 max_transfers=max_transfers)
    t1_ms = int(time.time() * 1000) + 1
    drained = mesh.wait_drained(drain_s)
    cpu1 = mesh.cpu()
    rows = mesh.transfers_since(t0_ms, t1_ms)
    final = [r for r in rows if r[2] != "pending"]
    settled = [r for r in final if r[2] == "settled"]
    lat = sorted(r[1] - r[0] for r in final)
    if keep_latencies is not None:
        keep_latencies.extend(lat)
    span_ms = (max(r[1] for r in final) - min(r[0] for r in final)) if final else 0
    cpu_ticks_total = sum(cpu1[n] - cpu0[n] for n in NODES)
    res = {
        "phase": name, "accounts": mesh.accounts, "mode": mode, "conns": conns,
        "batch": batch if mode == "batch" else 1, "offered_rate": rate,
        "sync": "no-sync" if mesh.no_sync else "durable",
        "requests": int(lg["requests"]), "transfers": int(lg["transfers"]),
        "accepted": int(lg["accepted"]), "errors": int(lg["errors"]),
        "accepted_per_s": lg["accepted_per_s"],
        "final": len(final), "settled": len(settled), "pending_left": len(rows) - len(final),
        "drained": drained,
        "settled_per_s": (len(final) / (span_ms / 1000.0)) if span_ms else 0.0,
        "lat_p50_ms": percentile(lat, 0.50), "lat_p99_ms": percentile(lat, 0.99),
        "lat_p999_ms": percentile(lat, 0.999),
        "req_p99_ms": lg["req_p99_ms"],
        "cpu_us_per_transfer": (cpu_ticks_total * 1e6 / CLK_TCK / len(final)) if final else 0.0,
        "cpu_us_gateway": ((cpu1["gateway"] - cpu0["gateway"]) * 1e6 / CLK_TCK / len(final)) if final else 0.0,
        "cpu_us_accounts": ((cpu1["accounts"] - cpu0["accounts"]) * 1e6 / CLK_TCK / len(final)) if final else 0.0,
        "cpu_us_fraud": ((cpu1["fraud"] - cpu0["fraud"]) * 1e6 / CLK_TCK / len(final)) if final else 0.0,
    }
    if res["errors"]:
        warn_errors(name, lg)
    log(f"{name}: accepted/s {res['accepted_per_s']:.0f}, settled/s {res['settled_per_s']:.0f}, "
        f"final {len(final)}/{len(rows)}, p50/p99 {res['lat_p50_ms']}/{res['lat_p99_ms']} ms, "
        f"cpu {res['cpu_us_per_transfer']:.1f} us/transfer "
        f"(gw {res['cpu_us_gateway']:.1f} acc {res['cpu_us_accounts']:.1f} fr {res['cpu_us_fraud']:.1f})")
    return res


def gateway_only(build, accounts, duration):
    """The HTTP front alone: accounts and fraud stopped, so the figure is what the gateway
    accepts (validated, idempotency-checked, durably committed with its outbox entry)
    without the saga competing for the two cores. Not an end-to-end figure."""
    # With the saga stopped every accepted transfer stays in the outbox: admission control
    # (LEDGER_MAX_PENDING, 100,000 by default) would start answering 503 within seconds.
    mesh = Mesh(build, accounts, tag="gwonly", extra_env={"LEDGER_MAX_PENDING": str(10**12)})
    try:
        mesh.start()
        for node in ("accounts", "fraud"):
            mesh.procs[node].send_signal(signal.SIGTERM)
            mesh.procs[node].wait(timeout=20)
        cpu0 = cpu_ticks(mesh.procs["gateway"].pid)
        lg = loadgen(build, mesh, "single", 64, duration, tag="gwonly")
        cpu1 = cpu_ticks(mesh.procs["gateway"].pid)
        res = {"phase": "gateway only, saga stopped (latency = HTTP request)", "accounts": accounts, "mode": "single",
               "conns": 64, "batch": 1, "offered_rate": 0, "sync": "durable",
               "requests": int(lg["requests"]), "accepted": int(lg["accepted"]),
               "errors": int(lg["errors"]), "accepted_per_s": lg["accepted_per_s"],
               "settled_per_s": float("nan"), "final": 0, "lat_p50_ms": lg["req_p50_ms"],
               "lat_p99_ms": lg["req_p99_ms"], "lat_p999_ms": lg["req_p999_ms"],
               "cpu_us_per_transfer": (cpu1 - cpu0) * 1e6 / CLK_TCK / max(1, lg["accepted"])}
        if lg["errors"]:
            warn_errors("gateway only", lg)
        log(f"gateway only: accepted/s {lg['accepted_per_s']:.0f}, request p50/p99 "
            f"{lg['req_p50_ms']}/{lg['req_p99_ms']} ms, gateway CPU {res['cpu_us_per_transfer']:.1f} us/request")
        return res
    finally:
        mesh.stop()
        mesh.close()


# --- PostgreSQL baseline ----------------------------------------------------------------------

PG_SCHEMA = """
CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL, held bigint NOT NULL DEFAULT 0);
CREATE TABLE transfers (id bigserial PRIMARY KEY, from_id bigint NOT NULL, to_id bigint NOT NULL,
                        amount bigint NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
                        updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE ledger (seq bigserial PRIMARY KEY, account_id bigint NOT NULL, transfer_id bigint NOT NULL,
                     kind text NOT NULL, amount bigint NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ledger_by_account ON ledger (account_id, seq);
CREATE TABLE outbox (seq bigserial PRIMARY KEY, topic text NOT NULL, transfer_id bigint NOT NULL,
                     payload jsonb NOT NULL);
INSERT INTO accounts SELECT g, %d, 0 FROM generate_series(1, %d) g;
"""

# One pgbench transaction = one transfer, as the mesh does it in two durable steps:
# reserve (hold + ledger row + outbox row) and settle (both legs + ledger rows + outbox row).
PG_SCRIPT = r"""
\set from random(1, :naccounts)
\set to random(1, :naccounts - 1)
\set to CASE WHEN :to >= :from THEN :to + 1 ELSE :to END
\set amount random(1, 99)
BEGIN;
UPDATE accounts SET held = held + :amount WHERE id = :from AND balance - held >= :amount;
INSERT INTO transfers (from_id, to_id, amount, status) VALUES (:from, :to, :amount, 'pending') RETURNING id AS tid \gset
INSERT INTO ledger (account_id, transfer_id, kind, amount) VALUES (:from, :tid, 'hold', :amount);
INSERT INTO outbox (topic, transfer_id, payload) VALUES ('funds.reserved', :tid, jsonb_build_object('transfer', :tid, 'from', :from, 'to', :to, 'amount', :amount));
COMMIT;
BEGIN;
UPDATE accounts SET balance = balance - CASE WHEN id = :from THEN :amount ELSE -:amount END,
                    held = held - CASE WHEN id = :from THEN :amount ELSE 0 END
 WHERE id IN (:from, :to);
UPDATE transfers SET status = 'settled', updated_at = now() WHERE id = :tid;
INSERT INTO ledger (account_id, transfer_id, kind, amount) VALUES (:from, :tid, 'debit', -:amount), (:to, :tid, 'credit', :amount);
INSERT INTO outbox (topic, transfer_id, payload) VALUES ('transfer.settled', :tid, jsonb_build_object('transfer', :tid));
COMMIT;
"""


def pg_bin(name):
    for d in sorted(os.listdir("/usr/lib/postgresql"), reverse=True):
        p = f"/usr/lib/postgresql/{d}/bin/{name}"
        if os.path.exists(p):
            return p
    raise RuntimeError("PostgreSQL binaries not found: run bench/setup.sh")


class Postgres:
    def __init__(self, accounts):
        self.tmp = tempfile.mkdtemp(prefix="ledger-bench-pg-")
        os.chmod(self.tmp, 0o777)
        self.data = os.path.join(self.tmp, "data")
        self.port = free_port()
        self.accounts = accounts
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, cmd, **kw):
        if self.user:
            cmd = ["runuser", "-u", self.user, "--"] + cmd
        return subprocess.run(cmd, check=True, **kw)

    def start(self):
        self._run([pg_bin("initdb"), "-D", self.data, "-A", "trust", "-U", "postgres",
                   "--no-instructions"], capture_output=True)
        conf = (f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.tmp}'\n"
                "fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n"
                "shared_buffers = 512MB\nmax_connections = 100\nmax_wal_size = 4GB\n"
                "checkpoint_timeout = 15min\n")
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            f.write(conf)
        self._run([pg_bin("pg_ctl"), "-D", self.data, "-l", os.path.join(self.tmp, "pg.log"),
                   "-w", "start"], capture_output=True)
        self.psql(PG_SCHEMA % (DEPOSIT, self.accounts))
        self.psql("VACUUM ANALYZE")
        with open(os.path.join(self.tmp, "transfer.sql"), "w") as f:
            f.write(PG_SCRIPT)

    def psql(self, sql):
        self._run(["psql", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                   "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True)

    def pgbench(self, clients, duration):
        prefix = os.path.join(self.tmp, f"log{clients}")
        cmd = ["pgbench", "-n", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
               "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(duration),
               "-D", f"naccounts={self.accounts}", "-f", os.path.join(self.tmp, "transfer.sql"),
               "--max-tries=10", "-l", f"--log-prefix={prefix}", "postgres"]
        out = self._run(cmd, capture_output=True, text=True).stdout
        tps = 0.0
        for line in out.splitlines():
            if line.startswith("tps ="):
                tps = float(line.split()[2])
        lat = []
        for name in os.listdir(self.tmp):
            if name.startswith(f"log{clients}."):
                with open(os.path.join(self.tmp, name)) as f:
                    for line in f:
                        parts = line.split()
                        if len(parts) > 2:
                            lat.append(int(parts[2]) / 1000.0)  # us -> ms
                os.unlink(os.path.join(self.tmp, name))
        lat.sort()
        return tps, lat

    def close(self):
        try:
            self._run([pg_bin("pg_ctl"), "-D", self.data, "-m", "fast", "-w", "stop"],
                      capture_output=True)
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def pg_baseline(accounts, duration, clients_list, lat_store):
    pg = Postgres(accounts)
    rows = []
    try:
        pg.start()
        for clients in clients_list:
            tps, lat = pg.pgbench(clients, duration)
            lat_store[clients] = lat
            rows.append({"phase": f"pg-{clients}", "accounts": accounts, "mode": "pgbench",
                         "conns": clients, "batch": 1, "offered_rate": 0, "sync": "durable",
                         "accepted_per_s": tps, "settled_per_s": tps, "final": len(lat),
                         "lat_p50_ms": percentile(lat, 0.5), "lat_p99_ms": percentile(lat, 0.99),
                         "lat_p999_ms": percentile(lat, 0.999)})
            log(f"pg {accounts} accounts, {clients} clients: {tps:.0f} transfers/s, "
                f"p50/p99 {percentile(lat, 0.5):.2f}/{percentile(lat, 0.99):.2f} ms")
    finally:
        pg.close()
    return rows


# --- output ------------------------------------------------------------------------------------

def write_latencies(path, values):
    with open(path, "w") as f:
        n = len(values)
        step = max(1, n // 2000)
        for i in range(0, n, step):
            f.write(f"{values[i]} {(i + 1) / n}\n")
        if n:
            f.write(f"{values[-1]} 1.0\n")


def plot(results_dir, stamp, curve_rows, lat_files):
    if not shutil.which("gnuplot"):
        log("gnuplot missing: no plot (bench/setup.sh installs it)")
        return
    tp = os.path.join(results_dir, f"throughput-{stamp}.dat")
    with open(tp, "w") as f:
        for series, points in curve_rows.items():
            f.write(f"\"{series}\"\n")
            for conns, value in sorted(points):
                f.write(f"{conns} {value}\n")
            f.write("\n\n")
    png = os.path.join(results_dir, f"bench-{stamp}.png")
    lat_plot = ", ".join(f"'{p}' using 1:2 with lines title '{t}'" for t, p in lat_files)
    n_series = len(curve_rows)
    tp_plot = ", ".join(f"'{tp}' index {i} using 1:2 with linespoints title columnheader(1)"
                        for i in range(n_series))
    script = f"""
set terminal pngcairo size 1400,600 font ',10'
set output '{png}'
set multiplot layout 1,2
set title 'Throughput against concurrency (durable, 2 vCPU)'
set xlabel 'concurrent HTTP connections / pgbench clients'
set ylabel 'transfers settled per second'
set logscale x 2
set logscale y
set key left top
plot {tp_plot}
unset logscale x
set title 'Latency submit -> settled (CDF)'
set xlabel 'ms'
set ylabel 'fraction of transfers'
set logscale x
set key right bottom
plot {lat_plot}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    shutil.copyfile(png, os.path.join(results_dir, "latest.png"))
    log(f"plot: {png}")


def fmt(v, digits=0):
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:,.{digits}f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def print_table(rows, pg_rows, rss, out):
    pg32 = {r["accounts"]: r["settled_per_s"] for r in pg_rows if r["conns"] == 32}
    pg1 = {r["accounts"]: r["settled_per_s"] for r in pg_rows if r["conns"] == 1}
    hdr = ("| run | accounts | load | accepted/s | settled/s | p50 ms | p99 ms | p999 ms "
           "| CPU µs/transfer | vs PG-32 |")
    out.write(hdr + "\n|" + "---|" * 10 + "\n")
    for r in rows:
        base = pg32.get(r["accounts"])
        ratio = f"{r['settled_per_s'] / base:.1f}x" if base and r["settled_per_s"] == r["settled_per_s"] else "-"
        load = (f"{r['mode']} x{r['conns']}" + (f" b{r['batch']}" if r["mode"] == "batch" else "")
                + (f" @{int(r['offered_rate'])}/s" if r["offered_rate"] else ""))
        out.write(f"| {r['phase']}{' (NO SYNC)' if r['sync'] != 'durable' else ''} | "
                  f"{fmt(r['accounts'])} | {load} | {fmt(r['accepted_per_s'])} | "
                  f"{fmt(r['settled_per_s'])} | {fmt(r['lat_p50_ms'], 0)} | {fmt(r['lat_p99_ms'], 0)} | "
                  f"{fmt(r['lat_p999_ms'], 0)} | {fmt(r['cpu_us_per_transfer'], 1)} | {ratio} |\n")
    for r in pg_rows:
        out.write(f"| PostgreSQL 15 pgbench | {fmt(r['accounts'])} | {r['conns']} clients | "
                  f"{fmt(r['accepted_per_s'])} | {fmt(r['settled_per_s'])} | "
                  f"{fmt(r['lat_p50_ms'], 1)} | {fmt(r['lat_p99_ms'], 1)} | {fmt(r['lat_p999_ms'], 1)} "
                  f"| - | {'1.0x' if r['conns'] == 32 else '-'} |\n")
    out.write("\nPeak RSS (VmHWM, MiB): " + "; ".join(
        f"{acc:,} accounts: " + ", ".join(f"{n} {v / 1024:.0f}" for n, v in hw.items())
        for acc, hw in rss.items()) + "\n")
    del pg1
    pg_best = {}
    for r in pg_rows:
        if r["settled_per_s"] > pg_best.get(r["accounts"], (0, 0))[0]:
            pg_best[r["accounts"]] = (r["settled_per_s"], r["conns"])
    out.write("\n" + "\n".join(target_lines(rows, pg32, pg_best)) + "\n")


def target_lines(rows, pg32, pg_best=None):
    """Issue 7's targets, each against this run's figures (durable rows only). pg_best:
    {accounts: (settled/s, clients)} of PostgreSQL's best row, for a line that says how the
    end-to-end ratio reads against it (on 2 cores PG-32 is often below PG-8)."""
    durable = [r for r in rows if r["sync"] == "durable" and not r["phase"].startswith("gateway only")]
    lines = ["Targets (issue 7), this run:"]

    def line(name, value, goal, met):
        lines.append(f"- {name}: {value} (target {goal}): {'met' if met else 'NOT met'}")

    small = min((r["accounts"] for r in durable), default=None)
    if small in pg32 and pg32[small]:
        best = max((r for r in durable if r["accounts"] == small), key=lambda r: r["settled_per_s"])
        ratio = best["settled_per_s"] / pg32[small]
        line("end to end vs PostgreSQL-32", f"{ratio:.1f}x ({fmt(best['settled_per_s'])} settled/s, "
             f"{best['phase']})", ">= 20x", ratio >= 20)
        if pg_best and small in pg_best and pg_best[small][1] != 32:
            pg_rate, clients = pg_best[small]
            lines.append(f"  (for reading it: {best['settled_per_s'] / pg_rate:.1f}x against PostgreSQL's "
                         f"best figure of this run, {fmt(pg_rate)}/s at {clients} clients)")
    singles = [r for r in durable if r["mode"] == "single" and not r["offered_rate"]]
    if singles:
        best = max(singles, key=lambda r: r["accepted_per_s"])
        line("single-transfer HTTP", f"{fmt(best['accepted_per_s'])} accepted/s ({best['phase']}, "
             f"{best['conns']} connections)", ">= 10,000/s", best["accepted_per_s"] >= 10000)
    for r in durable:
        if r["phase"] == "half-peak":
            line(f"p99 at half of peak, {fmt(r['accounts'])} accounts", f"{fmt(r['lat_p99_ms'], 0)} ms",
                 "< 10 ms", r["lat_p99_ms"] < 10)
    by = {(r["phase"], r["accounts"]): r["settled_per_s"] for r in durable}
    for phase in ("single", "batch"):
        if (phase, 10000) in by and (phase, 1000000) in by and by[(phase, 1000000)]:
            slower = by[(phase, 10000)] / by[(phase, 1000000)]
            line(f"1M accounts vs 10k, {phase}", f"{slower:.2f}x slower", "<= 2x", slower <= 2)
    lines.append("- RSS flat and outbox back to 0: bench/run.sh --soak")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--long", action="store_true")
    ap.add_argument("--accounts", type=int, action="append")
    ap.add_argument("--no-sync", action="store_true", help="add a labelled no-sync row")
    ap.add_argument("--soak", action="store_true")
    ap.add_argument("--soak-seconds", type=int, default=600)
    ap.add_argument("--soak-retention-s", type=int, default=0,
                    help="soak: every retention the nodes have a flag for, in seconds")
    ap.add_argument("--soak-env", action="append",
                    help="soak: NAME=VALUE for every node (repeatable)")
    ap.add_argument("--soak-sample-s", type=float, default=5.0,
                    help="soak: seconds between two samples of pages, memory and outboxes")
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--phases", default="single,batch,half,curve,gateway-only")
    args = ap.parse_args()
    duration = 5 if args.quick else (60 if args.long else 15)
    accounts_list = args.accounts or ([10000] if args.quick else [10000, 1000000])
    phases = args.phases.split(",")
    results_dir = os.path.join(HERE, "results")
    os.makedirs(results_dir, exist_ok=True)
    stamp = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")

    if args.soak:
        import soak  # bench/soak.py: storage and memory over a long run
        return soak.soak(args, results_dir, stamp, sys.modules[__name__])

    rows, rss, curve, lat_files = [], {}, {}, []
    for accounts in accounts_list:
        for no_sync in ([False, True] if args.no_sync else [False]):
            mesh = Mesh(args.build, accounts, no_sync=no_sync, tag=str(accounts))
            try:
                mesh.start()
                mesh.warm_up(args.build)
                suffix = "" if not no_sync else "-nosync"
                peak = None
                if "single" in phases:
                    peak = run_phase(args.build, mesh, f"single{suffix}", "single", 64, duration)
                    rows.append(peak)
                if "batch" in phases:
                    # Capped: the HTTP side accepts far faster than the saga settles, and an
                    # unbounded backlog would only measure the length of the queue.
                    rows.append(run_phase(args.build, mesh, f"batch{suffix}", "batch", 4, duration,
                                          batch=2000, max_transfers=duration * 4000))
                if "half" in phases and peak and not no_sync:
                    lat = []
                    half_rate = min(peak["accepted_per_s"], peak["settled_per_s"]) / 2
                    rows.append(run_phase(args.build, mesh, "half-peak", "single", 64, duration,
                                          rate=half_rate, keep_latencies=lat))
                    p = os.path.join(results_dir, f"lat-ledger-{accounts}-{stamp}.dat")
                    write_latencies(p, lat)
                    lat_files.append((f"ledger half peak, {accounts:,} acc", p))
                if "curve" in phases and not no_sync and accounts == accounts_list[0]:
                    pts = curve.setdefault("ledger, single HTTP", [])
                    for conns in (1, 8, 64, 256):
                        r = run_phase(args.build, mesh, f"curve-{conns}", "single", conns,
                                      max(3, duration // 3))
                        rows.append(r)
                        pts.append((conns, r["settled_per_s"]))
                    bpts = curve.setdefault("ledger, batch HTTP (2000/request)", [])
                    for conns in (1, 4):
                        r = run_phase(args.build, mesh, f"curve-batch-{conns}", "batch", conns,
                                      max(3, duration // 3), batch=2000,
                                      max_transfers=max(3, duration // 3) * 4000)
                        rows.append(r)
                        bpts.append((conns, r["settled_per_s"]))
                rss[accounts if not no_sync else f"{accounts} no-sync"] = mesh.rss("VmHWM")
            finally:
                mesh.close()
        if "gateway-only" in phases and accounts == accounts_list[0]:
            rows.append(gateway_only(args.build, accounts, duration))

    pg_rows = []
    if not args.skip_pg:
        for accounts in accounts_list:
            lat_store = {}
            pg_rows += pg_baseline(accounts, duration, [1, 8, 32] if accounts == accounts_list[0]
                                   else [1, 32], lat_store)
            if accounts == accounts_list[0]:
                curve["PostgreSQL 15 pgbench"] = [(r["conns"], r["settled_per_s"]) for r in pg_rows
                                                  if r["accounts"] == accounts]
                p = os.path.join(results_dir, f"lat-pg32-{accounts}-{stamp}.dat")
                write_latencies(p, lat_store.get(32, []))
                lat_files.append((f"PostgreSQL 32 clients, {accounts:,} acc", p))

    machine = f"{platform.node()}, {os.cpu_count()} vCPU, {platform.platform()}"
    with open(os.path.join(results_dir, f"bench-{stamp}.csv"), "w", newline="") as f:
        keys = sorted({k for r in rows + pg_rows for k in r})
        w = csv.DictWriter(f, fieldnames=["date", "machine"] + keys)
        w.writeheader()
        for r in rows + pg_rows:
            w.writerow({"date": stamp, "machine": machine, **r})
    shutil.copyfile(os.path.join(results_dir, f"bench-{stamp}.csv"),
                    os.path.join(results_dir, "latest.csv"))
    plot(results_dir, stamp, curve, lat_files)
    with open(os.path.join(results_dir, f"table-{stamp}.md"), "w") as f:
        f.write(f"{stamp}, {machine}, durable unless labelled, {duration}s per phase\n\n")
        print_table(rows, pg_rows, rss, f)
    shutil.copyfile(os.path.join(results_dir, f"table-{stamp}.md"),
                    os.path.join(results_dir, "latest.md"))
    sys.stdout.write(open(os.path.join(results_dir, "latest.md")).read())


if __name__ == "__main__":
    main()
