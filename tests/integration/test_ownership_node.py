"""The accounts node checks ownership itself (issue 18): a transfer.requested
whose principal does not own `from`, sent straight to the accounts node's
inbox with ledger-harness (past the gateway and its own check), is declined
forbidden_account and moves nothing; so is one without a principal (a
message written before principals existed). The owner's own request, on the
same path, goes through. Waits are conditions with deadlines.

The requests go over CURVE as the gateway's key (mesh.peer_socket): since issue
19 only the gateway may send transfer.requested to the accounts node, so a
forger has to be on the gateway's link. Their ids are gateway/(2**31 + n), clear
of the real gateway's sequence. The accounts feed is read by a SUB with the
gateway's key too (the feed takes the same allow-list as the inbox)."""
import struct
import time
import unittest

import msgpack
import zmq

from mesh import wait_until
from test_operator import OperatorMeshTest


class OwnershipNodeTest(OperatorMeshTest):
    def send_requested(self, transfer, principal, src="alice", dst="mallory", amount=5000):
        body = {"transfer": transfer, "from": src, "to": dst, "amount_minor": amount,
                "currency": "GBP", "reference": "forged"}
        if principal is not None:
            body["principal"] = principal
            body["kind"] = "transfer"
        self.sent += 1
        msg = {"v": 1, "id": f"gateway/{2**31 + self.sent}", "type": "transfer.requested",
               "corr": transfer, "cause": "", "ts": int(time.time() * 1000), "body": body}
        sock = self.mesh.peer_socket("accounts", key="gateway")
        try:
            sock.send_multipart([struct.pack(">Q", self.sent), msgpack.packb(msg)])
            self.assertTrue(sock.poll(5000), f"no answer from accounts to {transfer}")
            tag, answer = sock.recv_multipart()
        finally:
            sock.close()
        self.assertEqual(struct.unpack(">Q", tag)[0], self.sent)
        self.assertEqual(msgpack.unpackb(answer)["type"], "ack")

    def read_feed(self):
        """Everything the feed SUB has received by now, as {"topic", "message"} records."""
        while self.feed.poll(0):
            topic, frame = self.feed.recv_multipart()
            self.feed_records.append({"topic": topic.decode(), "message": msgpack.unpackb(frame)})
        return self.feed_records

    def events_of(self, transfer):
        return [r for r in self.read_feed() if r["message"]["corr"] == transfer]

    def wait_event(self, transfer, topic):
        wait_until(lambda: topic in [r["topic"] for r in self.events_of(transfer)], 20,
                   f"{topic} of {transfer} on the accounts feed")
        return next(r["message"] for r in self.events_of(transfer) if r["topic"] == topic)

    def test_a_principal_that_does_not_own_from_is_declined_by_the_accounts_node(self):
        self.sent = 0
        self.feed_records = []
        self.feed = self.mesh.peer_socket("accounts", key="gateway", kind=zmq.SUB)
        try:
            # PUB/SUB joins late: forged requests until the feed shows one (each is declined too).
            def seen():
                self.send_requested(f"tr_warm_{self.sent}", "mallory")
                return len(self.read_feed()) > 0
            wait_until(seen, 30, "the SUB to receive the accounts feed")
            self.mesh.wait_outboxes_empty(["accounts"])
            status, verify, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
            self.assertTrue(verify["ok"], verify)
            before, entries_before = self.mesh.accounts(), verify["entries"]

            self.send_requested("tr_forged", "mallory")  # mallory does not own alice
            self.send_requested("tr_no_principal", None)  # no principal: an old message
            self.send_requested("tr_bob_as_alice", "bob", dst="bob")
            for transfer in ("tr_forged", "tr_no_principal", "tr_bob_as_alice"):
                declined = self.wait_event(transfer, "transfer.declined")
                self.assertEqual(declined["body"]["code"], "forbidden_account", declined)
                self.assertEqual([r["topic"] for r in self.events_of(transfer)],
                                 ["transfer.declined"])  # no hold, no funds.reserved

            self.mesh.wait_outboxes_empty(["accounts"])
            self.assertEqual(self.mesh.accounts(), before)  # nothing moved, nothing held
            status, verify, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
            self.assertEqual(status, 200)
            self.assertTrue(verify["ok"], verify)
            self.assertEqual(verify["entries"], entries_before)  # not one ledger entry

            # The owner, on the same path, is served: the check is about ownership only.
            self.send_requested("tr_owner", "alice", dst="bob", amount=300)
            reserved = self.wait_event("tr_owner", "funds.reserved")
            self.assertEqual(reserved["body"]["principal"], "alice")
            self.wait_event("tr_owner", "transfer.settled")
            wait_until(lambda: self.mesh.accounts()["bob"]["balance"] ==
                       before["bob"]["balance"] + 300, 20, "the owner's transfer to reach bob")
        finally:
            self.feed.close()


if __name__ == "__main__":
    unittest.main()
