"""The accounts node's side of issue 21 through the real binaries, driven
straight at its inbox as the gateway (as test_ownership_node.py does: the
gateway's routes for these are another part of the issue): a manual transfer
is authorised and then captured in part, voided, or left to expire by the
accounts node itself; refunds, two of which race for the same money; and the
risk timeout, with the fraud node away, declining risk_unavailable, its late
verdict changing nothing. After each: the ledger verifies and money is where
it should be. Waits are conditions with deadlines.

Messages go over CURVE with the gateway's key (only the gateway may send
transfer.requested, .capture and .void to the accounts node); their ids are
gateway/(2**31 + n), clear of the real gateway's sequence. The accounts feed
is read by a SUB with the gateway's key."""
import struct
import time
import unittest

import msgpack
import zmq

from mesh import wait_until
from test_operator import OperatorMeshTest


class PaymentsNodeTest(OperatorMeshTest):
    def setUp(self):
        super().setUp()
        self.sent = 0
        self.feed_records = []
        self.feed = self.mesh.peer_socket("accounts", key="gateway", kind=zmq.SUB)
        self.addCleanup(self.feed.close)
        # PUB/SUB joins late: tiny transfers alice -> bob until the feed shows one.
        def seen():
            self.request(f"tr_warm_{self.sent}", amount=1)
            return len(self.read_feed()) > 0
        wait_until(seen, 30, "the SUB to receive the accounts feed")
        self.mesh.wait_outboxes_empty(["accounts"])

    # --- talking to the accounts node as the gateway ---------------------------
    def send(self, msg_type, corr, body):
        self.sent += 1
        msg = {"v": 1, "id": f"gateway/{2**31 + self.sent}", "type": msg_type, "corr": corr,
               "cause": "", "ts": int(time.time() * 1000), "body": body}
        sock = self.mesh.peer_socket("accounts", key="gateway")
        try:
            sock.send_multipart([struct.pack(">Q", self.sent), msgpack.packb(msg)])
            self.assertTrue(sock.poll(5000), f"no answer from accounts to {msg_type} {corr}")
            tag, answer = sock.recv_multipart()
        finally:
            sock.close()
        self.assertEqual(struct.unpack(">Q", tag)[0], self.sent)
        return msgpack.unpackb(answer)

    def request(self, transfer, src="alice", dst="bob", amount=500, principal=None, **extra):
        body = {"transfer": transfer, "from": src, "to": dst, "amount_minor": amount,
                "currency": "GBP", "reference": "issue 21", "principal": principal or src,
                "kind": "transfer", **extra}
        self.assertEqual(self.send("transfer.requested", transfer, body)["type"], "ack")

    def manual(self, transfer, amount=500, expires_in_ms=3600_000):
        self.request(transfer, amount=amount, capture="manual",
                     expires_at_ms=int(time.time() * 1000) + expires_in_ms)

    def action(self, msg_type, transfer, principal="alice", amount=None):
        body = {"transfer": transfer, "principal": principal, "operator": False}
        if amount is not None:
            body["amount_minor"] = amount
        return self.send(msg_type, transfer, body)["type"]

    # --- the feed ----------------------------------------------------------------
    def read_feed(self):
        while self.feed.poll(0):
            topic, frame = self.feed.recv_multipart()
            self.feed_records.append({"topic": topic.decode(), "message": msgpack.unpackb(frame)})
        return self.feed_records

    def topics(self, transfer):
        return [r["topic"] for r in self.read_feed() if r["message"]["corr"] == transfer]

    def wait_event(self, transfer, topic, timeout=20):
        wait_until(lambda: topic in self.topics(transfer), timeout,
                   f"{topic} of {transfer} on the accounts feed")
        return next(r["message"] for r in self.feed_records
                    if r["message"]["corr"] == transfer and r["topic"] == topic)

    # --- the books ---------------------------------------------------------------
    def books(self):
        accounts = self.mesh.accounts()
        return {a: (accounts[a]["balance"], accounts[a]["held"]) for a in ("alice", "bob")}

    def wait_books(self, want):
        wait_until(lambda: self.books() == want, 20, f"balances and holds {want}")

    def assert_verified(self):
        status, verify, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
        self.assertEqual(status, 200)
        self.assertTrue(verify["ok"], verify)


