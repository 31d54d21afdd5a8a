"""POST /api/transfers/batch through the three real binaries on loopback.

Mixed good and bad items, idempotent replays within one batch and across
batches (and against the single endpoint), the 8,190-item limit, and that the
accepted items travel the whole saga. A batch is sent as the owner of its
items' source account (mesh.owner_key).
"""
import os
import time
import unittest

from mesh import MeshTest

BATCH_MAX = 8190


def key(tag):
    return f"batch-{tag}-{time.monotonic_ns()}-{os.getpid()}"


class BatchTest(MeshTest):
    def post_batch(self, items, timeout=60, owner="alice"):
        status, payload, _ = self.mesh.request("POST", "/api/transfers/batch",
                                               {"transfers": items}, timeout=timeout,
                                               key=self.mesh.owner_key(owner))
        return status, payload

    def test_mixed_items_each_get_their_own_result(self):
        before = self.mesh.accounts()
        items = [
            {"idempotency_key": key("ok1"), "from": "alice", "to": "bob", "amount": 100},
            {"idempotency_key": key("same"), "from": "alice", "to": "alice", "amount": 100},
            {"from": "alice", "to": "bob", "amount": 100},
            {"idempotency_key": key("real"), "from": "alice", "to": "bob", "amount": 1.5},
            {"idempotency_key": key("ok2"), "from": "alice", "to": "carol", "amount": 200,
             "currency": "GBP", "reference": "batch"},
        ]
        status, answer = self.post_batch(items)
        self.assertEqual(status, 200, answer)
        results = answer["results"]
        self.assertEqual([r["index"] for r in results], list(range(len(items))))
        self.assertEqual([r["status"] for r in results], [202, 422, 400, 400, 202])
        self.assertEqual(results[1]["error"]["code"], "same_account")
        self.assertEqual(results[2]["error"]["code"], "missing_idempotency_key")
        self.assertEqual(results[3]["error"]["code"], "invalid_field")
        self.assertEqual((answer["accepted"], answer["replayed"], answer["rejected"]), (2, 0, 3))
        for r in (results[0], results[4]):
            final = self.mesh.wait_final(r["transfer"]["id"])
            self.assertEqual(final["status"], "settled", final)
        after = self.mesh.accounts()
        self.assertEqual(after["alice"]["balance"], before["alice"]["balance"] - 300)
        self.assertEqual(after["carol"]["balance"], before["carol"]["balance"] + 200)

    def test_replays_within_and_across_batches_make_one_transfer(self):
        k1, k2 = key("a"), key("b")
        items = [
            {"idempotency_key": k1, "from": "alice", "to": "bob", "amount": 10},
            {"idempotency_key": k1, "from": "alice", "to": "bob", "amount": 10},
            {"idempotency_key": k1, "from": "alice", "to": "bob", "amount": 11},
            {"idempotency_key": k2, "from": "alice", "to": "carol", "amount": 20},
        ]
        status, first = self.post_batch(items)
        self.assertEqual(status, 200, first)
        self.assertEqual([r["status"] for r in first["results"]], [202, 200, 422, 202])
        self.assertEqual(first["results"][2]["error"]["code"], "idempotency_key_reused")
        tid = first["results"][0]["transfer"]["id"]
        self.assertEqual(first["results"][1]["transfer"]["id"], tid)

        status, again = self.post_batch(items)
        self.assertEqual(status, 200, again)
        self.assertEqual([r["status"] for r in again["results"]], [200, 200, 422, 200])
        self.assertEqual(again["results"][0]["transfer"]["id"], tid)
        self.assertEqual(again["accepted"], 0)

        # The single endpoint shares the keys (the principal's: alice's owner sends both).
        status, single = self.mesh.transfer("alice", "bob", 10, key=k1)
        self.assertEqual(status, 202, single)
        self.assertEqual(single["id"], tid)
        status, _ = self.mesh.transfer("alice", "bob", 12, key=k1)
        self.assertEqual(status, 422)

        self.mesh.wait_final(tid)
        mine = [t for t in self.mesh.all_transfers() if t["id"] == tid]
        self.assertEqual(len(mine), 1)

    def test_size_limit_and_envelope_errors(self):
        status, answer = self.post_batch([])
        self.assertEqual(status, 400, answer)
        status, answer, _ = self.mesh.request("POST", "/api/transfers/batch", b"{\"transfers\": [",
                                              {"Content-Type": "application/json"})
        self.assertEqual((status, answer["error"]["code"]), (400, "invalid_json"))
        status, answer, headers = self.mesh.request("GET", "/api/transfers/batch")
        self.assertEqual(status, 405)

        prefix = key("max")
        items = [{"idempotency_key": f"{prefix}-{i}", "from": "dave", "to": "erin-none",
                  "amount": 1} for i in range(BATCH_MAX + 1)]
        status, answer = self.post_batch(items, owner="dave")
        self.assertEqual(status, 413, answer)
        self.assertEqual(answer["error"]["code"], "batch_too_large")

        status, answer = self.post_batch(items[:BATCH_MAX], timeout=120, owner="dave")
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["accepted"], BATCH_MAX)
        self.assertEqual(len(answer["results"]), BATCH_MAX)
        # Unknown destination: the saga declines them all.
        last = answer["results"][-1]["transfer"]["id"]
        final = self.mesh.wait_final(last, timeout=120)
        self.assertEqual(final["status"], "declined", final)


if __name__ == "__main__":
    unittest.main()
