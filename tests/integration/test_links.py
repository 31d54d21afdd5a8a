"""Issue 19's attacks on the node links, through the three real binaries on loopback.

Every case forges what the issue says anyone could forge before CURVE (a verdict, a settlement,
a request, a reservation, future message ids, an ack, a feed subscription) and then checks that
NOTHING happened: statuses, balances, holds, /ledger/verify, outbox entries and dead letters, and
that the transfer ends as the real saga decides once the real node is back. Messages are raw
ZeroMQ frames [8-byte tag][msgpack envelope] sent with python3-zmq, as a node's peer would
(mesh.peer_socket: a mesh key, an unknown key pair, or no CURVE at all).

Every wait is a condition with a deadline (mesh.wait_until). The one bounded wait without a
condition is SILENCE_S: "no answer within 1 s" is itself the assertion there.

Cases (docs/links-plan.md section 6, items 1-11): NoKeyTest 1, RoleTest 2, 3 and 7,
ForgedIdsTest / ForgedIdsReplayTest 4, ForgedAckTest 5, FeedTest 6, KeysTest 8 and 9,
PlaintextTest and MixedTest 10, HarnessTest 11 (item 12, the admin port, is test_auth's).
The review of the landed links added HandshakeBoundTest (nothing held before a handshake),
AllowListTest (a deny reaches open connections; a failed reload shows) and NackLogTest (refusal
lines rate-limited, counters exact).
"""
import json
import os
import re
import signal
import socket
import stat
import struct
import subprocess
import time
import unittest

import msgpack
import zmq

from mesh import NODES, Mesh, MeshTest, sample, split_entries, wait_until

SILENCE_S = 1.0  # "no answer within 1 s": the assertion of a refused handshake
ANSWER_S = 5.0  # deadline for an answer that must come
FAR = 2**32  # NODE_SEEN_AHEAD_MAX: how far ahead of a peer's highest id a new id may be
FORGED = 2**31  # forged ids of the gateway / accounts: clear of their real sequence
# Fraud rules that let many transfers of one account through; mallory stays blocklisted (the
# default blocklist), so a forged approval of hers would visibly change the outcome.
MANY = ("velocity_max_count = 1000\nvelocity_max_sum_minor = 100000000\n"
        "new_payee_limit_minor = 100000000\n")
NACK_LOG_EVERY_S = 1.0  # NODE_NACK_LOG_EVERY_MS (node_inbound.h): a nack line per code per 1 s
HANDSHAKE_S = 5.0  # NODE_HANDSHAKE_MS (node.c): a handshake not done by then is cut
# A ZMTP 3.0 greeting asking for CURVE, as any client may send before it is authenticated.
GREETING = b"\xff" + bytes(8) + b"\x7f\x03\x00" + b"CURVE".ljust(20, b"\x00") + bytes(32)
FRAUD_APPLIED = re.compile(r"event=applied id=fraud/(\d+) ")


def envelope(msg_id, mtype, corr, body, cause=""):
    return {"v": 1, "id": msg_id, "type": mtype, "corr": corr, "cause": cause,
            "ts": int(time.time() * 1000), "body": body}


def transfer_body(tid, src, dst, amount, principal=None):
    return {"transfer": tid, "from": src, "to": dst, "amount_minor": amount, "currency": "GBP",
            "reference": "forged", "principal": principal or src, "kind": "transfer"}


def verdict(msg_id, tid, cause, approved=True):
    return envelope(msg_id, "fraud.approved" if approved else "fraud.rejected", tid,
                    {"transfer": tid, "rules": [] if approved else ["forged"], "reason": ""},
                    cause)


def assert_handshake_failures(mesh, socket):
    """Each node counted, on `socket`, the unknown key (reason auth) and the plain socket. A
    plain client at a CURVE server is reason protocol or other: libzmq says
    HANDSHAKE_FAILED_PROTOCOL when the server reads the client's NULL greeting first and
    HANDSHAKE_FAILED_NO_DETAIL when the client hung up first (both seen here)."""
    def count(node, *reasons):
        samples = mesh.metrics(node)
        return sum(sample(samples, "ledger_handshake_failures_total", socket=socket, reason=r)
                   for r in reasons)
    for node in NODES:
        wait_until(lambda n=node: count(n, "auth") >= 1,
                   what=f"{node} to count the unknown key on its {socket}")
        wait_until(lambda n=node: count(n, "protocol", "other") >= 1,
                   what=f"{node} to count the plain socket on its {socket}")