class AuthoriseCaptureTest(PaymentsNodeTest):
    def test_authorise_then_capture_part_settles_that_part_and_releases_the_rest(self):
        (a0, _), (b0, _) = self.books()["alice"], self.books()["bob"]
        self.manual("tr_auth", amount=800)
        authorized = self.wait_event("tr_auth", "transfer.authorized")
        self.assertEqual(authorized["body"]["capture"], "manual")
        self.wait_books({"alice": (a0, 800), "bob": (b0, 0)})
        self.assertEqual(self.action("transfer.capture", "tr_auth", amount=300), "ack")
        settled = self.wait_event("tr_auth", "transfer.settled")
        self.assertEqual(settled["body"]["captured_minor"], 300)
        self.wait_books({"alice": (a0 - 300, 0), "bob": (b0 + 300, 0)})
        # a second capture and a void now change nothing (acked, no event)
        self.assertEqual(self.action("transfer.capture", "tr_auth", amount=300), "ack")
        self.assertEqual(self.action("transfer.void", "tr_auth"), "ack")
        self.mesh.wait_outboxes_empty(["accounts"])
        self.assertEqual(self.topics("tr_auth").count("transfer.settled"), 1)
        self.assertNotIn("transfer.voided", self.topics("tr_auth"))
        self.assertEqual(self.books(), {"alice": (a0 - 300, 0), "bob": (b0 + 300, 0)})
        self.assert_verified()

    def test_capture_over_the_authorised_amount_or_by_another_is_refused(self):
        before = self.books()
        self.manual("tr_over", amount=400)
        self.wait_event("tr_over", "transfer.authorized")
        self.assertEqual(self.action("transfer.capture", "tr_over", amount=401), "nack")
        self.assertEqual(self.action("transfer.capture", "tr_over", principal="bob",
                                     amount=100), "nack")
        self.assertEqual(self.action("transfer.void", "tr_over", principal="mallory"), "nack")
        self.mesh.wait_outboxes_empty(["accounts"])
        self.assertEqual(self.books()["alice"], (before["alice"][0], 400))  # still held
        self.assertEqual(self.action("transfer.void", "tr_over"), "ack")
        voided = self.wait_event("tr_over", "transfer.voided")
        self.assertEqual(voided["body"]["code"], "voided")
        self.wait_books(before)
        self.assert_verified()

    def test_an_authorisation_expires_by_itself_and_a_late_capture_changes_nothing(self):
        before = self.books()
        self.manual("tr_exp", amount=700, expires_in_ms=1500)
        self.wait_event("tr_exp", "transfer.authorized")
        expired = self.wait_event("tr_exp", "transfer.expired", timeout=30)
        self.assertEqual(expired["body"]["code"], "expired")
        self.wait_books(before)
        self.assertEqual(self.action("transfer.capture", "tr_exp", amount=700), "ack")
        self.mesh.wait_outboxes_empty(["accounts"])
        self.assertNotIn("transfer.settled", self.topics("tr_exp"))
        self.assertEqual(self.books(), before)
        self.assert_verified()


class RefundNodeTest(PaymentsNodeTest):
    def test_refunds_settle_back_and_of_two_racing_only_one_gets_the_money(self):
        self.request("tr_paid", amount=1000)
        self.wait_event("tr_paid", "transfer.settled")
        self.mesh.wait_outboxes_empty(["accounts"])
        before = self.books()
        refund = {"kind": "refund", "refund_of": "tr_paid"}
        self.request("tr_ref1", src="bob", dst="alice", amount=400, **refund)
        settled = self.wait_event("tr_ref1", "transfer.settled")
        self.assertEqual(settled["body"]["kind"], "refund")
        self.assertEqual(settled["body"]["refund_of"], "tr_paid")
        # 600 left: two refunds of 400 sent back to back, one is reserved, the other declined
        self.request("tr_ref2", src="bob", dst="alice", amount=400, **refund)
        self.request("tr_ref3", src="bob", dst="alice", amount=400, **refund)
        self.wait_event("tr_ref2", "transfer.settled")
        declined = self.wait_event("tr_ref3", "transfer.declined")
        self.assertEqual(declined["body"]["code"], "exceeds_refundable")
        self.request("tr_ref4", src="bob", dst="alice", amount=200, principal="alice", **refund)
        self.assertEqual(self.wait_event("tr_ref4", "transfer.declined")["body"]["code"],
                         "forbidden_account")  # only the payee (or an operator) refunds
        (a, _), (b, _) = before["alice"], before["bob"]
        self.wait_books({"alice": (a + 800, 0), "bob": (b - 800, 0)})
        self.assert_verified()


