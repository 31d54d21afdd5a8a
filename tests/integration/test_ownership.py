"""Ownership through the real binaries (nodes/gateway/gateway_owners.h): only an
account's owner sends from it, and each principal reads only what it owns.

Every test acts as the owners: customer principals made with mesh.principal,
accounts opened for them by the operator (POST /api/accounts {"owner": ...}).
No money is needed: a transfer from an empty account is accepted and ends
declined, and it is as visible as a settled one. Every refusal is checked
for what did NOT happen: no transfer in the operator's list, no outbox entry,
no change of a balance, the Idempotency-Key still free.
"""
import json
import os
import unittest

from mesh import MeshTest, sample, wait_until
from test_events import SseStream


class OwnershipTest(MeshTest):
    def open_for(self, account, owner):
        status, payload, _ = self.mesh.request(
            "POST", "/api/accounts", {"id": account, "name": account.title(), "owner": owner})
        self.assertEqual(status, 201, payload)
        return payload

    def customers(self):
        """ann owns acc-ann, ben owns acc-ben; their keys."""
        ann, ben = self.mesh.principal("ann"), self.mesh.principal("ben")
        self.open_for("acc-ann", "ann")
        self.open_for("acc-ben", "ben")
        return ann, ben

    def send(self, key, src, dst, idem, amount=5):
        return self.mesh.request("POST", "/api/transfers",
                                 {"from": src, "to": dst, "amount": amount},
                                 {"Idempotency-Key": idem}, key=key)

    def outbox_depth(self):
        return sample(self.mesh.metrics("gateway"), "ledger_outbox_depth")

    def test_opening_needs_an_existing_owner_and_records_it(self):
        self.mesh.principal("ann")
        status, payload, _ = self.mesh.request(
            "POST", "/api/accounts", {"id": "acc-x", "name": "X", "owner": "ghost"})
        self.assertEqual((status, payload["error"]["code"], payload["error"]["field"]),
                         (422, "invalid_owner", "owner"))
        status, payload, _ = self.mesh.request("POST", "/api/accounts", {"id": "acc-x", "name": "X"})
        self.assertEqual((status, payload["error"]["code"]), (400, "missing_field"))
        self.assertNotIn("acc-x", self.mesh.accounts())
        self.open_for("acc-x", "ann")
        status, p, _ = self.mesh.admin("gateway", "GET", "/principals/ann",
                                       headers=self.mesh.admin_headers())
        self.assertEqual((status, p["accounts"]), (200, ["acc-x"]))

    def test_a_transfer_from_another_principals_account_is_403_and_creates_nothing(self):
        ann, ben = self.customers()
        self.mesh.wait_outboxes_empty()
        before = (self.mesh.all_transfers(), self.mesh.accounts(), self.outbox_depth())
        idem = f"own-{os.getpid()}"
        for src in ("acc-ben", "no-such-account", "funding"):
            status, payload, _ = self.send(ann, src, "acc-ann", idem)
            self.assertEqual(status, 403, (src, payload))
            self.assertEqual((payload["error"]["code"], payload["error"]["field"]),
                             ("forbidden_account", "from"))
        status, payload, _ = self.mesh.request(
            "POST", "/api/transfers/batch",
            {"transfers": [{"idempotency_key": idem, "from": "acc-ben", "to": "acc-ann",
                            "amount": 5}]}, key=ann)
        self.assertEqual(status, 200, payload)
        self.assertEqual((payload["rejected"], payload["results"][0]["status"],
                          payload["results"][0]["error"]["code"]), (1, 403, "forbidden_account"))
        self.assertEqual((self.mesh.all_transfers(), self.mesh.accounts(), self.outbox_depth()),
                         before)
        # The key stayed free: ann's valid request under it is a new transfer.
        status, payload, headers = self.send(ann, "acc-ann", "acc-ben", idem)
        self.assertEqual(status, 202, payload)
        self.assertNotIn("Idempotent-Replayed", headers)

    def test_another_principals_account_and_ledger_read_as_missing(self):
        ann, ben = self.customers()
        status, mine = self.mesh.get("/api/accounts", key=ann)
        self.assertEqual(status, 200, mine)
        self.assertEqual([a["id"] for a in mine["accounts"]], ["acc-ann"])
        self.assertEqual(self.mesh.get("/api/accounts/acc-ann", key=ann)[0], 200)
        missing = self.mesh.get("/api/accounts/no-such-account", key=ann)
        self.assertEqual(missing[0], 404)
        for path in ("/api/accounts/acc-ben", "/api/accounts/acc-ben/ledger",
                     "/api/accounts/funding"):
            self.assertEqual(self.mesh.get(path, key=ann), missing, path)
        self.assertEqual(self.mesh.get("/api/accounts/no-such-account/ledger", key=ann), missing)
        # The operator reads every account.
        self.assertTrue({"acc-ann", "acc-ben", "funding"} <= set(self.mesh.accounts()))

    def test_a_transfer_is_visible_to_the_owners_of_from_and_to_only(self):
        ann, ben = self.customers()
        cat = self.mesh.principal("cat")
        self.open_for("acc-cat", "cat")
        status, t, _ = self.send(ann, "acc-ann", "acc-ben", "vis-1")
        self.assertEqual(status, 202, t)
        status, other, _ = self.send(cat, "acc-cat", "acc-ann", "vis-2")
        self.assertEqual(status, 202, other)
        path = f"/api/transfers/{t['id']}"
        for key in (ann, ben):
            self.assertEqual(self.mesh.get(path, key=key)[0], 200)
        missing = self.mesh.get("/api/transfers/tr_00000000000000000000", key=cat)
        self.assertEqual(missing[0], 404)
        self.assertEqual(self.mesh.get(path, key=cat), missing)
        self.assertEqual(self.mesh.get(path)[0], 200)  # the operator

        def ids(key):
            status, page = self.mesh.get("/api/transfers?limit=200", key=key)
            self.assertEqual(status, 200, page)
            return [x["id"] for x in page["transfers"]]
        self.assertEqual(ids(ann), [other["id"], t["id"]])  # newest first
        self.assertEqual(ids(ben), [t["id"]])
        self.assertEqual(ids(cat), [other["id"]])
        self.assertTrue({t["id"], other["id"]} <= set(ids(None)))
        status, page = self.mesh.get("/api/transfers?limit=1", key=ann)
        self.assertEqual((page["transfers"][0]["id"], page["next_cursor"]),
                         (other["id"], other["id"]))
        status, page = self.mesh.get(f"/api/transfers?limit=1&cursor={other['id']}", key=ann)
        self.assertEqual(([x["id"] for x in page["transfers"]], page["next_cursor"]),
                         ([t["id"]], None))