class LinksTest(MeshTest):
    """Helpers shared by the cases: peers that send raw frames, the accounts node's view."""

    mesh_options = {"fraud_rules": MANY}

    # --- raw peers ------------------------------------------------------------
    def peer(self, node, key="gateway", kind=None):
        sock = self.mesh.peer_socket(node, key=key, kind=kind)
        self.addCleanup(sock.close)
        return sock

    def send(self, sock, env, tag=1):
        sock.send_multipart([struct.pack(">Q", tag), msgpack.packb(env)])

    def answer(self, sock, timeout_s=ANSWER_S):
        """The next answer on `sock` as (tags, envelope), or None after timeout_s."""
        if not sock.poll(int(timeout_s * 1000)):
            return None
        tags, frame = sock.recv_multipart()
        return [struct.unpack(">Q", tags[i:i + 8])[0] for i in range(0, len(tags), 8)], \
            msgpack.unpackb(frame)

    def ask(self, node, key, env):
        """Sends `env` to `node` as `key` and returns the answer's envelope (one must come)."""
        sock = self.peer(node, key)
        self.send(sock, env)
        got = self.answer(sock)
        self.assertIsNotNone(got, f"no answer from {node} to {env['id']} {env['type']}")
        return got[1]

    def assert_nack(self, answer, code):
        self.assertEqual(answer["type"], "nack", answer)
        self.assertEqual(answer["body"]["code"], code, answer)

    def assert_silent(self, sock, what):
        self.assertFalse(sock.poll(int(SILENCE_S * 1000)), f"{what}: the node answered")

    # --- what the nodes hold --------------------------------------------------
    def outbox(self, node):
        status, body, _ = self.mesh.admin(node, "GET", "/outbox?limit=500")
        self.assertEqual(status, 200, body)
        return body["entries"]

    def dead_letters(self, node):
        status, body, _ = self.mesh.admin(node, "GET", "/dead-letters")
        self.assertEqual(status, 200, body)
        return body["dead_letters"]

    def reserved_to_fraud(self, tid):
        """The id of the funds.reserved accounts sent fraud for `tid` (waits for the entry)."""
        def find():
            for e in self.outbox("accounts"):
                m = e["message"]
                if e["peer"] == "fraud" and m.get("type") == "funds.reserved" and m["corr"] == tid:
                    return m["id"]
            return None
        return wait_until(find, what=f"accounts to hold the funds.reserved of {tid} for fraud")

    def stalled(self, src, dst, amount):
        """A transfer made while fraud is stopped: reserved, waiting for its verdict.
        (transfer id, the id of its funds.reserved: the cause a verdict must cite)."""
        status, t = self.mesh.transfer(src, dst, amount)
        self.assertEqual(status, 202, t)
        return t["id"], self.reserved_to_fraud(t["id"])

    def fraud_high(self):
        """The highest fraud id the accounts node applied (its log)."""
        seqs = [int(s) for s in FRAUD_APPLIED.findall(self.mesh.log("accounts"))]
        self.assertTrue(seqs, "accounts applied no fraud verdict yet")
        return max(seqs)

    def refused(self, node, reason, mtype):
        return sample(self.mesh.metrics(node), "ledger_messages_refused_total", reason=reason,
                      type=mtype)

    def assert_refused(self, node, reason, mtype, count):
        """ledger_messages_refused_total{reason,type} of `node` reaches `count` and stays."""
        wait_until(lambda: self.refused(node, reason, mtype) >= count,
                   what=f"{node} to count {count} {reason} {mtype}")
        self.assertEqual(self.refused(node, reason, mtype), count, node)

    def assert_verified(self):
        status, body, _ = self.mesh.admin("accounts", "GET", "/ledger/verify")
        self.assertEqual(status, 200, body)
        self.assertTrue(body["ok"], body)

    def assert_status(self, tid, want):
        self.assertEqual(self.mesh.transfer_status(tid)["status"], want, tid)

    def assert_ends(self, tid, want):
        self.assertEqual(self.mesh.wait_final(tid, timeout=30)["status"], want, tid)

    def assert_verdicts_applied(self, above, node="accounts"):
        """Each real verdict fraud sent after fraud/`above` was applied when it first came (a
        forged id recorded in `seen` would have made it a duplicate). Later copies may be
        duplicates: a resend after a late ack is. (Nacked forgeries sent with fraud's own key
        log event=nack under the same ids and are not looked at here.)"""
        first = {}
        lines = r"event=(applied|duplicate) id=fraud/(\d+) .*peer=fraud$"
        for m in re.finditer(lines, self.mesh.log(node), re.M):
            first.setdefault(int(m.group(2)), m.group(1))
        real = {seq: event for seq, event in first.items() if seq > above}
        self.assertTrue(real, f"{node} got no verdict after fraud/{above}")
        self.assertEqual(real, {seq: "applied" for seq in real}, node)

    def settle_back(self, before):
        """After fraud is back: outboxes drain, balances are `before`, the ledger verifies."""
        self.mesh.wait_outboxes_empty(timeout=30)
        self.assertEqual(self.mesh.accounts(), before)
        self.assert_verified()