class RiskTimeoutNodeTest(PaymentsNodeTest):
    mesh_options = dict(PaymentsNodeTest.mesh_options,
                        env={"accounts": {"LEDGER_RISK_TIMEOUT_MS": "1500"}})

    def test_no_verdict_in_time_declines_risk_unavailable_and_a_late_one_changes_nothing(self):
        before = self.books()
        self.mesh.stop("fraud")
        self.request("tr_wait", amount=900)
        self.wait_event("tr_wait", "funds.reserved")
        self.assertEqual(self.books()["alice"], (before["alice"][0], 900))
        declined = self.wait_event("tr_wait", "transfer.declined", timeout=30)
        self.assertEqual(declined["body"]["code"], "risk_unavailable")
        self.wait_books(before)
        # fraud comes back, gets the funds.reserved, approves it: too late, nothing moves
        self.mesh.start("fraud")
        self.mesh.wait_outboxes_empty(["accounts", "fraud"], timeout=30)
        self.assertNotIn("transfer.settled", self.topics("tr_wait"))
        self.assertEqual(self.books(), before)
        self.assert_verified()


class ReservedHoldsNodeTest(PaymentsNodeTest):
    """A reserved transfer's hold lives in the accounts node's memory, not in its
    hold index (accounts_reserved.h): it is listed while fraud is away, still
    listed after the node is SIGKILLed and started again (rebuilt from the
    transfer's risk timer), and gone once the verdict settles it."""

    def holds(self):
        status, acct = self.mesh.get("/api/accounts/alice?expand=holds")
        self.assertEqual(status, 200, acct)
        return acct

    def test_a_reserved_hold_is_listed_across_a_crash_and_leaves_when_settled(self):
        before = self.books()
        self.mesh.stop("fraud")
        self.request("tr_held", amount=700)
        self.wait_event("tr_held", "funds.reserved")
        acct = self.holds()
        self.assertEqual([(h["transfer"], h["amount"]) for h in acct["holds"]],
                         [("tr_held", 700)], acct)
        self.assertEqual(sum(h["amount"] for h in acct["holds"]), acct["held"])
        self.mesh.restart("accounts")  # SIGKILL, then a fresh start on the same data dir
        wait_until(lambda: [h["transfer"] for h in self.holds()["holds"]] == ["tr_held"], 30,
                   "the reserved hold listed again after the restart")
        self.assertEqual(self.books()["alice"], (before["alice"][0], 700))
        self.mesh.start("fraud")
        self.wait_event("tr_held", "transfer.settled", timeout=30)
        wait_until(lambda: self.holds()["holds"] == [], 20, "the settled hold to leave the list")
        self.wait_books({"alice": (before["alice"][0] - 700, 0),
                         "bob": (before["bob"][0] + 700, 0)})
        self.assert_verified()


class ReservedCrashNodeTest(PaymentsNodeTest):
    """Transfers reserved while fraud is away, with the accounts node SIGKILLed twice among
    them (its reserved holds and their risk deadlines live in memory until a checkpoint,
    accounts_reserved.h): after the risk timeout every one is released, none is forgotten
    or released twice, money is where it was and the ledger verifies."""
    mesh_options = dict(PaymentsNodeTest.mesh_options,
                        env={"accounts": {"LEDGER_RISK_TIMEOUT_MS": "3000"}})

    def test_no_reserved_transfer_is_forgotten_across_crashes(self):
        before = self.books()
        self.mesh.stop("fraud")
        amounts = {}
        for round_ in range(3):
            for i in range(10):
                tid = f"tr_crash_{round_}_{i}"
                amounts[tid] = 10 + i
                self.request(tid, amount=amounts[tid])
            if round_ < 2:
                self.mesh.restart("accounts")  # SIGKILL with holds only in memory
                wait_until(lambda: self.mesh.answers("accounts"), 30, "accounts to start again")
        held = sum(amounts.values())
        self.assertEqual(self.books()["alice"], (before["alice"][0], held))
        self.wait_books(before)  # every hold released by the risk timeout, once
        self.assert_verified()
        status, page = self.mesh.get("/api/accounts/alice/ledger?limit=200")
        self.assertEqual(status, 200, page)
        self.assertIsNone(page["next_cursor"], "alice's ledger fits one page")
        kinds = {}
        for e in page["entries"]:
            if e["transfer"] in amounts:
                kinds.setdefault(e["transfer"], []).append(e["kind"])
        self.assertEqual({t: sorted(k) for t, k in kinds.items()},
                         {t: ["hold", "release"] for t in amounts})


if __name__ == "__main__":
    unittest.main()
