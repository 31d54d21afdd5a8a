"""Issue 20: `seen` stays bounded, and what it forgot is refused, never applied twice.

Each node keeps, per origin, the ids within --seen-window of the origin's highest (and younger
than the time retention), and a floor: the highest id it ever pruned (store/store.h, "seen
message ids"). An id at or below the floor that is not in `seen` cannot be told from an old
duplicate: it is nacked `id_too_old`, counted and logged, and nothing is applied. A recent id
sent again is still a duplicate (acked, nothing applied).

The nodes' tables are read while they run with `mdb_dump` (an LMDB read transaction of
another process), so the tests see the floors and the table's size as they are on disk.
Every wait is a condition with a deadline (mesh.wait_until).
"""
import os
import re
import subprocess
import time
import unittest

from mesh import wait_until
from test_links import LinksTest, MANY, verdict

WINDOW = 16  # --seen-window of the accounts node here (NODE_SEEN_WINDOW_MIN, the smallest)
FLOOR_KEY = b"store:seen_floor:"
ORIGIN_BYTES = 32  # STORE_ORIGIN_MAX: a seen key is the origin NUL-padded, then a be64 seq


def dump(data_dir, table):
    """{key bytes: value bytes} of `table` in the data dir of a running node."""
    text = subprocess.run(["mdb_dump", "-s", table, data_dir], check=True, capture_output=True,
                          text=True).stdout
    lines = text.split("HEADER=END\n", 1)[1].split("DATA=END", 1)[0].split()
    return {bytes.fromhex(lines[i]): bytes.fromhex(lines[i + 1])
            for i in range(0, len(lines) - 1, 2)}


class SeenBase(LinksTest):
    """Helpers: the nodes' tables on disk, many settled transfers."""

    def data_dir(self, node):
        return os.path.join(self.mesh.tmp, "data", node)

    def floor(self, node, origin):
        value = dump(self.data_dir(node), "meta").get(FLOOR_KEY + origin.encode())
        return int.from_bytes(value, "big") if value else 0

    def seen_ids(self, node):
        """{origin: sorted seqs} of `node`'s seen table."""
        ids = {}
        for key in dump(self.data_dir(node), "seen"):
            origin = key[:ORIGIN_BYTES].rstrip(b"\0").decode()
            ids.setdefault(origin, []).append(int.from_bytes(key[ORIGIN_BYTES:], "big"))
        return {origin: sorted(seqs) for origin, seqs in ids.items()}

    def settle_many(self, count):
        sent = []
        for i in range(count):
            status, t = self.mesh.transfer("carol", "dave", 1, reference=f"seen {i}")
            self.assertEqual(status, 202, t)
            sent.append(t["id"])
        for tid in sent:
            self.assert_ends(tid, "settled")


class SeenTest(SeenBase):
    mesh_options = {"fraud_rules": MANY,
                    "env": {"accounts": {"LEDGER_SEEN_WINDOW": str(WINDOW)}}}

    def test_seen_keeps_a_window_per_origin_under_load(self):
        """Hundreds of ids with a window of 16: the table ends with at most 16 + 1 ids per
        origin (the highest and those of the 16 behind it that came here: an origin's ids
        interleave over its peers), whatever was sent, and the floor sits just below."""
        self.settle_many(120)
        fraud_high = self.fraud_high()

        def trimmed():
            ids = self.seen_ids("accounts")
            return ids if all(len(seqs) <= WINDOW + 1 for seqs in ids.values()) else None
        ids = wait_until(trimmed, what="accounts to prune its seen ids to the window")
        self.assertEqual(set(ids), {"gateway", "fraud"}, ids)
        self.assertEqual(ids["fraud"][-1], fraud_high)
        for origin, seqs in ids.items():
            self.assertGreaterEqual(seqs[0], seqs[-1] - WINDOW, origin)  # nothing older
            floor = self.floor("accounts", origin)
            self.assertTrue(0 < floor < seqs[0], (origin, floor, seqs))
        self.assert_verified()

    def test_an_id_below_the_floor_is_refused_and_a_recent_one_is_a_duplicate(self):
        self.settle_many(40)
        applied = [int(s) for s in re.findall(r"event=applied id=fraud/(\d+) ",
                                              self.mesh.log("accounts"))]
        oldest, newest = min(applied), max(applied)
        wait_until(lambda: self.floor("accounts", "fraud") >= oldest,
                   what=f"accounts to prune fraud/{oldest}")
        self.mesh.stop("fraud")
        tid, cause = self.stalled("alice", "bob", 500)
        before = self.mesh.accounts()
        self.assertEqual(before["alice"]["held"], 500)

        # fraud's own key, an id it did send long ago (applied, then pruned): not applied
        answer = self.ask("accounts", "fraud", verdict(f"fraud/{oldest}", tid, cause))
        self.assert_nack(answer, "id_too_old")
        self.assertIn(f"fraud/{oldest} is at or below fraud/", answer["body"]["reason"])
        self.assert_refused("accounts", "id_too_old", "fraud.approved", 1)
        wait_until(lambda: re.search(rf"event=nack id=fraud/{oldest} .*code=id_too_old",
                                     self.mesh.log("accounts")),
                   what="accounts to log the refusal")
        self.assert_status(tid, "pending")
        self.assertEqual(self.mesh.accounts(), before)

        # the newest id it sent, again (a redelivery after a lost ack): a duplicate
        answer = self.ask("accounts", "fraud", verdict(f"fraud/{newest}", tid, cause))
        self.assertEqual(answer["type"], "ack", answer)
        wait_until(lambda: f"event=duplicate id=fraud/{newest} " in self.mesh.log("accounts"),
                   what="accounts to log the redelivery as a duplicate")
        self.assert_status(tid, "pending")
        self.assertEqual(self.mesh.accounts(), before)

        # the real verdict still settles the transfer, once
        self.mesh.start("fraud")
        self.assert_ends(tid, "settled")
        self.mesh.wait_outboxes_empty(timeout=30)
        after = self.mesh.accounts()
        self.assertEqual(after["alice"]["balance"], before["alice"]["balance"] - 500)
        self.assertEqual(after["alice"]["held"], 0)
        self.assertEqual(after["bob"]["balance"], before["bob"]["balance"] + 500)
        self.assert_verified()
        self.assert_verdicts_applied(newest)