class NoKeyTest(LinksTest):
    """Case 1: no key and an unknown key, to every inbox: no answer, nothing applied."""

    def test_no_key_and_unknown_key_change_nothing(self):
        self.mesh.stop("fraud")
        before = self.mesh.accounts()
        tid, cause = self.stalled("mallory", "bob", 5000)
        held = self.mesh.accounts()
        self.assertEqual(held["mallory"]["held"], before["mallory"]["held"] + 5000)
        high = self.fraud_high()
        unknown = zmq.curve_keypair()
        for name, key in (("no key", None), ("unknown key", unknown)):
            n = 1 if key is None else 2
            forged = [
                ("accounts", verdict(f"fraud/{high + n}", tid, cause)),
                ("accounts", envelope(f"gateway/{FORGED + n}", "transfer.requested",
                                      f"tr_forged_req{n}",
                                      transfer_body(f"tr_forged_req{n}", "carol", "mallory",
                                                    7000))),
                ("gateway", envelope(f"accounts/{FORGED + n}", "transfer.settled", tid,
                                     transfer_body(tid, "mallory", "bob", 5000), cause)),
            ]
            for node, env in forged:
                sock = self.peer(node, key)
                self.send(sock, env)
                self.assert_silent(sock, f"{name}: {env['type']} to {node}")
        self.assert_status(tid, "pending")
        self.assertEqual(self.mesh.accounts(), held)

        self.mesh.start("fraud")
        wait_until(lambda: self.mesh.answers("fraud"), what="fraud to start")
        for n, key in ((1, None), (2, unknown)):
            sock = self.peer("fraud", key)
            fake = f"tr_forged_res{n}"
            self.send(sock, envelope(f"accounts/{FORGED + 10 + n}", "funds.reserved", fake,
                                     transfer_body(fake, "carol", "bob", 100)))
            self.assert_silent(sock, f"funds.reserved to fraud, key {n}")
        self.assert_ends(tid, "rejected_fraud")
        self.settle_back(before)
        for node in NODES:
            log = self.mesh.log(node)
            for forged_id in ("tr_forged_req", "tr_forged_res"):
                self.assertNotIn(f"corr={forged_id}", log, node)
        self.assert_verdicts_applied(high)
        for node in NODES:
            samples = self.mesh.metrics(node)
            self.assertIn(("ledger_insecure_plaintext", ()), samples, node)
            self.assertEqual(sample(samples, "ledger_insecure_plaintext"), 0, node)
        self.assert_handshake_failures()

    def assert_handshake_failures(self):
        assert_handshake_failures(self.mesh, "inbox")


class RoleTest(LinksTest):
    """Cases 2, 3 and 7: fraud's own key, sending what fraud may not send."""

    def setUp(self):
        super().setUp()
        self.mesh.stop("fraud")
        self.before = self.mesh.accounts()
        self.tid, self.cause = self.stalled("mallory", "bob", 5000)
        self.held = self.mesh.accounts()
        self.high = self.fraud_high()

    def finish(self):
        """Fraud back: mallory's transfer ends as fraud decides, nothing else moved."""
        self.assert_status(self.tid, "pending")
        self.assertEqual(self.mesh.accounts(), self.held)
        self.mesh.start("fraud")
        self.assert_ends(self.tid, "rejected_fraud")
        self.settle_back(self.before)
        self.assert_verdicts_applied(self.high, "accounts")
        self.assert_verdicts_applied(self.high, "gateway")
        self.assertEqual(self.dead_letters("fraud"), [])

    def test_fraud_key_sending_transfer_settled_is_forbidden(self):
        env = envelope(f"fraud/{self.high + 1}", "transfer.settled", self.tid,
                       transfer_body(self.tid, "mallory", "bob", 5000), self.cause)
        self.assert_nack(self.ask("gateway", "fraud", env), "forbidden_type")
        self.assert_refused("gateway", "forbidden_type", "transfer.settled", 1)
        self.finish()

    def test_fraud_key_with_origin_accounts_is_refused(self):
        to_accounts = verdict(f"accounts/{FORGED + 1}", self.tid, self.cause)
        to_gateway = envelope(f"accounts/{FORGED + 2}", "transfer.settled", self.tid,
                              transfer_body(self.tid, "mallory", "bob", 5000), self.cause)
        for node, env in (("accounts", to_accounts), ("gateway", to_gateway)):
            self.assert_nack(self.ask(node, "fraud", env), "origin_mismatch")
            self.assert_refused(node, "origin_mismatch", env["type"], 1)
            lines = [l for l in self.mesh.log(node).splitlines()
                     if "code=origin_mismatch" in l and f"id={env['id']} " in l]
            self.assertTrue(lines, f"{node} logged the origin_mismatch")
            self.assertRegex(lines[0], r" peer=fraud( |$)")
        self.finish()

    def test_verdict_citing_another_reservation_is_refused(self):
        other, other_cause = self.stalled("carol", "bob", 300)
        held = self.mesh.accounts()
        env = verdict(f"fraud/{self.high + 1}", self.tid, other_cause)
        answer = self.ask("accounts", "fraud", env)
        self.assert_nack(answer, "invalid")
        self.assertIn(f"verdict cites cause {other_cause}", answer["body"]["reason"])
        self.assert_status(self.tid, "pending")
        self.assert_status(other, "pending")
        self.assertEqual(self.mesh.accounts(), held)
        self.mesh.start("fraud")
        self.assert_ends(self.tid, "rejected_fraud")
        self.assert_ends(other, "settled")
        for account, delta in (("carol", -300), ("bob", 300)):
            self.before[account]["balance"] += delta
            self.before[account]["available"] += delta
        self.settle_back(self.before)
        self.assert_verdicts_applied(self.high)
        self.assertEqual(self.dead_letters("fraud"), [])