FINAL_TYPES = ("transfer.settled", "transfer.declined", "transfer.rejected_fraud")


class EventVisibilityTest(MeshTest):
    """/api/events carries a principal only the events of transfers it may see (the owners of
    from and to; an operator sees all), and fraud rules and decline reasons only to principals
    with risk:read. The demo accounts are owned by the principals with their ids."""

    def setUp(self):
        super().setUp()
        self.streams = []
        wait_until(lambda: "event=owners_fill_done" in self.mesh.log("gateway"), 20.0,
                   "the gateway's owner map to be filled from the accounts node")
        self.keys = {p: self.mesh.principal(p) for p in ("carol", "dave", "bob")}

    def tearDown(self):
        for s in self.streams:
            s.close()
        super().tearDown()

    def stream(self, key, **kw):
        s = SseStream(self.mesh.http_port, key=key, **kw)
        self.streams.append(s)
        self.assertEqual(s.status, 200, getattr(s, "error", None))
        return s

    def send(self, who, dst, amount):
        status, t = self.mesh.transfer(who, dst, amount, api_key=self.keys[who])
        self.assertEqual(status, 202, t)
        return t["id"]

    def read_until(self, s, *tids):
        """Every event of the stream until each transfer of `tids` had its final event, and the
        raw text of their data lines; the deposits that funded the demo accounts (mesh.py
        fund_demo, visible to each account's owner) are left out."""
        events, raw, pending = [], "", set(tids)
        while pending:
            block = s.next_event(15.0)
            if block is None:
                raise AssertionError(f"stream ended before {pending} ended; got "
                                     f"{[(e['type'], e['transfer']['id']) for e in events]}")
            event = json.loads(block["data"])
            if event["transfer"]["id"] in self.mesh.funding_ids:
                continue
            raw += block["data"]
            events.append(event)
            if event["type"] in FINAL_TYPES:
                pending.discard(event["transfer"]["id"])
        return events, raw

    def test_each_principal_sees_only_its_transfers_and_the_operator_sees_all(self):
        streams = {who: self.stream(self.keys[who]) for who in ("carol", "dave", "bob")}
        operator = self.stream(self.mesh.key)
        for s in [*streams.values(), operator]:
            self.assertEqual(s.next_block().get("retry"), "2000")  # the preamble
        fraud = self.send("carol", "bob", 150000)  # over the 1,000.00 threshold: rejected_fraud
        broke = self.send("dave", "bob", 10000)  # dave has 50.00: declined insufficient_funds
        events, _ = self.read_until(operator, fraud, broke)
        seen = {e["transfer"]["id"]: e["transfer"] for e in events}  # each as of its last event
        # The operator (risk:read) sees both, with the rules and the accounts node's reason.
        self.assertIn("amount_over_threshold", seen[fraud]["reason"]["rules"])
        self.assertEqual(seen[broke]["reason"]["code"], "insufficient_funds")
        self.assertIn("available 50.00", seen[broke]["reason"]["message"])
        # bob owns `to` of both: he sees both, redacted.
        events, raw = self.read_until(streams["bob"], fraud, broke)
        self.assertEqual({e["transfer"]["id"] for e in events}, {fraud, broke})
        self.assertNotIn("amount_over_threshold", raw)
        # carol and dave each see only their own, up to a later transfer of their own: every
        # event before it on the log has passed their stream's filter by then.
        for who, mine, other in (("carol", fraud, broke), ("dave", broke, fraud)):
            sentinel = self.send(who, "bob", 1)
            events, raw = self.read_until(streams[who], sentinel)
            self.assertEqual({e["transfer"]["id"] for e in events}, {mine, sentinel}, who)
            self.assertNotIn(other, raw, who)
            self.assertNotIn("rules", raw, who)
            for e in events:
                self.assertTrue(all("rules" not in st for st in e["transfer"]["timeline"]))
        # What the customers were told: the status and the code, a generic message.
        _, mine = self.mesh.get(f"/api/transfers/{fraud}", key=self.keys["carol"])
        self.assertEqual((mine["status"], mine["reason"]["code"]), ("rejected_fraud", "fraud_rejected"))
        self.assertNotIn("rules", mine["reason"])
        self.assertEqual(mine["reason"]["message"],
                         "the transfer was refused by the bank's fraud checks")
        self.assertTrue(all("rules" not in st for st in mine["timeline"]))
        _, mine = self.mesh.get(f"/api/transfers/{broke}", key=self.keys["dave"])
        self.assertEqual(mine["reason"], {"code": "insufficient_funds",
                                          "message": "the account cannot cover this amount"})
        _, page = self.mesh.get("/api/transfers", key=self.keys["bob"])
        listed = {t["id"]: t for t in page["transfers"]}
        self.assertNotIn("rules", listed[fraud]["reason"])
        # The operator reads the same transfer with the rules, as the demo's timeline shows them.
        full = self.mesh.transfer_status(fraud)
        self.assertIn("amount_over_threshold", full["reason"]["rules"])
        self.assertTrue(any("amount_over_threshold" in st.get("rules", []) for st in full["timeline"]))

    def test_a_replay_from_the_log_is_filtered_too(self):
        mine = self.send("dave", "bob", 100)
        other = self.send("carol", "bob", 100)
        self.mesh.wait_final(other)
        sentinel = self.send("dave", "bob", 1)
        s = self.stream(self.keys["dave"], last_event_id=0)  # every stored event again
        events, raw = self.read_until(s, sentinel)
        ids = {e["transfer"]["id"] for e in events}
        self.assertIn(mine, ids)
        self.assertNotIn(other, raw)
        self.assertTrue(ids <= {mine, sentinel}, ids)
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, sorted(seqs))


if __name__ == "__main__":
    unittest.main()
