"""The saga end to end through the three real binaries on loopback.

Each test starts its own mesh (own ports, own temporary data dir) and waits
on conditions with deadlines. Run: python3 -m unittest test_saga (from this
directory, LEDGER_BUILD_DIR pointing at the build).
"""
import unittest

from mesh import MeshTest, wait_until


class SagaTest(MeshTest):
    def test_transfer_settles_and_balances_move(self):
        before = self.mesh.accounts()
        status, t = self.mesh.transfer("alice", "bob", 1250, reference="lunch")
        self.assertEqual(status, 202, t)
        self.assertEqual(t["status"], "pending")
        self.assertEqual(t["amount"], 1250)
        self.assertEqual(t["reference"], "lunch")
        final = self.mesh.wait_final(t["id"])
        self.assertEqual(final["status"], "settled", final)
        after = self.mesh.accounts()
        self.assertEqual(after["alice"]["balance"], before["alice"]["balance"] - 1250)
        self.assertEqual(after["bob"]["balance"], before["bob"]["balance"] + 1250)
        self.assertEqual(after["alice"]["held"], 0)
        # A step can reach the gateway after the final status: a first send to a peer
        # whose connection is not up yet is redelivered (ZMQ_IMMEDIATE), while later
        # messages overtake it. The timeline completes; wait for it with a deadline.
        steps = wait_until(lambda: (lambda s: s if "funds.reserved" in s else None)(
            [step["step"] for step in self.mesh.transfer_status(t["id"])["timeline"]]),
            what="the timeline to show funds.reserved")
        self.assertIn("transfer.settled", steps)

    def test_insufficient_funds_is_declined(self):
        before = self.mesh.accounts()
        status, t = self.mesh.transfer("dave", "alice", before["dave"]["available"] + 1)
        self.assertEqual(status, 202, t)
        final = self.mesh.wait_final(t["id"])
        self.assertEqual(final["status"], "declined")
        self.assertEqual(final["reason"]["code"], "insufficient_funds")
        self.assertEqual(self.mesh.accounts(), before)

    def test_unknown_account_is_declined(self):
        status, t = self.mesh.transfer("alice", "nobody", 100)
        self.assertEqual(status, 202, t)
        final = self.mesh.wait_final(t["id"])
        self.assertEqual(final["status"], "declined")
        self.assertEqual(final["reason"]["code"], "unknown_account")

    def test_fraud_rule_hit_is_rejected_and_hold_released(self):
        before = self.mesh.accounts()
        status, t = self.mesh.transfer("carol", "bob", 150000)  # above the 1,000.00 threshold
        self.assertEqual(status, 202, t)
        final = self.mesh.wait_final(t["id"])
        self.assertEqual(final["status"], "rejected_fraud", final)
        self.assertIn("amount_over_threshold", final["reason"]["rules"])
        after = self.mesh.accounts()
        self.assertEqual(after, before)
        self.assertEqual(after["carol"]["held"], 0)

    def test_blocklisted_account_is_rejected(self):
        status, t = self.mesh.transfer("mallory", "bob", 100)
        final = self.mesh.wait_final(t["id"])
        self.assertEqual(final["status"], "rejected_fraud")
        self.assertIn("blocklisted_account", final["reason"]["rules"])

    def test_same_key_same_body_returns_the_same_transfer(self):
        s1, t1 = self.mesh.transfer("alice", "bob", 300, key="same-key-1")
        s2, t2 = self.mesh.transfer("alice", "bob", 300, key="same-key-1")
        self.assertEqual(s1, 202)
        self.assertIn(s2, (200, 202))
        self.assertEqual(t1["id"], t2["id"])
        self.mesh.wait_final(t1["id"])
        ids = [t["id"] for t in self.mesh.all_transfers()]
        self.assertEqual(ids.count(t1["id"]), 1)
        self.assertEqual(len(ids), 1)

    def test_same_key_different_body_is_refused(self):
        s1, t1 = self.mesh.transfer("alice", "bob", 300, key="same-key-2")
        s2, err = self.mesh.transfer("alice", "bob", 301, key="same-key-2")
        self.assertEqual(s1, 202)
        self.assertEqual(s2, 422)
        self.assertEqual(err["error"]["code"], "idempotency_key_reused")
        self.assertEqual(len(self.mesh.all_transfers()), 1)

    def test_same_key_survives_a_gateway_restart(self):
        s1, t1 = self.mesh.transfer("alice", "bob", 300, key="restart-key")
        self.mesh.restart("gateway")
        self.mesh.wait_ready()
        s2, t2 = self.mesh.transfer("alice", "bob", 300, key="restart-key")
        self.assertEqual(t1["id"], t2["id"])
        self.assertEqual(len(self.mesh.all_transfers()), 1)

    def test_bad_requests_create_nothing(self):
        cases = [
            ({"from": "alice", "to": "bob", "amount": 0}, 400),
            ({"from": "alice", "to": "bob", "amount": -5}, 400),
            ({"from": "alice", "to": "bob", "amount": 1.5}, 400),
            ({"from": "alice", "to": "bob", "amount": "1e2"}, 400),  # "100" is 100.00 GBP
            ({"from": "alice", "to": "bob", "amount": "1.005"}, 400),  # GBP has 2 decimals
            ({"from": "alice", "to": "bob", "amount": 100, "currency": "XYZ"}, 422),
            ({"from": "alice", "to": "bob", "amount": 9223372036854775808}, 400),
            ({"from": "alice", "to": "alice", "amount": 100}, 422),
            ({"to": "bob", "amount": 100}, 400),
        ]
        for i, (body, want) in enumerate(cases):
            status, payload, _ = self.mesh.request("POST", "/api/transfers", body,
                                                   {"Idempotency-Key": f"bad-{i}"})
            self.assertEqual(status, want, (body, payload))
            self.assertIn("code", payload["error"])
        status, payload, _ = self.mesh.request("POST", "/api/transfers", b"{not json",
                                               {"Idempotency-Key": "bad-json"})
        self.assertEqual(status, 400)
        status, payload, _ = self.mesh.request("POST", "/api/transfers",
                                               {"from": "alice", "to": "bob", "amount": 1})
        self.assertEqual(status, 400)  # no Idempotency-Key
        self.assertEqual(self.mesh.all_transfers(), [])

    def test_account_can_be_opened_and_used(self):
        status, payload = self.mesh.open_account("erin", "Erin Green")
        self.assertEqual(status, 201, payload)
        self.assertEqual(self.mesh.accounts()["erin"]["balance"], 0)  # no money from nowhere
        self.mesh.fund("erin", 5000)
        self.assertEqual(self.mesh.accounts()["erin"]["balance"], 5000)
        status, t = self.mesh.transfer("erin", "bob", 1000)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")
        status, ledger = self.mesh.get("/api/accounts/erin/ledger")
        self.assertEqual(status, 200, ledger)
        kinds = [e["kind"] for e in ledger["entries"]]
        self.assertIn("credit", kinds)  # the deposit
        self.assertIn("debit", kinds)

    def test_one_transfer_can_be_followed_across_the_three_logs(self):
        status, t = self.mesh.transfer("alice", "bob", 400)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")
        for node in ("gateway", "accounts", "fraud"):
            lines = [l for l in self.mesh.log(node).splitlines() if f"corr={t['id']}" in l]
            self.assertTrue(lines, f"{node} logged the transfer")
            self.assertTrue(all(f"node={node}" in l and "id=" in l and "type=" in l for l in lines), lines)

    def test_sigterm_stops_every_node_cleanly(self):
        status, t = self.mesh.transfer("alice", "bob", 400)
        self.mesh.wait_final(t["id"])
        for node in ("gateway", "fraud", "accounts"):
            self.assertEqual(self.mesh.stop(node), 0, f"{node} exit code after SIGTERM")
            self.assertIn("event=stopped code=0", self.mesh.log(node))
        # the data is intact after a clean stop: everything comes back as it was
        self.mesh.start_all()
        self.assertEqual(self.mesh.transfer_status(t["id"])["status"], "settled")

    def test_unknown_account_lookup_is_404(self):
        status, payload = self.mesh.get("/api/accounts/nobody")
        self.assertEqual(status, 404, payload)
        status, payload = self.mesh.get("/api/transfers/tr_nope")
        self.assertEqual(status, 404, payload)


if __name__ == "__main__":
    unittest.main()