class ForgedIdsTest(LinksTest):
    """Case 4: forged future fraud ids cannot make fraud's real verdicts duplicates."""

    replay = False  # the harness key is allowed at accounts; replays off

    def setUp(self):
        super().setUp()
        if not self.replay:
            self.mesh.keys_tool("allow", "harness", "--to", "accounts",
                                "--dir", self.mesh.keys_dir)

    def test_forged_future_ids_burn_nothing(self):
        self.mesh.stop("fraud")
        before = self.mesh.accounts()
        n = self.fraud_high()
        stalled = [self.stalled("mallory" if i % 2 else "carol", "bob", 100 + i)
                   for i in range(20)]
        sock = self.peer("accounts", "harness")
        for i, (tid, cause) in enumerate(stalled):
            self.send(sock, verdict(f"fraud/{n + 1 + i}", tid, cause), tag=i + 1)
        codes = {}
        for _ in stalled:
            got = self.answer(sock)
            self.assertIsNotNone(got, "an answer to every forged verdict")
            tags, answer = got
            self.assertEqual(answer["type"], "nack", answer)
            codes[tags[0]] = answer["body"]["code"]
        want = "replay_not_seen" if self.replay else "origin_mismatch"
        self.assertEqual(codes, {i + 1: want for i in range(20)})
        self.assert_refused("accounts", want, "fraud.approved", 20)
        if self.replay:  # a replay of an id fraud did send is a duplicate: acked, not applied
            self.send(sock, verdict(f"fraud/{n}", stalled[0][0], stalled[0][1]), tag=99)
            tags, answer = self.answer(sock)
            self.assertEqual((tags, answer["type"]), ([99], "ack"), answer)
            wait_until(lambda: f"event=duplicate id=fraud/{n} " in self.mesh.log("accounts"),
                       what="accounts to log the replay as a duplicate")
        for tid, _ in stalled:
            self.assert_status(tid, "pending")

        self.mesh.start("fraud")
        for i, (tid, _) in enumerate(stalled):
            self.assert_ends(tid, "rejected_fraud" if i % 2 else "settled")
        self.assertEqual(self.fraud_high(), n + 20)
        self.assert_verdicts_applied(n)
        self.mesh.wait_outboxes_empty(timeout=30)
        self.assert_verified()
        moved = sum(100 + i for i in range(20) if i % 2 == 0)
        after = self.mesh.accounts()
        self.assertEqual(after["carol"]["balance"], before["carol"]["balance"] - moved)
        self.assertEqual(after["mallory"], before["mallory"])
        self.assertEqual(after["bob"]["balance"], before["bob"]["balance"] + moved)

        # Fraud's own key, an id past its highest + 2^32: refused, not applied.
        self.mesh.stop("fraud")
        high = self.fraud_high()
        tid, cause = self.stalled("mallory", "bob", 4000)
        answer = self.ask("accounts", "fraud", verdict(f"fraud/{high + FAR + 5}", tid, cause))
        self.assert_nack(answer, "id_too_far_ahead")
        self.assert_refused("accounts", "id_too_far_ahead", "fraud.approved", 1)
        self.assert_status(tid, "pending")
        self.mesh.start("fraud")
        self.assert_ends(tid, "rejected_fraud")
        self.mesh.wait_outboxes_empty(timeout=30)
        self.assertEqual(self.mesh.accounts(), after)
        self.assert_verified()
        self.assert_verdicts_applied(high)


class ForgedIdsReplayTest(ForgedIdsTest):
    """Case 4 with LEDGER_HARNESS_REPLAY=1 and the harness allowed everywhere."""

    mesh_options = {"fraud_rules": MANY, "harness": True}
    replay = True


