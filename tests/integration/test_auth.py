"""Principals, API keys, scopes and rate limits through the real binaries
(nodes/gateway/gateway_principals.h, gateway_auth.h, gateway_guard.h,
gateway_admin_api.h).

Every refusal is checked for what did NOT happen as well: no transfer, no
account, no key made.
"""
import os
import re
import subprocess
import unittest

from mesh import ALL_SCOPES, CUSTOMER_SCOPES, NODES, MeshTest, wait_until
from test_events import SseStream

TRANSFER = {"from": "alice", "to": "bob", "amount": 5, "currency": "GBP"}
BATCH = {"transfers": [{"idempotency_key": "auth-batch-1", "from": "alice", "to": "bob",
                        "amount": 5}]}
NEW_ACCOUNT = {"id": "zed", "name": "Zed", "currency": "GBP", "owner": "tester"}
# (method, path, body, the scope the route needs)
ROUTES = [
    ("GET", "/api/transfers", None, "transfers:read"),
    ("POST", "/api/transfers", TRANSFER, "transfers:write"),
    ("POST", "/api/transfers/batch", BATCH, "transfers:write"),
    ("GET", "/api/transfers/tr_00000000000000000000", None, "transfers:read"),
    ("GET", "/api/accounts", None, "accounts:read"),
    ("POST", "/api/accounts", NEW_ACCOUNT, "accounts:open"),
    ("GET", "/api/accounts/alice", None, "accounts:read"),
    ("GET", "/api/accounts/alice/ledger", None, "accounts:read"),
    ("GET", "/api/events", None, "events:read"),
    ("POST", "/api/stream-tokens", None, "events:read"),
    ("POST", "/api/deposits", {"account": "alice", "amount": 5}, "deposits:write"),
    ("POST", "/api/withdrawals", {"account": "alice", "amount": 5}, "transfers:write"),
]
UNKNOWN_KEY = "lk_0123456789abcdef_" + "ab" * 32


def key_id(key):
    return key.split("_")[1]


