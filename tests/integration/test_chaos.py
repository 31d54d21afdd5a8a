"""Chaos: each node in turn is killed with SIGKILL in the middle of a stream
of transfers and restarted; afterwards every transfer has exactly one final
status, money is conserved, nothing is held, no effect was applied twice and
the ledger chain is intact (invariants.py). And a SIGKILL between two
checkpoints of the accounts node's balances loses none of them. At the end
ledger-reconcile, over the three nodes' data directories, finds every node in
agreement. ChaosPaymentsTest does the same with the payments of issue 21 in the
mix (authorisations captured, voided or expired, refunds, risk timeouts, a
second currency)."""
import os
import random
import re
import signal
import subprocess
import threading
import time
import unittest
import urllib.error
import urllib.request

from invariants import check_invariants
from mesh import FINAL_STATUSES, MeshTest, wait_until

RULES = ("velocity_max_count = 0\n"        # 0 turns the velocity rules off: this test
         "velocity_max_sum_minor = 0\n"    # wants only the blocklist to reject
         "new_payee_limit_minor = 0\n")
CUSTOMERS = ["alice", "bob", "carol", "dave"]


class ChaosTest(MeshTest):
    mesh_options = {"fraud_rules": RULES, "log_level": "warn"}

    def submit(self, src, dst, amount, key, deadline_s=60.0):
        """Posts until the gateway answers, reusing the key: a client's retry."""
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                status, payload = self.mesh.transfer(src, dst, amount, key=key)
                if status in (200, 202):
                    return payload["id"]
                if status != 503:
                    self.fail(f"unexpected answer {status}: {payload}")
            except (urllib.error.URLError, ConnectionError, OSError):
                pass  # gateway down or restarting: retry with the same key
            if time.monotonic() > deadline:
                self.fail(f"transfer {key} not accepted within {deadline_s}s")
            time.sleep(0.05)

    def plan(self, rng, count):
        plan = []
        for i in range(count):
            if i % 9 == 4:
                plan.append(("mallory", "alice", 100 + i))   # blocklisted: rejected_fraud
            elif i % 11 == 7:
                plan.append(("dave", "bob", 900000))         # more than dave has
            else:
                src, dst = rng.sample(CUSTOMERS, 2)
                plan.append((src, dst, rng.randint(1, 2500)))
        return plan

    def test_each_node_killed_mid_stream_and_restarted_keeps_every_invariant(self):
        rng = random.Random(int(os.environ.get("LEDGER_CHAOS_SEED", "20261125")))
        initial = self.mesh.accounts()
        plan = self.plan(rng, 300)
        accepted, errors = [], []

        def client():
            try:
                for i, (src, dst, amount) in enumerate(plan):
                    accepted.append(self.submit(src, dst, amount, key=f"chaos-{i}"))
            except BaseException as e:  # reported by the main thread
                errors.append(e)

        sender = threading.Thread(target=client)
        sender.start()
        # Each node in turn dies while the client keeps sending; the kill lands
        # wherever the saga happens to be.
        for n, victim in enumerate(["accounts", "fraud", "gateway", "accounts", "fraud", "gateway"]):
            wait_until(lambda: len(accepted) >= 40 * (n + 1) or not sender.is_alive(), timeout=60,
                       what=f"{40 * (n + 1)} transfers accepted")
            self.mesh.kill(victim, signal.SIGKILL)
            self.mesh.start(victim)
        sender.join(timeout=120)
        self.assertFalse(sender.is_alive(), "the client finished")
        self.assertEqual(errors, [])
        self.assertEqual(len(accepted), len(plan))
        self.assertEqual(len(set(accepted)), len(accepted), "one transfer per idempotency key")

        def all_final():
            return all(t["status"] in FINAL_STATUSES for t in self.mesh.all_transfers())
        wait_until(all_final, timeout=90, what="every transfer to reach a final status")
        statuses = check_invariants(self, self.mesh, initial, accepted)
        print(f"\nchaos: {len(accepted)} transfers, {dict(statuses)}")
        self.assertGreater(statuses["settled"], 0)
        self.assertGreater(statuses["rejected_fraud"], 0)
        self.assertGreater(statuses["declined"], 0)
        self.mesh.wait_outboxes_empty(("accounts", "fraud", "gateway"), timeout=30)
        self.assert_reconciled()

    def assert_reconciled(self):
        """ledger-reconcile over the three live nodes' data directories finds nothing."""
        tool = os.path.join(self.mesh.build_dir, "tools", "reconcile", "ledger-reconcile")
        r = subprocess.run([tool, "--data-root", os.path.join(self.mesh.tmp, "data"),
                            "--settle-wait", "30"], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"summary transfers=\d+ agree=\d+ in_flight=0 disagree=0\n$")