class ForgedAckTest(LinksTest):
    """Case 5: a process holding fraud's key at fraud's endpoint cannot settle the gateway's
    entries, nor fraud's own with an ack that names another message."""

    def fake_fraud(self):
        public, secret = self.mesh.key_pair("fraud")
        router = zmq.Context.instance().socket(zmq.ROUTER)
        router.setsockopt(zmq.LINGER, 0)
        router.curve_server = True
        router.curve_publickey, router.curve_secretkey = public, secret
        router.bind(self.mesh.endpoint("fraud"))
        self.addCleanup(router.close)
        return router

    def receive(self, router, tid):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if router.poll(100):
                identity, tags, payload = router.recv_multipart()
                for tag, frame in split_entries(tags, payload):
                    env = msgpack.unpackb(frame)
                    if env["type"] == "funds.reserved" and env["corr"] == tid:
                        return identity, tag, env
        raise AssertionError(f"the fake fraud got no funds.reserved for {tid}")

    def answer_as_fraud(self, router, identity, tags, mtype, of):
        body = {"of": of} if mtype == "ack" else {"of": of, "code": "invalid", "reason": "forged"}
        env = envelope(f"fraud-r/{FORGED}", mtype, "", body, of)
        router.send_multipart([identity, b"".join(struct.pack(">Q", t) for t in tags),
                               msgpack.packb(env)])

    def test_forged_acks_delete_no_outbox_entry(self):
        self.mesh.wait_outboxes_empty()
        before = self.mesh.accounts()
        self.mesh.stop("fraud")
        router = self.fake_fraud()
        self.mesh.procs["gateway"].send_signal(signal.SIGSTOP)  # its entries stay in flight
        self.addCleanup(self.mesh.procs["gateway"].send_signal, signal.SIGCONT)
        tid = "tr_forged_ack"
        sock = self.peer("accounts", "gateway")
        self.send(sock, envelope(f"gateway/{FORGED + 1}", "transfer.requested", tid,
                                 transfer_body(tid, "carol", "bob", 300)))
        got = self.answer(sock)
        self.assertIsNotNone(got)
        self.assertEqual(got[1]["type"], "ack", got)
        identity, fraud_tag, reserved = self.receive(router, tid)
        fraud_seq = struct.unpack(">Q", fraud_tag)[0]
        entries = wait_until(lambda: (lambda e: e if len(e) >= 2 else None)(
            self.outbox("accounts")), what="accounts' entries to fraud and to the gateway")
        seqs = {e["seq"] for e in entries}
        to_gateway = [e for e in entries if e["peer"] == "gateway"]
        self.assertTrue(to_gateway, entries)
        self.assertIn(fraud_seq, seqs)

        # Fraud's link acks and nacks what was sent to the gateway, and acks its own entry
        # under another message's id.
        for e in to_gateway:
            self.answer_as_fraud(router, identity, [e["seq"]], "ack", e["message"]["id"])
            self.answer_as_fraud(router, identity, [e["seq"]], "nack", e["message"]["id"])
        self.answer_as_fraud(router, identity, [fraud_seq], "ack", f"accounts/{FORGED}")
        wait_until(lambda: sample(self.mesh.metrics("accounts"), "ledger_answers_ignored_total",
                                  reason="other_peer") >= 2 * len(to_gateway),
                   what="the acks for the gateway's entries to be ignored")
        wait_until(lambda: sample(self.mesh.metrics("accounts"), "ledger_answers_ignored_total",
                                  reason="id_mismatch") >= 1,
                   what="the ack naming another message to be ignored")
        self.assertTrue(seqs <= {e["seq"] for e in self.outbox("accounts")})
        self.assertEqual(self.dead_letters("accounts"), [])
        self.assertEqual(reserved["id"], next(e["message"]["id"] for e in entries
                                              if e["seq"] == fraud_seq))

        self.mesh.procs["gateway"].send_signal(signal.SIGCONT)
        router.close()
        self.mesh.start("fraud")
        wait_until(lambda: self.mesh.admin("accounts", "GET", "/health")[1]["outbox_depth"] == 0,
                   30, "every entry to be delivered to the real peers")
        after = self.mesh.accounts()
        self.assertEqual(after["carol"]["balance"], before["carol"]["balance"] - 300)
        self.assertEqual(after["bob"]["balance"], before["bob"]["balance"] + 300)
        self.assertEqual(after["carol"]["held"], 0)
        self.assert_verified()


class FeedTest(LinksTest):
    """Case 6: a feed gives nothing to a plain SUB or an unknown key, and everything to an
    allowed key."""

    def test_only_an_allowed_key_hears_a_feed(self):
        unknown = zmq.curve_keypair()
        denied = {(node, name): self.peer(node, key, zmq.SUB)
                  for node in NODES for name, key in (("plain", None), ("unknown", unknown))}
        self.mesh.keys_tool("allow", "harness", "--to", *NODES, "--dir", self.mesh.keys_dir)
        allowed = {node: self.peer(node, "harness", zmq.SUB) for node in NODES}
        heard = {node: 0 for node in NODES}

        def all_heard():
            status, t = self.mesh.transfer("carol", "bob", 100)
            self.assertEqual(status, 202, t)
            self.mesh.wait_final(t["id"])
            for node, sock in allowed.items():
                while sock.poll(100):
                    sock.recv_multipart()
                    heard[node] += 1
            return all(heard.values())
        wait_until(all_heard, 30, "the allowed key to hear every feed", interval=0.1)
        for (node, name), sock in denied.items():
            self.assertFalse(sock.poll(0), f"a {name} SUB heard {node}'s feed")
        self.assertFalse(any(s.poll(int(SILENCE_S * 1000)) for s in denied.values()),
                         "a refused SUB heard a feed")
        assert_handshake_failures(self.mesh, "feed")