class AuthTest(MeshTest):
    # Every route is tried with bad keys from one address: more failures than the per-address
    # throttle lets through (test_http_abuse.AuthFailureTest tests that throttle).
    mesh_options = {"env": {"gateway": {"LEDGER_AUTH_FAIL_BURST": "100000"}}}
    def call(self, method, path, body=None, key=None, headers=None):
        hdrs = {"Idempotency-Key": f"auth-{os.getpid()}"} if method == "POST" else {}
        hdrs.update(headers or {})
        return self.mesh.request(method, path, body, hdrs, key=key)

    def state(self):
        """What a refused request must leave alone."""
        return (sorted(t["id"] for t in self.mesh.all_transfers()), sorted(self.mesh.accounts()))

    def assert_unauthenticated(self, answer, what):
        status, payload, headers = answer
        self.assertEqual(status, 401, (what, payload))
        self.assertEqual(payload["error"]["code"], "unauthenticated", what)
        self.assertEqual(headers.get("WWW-Authenticate"), "Bearer", what)

    def test_every_route_refuses_a_missing_malformed_unknown_or_revoked_key(self):
        revoked = self.mesh.principal("ex-operator", "operator", ALL_SCOPES)
        self.mesh.revoke("ex-operator", revoked)
        before = self.state()
        for method, path, body, _ in ROUTES:
            what = f"{method} {path}"
            self.assert_unauthenticated(self.call(method, path, body, key=False), what + " no key")
            for bad in ("Basic dGVzdDp0ZXN0", "Bearer", "Bearer lk_short", f"Bearer {UNKNOWN_KEY}",
                        f"Bearer {self.mesh.key}x", f"Bearer {revoked}"):
                self.assert_unauthenticated(
                    self.call(method, path, body, headers={"Authorization": bad}), f"{what} {bad[:12]}")
        self.assertEqual(self.state(), before)
        self.assertEqual(self.mesh.get("/api/health")[0], 200)  # the one open route

    def test_a_key_without_the_routes_scope_is_forbidden_and_changes_nothing(self):
        before = self.state()
        keys = {s: self.mesh.principal(f"no-{s.replace(':', '-')}", "operator",
                                       [x for x in ALL_SCOPES if x != s])
                for s in {r[3] for r in ROUTES}}
        for method, path, body, scope in ROUTES:
            status, payload, _ = self.call(method, path, body, key=keys[scope])
            self.assertEqual(status, 403, (method, path, payload))
            self.assertEqual(payload["error"]["code"], "forbidden")
            self.assertIn(scope, payload["error"]["message"])
        self.assertEqual(self.state(), before)
        # A customer holds customer scopes only: it may not open accounts.
        status, payload, _ = self.call("POST", "/api/accounts", NEW_ACCOUNT,
                                       key=self.mesh.principal("cust"))
        self.assertEqual(status, 403, payload)
        self.assertNotIn("zed", self.mesh.accounts())

    def test_admin_routes_answer_with_their_status_codes(self):
        admin = lambda method, path, body=None: self.mesh.admin("gateway", method, path, body)  # noqa: E731
        body = {"id": "dora", "kind": "customer", "scopes": ["transfers:read", "accounts:read"]}
        status, p, _ = admin("POST", "/principals", body)
        self.assertEqual(status, 201, p)
        self.assertEqual((p["id"], p["kind"], p["scopes"]), ("dora", "customer", body["scopes"]))
        self.assertEqual(admin("POST", "/principals", dict(body, scopes=body["scopes"][::-1]))[0], 200)
        status, p, _ = admin("POST", "/principals", dict(body, scopes=["transfers:read"]))
        self.assertEqual((status, p["error"]["code"]), (409, "principal_exists"))
        for bad, code in ((dict(body, id="Dora"), "invalid_field"),
                          (dict(body, id="x" * 65), "invalid_field"),
                          (dict(body, kind="admin"), "invalid_field"),
                          (dict(body, scopes=["transfers:root"]), "invalid_field"),
                          (dict(body, id="eve", scopes=["accounts:open"]), "invalid_field"),
                          (dict(body, extra=1), "unknown_field"),
                          ({"id": "eve", "kind": "customer"}, "missing_field"),
                          (b"{not json", "invalid_json")):
            status, p, _ = admin("POST", "/principals", bad)
            self.assertEqual((status, p["error"]["code"]), (400, code), bad)
        self.assertEqual(admin("GET", "/principals/eve")[0], 404)
        status, p, _ = admin("POST", "/principals", b"x" * (17 * 1024))
        self.assertEqual(status, 413, p)

        self.assertEqual(admin("POST", "/principals/nobody/keys")[0], 404)
        status, k1, _ = admin("POST", "/principals/dora/keys")
        self.assertEqual(status, 201, k1)
        self.assertRegex(k1["key"], r"^lk_[0-9a-f]{16}_[0-9a-f]{64}$")
        self.assertEqual(k1["key_id"], key_id(k1["key"]))
        status, k2, _ = admin("POST", "/principals/dora/keys")
        self.assertEqual(status, 201, k2)
        status, p, _ = admin("POST", "/principals/dora/keys")
        self.assertEqual((status, p["error"]["code"]), (409, "key_limit"))
        self.assertEqual(admin("DELETE", f"/principals/dora/keys/{'0' * 16}")[0], 404)
        self.assertEqual(admin("DELETE", f"/principals/tester/keys/{k1['key_id']}")[0], 404)
        self.assertEqual(admin("DELETE", f"/principals/dora/keys/{k1['key_id']}")[0], 204)
        self.assertEqual(admin("DELETE", f"/principals/dora/keys/{k1['key_id']}")[0], 204)
        self.assertEqual(admin("POST", "/principals/dora/keys")[0], 201)
        self.assertEqual(admin("PUT", "/principals/dora")[0], 405)

        status, p, _ = admin("GET", "/principals/dora")
        self.assertEqual(status, 200, p)
        states = {k["key_id"]: k["state"] for k in p["keys"]}
        self.assertEqual(states[k1["key_id"]], "revoked")
        self.assertEqual(states[k2["key_id"]], "active")
        self.assertEqual(len(states), 3)
        # The secret is shown once: never in the principal, never in a node's log.
        for key in (k1["key"], k2["key"], self.mesh.key):
            secret = key.split("_")[2]
            self.assertNotIn(secret, str(p))
            for node in NODES:
                self.assertNotIn(secret, self.mesh.log(node), node)
        self.assertIn(f"event=api_key_revoked principal=dora key_id={k1['key_id']}",
                      self.mesh.log("gateway"))

    def open_for(self, account, owner):
        """Opens `account` for principal `owner` (as the tester, an operator)."""
        status, payload, _ = self.mesh.request(
            "POST", "/api/accounts", {"id": account, "name": account, "owner": owner})
        self.assertEqual(status, 201, payload)

    def test_a_revoked_key_stops_at_once_also_for_an_idempotent_replay(self):
        first = self.mesh.principal("carol-app", "operator", ALL_SCOPES)
        second = self.mesh.principal("carol-app", "operator", ALL_SCOPES)
        self.open_for("acc-carol", "carol-app")
        body = {"from": "acc-carol", "to": "dave", "amount": 7, "currency": "GBP"}
        status, t = self.mesh.transfer("acc-carol", "dave", 7, key="carol-1", api_key=first)
        self.assertEqual(status, 202, t)
        status, again, headers = self.mesh.request(
            "POST", "/api/transfers", body, {"Idempotency-Key": "carol-1"}, key=first)
        self.assertEqual((status, again["id"], headers.get("Idempotent-Replayed")), (202, t["id"], "true"))
        self.mesh.revoke("carol-app", first)
        self.assert_unauthenticated(self.mesh.request(
            "POST", "/api/transfers", body, {"Idempotency-Key": "carol-1"}, key=first),
            "replay with a revoked key")
        self.assert_unauthenticated(self.mesh.request("GET", f"/api/transfers/{t['id']}", key=first),
                                    "read with a revoked key")
        # The principal's other key goes on, and the key is the principal's, not the API key's.
        status, again = self.mesh.transfer("acc-carol", "dave", 7, key="carol-1", api_key=second)
        self.assertEqual((status, again["id"]), (202, t["id"]))
        self.assertEqual(len([x for x in self.mesh.all_transfers() if x["from"] == "acc-carol"]), 1)

    def test_the_same_idempotency_key_from_two_principals_makes_two_transfers(self):
        alice, bob = self.mesh.principal("alice-app"), self.mesh.principal("bob-app")
        self.open_for("acc-alice-app", "alice-app")
        self.open_for("acc-bob-app", "bob-app")
        status, a = self.mesh.transfer("acc-alice-app", "bob", 11, key="same-key", api_key=alice)
        self.assertEqual(status, 202, a)
        status, b = self.mesh.transfer("acc-bob-app", "bob", 11, key="same-key", api_key=bob)
        self.assertEqual(status, 202, b)
        self.assertNotEqual(a["id"], b["id"])
        for tid in (a["id"], b["id"]):
            self.assertNotEqual(self.mesh.wait_final(tid)["status"], "pending")
        # Each principal's replay answers its own transfer.
        self.assertEqual(self.mesh.transfer("acc-bob-app", "bob", 11, key="same-key",
                                            api_key=bob)[1]["id"], b["id"])
        self.assertEqual(self.mesh.transfer("acc-alice-app", "bob", 11, key="same-key",
                                            api_key=alice)[1]["id"], a["id"])

    def test_a_stream_token_opens_the_event_stream_once(self):
        viewer = self.mesh.principal("viewer", scopes=["events:read"])
        status, tok, _ = self.mesh.request("POST", "/api/stream-tokens", key=viewer)
        self.assertEqual(status, 201, tok)
        self.assertRegex(tok["token"], r"^[0-9a-f]{64}$")
        self.assertRegex(tok["expires_at"], r"^\d{4}-\d\d-\d\dT")
        stream = SseStream(self.mesh.http_port, query=f"?token={tok['token']}")
        try:
            self.assertEqual(stream.status, 200, getattr(stream, "error", None))
            self.assertTrue(stream.headers["content-type"].startswith("text/event-stream"))
        finally:
            stream.close()
        for token in (tok["token"], "ab" * 32, "nonsense"):
            again = SseStream(self.mesh.http_port, query=f"?token={token}")
            self.assertEqual(again.status, 401, token)
            self.assertEqual(again.error["error"]["code"], "unauthenticated")
            again.close()
        # A key with the scope opens it directly; a token without the scope is never issued.
        status, p, _ = self.mesh.request("POST", "/api/stream-tokens",
                                         key=self.mesh.principal("reader", scopes=["transfers:read"]))
        self.assertEqual((status, p["error"]["code"]), (403, "forbidden"))


