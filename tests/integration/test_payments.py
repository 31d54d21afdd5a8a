"""Issue 21 at the gateway through the three real binaries: manual transfers, capture, void
and refunds (nodes/gateway/gateway_payment_api.h), decimal amounts and the currency table,
and the filters of GET /api/transfers.

Every refusal is checked for what did NOT happen as well: no transfer made, no message sent
(the gateway's outbox drains to the same count), the transfer unchanged.
"""
import os
import time
import unittest

from mesh import MeshTest, wait_until


def new_key(tag):
    return f"{tag}-{time.monotonic_ns()}-{os.getpid()}"


class PaymentsCase(MeshTest):
    def post(self, path, body, key=None, api_key=None, idem=True):
        headers = {"Idempotency-Key": key or new_key("p")} if idem else {}
        status, payload, headers = self.mesh.request("POST", path, body, headers, key=api_key)
        return status, payload, headers

    def act(self, tid, what, body=None, key=None, api_key=None):
        status, payload, _ = self.post(f"/api/transfers/{tid}/{what}", body or {}, key, api_key)
        return status, payload

    def manual(self, src="alice", dst="bob", amount=500, expires_in_s=None):
        body = {"from": src, "to": dst, "amount": amount, "capture": "manual"}
        if expires_in_s is not None:
            body["expires_in_s"] = expires_in_s
        status, t, _ = self.post("/api/transfers", body, api_key=self.mesh.owner_key(src))
        self.assertEqual(status, 202, t)
        return t

    def settled(self, src="alice", dst="bob", amount=500):
        status, t = self.mesh.transfer(src, dst, amount)
        self.assertEqual(status, 202, t)
        final = self.mesh.wait_final(t["id"])
        self.assertEqual(final["status"], "settled", final)
        return final

    def assert_unchanged(self, tid, before):
        after = self.mesh.transfer_status(tid)
        for field in ("status", "pending_action", "refunds", "refunded_amount", "updated_at"):
            self.assertEqual(after[field], before[field], field)

    def assert_error(self, answer, status, code, field=None):
        got_status, payload = answer
        self.assertEqual(got_status, status, payload)
        self.assertEqual(payload["error"]["code"], code, payload)
        if field is not None:
            self.assertEqual(payload["error"]["field"], field, payload)


class TransferBodyTest(PaymentsCase):
    def test_a_manual_transfer_answers_its_capture_mode_and_expiry(self):
        t = self.manual(expires_in_s=120)
        self.assertEqual((t["status"], t["capture"]), ("pending", "manual"), t)
        self.assertIn("expires_at", t)
        got = self.mesh.transfer_status(t["id"])
        self.assertEqual(got["capture"], "manual")
        self.assertEqual(got["expires_at"], t["expires_at"])

    def test_an_amount_may_be_a_decimal_text_of_the_currency(self):
        status, t = self.mesh.transfer("alice", "bob", "12.34")
        self.assertEqual(status, 202, t)
        self.assertEqual((t["amount"], t["amount_text"]), (1234, "12.34"), t)
        self.assert_error(self.mesh.transfer("alice", "bob", "12.345"), 400, "invalid_field",
                          "amount")

    def test_an_unknown_currency_is_refused_and_creates_nothing(self):
        before = len(self.mesh.all_transfers())
        self.assert_error(self.mesh.transfer("alice", "bob", 100, currency="XYZ"), 422,
                          "unknown_currency", "currency")
        self.assert_error(self.mesh.deposit("alice", 100, currency="XYZ"), 422,
                          "unknown_currency", "currency")
        self.assertEqual(len(self.mesh.all_transfers()), before)

    def test_expires_in_s_is_bounded_and_only_for_manual(self):
        body = {"from": "alice", "to": "bob", "amount": 5, "expires_in_s": 600}
        key = self.mesh.owner_key("alice")
        self.assert_error(self.post("/api/transfers", body, api_key=key)[:2], 400,
                          "invalid_field", "expires_in_s")
        body["capture"] = "manual"
        body["expires_in_s"] = 2592001
        self.assert_error(self.post("/api/transfers", body, api_key=key)[:2], 400,
                          "invalid_field", "expires_in_s")