class AllowListTest(LinksTest):
    """Review of issue 19: an allow-list edit reaches connections that are already open, and a
    reload that fails shows on /health and /metrics."""

    def query(self, sock, n):
        """Sends account.query n (get bob) as the harness; its answer's envelope, or None."""
        self.send(sock, envelope(f"harness/{n}", "account.query", "",
                                 {"op": "get", "account": "bob"}), tag=n)
        got = self.answer(sock)
        return got and got[1]

    def test_a_denied_key_is_refused_on_its_open_connection(self):
        self.mesh.keys_tool("allow", "harness", "--to", "accounts", "--dir", self.mesh.keys_dir)
        sock = self.peer("accounts", "harness")
        answer = self.query(sock, 1)
        self.assertEqual(answer and answer["type"], "account.reply", answer)
        self.mesh.keys_tool("deny", "harness", "--to", "accounts", "--dir", self.mesh.keys_dir)
        answers = []

        def refused():
            answers.append(self.query(sock, len(answers) + 2))
            return answers[-1] and answers[-1]["type"] == "nack"
        wait_until(refused, 5, "the denied key's next query to be refused", interval=0.1)
        self.assert_nack(answers[-1], "unauthenticated")
        self.assertTrue(all(a["type"] == "account.reply" for a in answers[:-1]), answers)
        self.assert_refused("accounts", "unauthenticated", "account.query", 1)

    def test_a_denied_key_stops_hearing_a_feed_it_subscribed_to(self):
        """A PUB cannot refuse single messages: on a deny the node drops its feed's
        subscriptions (unbinds and binds again, node.c). The denied SUB hears nothing after
        that, while a SUB with a key still allowed reconnects by itself and hears again."""
        self.mesh.keys_tool("allow", "harness", "--to", "accounts", "--dir", self.mesh.keys_dir)
        denied = self.peer("accounts", "harness", zmq.SUB)
        kept = self.peer("accounts", "gateway", zmq.SUB)

        def hears(socks):
            status, t = self.mesh.transfer("carol", "bob", 100)
            self.assertEqual(status, 202, t)
            self.mesh.wait_final(t["id"])
            got = []
            for sock in socks:
                n = 0
                while sock.poll(100):
                    sock.recv_multipart()
                    n += 1
                got.append(n)
            return all(got)
        wait_until(lambda: hears([denied, kept]), 30, "both SUBs to hear the feed", interval=0.1)
        self.mesh.keys_tool("deny", "harness", "--to", "accounts", "--dir", self.mesh.keys_dir)
        wait_until(lambda: "event=feed_subscriptions_dropped" in self.mesh.log("accounts"), 10,
                   "the accounts node to drop its feed's subscriptions")
        while denied.poll(200):  # what was published before the drop
            denied.recv_multipart()
        wait_until(lambda: hears([kept]), 30, "the allowed SUB to hear the feed again",
                   interval=0.1)
        self.assertFalse(denied.poll(int(SILENCE_S * 1000)), "the denied SUB still hears")
        self.assertIn("event=feed_rebound", self.mesh.log("accounts"))

    def allow_state(self, node):
        status, body, _ = self.mesh.admin(node, "GET", "/health")
        samples = self.mesh.metrics(node)
        return (status, body.get("allow_list"), sample(samples, "ledger_allow_table_ok"),
                sample(samples, "ledger_allow_reload_failures_total"))

    def test_a_failed_reload_shows_on_health_and_metrics_until_fixed(self):
        self.assertEqual(self.allow_state("accounts"), (200, "ok", 1, 0))
        allow = os.path.join(self.mesh.keys_dir, "allow", "accounts")
        bad = [os.path.join(allow, f"bad{i}.pub") for i in (1, 2)]
        for i, path in enumerate(bad):
            with open(path, "w") as f:
                f.write("not a cert\n")
            wait_until(lambda i=i: self.allow_state("accounts") == (503, "reload_failed", 0, i + 1),
                       5, f"accounts to report failed reload {i + 1}")
        status, body, _ = self.mesh.admin("accounts", "GET", "/health")
        self.assertEqual(body["status"], "unavailable", body)
        self.assertIn("allow_list_reload_failed", body["reasons"])
        self.assertIn("bad", body["allow_list_error"])
        lines = [l for l in self.mesh.log("accounts").splitlines()
                 if "event=allow_reload_failed" in l]
        self.assertEqual(len(lines), 1, "logged once, not at every failure")
        self.assertIn("level=error", lines[0])
        # The old table stayed: the gateway's key still works.
        status, t = self.mesh.transfer("alice", "bob", 100)
        self.assertEqual(status, 202, t)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")
        for path in bad:
            os.remove(path)
        wait_until(lambda: self.allow_state("accounts") == (200, "ok", 1, 2), 5,
                   "accounts to recover once the bad files are gone")


class NackLogTest(LinksTest):
    """Review of issue 19: refusals are logged at most once a second per code, the next line
    says how many were not (suppressed=N), and the counters stay exact."""

    def test_a_hundred_refusals_make_a_few_lines_and_count_a_hundred(self):
        sock = self.peer("gateway", "fraud")
        tid = "tr_forged_flood"
        body = transfer_body(tid, "carol", "bob", 100)
        for i in range(100):  # fraud may not send transfer.settled: forbidden_type
            self.send(sock, envelope(f"fraud/{FORGED + i}", "transfer.settled", tid, body),
                      tag=i + 1)
        for _ in range(100):
            got = self.answer(sock)
            self.assertIsNotNone(got, "an answer to every forged message")
            self.assert_nack(got[1], "forbidden_type")
        self.assert_refused("gateway", "forbidden_type", "transfer.settled", 100)

        def lines():
            return [l for l in self.mesh.log("gateway").splitlines()
                    if "event=nack" in l and "code=forbidden_type" in l]
        self.assertLessEqual(len(lines()), 5, "a line per refusal")
        # One more once the rate limit's second is up (that time is the condition waited for):
        # logged, with the count of those that were not.
        time.sleep(NACK_LOG_EVERY_S + 0.1)
        self.send(sock, envelope(f"fraud/{FORGED + 100}", "transfer.settled", tid, body), tag=101)
        self.assert_nack(self.answer(sock)[1], "forbidden_type")
        got = wait_until(lambda: (lambda ls: ls if f"id=fraud/{FORGED + 100} " in ls[-1] else None)(
            lines()), what="the 101st refusal to be logged")
        suppressed = sum(int(re.search(r" suppressed=(\d+) ", l).group(1)) for l in got)
        self.assertEqual(len(got) + suppressed, 101, got)
        self.assertRegex(got[-1], r" peer=fraud$")
        self.assert_refused("gateway", "forbidden_type", "transfer.settled", 101)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def closed_by_peer(conn):
    """True once the node closed `conn` (whatever it sent first is read and dropped)."""
    try:
        while True:
            if conn.recv(65536) == b"":
                return True
    except (BlockingIOError, socket.timeout):
        return False
    except OSError:  # reset
        return True