class RateLimitTest(MeshTest):
    mesh_options = {"env": {"gateway": {"LEDGER_CUSTOMER_RATE": "1", "LEDGER_CUSTOMER_BURST": "3"}}}

    def test_a_rate_limited_principal_gets_429_while_another_is_served(self):
        greedy, calm = self.mesh.principal("greedy"), self.mesh.principal("calm")
        before = len(self.mesh.all_transfers())
        statuses = [self.mesh.request("GET", "/api/transfers", key=greedy)[0] for _ in range(3)]
        self.assertEqual(statuses, [200, 200, 200])
        status, p, headers = self.mesh.request("POST", "/api/transfers", TRANSFER,
                                               {"Idempotency-Key": "greedy-1"}, key=greedy)
        self.assertEqual((status, p["error"]["code"]), (429, "rate_limited"), p)
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)
        self.assertEqual(len(self.mesh.all_transfers()), before)  # nothing was created
        # Another principal, and the operator, are served meanwhile.
        self.assertEqual(self.mesh.request("GET", "/api/transfers", key=calm)[0], 200)
        self.assertEqual(self.mesh.get("/api/transfers")[0], 200)
        # The bucket refills at its rate: greedy is served again.
        wait_until(lambda: self.mesh.request("GET", "/api/transfers", key=greedy)[0] == 200, 5,
                   "greedy's bucket to refill", interval=0.25)