class CaptureVoidTest(PaymentsCase):
    def test_capture_and_void_of_a_transfer_not_authorized_are_409(self):
        t = self.settled()
        owner = self.mesh.owner_key("alice")
        before = self.mesh.transfer_status(t["id"])
        self.assert_error(self.act(t["id"], "capture", api_key=owner), 409, "invalid_state")
        self.assert_error(self.act(t["id"], "void", api_key=owner), 409, "invalid_state")
        self.assert_error(self.act(t["id"], "capture", {"amount": 1}, api_key=owner), 409,
                          "invalid_state")
        self.assert_unchanged(t["id"], before)

    def test_a_stranger_or_the_payee_gets_404_and_nothing_happens(self):
        t = self.settled()
        before = self.mesh.transfer_status(t["id"])
        for who in ("carol", "bob"):
            self.assert_error(self.act(t["id"], "capture", api_key=self.mesh.owner_key(who)),
                              404, "not_found")
            self.assert_error(self.act(t["id"], "void", api_key=self.mesh.owner_key(who)),
                              404, "not_found")
        self.assert_error(self.act("tr_00000000000000000000", "capture"), 404, "not_found")
        self.assert_error(self.act("nope", "void"), 404, "not_found")
        self.assert_unchanged(t["id"], before)

    def test_capture_needs_an_idempotency_key_and_a_valid_body(self):
        t = self.settled()
        status, p, _ = self.post(f"/api/transfers/{t['id']}/capture", {}, idem=False)
        self.assertEqual((status, p["error"]["code"]), (400, "missing_idempotency_key"), p)
        self.assert_error(self.act(t["id"], "capture", {"amount": "1.001"}), 400,
                          "invalid_field", "amount")
        self.assert_error(self.act(t["id"], "void", {"amount": 1}), 400, "unknown_field",
                          "amount")