class HandshakeBoundTest(MeshTest):
    """Review of issue 19: before its handshake, nobody can make a node hold memory or a
    connection: a CURVE command frame claiming 1 GiB is refused at its header, and a handshake
    that never finishes is cut after NODE_HANDSHAKE_MS, on the feed as on the inbox."""

    def connect(self, node, kind):
        conn = socket.create_connection(("127.0.0.1", self.mesh.ports[node][kind]), timeout=5)
        self.addCleanup(conn.close)
        conn.sendall(GREETING)
        return conn

    def stream(self, conn, size_bytes):
        """Sends a command frame header claiming 1 GiB, then `size_bytes` of it (or until the
        node hangs up)."""
        chunk = b"A" * (1 << 20)
        try:
            conn.sendall(bytes([0x06]) + (1 << 30).to_bytes(8, "big"))
            for _ in range(size_bytes // len(chunk)):
                conn.sendall(chunk)
        except OSError:  # the node closed it: what should happen
            pass

    def test_a_huge_handshake_frame_holds_no_memory_and_a_silent_handshake_is_cut(self):
        node = "fraud"
        pid = self.mesh.procs[node].pid
        silent = [self.connect(node, kind) for kind in ("feed", "inbox")]
        started = time.monotonic()
        before = rss_kib(pid)
        for kind in ("feed", "inbox"):
            conn = self.connect(node, kind)
            self.stream(conn, 32 << 20)
            conn.setblocking(False)
            wait_until(lambda c=conn: closed_by_peer(c), 5,
                       f"{node} to close the {kind} connection that claimed a 1 GiB frame")
        grown = rss_kib(pid) - before
        self.assertLess(grown, 8 << 10, f"{node} grew by {grown} KiB")
        for conn, kind in zip(silent, ("feed", "inbox")):
            conn.setblocking(False)
            wait_until(lambda c=conn: closed_by_peer(c), HANDSHAKE_S + 5,
                       f"{node} to cut the {kind} handshake that never finished")
        self.assertGreater(time.monotonic() - started, HANDSHAKE_S - 1, "cut before its time")
        self.assertTrue(self.mesh.running(node))


class DefaultKeysMesh(Mesh):
    """A mesh whose nodes run in its temporary directory with no LEDGER_KEYS_DIR: each falls
    back to its default ./data/keys there, which the first to start creates (case 8)."""

    def __init__(self, **options):
        super().__init__(plaintext=True, **options)  # the test makes no keys
        self.plaintext = False
        self.build_dir = os.path.abspath(self.build_dir)
        self.keys_dir = os.path.join(self.tmp, "data", "keys")

    def env_for(self, node):
        env = super().env_for(node)
        env.pop("LEDGER_KEYS_DIR", None)
        env.pop("LEDGER_INSECURE_PLAINTEXT", None)
        return env

    def start(self, node):
        here = os.getcwd()
        os.chdir(self.tmp)  # the node's ./data/keys is the mesh's
        try:
            super().start(node)
        finally:
            os.chdir(here)


class KeysTest(MeshTest):
    """Cases 8 and 9: keys made at the default place, and keys a node refuses."""

    start_mesh = False

    def test_three_nodes_started_at_once_make_one_set_of_keys(self):
        for round_ in range(3):
            with DefaultKeysMesh() as mesh:
                mesh.start_all()
                data = os.path.join(mesh.tmp, "data")
                self.assertEqual(sorted(n for n in os.listdir(data) if n.startswith(".keys")), [])
                keys = os.path.join(data, "keys")
                for name in ("accounts", "fraud", "gateway", "harness"):
                    mode = stat.S_IMODE(os.stat(os.path.join(keys, f"{name}.key")).st_mode)
                    self.assertEqual(mode, 0o600, (round_, name, oct(mode)))
                created = sum(mesh.log(n).count("event=keys_created") for n in NODES)
                found = sum(mesh.log(n).count("event=keys_found") for n in NODES)
                self.assertEqual((created, found), (1, 2), f"round {round_}: one node creates")
                status, t = mesh.transfer("alice", "bob", 100)
                self.assertEqual(status, 202, t)
                self.assertEqual(mesh.wait_final(t["id"])["status"], "settled", round_)

    def exits_refused(self, mesh, node="accounts"):
        mesh.start(node)
        code = mesh.procs[node].wait(timeout=20)
        self.assertEqual(code, 2, mesh.log(node))
        self.assertIn("event=keys_refused", mesh.log(node))
        self.assertFalse(os.path.exists(os.path.join(mesh.tmp, "data", node, "data.mdb")),
                         "the store was opened before the keys were checked")

    def test_a_secret_key_readable_by_others_is_refused(self):
        key = os.path.join(self.mesh.keys_dir, "accounts.key")
        os.chmod(key, 0o644)
        self.exits_refused(self.mesh)
        self.assertIn(f"path={key}", self.mesh.log("accounts"))
        os.chmod(key, 0o600)
        self.mesh.start("accounts")
        wait_until(lambda: self.mesh.answers("accounts") or not self.mesh.running("accounts"),
                   what="accounts to start with its key at 0600")
        self.assertTrue(self.mesh.running("accounts"), self.mesh.log("accounts"))

    def test_an_explicit_keys_dir_that_is_missing_is_not_created(self):
        missing = os.path.join(self.mesh.tmp, "nokeys")
        self.mesh.extra_env = {"accounts": {"LEDGER_KEYS_DIR": missing}}
        self.exits_refused(self.mesh)
        self.assertIn(f"ledger-keys init --dir {missing}", self.mesh.log("accounts"))
        self.assertFalse(os.path.exists(missing))
        self.assertFalse(os.path.exists(os.path.join(self.mesh.tmp, "data", "keys")))


class PlaintextTest(MeshTest):
    """Case 10: --insecure-plaintext on all three still runs the saga, loudly."""

    mesh_options = {"plaintext": True}

    def test_plaintext_mesh_works_and_says_so(self):
        status, t = self.mesh.transfer("alice", "bob", 100)
        self.assertEqual(status, 202, t)
        self.assertEqual(self.mesh.wait_final(t["id"])["status"], "settled")
        for node in NODES:
            warn = [l for l in self.mesh.log(node).splitlines() if "event=insecure_plaintext" in l]
            self.assertTrue(warn, f"{node} warned")
            self.assertIn("level=warn", warn[0])
            self.assertIn("NOT authenticated or encrypted", warn[0])
            self.assertEqual(sample(self.mesh.metrics(node), "ledger_insecure_plaintext"), 1, node)


class MixedTest(MeshTest):
    """Case 10, second half: a CURVE node among plaintext peers gets nothing from them, and the
    peer that cannot get through counts it."""

    start_mesh = False

    def test_a_plaintext_peer_cannot_reach_a_curve_node(self):
        plain = {"LEDGER_INSECURE_PLAINTEXT": "1"}
        self.mesh.extra_env = {"accounts": plain, "gateway": plain}
        for node in NODES:
            self.mesh.start(node)
        wait_until(lambda: all(self.mesh.answers(n) for n in NODES), what="the nodes to start")
        self.mesh.wait_ready()
        status, t = self.mesh.deposit("alice", 1000)
        self.assertEqual(status, 202, t)

        def refused_by_fraud():
            samples = self.mesh.metrics("accounts")
            return sum(v for (name, labels), v in samples.items()
                       if name == "ledger_peer_handshake_failures_total"
                       and ("peer", "fraud") in labels)
        wait_until(refused_by_fraud, what="accounts to count fraud refusing its plain link")
        wait_until(lambda: sum(sample(self.mesh.metrics("fraud"), "ledger_handshake_failures_total",
                                      socket="inbox", reason=r) for r in ("protocol", "other")),
                   what="fraud to count the plain handshakes (assert_handshake_failures)")
        self.assertEqual(self.mesh.transfer_status(t["id"])["status"], "pending")
        received = [v for (name, _), v in self.mesh.metrics("fraud").items()
                    if name == "ledger_messages_received_total"]
        self.assertEqual(sum(received), 0, "fraud received a message over a plain link")
        self.assertEqual(sample(self.mesh.metrics("fraud"), "ledger_insecure_plaintext"), 0)
        self.assertEqual(sample(self.mesh.metrics("accounts"), "ledger_insecure_plaintext"), 1)


class HarnessTest(MeshTest):
    """Case 11: the harness is a peer too; a node takes it only once an operator allows it,
    without a restart."""

    def harness(self, *args):
        env = dict(os.environ, LEDGER_KEYS_DIR=self.mesh.keys_dir)
        for node in NODES:
            env[f"LEDGER_{node.upper()}_ENDPOINT"] = self.mesh.endpoint(node, "inbox")
            env[f"LEDGER_{node.upper()}_FEED"] = self.mesh.endpoint(node, "feed")
        tool = os.path.join(self.mesh.build_dir, "tools", "harness", "ledger-harness")
        return subprocess.run([tool, *args], env=env, capture_output=True, text=True, timeout=60)

    def test_harness_needs_to_be_allowed(self):
        query = json.dumps({"id": "harness/1", "type": "account.query", "corr": "",
                            "body": {"op": "get", "account": "bob"}})
        hint = "accounts does not accept key harness: ledger-keys allow harness --to accounts"
        run = self.harness("send", "--to", "accounts", "--timeout-ms", "3000", "--json", query)
        self.assertEqual(run.returncode, 3, run.stdout + run.stderr)
        self.assertIn(hint, run.stderr)
        run = self.harness("tap", "--from", "accounts", "--count", "1", "--timeout-ms", "3000")
        self.assertEqual(run.returncode, 3, run.stdout + run.stderr)
        self.assertIn(hint, run.stderr)

        self.mesh.keys_tool("allow", "harness", "--to", "accounts", "--dir", self.mesh.keys_dir)
        run = self.harness("send", "--to", "accounts", "--timeout-ms", "5000", "--json", query)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertEqual(json.loads(run.stdout)["answer"], "account.reply")


if __name__ == "__main__":
    unittest.main()