class FraudRetentionTest(SeenBase):
    """Fraud keeps decisions --decision-retention-ms (here 2 s: the unit test fraud_prune_test
    pins old / recent to the ms); a funds.reserved of a transfer whose decision is gone is
    stopped by `seen` (a duplicate) or, once its id is pruned too, by the floor (id_too_old):
    never a second verdict, never money moved."""

    RETENTION_MS = 2000
    mesh_options = {"fraud_rules": MANY,
                    "env": {"fraud": {"LEDGER_DECISION_RETENTION_MS": str(RETENTION_MS),
                                      "LEDGER_SEEN_WINDOW": str(WINDOW)}}}

    def decisions(self):
        return {key.decode() for key in dump(self.data_dir("fraud"), "decisions")}

    def funds_reserved(self, tid):
        """The funds.reserved accounts sent fraud for `tid`, rebuilt from its timeline."""
        t = self.mesh.transfer_status(tid)
        step = next(s for s in t["timeline"] if s["step"] == "funds.reserved")
        body = {"transfer": tid, "from": t["from"], "to": t["to"], "amount_minor": t["amount"],
                "currency": "GBP", "reference": t["reference"] or "", "principal": t["from"],
                "kind": "transfer"}
        return {"v": 1, "id": step["message_id"], "type": "funds.reserved", "corr": tid,
                "cause": step["cause"], "ts": step["ts_ms"], "body": body}

    def assert_no_second_verdict(self, reserved, before):
        self.assertEqual(self.mesh.log("fraud").count(f"event=applied id={reserved['id']} "), 1)
        self.assertEqual(self.outbox("fraud"), [])
        self.assertEqual(self.mesh.accounts(), before)
        self.assert_verified()

    def test_old_decisions_go_and_a_redelivery_of_their_transfer_moves_nothing(self):
        status, t = self.mesh.transfer("alice", "bob", 100, reference="old")
        self.assertEqual(status, 202, t)
        old = t["id"]
        self.assert_ends(old, "settled")
        old_reserved = self.funds_reserved(old)
        wait_until(lambda: old not in self.decisions(), timeout=30,
                   what="fraud to prune the old decision")
        status, t = self.mesh.transfer("alice", "carol", 100, reference="recent")
        self.assertEqual(status, 202, t)
        self.assert_ends(t["id"], "settled")
        self.assertIn(t["id"], self.decisions())  # recent: kept
        self.mesh.wait_outboxes_empty()
        before = self.mesh.accounts()
        verdicts = self.mesh.log("fraud").count("event=applied id=accounts/")

        # its id still in fraud's seen: a duplicate, though its decision is gone
        self.assertLess(self.floor("fraud", "accounts"), int(old_reserved["id"].split("/")[1]))
        answer = self.ask("fraud", "accounts", old_reserved)
        self.assertEqual(answer["type"], "ack", answer)
        wait_until(lambda: f"event=duplicate id={old_reserved['id']} " in self.mesh.log("fraud"),
                   what="fraud to log the redelivery as a duplicate")
        self.assert_no_second_verdict(old_reserved, before)

        # once its id is pruned too (a window of 16 ids): refused below the floor
        self.settle_many(12)
        self.mesh.wait_outboxes_empty()
        before = self.mesh.accounts()
        seq = int(old_reserved["id"].split("/")[1])
        wait_until(lambda: self.floor("fraud", "accounts") >= seq,
                   what=f"fraud to prune {old_reserved['id']}")
        answer = self.ask("fraud", "accounts", old_reserved)
        self.assert_nack(answer, "id_too_old")
        self.assert_refused("fraud", "id_too_old", "funds.reserved", 1)
        self.assert_no_second_verdict(old_reserved, before)
        applied = self.mesh.log("fraud").count("event=applied id=accounts/")
        self.assertEqual(applied, verdicts + 12)  # the twelve new transfers, nothing else


if __name__ == "__main__":
    unittest.main()