class RefundTest(PaymentsCase):
    def test_refunds_of_a_settled_transfer_and_their_limits(self):
        t = self.settled(amount=500)
        payee = self.mesh.owner_key("bob")
        before = self.mesh.transfer_status(t["id"])
        self.assert_error(self.act(t["id"], "refunds", {"amount": 100},
                                   api_key=self.mesh.owner_key("alice")), 404, "not_found")
        self.assert_error(self.act(t["id"], "refunds", {"amount": 100},
                                   api_key=self.mesh.owner_key("carol")), 404, "not_found")
        self.assert_error(self.act(t["id"], "refunds", {"amount": 501}, api_key=payee), 422,
                          "exceeds_refundable", "amount")
        self.assert_unchanged(t["id"], before)
        status, r = self.act(t["id"], "refunds", {"amount": "3.00", "reference": "sorry"},
                             key="refund-1", api_key=payee)
        self.assertEqual(status, 202, r)
        self.assertEqual((r["kind"], r["refund_of"], r["from"], r["to"], r["amount"]),
                         ("refund", t["id"], "bob", "alice", 300), r)
        # The first refund counts while pending or settled: 300 + 300 > 500. (Only a declined
        # one gives its amount back: an accounts node without refunds may decline it at once.)
        status, second = self.act(t["id"], "refunds", {"amount": 300}, api_key=payee)
        if status == 202:
            self.assertEqual(self.mesh.transfer_status(r["id"])["status"], "declined", second)
        else:
            self.assert_error((status, second), 422, "exceeds_refundable")
        status, again, headers = self.post(f"/api/transfers/{t['id']}/refunds",
                                           {"amount": "3.00", "reference": "sorry"},
                                           key="refund-1", api_key=payee)
        self.assertEqual((status, again["id"]), (202, r["id"]), again)
        self.assertEqual(headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(self.mesh.transfer_status(t["id"])["refunds"][0], r["id"])
        self.assertEqual(self.mesh.transfer_status(r["id"])["refund_of"], t["id"])

    def test_a_refund_of_a_pending_transfer_or_a_deposit_is_409(self):
        t = self.manual()
        self.assert_error(self.act(t["id"], "refunds", {"amount": 1}), 409, "invalid_state")
        deposit = self.mesh.fund("alice", 100)
        self.assert_error(self.act(deposit["id"], "refunds", {"amount": 1}), 409, "invalid_state")


class ListFilterTest(PaymentsCase):
    def ids(self, query, api_key=None):
        status, page = self.mesh.get(f"/api/transfers?{query}", key=api_key)
        self.assertEqual(status, 200, page)
        return [t["id"] for t in page["transfers"]], page

    def test_filters_select_and_bad_values_name_their_field(self):
        a = self.settled("alice", "bob", 100)
        c = self.settled("carol", "dave", 100)
        ids, _ = self.ids("account=carol&limit=200")
        self.assertIn(c["id"], ids)
        self.assertNotIn(a["id"], ids)
        ids, _ = self.ids("status=settled&kind=deposit&limit=200")
        self.assertNotIn(a["id"], ids)
        self.assertTrue(ids)
        ids, _ = self.ids(f"created_from={a['created_at']}&limit=200")
        self.assertIn(a["id"], ids)
        ids, _ = self.ids(f"created_to={a['created_at']}&limit=200")
        self.assertNotIn(a["id"], ids)
        # A customer's filtered list is its own.
        ids, _ = self.ids("account=carol", api_key=self.mesh.owner_key("alice"))
        self.assertEqual(ids, [])
        for query, field in (("status=done", "status"), ("kind=gift", "kind"),
                             ("account=A!", "account"), ("created_from=yesterday", "created_from"),
                             ("created_from=2026-01-02T00:00:00Z&created_to=2026-01-01T00:00:00Z",
                              "created_to")):
            status, p = self.mesh.get(f"/api/transfers?{query}")
            self.assertEqual((status, p["error"]["code"], p["error"]["field"]),
                             (400, "invalid_query", field), p)

    def test_filtered_pages_concatenate(self):
        for _ in range(3):
            self.settled("carol", "dave", 10)
        seen, cursor = [], ""
        while True:
            ids, page = self.ids(f"account=dave&limit=1&cursor={cursor}")
            seen.extend(ids)
            cursor = page["next_cursor"]
            if not cursor:
                break
        every = [t["id"] for t in self.mesh.all_transfers(with_funding=True)
                 if "dave" in (t["from"], t["to"])]
        self.assertEqual(seen, every)


class EndToEndTest(PaymentsCase):
    """Through the accounts node's life cycle (i21-saga): authorised, captured, voided,
    refunded. Skipped on a build whose accounts node settles a manual transfer at once."""

    def authorized(self, amount=500):
        t = self.manual(amount=amount)
        final = wait_until(lambda: (lambda x: x if x["status"] != "pending" else None)(
            self.mesh.transfer_status(t["id"])), 20, "the verdict")
        if final["status"] == "settled":
            self.skipTest("this build's accounts node does not authorise manual transfers")
        self.assertEqual(final["status"], "authorized", final)
        return final

    def wait_status(self, tid, status):
        return wait_until(lambda: (lambda x: x if x["status"] == status else None)(
            self.mesh.transfer_status(tid)), 20, f"{tid} to be {status}")

    def test_a_partial_capture_settles_the_captured_amount_and_releases_the_rest(self):
        before = self.mesh.accounts()
        t = self.authorized(500)
        self.assertEqual(self.mesh.accounts()["alice"]["held"], before["alice"]["held"] + 500)
        status, got = self.act(t["id"], "capture", {"amount": "3.00"},
                               api_key=self.mesh.owner_key("alice"))
        self.assertEqual((status, got["pending_action"]), (202, "capture"), got)
        final = self.wait_status(t["id"], "settled")
        self.assertEqual((final["captured_amount"], final["pending_action"]), (300, None), final)
        after = self.mesh.accounts()
        self.assertEqual(after["alice"]["balance"], before["alice"]["balance"] - 300)
        self.assertEqual(after["alice"]["held"], before["alice"]["held"])
        self.assertEqual(after["bob"]["balance"], before["bob"]["balance"] + 300)
        self.assert_error(self.act(t["id"], "capture"), 409, "invalid_state")

    def test_a_void_releases_the_hold_and_nothing_moves(self):
        before = self.mesh.accounts()
        t = self.authorized(500)
        self.assert_error(self.act(t["id"], "capture", {"amount": 501}), 422,
                          "exceeds_authorized", "amount")
        status, got = self.act(t["id"], "void", api_key=self.mesh.owner_key("alice"))
        self.assertEqual((status, got["pending_action"]), (202, "void"), got)
        self.assert_error(self.act(t["id"], "capture"), 409, "invalid_state")
        self.assertEqual(self.wait_status(t["id"], "voided")["reason"]["code"], "voided")
        self.mesh.wait_outboxes_empty()
        self.assertEqual(self.mesh.accounts(), before)

    def test_refunds_settle_back_and_count_on_the_original(self):
        t = self.authorized(500)  # also skips on a build without the life cycle
        self.act(t["id"], "void")
        orig = self.settled(amount=500)
        before = self.mesh.accounts()
        status, r = self.act(orig["id"], "refunds", {"amount": 200},
                             api_key=self.mesh.owner_key("bob"))
        self.assertEqual(status, 202, r)
        self.assertEqual(self.mesh.wait_final(r["id"])["status"], "settled")
        got = wait_until(lambda: (lambda x: x if x["refunded_amount"] == 200 else None)(
            self.mesh.transfer_status(orig["id"])), 20, "the refund to count")
        self.assertEqual(got["refunds"], [r["id"]])
        after = self.mesh.accounts()
        self.assertEqual(after["bob"]["balance"], before["bob"]["balance"] - 200)
        self.assertEqual(after["alice"]["balance"], before["alice"]["balance"] + 200)
        status, r2 = self.act(orig["id"], "refunds", {}, api_key=self.mesh.owner_key("bob"))
        self.assertEqual((status, r2["amount"]), (202, 300), r2)
        self.assertEqual(self.mesh.wait_final(r2["id"])["status"], "settled")
        self.assert_error(self.act(orig["id"], "refunds", {"amount": 1}), 422,
                          "exceeds_refundable")


if __name__ == "__main__":
    unittest.main()