class AdminTokenTest(MeshTest):
    mesh_options = {"env": {"gateway": {"LEDGER_ADMIN_TOKEN": "admin-s3cret"}}}

    def test_principal_routes_need_the_admin_token_when_one_is_set(self):
        body = {"id": "zoe", "kind": "customer", "scopes": CUSTOMER_SCOPES}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {self.mesh.key}"}):
            status, _, _ = self.mesh.admin("gateway", "POST", "/principals", body, headers=headers)
            self.assertEqual(status, 401, headers)
            self.assertEqual(self.mesh.admin("gateway", "POST", "/principals/tester/keys",
                                             headers=headers)[0], 401)
        self.assertEqual(self.mesh.admin("gateway", "GET", "/principals/zoe",
                                         headers=self.mesh.admin_headers())[0], 404)
        self.assertTrue(re.match(r"lk_", self.mesh.principal("zoe")))


class AdminHostTest(MeshTest):
    """An admin port reachable from other machines needs a token: a node told to listen for
    admin HTTP on a non-loopback address without one refuses to start (exit 2,
    event=admin_refused) before it opens its store; LEDGER_ADMIN_TOKEN_FILE (a compose secret)
    gives the token from a file."""
    start_mesh = False

    def run_fraud(self, **env):
        e = self.mesh.env_for("fraud")
        e.pop("LEDGER_ADMIN_TOKEN", None)
        e.pop("LEDGER_ADMIN_TOKEN_FILE", None)
        e.update(env)
        binary = os.path.join(self.mesh.build_dir, "nodes", "ledger-fraud")
        return subprocess.Popen([binary], env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)

    def assert_refused(self, why, **env):
        proc = self.run_fraud(**env)
        out, _ = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 2, out)
        self.assertIn("event=admin_refused", out)
        self.assertIn(why, out)
        # refused before anything was opened or written
        self.assertFalse(os.path.exists(self.mesh.env_for("fraud")["LEDGER_DATA_DIR"]), out)

    def token_file(self, text):
        path = os.path.join(self.mesh.tmp, "admin_token")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def test_a_non_loopback_admin_host_needs_a_token(self):
        self.assert_refused("is not loopback and no admin token", LEDGER_ADMIN_HOST="0.0.0.0")
        self.assert_refused("not both", LEDGER_ADMIN_HOST="0.0.0.0", LEDGER_ADMIN_TOKEN="t1",
                            LEDGER_ADMIN_TOKEN_FILE=self.token_file("t2\n"))
        self.assert_refused("no token on its first line", LEDGER_ADMIN_HOST="0.0.0.0",
                            LEDGER_ADMIN_TOKEN_FILE=self.token_file("\n"))
        self.assert_refused("over 255 bytes", LEDGER_ADMIN_HOST="0.0.0.0",
                            LEDGER_ADMIN_TOKEN_FILE=self.token_file("x" * 256 + "\n"))
        self.assert_refused("cannot read", LEDGER_ADMIN_HOST="0.0.0.0",
                            LEDGER_ADMIN_TOKEN_FILE=os.path.join(self.mesh.tmp, "missing"))

    def test_a_token_file_opens_a_non_loopback_admin_host_to_its_token_only(self):
        proc = self.run_fraud(LEDGER_ADMIN_HOST="0.0.0.0",
                              LEDGER_ADMIN_TOKEN_FILE=self.token_file("file-s3cret\r\n"))
        try:
            wait_until(lambda: proc.poll() is not None or
                       self.mesh.admin("fraud", "GET", "/health")[0] == 401, 20,
                       "the fraud node's admin port")
            self.assertIsNone(proc.poll(), "the node exited")
            ok = {"Authorization": "Bearer file-s3cret"}
            self.assertEqual(self.mesh.admin("fraud", "GET", "/health", headers=ok)[0], 200)
            wrong = {"Authorization": "Bearer file-s3cre"}  # a prefix of it
            self.assertEqual(self.mesh.admin("fraud", "GET", "/health", headers=wrong)[0], 401)
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=20)
        self.assertEqual(proc.returncode, 0, out)
        self.assertNotIn("file-s3cret", out)  # the token is never logged


if __name__ == "__main__":
    unittest.main()