class ChaosMidCheckpointTest(ChaosTest):
    """The same chaos with the accounts node checkpointing all the time, one
    balance per commit: every SIGKILL lands in the middle of a checkpoint."""
    mesh_options = {"fraud_rules": RULES, "log_level": "warn",
                    "env": {"accounts": {"LEDGER_CHECKPOINT_MS": "0",
                                         "LEDGER_CHECKPOINT_CHUNK": "1"}}}




class ChaosPaymentsTest(ChaosTest):
    """Each node killed in turn while a client authorises, captures (in full
    and in part), voids, lets expire and refunds transfers in two currencies;
    once the fraud node stays away longer than --risk-timeout-ms, so holds are
    released as risk_unavailable. Afterwards the invariants hold per currency
    (invariants.py) and ledger-reconcile finds every node in agreement."""
    mesh_options = {"fraud_rules": RULES, "log_level": "warn",
                    "env": {"accounts": {"LEDGER_RISK_TIMEOUT_MS": "3000"}}}
    ROUNDS = 20  # each round: 6 transfers and their follow-ups

    def call(self, what, fn, deadline_s=90.0):
        """fn() until it answers something other than 503 or a connection error: a client's
        retry with the same idempotency key. (status, payload)."""
        deadline = time.monotonic() + deadline_s
        while True:
            try:
                status, payload = fn()
                if status != 503:
                    return status, payload
            except (urllib.error.URLError, ConnectionError, OSError):
                pass  # a node down or restarting
            if time.monotonic() > deadline:
                self.fail(f"{what}: no answer within {deadline_s}s")
            time.sleep(0.05)

    def accepted(self, what, answer):
        status, payload = answer
        if status not in (200, 202):
            self.fail(f"{what}: {status} {payload}")
        return payload

    def authorise(self, key, src, dst, amount, expires_in_s):
        body = {"from": src, "to": dst, "amount": amount, "currency": "GBP",
                "capture": "manual", "expires_in_s": expires_in_s}
        return self.accepted(key, self.call(key, lambda: self.mesh.post(
            "/api/transfers", body, key, self.mesh.owner_key(src))))["id"]

    def settled_or_final(self, tid, want):
        """Waits (through restarts) until transfer `tid` is `want` or final; its status."""
        def seen():
            try:
                status, t = self.mesh.get(f"/api/transfers/{tid}")
            except (urllib.error.URLError, ConnectionError, OSError):
                return None
            if status == 200 and (t["status"] == want or t["status"] in FINAL_STATUSES):
                return t["status"]
            return None
        return wait_until(seen, timeout=90, what=f"transfer {tid} to be {want} or final")

    def follow_up(self, key, tid, action, body, api_key):
        """capture / void / refunds on an authorised or settled transfer; the refund's id."""
        answer = self.call(key, lambda: self.mesh.post(f"/api/transfers/{tid}/{action}", body,
                                                       key, api_key))
        return self.accepted(key, answer)

    def round(self, r, ids):
        eur = self.mesh.owner_key("alice")
        a = 100 + r
        full = self.authorise(f"pay-{r}-full", "alice", "bob", a, 600)
        part = self.authorise(f"pay-{r}-part", "bob", "carol", a, 600)
        void = self.authorise(f"pay-{r}-void", "carol", "dave", a, 600)
        expire = self.authorise(f"pay-{r}-exp", "dave", "alice", a, 1)
        body = {"from": "alice-eur", "to": "bob-eur", "amount": 50 + r, "currency": "EUR"}
        euro = self.accepted("eur", self.call("eur", lambda: self.mesh.post(
            "/api/transfers", body, f"pay-{r}-eur", eur)))["id"]
        plain = self.submit("carol", "bob", 300 + r, key=f"pay-{r}-plain")
        ids += [full, part, void, expire, euro, plain]
        follow = [(full, "capture", {}, "alice"), (part, "capture", {"amount": a // 2}, "bob"),
                  (void, "void", {}, "carol")]
        for tid, action, body, owner in follow:
            if self.settled_or_final(tid, "authorized") == "authorized":
                self.follow_up(f"pay-{r}-{action}-{tid}", tid, action, body,
                               self.mesh.owner_key(owner))
        if self.settled_or_final(plain, "settled") == "settled":
            refund = self.follow_up(f"pay-{r}-refund", plain, "refunds", {"amount": 100},
                                    self.mesh.owner_key("bob"))
            ids.append(refund["id"])

    def test_each_node_killed_mid_stream_and_restarted_keeps_every_invariant(self):
        funded = self.mesh.fund("alice-eur", 500000, currency="EUR")
        self.mesh.funding_ids.add(funded["id"])  # set-up, not one of the test's transfers
        initial = self.mesh.accounts()
        ids, errors, done = [], [], []

        def client():
            try:
                for r in range(self.ROUNDS):
                    self.round(r, ids)
                    done.append(r)
            except BaseException as e:  # reported by the main thread
                errors.append(e)

        sender = threading.Thread(target=client)
        sender.start()
        for n, victim in enumerate(["accounts", "fraud", "gateway", "accounts", "gateway"]):
            wait_until(lambda: len(done) >= 3 * (n + 1) or not sender.is_alive(), timeout=120,
                       what=f"{3 * (n + 1)} rounds done")
            self.mesh.kill(victim, signal.SIGKILL)
            if victim == "fraud" and n == 1:
                # Away longer than the risk timeout: what it had to decide is released.
                wait_until(lambda: self.risk_timeouts() > 0 or not sender.is_alive(), timeout=30,
                           what="a hold released for want of a verdict")
            self.mesh.start(victim)
        sender.join(timeout=300)
        self.assertFalse(sender.is_alive(), "the client finished")
        self.assertEqual(errors, [])

        def all_final():
            return all(t["status"] in FINAL_STATUSES for t in self.mesh.all_transfers())
        wait_until(all_final, timeout=90, what="every transfer to reach a final status")
        statuses = check_invariants(self, self.mesh, initial, ids)
        print(f"\nchaos payments: {len(ids)} transfers, {dict(statuses)}")
        for status in ("settled", "voided", "expired"):
            self.assertGreater(statuses[status], 0, status)
        transfers = self.mesh.all_transfers()
        self.assertTrue(any(t.get("kind") == "refund" and t["status"] == "settled"
                            for t in transfers), "a refund settled")
        self.assertTrue(any(t.get("captured_amount") and t["captured_amount"] < t["amount"]
                            for t in transfers if t["status"] == "settled"), "a partial capture")
        self.mesh.wait_outboxes_empty(("accounts", "fraud", "gateway"), timeout=30)
        self.assert_reconciled()

    def risk_timeouts(self):
        """Transfers declined risk_unavailable so far, as the gateway shows them."""
        try:
            return sum(1 for t in self.mesh.all_transfers()
                       if (t.get("reason") or {}).get("code") == "risk_unavailable")
        except (urllib.error.URLError, ConnectionError, OSError, AssertionError):
            return 0


class BalancesInMemoryTest(MeshTest):
    """The accounts node keeps changed balances in memory between checkpoints
    (nodes/accounts/accounts_cache.h); a SIGKILL must lose none of them: the
    restart replays the ledger into the accounts table."""
    # No checkpoint after the first: every later change lives only in memory and the ledger.
    mesh_options = {"env": {"accounts": {"LEDGER_CHECKPOINT_MS": "3600000"}}}

    def dirty_balances(self):
        port = self.mesh.ports["accounts"]["admin"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
        return int(re.search(r"^ledger_accounts_dirty_balances (\d+)$", text, re.M).group(1))

    def replayed_entries(self):
        found = re.findall(r"event=balances_replayed entries=(\d+)", self.mesh.log("accounts"))
        return [int(n) for n in found]

    def test_sigkill_between_checkpoints_loses_no_balance(self):
        plan = [("alice", "bob", 1200), ("bob", "carol", 700), ("carol", "dave", 2500),
                ("dave", "alice", 300), ("alice", "carol", 999)]
        for i, (src, dst, amount) in enumerate(plan):
            status, payload = self.mesh.transfer(src, dst, amount, key=f"mem-{i}")
            self.assertEqual(status, 202, payload)
            self.assertEqual(self.mesh.wait_final(payload["id"])["status"], "settled")
        before = self.mesh.accounts()
        self.assertEqual(self.replayed_entries(), [0])  # the first start had nothing to replay

        self.mesh.kill("accounts", signal.SIGKILL)
        self.mesh.start("accounts")
        wait_until(lambda: len(self.replayed_entries()) == 2, what="the accounts node to restart")
        # Each transfer wrote 3 entries (hold, debit, credit), and so did each deposit that
        # funded the demo accounts before them (all at once: their commits interleave); the
        # first checkpoint (started by the first commit that changed a balance) covers at most
        # the first transfer's, and some of the deposits'.
        moved = len(plan) + len(self.mesh.funding_ids)
        self.assertGreaterEqual(self.replayed_entries()[1], 3 * (len(plan) - 1))
        self.assertLessEqual(self.replayed_entries()[1], 3 * moved)
        wait_until(lambda: self.mesh.admin("accounts", "GET", "/health")[0] == 200,
                   what="accounts admin to answer")
        self.assertEqual(self.mesh.accounts(), before)
        status, verify, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
        self.assertEqual(status, 200)
        self.assertTrue(verify["ok"], verify)
        # Verify also passes on a live node whose table is behind (before a restart).
        status, payload = self.mesh.transfer("bob", "alice", 100, key="mem-after")
        self.assertEqual(self.mesh.wait_final(payload["id"])["status"], "settled")
        status, verify, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
        self.assertTrue(verify["ok"], verify)
        self.assertEqual(self.mesh.accounts()["alice"]["balance"],
                         before["alice"]["balance"] + 100)

    def test_a_clean_stop_writes_the_balances_back(self):
        for i, (src, dst, amount) in enumerate([("alice", "bob", 400), ("carol", "alice", 250)]):
            status, payload = self.mesh.transfer(src, dst, amount, key=f"stop-{i}")
            self.assertEqual(self.mesh.wait_final(payload["id"])["status"], "settled")
        before = self.mesh.accounts()
        self.assertGreaterEqual(self.dirty_balances(), 3)  # alice, bob, carol: only in memory
        self.mesh.stop("accounts")  # SIGTERM
        self.assertRegex(self.mesh.log("accounts"), r"event=balances_written records=[1-9]")
        self.mesh.start("accounts")
        wait_until(lambda: len(self.replayed_entries()) == 2, what="the accounts node to restart")
        self.assertEqual(self.replayed_entries()[1], 0)  # the table was current
        wait_until(lambda: self.mesh.admin("accounts", "GET", "/health")[0] == 200,
                   what="accounts admin to answer")
        self.assertEqual(self.mesh.accounts(), before)
        self.assertEqual(self.dirty_balances(), 0)


if __name__ == "__main__":
    unittest.main()
