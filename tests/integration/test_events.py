"""The gateway's live event stream (GET /api/events) and the web app it serves,
through the three real binaries on loopback.

Each test starts its own mesh and waits on conditions with deadlines. The
SSE client below speaks HTTP/1.1 over a raw socket (chunked decoding
included) so the tests see exactly the bytes the gateway sends. Run:
python3 -m unittest test_events (from this directory, LEDGER_BUILD_DIR
pointing at the build).
"""
import http.client
import json
import os
import shutil
import socket
import tempfile
import time
import unittest

from mesh import MeshTest, sample, wait_until

SAGA_SETTLED = ["transfer.requested", "funds.reserved", "fraud.approved", "transfer.settled"]
SAGA_FRAUD = ["transfer.requested", "funds.reserved", "fraud.rejected", "transfer.rejected_fraud"]
STREAMS_MAX = 64  # the gateway's default limit of open streams


class SseStream:
    """One GET /api/events: the status, the headers, then SSE blocks as dicts
    ({"id","event","data","retry","comments"})."""

    def __init__(self, port, last_event_id=None, query="", timeout=10.0, key=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        headers = "Host: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if key:
            headers += f"Authorization: Bearer {key}\r\n"
        if last_event_id is not None:
            headers += f"Last-Event-ID: {last_event_id}\r\n"
        self.sock.sendall(f"GET /api/events{query} HTTP/1.1\r\n{headers}\r\n".encode())
        self.raw = b""
        self.body = b""
        self.closed = False
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.raw:
            if not self._recv(deadline):
                raise AssertionError("the gateway closed the stream before its headers")
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        if self.status != 200:
            length = int(self.headers.get("content-length", "0"))
            while len(self.raw) < length and self._recv(deadline):
                pass
            self.error = json.loads(self.raw[:length] or b"null")

    def _recv(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self.closed:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.raw += data
        return True

    def _dechunk(self):
        if not self.chunked:
            self.body += self.raw
            self.raw = b""
            return
        while b"\r\n" in self.raw:
            size_line, rest = self.raw.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return
            self.body += rest[:size]
            self.raw = rest[size + 2:]
            if size == 0:
                self.closed = True
                return

    def next_block(self, timeout=10.0):
        """The next SSE block, or None at end of stream / deadline."""
        deadline = time.monotonic() + timeout
        while True:
            self._dechunk()
            if b"\n\n" in self.body:
                text, self.body = self.body.split(b"\n\n", 1)
                block = {"comments": []}
                for line in text.decode().split("\n"):
                    if line.startswith(":"):
                        block["comments"].append(line[1:].strip())
                        continue
                    name, _, value = line.partition(":")
                    block[name] = value[1:] if value.startswith(" ") else value
                return block
            if not self._recv(deadline):
                self._dechunk()
                if b"\n\n" not in self.body:
                    return None

    def next_event(self, timeout=10.0):
        """The next block that is an event (comments and retry lines skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            block = self.next_block(max(0.0, deadline - time.monotonic()))
            if block is None or "data" in block:
                return block

    def transfer_events(self, transfer_id, final_types, timeout=15.0, count=None):
        """Events of one transfer, in arrival order, up to the first of final_types
        (or, with `count`, exactly that many)."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            block = self.next_event(max(0.0, deadline - time.monotonic()))
            if block is None:
                raise AssertionError(f"stream ended or timed out; got {[e['type'] for e in seen]}")
            event = json.loads(block["data"])
            event["_id"] = int(block["id"])
            event["_event"] = block.get("event")
            if event["transfer"]["id"] != transfer_id:
                continue
            seen.append(event)
            if len(seen) == count or (count is None and event["type"] in final_types):
                return seen

    def wait_closed(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not self.closed and self._recv(deadline):
            self._dechunk()
        return self.closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class EventStreamTest(MeshTest):
    # One principal (the tester) opens every stream of the global-limit test.
    mesh_options = {"env": {"gateway": {"LEDGER_STREAM_MAX_PER_PRINCIPAL": str(STREAMS_MAX)}}}

    def setUp(self):
        super().setUp()
        self.streams = []
        # Warm up: right after start the nodes' DEALERs may still be connecting to the
        # gateway (started last), so a first status message can need a resend and arrive
        # after a later one. Event order on the stream is arrival order at the gateway;
        # the tests below check saga order in the steady state.
        # Final status alone is not enough: the warm transfer's every step must have
        # reached the gateway, so that every node's connection to it is up.
        _, warm = self.mesh.transfer("alice", "bob", 1)
        wait_until(lambda: len(self.mesh.transfer_status(warm["id"])["timeline"]) == len(SAGA_SETTLED),
                   what="the warm-up transfer's every step to reach the gateway")

    def tearDown(self):
        for s in self.streams:
            s.close()

    def open_stream(self, **kw):
        s = SseStream(self.mesh.http_port, **{"key": self.mesh.key, **kw})
        self.streams.append(s)
        return s

    def open_live(self, **kw):
        s = self.open_stream(**kw)
        self.assertEqual(s.status, 200, getattr(s, "error", None))
        first = s.next_block()  # the preamble: a comment and retry: 2000
        self.assertIsNotNone(first)
        self.assertEqual(first.get("retry"), "2000")
        return s

    def test_a_transfer_arrives_step_by_step_in_saga_order(self):
        s = self.open_live()
        self.assertEqual(s.headers["content-type"], "text/event-stream")
        self.assertEqual(s.headers["cache-control"], "no-cache")
        posted = time.monotonic()
        status, t = self.mesh.transfer("alice", "bob", 1250, reference="lunch")
        self.assertEqual(status, 202, t)
        events = s.transfer_events(t["id"], {"transfer.settled"})
        first_latency = time.monotonic() - posted
        # funds.reserved (from accounts) and fraud.approved (from fraud) reach the gateway on
        # two links, so either may be recorded first; the rest of the order is the saga's.
        types = [e["type"] for e in events]
        self.assertEqual(types[0], "transfer.requested")
        self.assertEqual(types[-1], "transfer.settled")
        self.assertEqual(sorted(types), sorted(SAGA_SETTLED))
        self.assertLess(first_latency, 5.0)
        ids = [e["_id"] for e in events]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(ids, [e["seq"] for e in events])
        self.assertTrue(all(e["_event"] == "transfer" for e in events))
        self.assertEqual([e["node"] for e in events], ["gateway", "accounts", "fraud", "accounts"])
        for e in events:
            self.assertRegex(e["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # Each event carries the transfer as the API shows it when the stream reads the
        # event (gateway_events.h): at least as far as that step, never behind an earlier
        # event's copy, and the last one is the final transfer.
        order = {"pending": 0, "settled": 1}
        statuses = [order[e["transfer"]["status"]] for e in events]
        self.assertEqual(statuses, sorted(statuses))
        for e in events:
            self.assertIn(e["message_id"], [st["message_id"] for st in e["transfer"]["timeline"]])
            if e["transfer"]["status"] == "pending" and e["type"] != "transfer.requested":
                self.assertTrue(e["transfer"]["held"])  # reserved, not yet settled
        self.assertEqual(events[-1]["transfer"], self.mesh.transfer_status(t["id"]))
        timeline = events[-1]["transfer"]["timeline"]
        verdict = [st for st in timeline if st["step"] == "fraud.approved"]
        self.assertEqual(verdict[0]["rules"], [])

    def test_a_fraudulent_transfer_shows_the_rules_then_rejected_fraud(self):
        s = self.open_live()
        status, t = self.mesh.transfer("carol", "bob", 150000)  # over the 1,000.00 threshold
        self.assertEqual(status, 202, t)
        events = s.transfer_events(t["id"], {"transfer.rejected_fraud", "transfer.settled"})
        self.assertEqual([e["type"] for e in events], SAGA_FRAUD)
        rejected = events[2]
        self.assertEqual(rejected["node"], "fraud")
        step = [st for st in rejected["transfer"]["timeline"] if st["step"] == "fraud.rejected"][0]
        self.assertIn("amount_over_threshold", step["rules"])
        final = events[3]["transfer"]
        self.assertEqual(final["status"], "rejected_fraud")
        self.assertIn("amount_over_threshold", final["reason"]["rules"])
        self.assertEqual(final, self.mesh.transfer_status(t["id"]))

    def test_resume_with_last_event_id_replays_exactly_the_missed_events(self):
        # Every copy of the demo deposits' messages delivered first: a verdict's copy to the
        # gateway (fraud -> gateway, its own link) may land after the deposit settled, and would
        # then sit among the events this test counts.
        self.mesh.wait_outboxes_empty()
        s = self.open_live()
        _, t1 = self.mesh.transfer("alice", "bob", 100)
        # Every step of t1 (fraud.approved comes on its own link and may be recorded after
        # transfer.settled): the resume point is the newest of them.
        seen = []
        while not set(SAGA_SETTLED) <= {e["type"] for e in seen}:
            seen += s.transfer_events(t1["id"], set(), count=1)
        last_id = max(e["_id"] for e in seen)
        s.close()
        _, t2 = self.mesh.transfer("bob", "alice", 200)
        self.mesh.wait_final(t2["id"])
        self.mesh.wait_outboxes_empty()  # t2's verdict copy to the gateway too
        for kw in ({"last_event_id": last_id}, {"query": f"?last_event_id={last_id}"}):
            r = self.open_live(**kw)
            replayed = [r.next_event() for _ in SAGA_SETTLED]
            self.assertEqual([int(b["id"]) for b in replayed],
                             list(range(last_id + 1, last_id + 1 + len(SAGA_SETTLED))))
            # The steps in the order the gateway recorded them: funds.reserved (from accounts)
            # and fraud.approved (from fraud) arrive on two links, so either may come first.
            types = [json.loads(b["data"])["type"] for b in replayed]
            shown = [(b["id"], json.loads(b["data"])["type"], json.loads(b["data"])["transfer"]["id"],
                      json.loads(b["data"]).get("message_id")) for b in replayed]
            shown += [last_id, t1["id"], t2["id"], [(e["_id"], e["type"], e.get("message_id")) for e in seen]]
            self.assertEqual(types[0], "transfer.requested", shown)
            self.assertEqual(sorted(types), sorted(SAGA_SETTLED), shown)
            self.assertTrue(all(json.loads(b["data"])["transfer"]["id"] == t2["id"]
                                for b in replayed))
            # Replayed events show the transfer as it is now (final), each still naming its
            # own step.
            self.assertTrue(all(json.loads(b["data"])["transfer"]["status"] == "settled"
                                for b in replayed))
        # Nothing else was replayed: the next event on the last stream is a new one.
        _, t3 = self.mesh.transfer("carol", "dave", 300)
        following = r.next_event()
        self.assertEqual(int(following["id"]), last_id + 1 + len(SAGA_SETTLED))
        self.assertEqual(json.loads(following["data"])["transfer"]["id"], t3["id"])
        # An id that is not a number is refused.
        bad = self.open_stream(last_event_id="abc")
        self.assertEqual(bad.status, 400)
        self.assertEqual(bad.error["error"]["code"], "invalid_query")

    def test_one_stream_over_the_limit_is_refused_with_503(self):
        for _ in range(STREAMS_MAX):
            self.open_live()
        over = self.open_stream()
        self.assertEqual(over.status, 503)
        self.assertEqual(over.error["error"]["code"], "too_many_streams")
        # The API itself still answers while every stream slot is taken.
        self.assertEqual(self.mesh.get("/api/transfers?limit=1")[0], 200)
        # A stream that is closed frees its slot (the gateway sees the hang-up).
        self.streams[0].close()

        def reopened():
            s = SseStream(self.mesh.http_port, key=self.mesh.key)
            self.streams.append(s)
            return s.status == 200

        wait_until(reopened, 10, "a slot to free up after a stream closed", interval=0.1)

    def test_a_gateway_restart_drops_the_stream_and_a_resume_catches_up(self):
        self.mesh.stop("fraud")  # the saga waits after funds.reserved
        s = self.open_live()
        _, t = self.mesh.transfer("alice", "bob", 700)
        events = s.transfer_events(t["id"], {"funds.reserved"})
        self.assertEqual([e["type"] for e in events], SAGA_SETTLED[:2])
        last_id = events[-1]["_id"]
        started = time.monotonic()
        self.mesh.stop("gateway")  # SIGTERM with a stream open
        self.assertLess(time.monotonic() - started, 2.0, "the gateway took too long to stop")
        self.assertTrue(s.wait_closed(5), "the stream did not end when the gateway stopped")
        self.mesh.start("fraud")  # the verdict and the settlement now wait for the gateway
        self.mesh.start("gateway")
        self.mesh.wait_ready()
        r = wait_until(lambda: (lambda x: x if x.status == 200 else None)(
            SseStream(self.mesh.http_port, last_event_id=last_id, key=self.mesh.key)), 20, "the stream to reopen")
        self.streams.append(r)
        # fraud's verdict and accounts' settlement are both redelivered to the restarted
        # gateway, each by its own node: they may arrive in either order.
        rest = r.transfer_events(t["id"], set(), timeout=30, count=2)
        self.assertEqual(sorted(e["type"] for e in rest), sorted(SAGA_SETTLED[2:]))
        # Other transfers' late steps may take ids in between: only the order is promised.
        ids = [e["_id"] for e in rest]
        self.assertTrue(all(i > last_id for i in ids), ids)
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(self.mesh.transfer_status(t["id"])["status"], "settled")
        steps = [st["step"] for st in self.mesh.transfer_status(t["id"])["timeline"]]
        self.assertEqual(steps, SAGA_SETTLED)  # the timeline is in saga (time) order


PER_PRINCIPAL = 2
REPLAY_MAX = 20
STALL_MS = 1000


def rss_anon_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/<pid>/status")


def sanitized(pid):
    """True if process `pid` runs with AddressSanitizer (a LEDGER_SANITIZE build)."""
    with open(f"/proc/{pid}/maps") as f:
        return "libasan" in f.read()


class StreamLimitsTest(MeshTest):
    """Issue 20: streams per principal, the bounded replay, and clients that stop reading."""
    mesh_options = {"env": {"gateway": {
        "LEDGER_STREAM_MAX_PER_PRINCIPAL": str(PER_PRINCIPAL),
        "LEDGER_STREAM_REPLAY_MAX": str(REPLAY_MAX),
        "LEDGER_STREAM_STALL_TIMEOUT_MS": str(STALL_MS)}}}

    def setUp(self):
        super().setUp()
        self.streams = []

    def tearDown(self):
        for s in self.streams:
            s.close()

    def open_stream(self, key, **kw):
        s = SseStream(self.mesh.http_port, key=key, **kw)
        self.streams.append(s)
        return s

    def refused(self, reason):
        return sample(self.mesh.metrics("gateway"), "ledger_http_refused_total", reason=reason)

    def test_one_principal_over_its_limit_is_refused_while_another_gets_a_stream(self):
        alice = self.mesh.owner_key("alice")
        for _ in range(PER_PRINCIPAL):
            self.assertEqual(self.open_stream(alice).status, 200)
        over = self.open_stream(alice)
        self.assertEqual(over.status, 429)
        self.assertEqual(over.error["error"]["code"], "too_many_principal_streams")
        self.assertEqual(over.headers.get("retry-after"), "2")
        self.assertEqual(self.refused("stream_per_principal"), 1)
        # Another principal still gets its streams, and alice's are the ones held.
        bob = self.open_stream(self.mesh.owner_key("bob"))
        self.assertEqual(bob.status, 200)
        self.assertEqual(sample(self.mesh.metrics("gateway"), "ledger_http_streams_open"),
                         PER_PRINCIPAL + 1)
        # A stream of alice that closes gives her slot back (the hub sees the hang-up).
        self.streams[0].close()
        wait_until(lambda: self.open_stream(alice).status == 200, 10,
                   "alice's slot to free up after her stream closed", interval=0.1)

    def test_a_resume_past_the_replay_bound_gets_a_reset_not_the_whole_log(self):
        for i in range(8):  # 32 events, on top of the demo deposits': a log past REPLAY_MAX
            self.assertEqual(self.mesh.transfer("alice", "bob", 10 + i)[0], 202)
        self.mesh.wait_outboxes_empty()
        s = self.open_stream(self.mesh.key, last_event_id=0)
        self.assertEqual(s.status, 200)
        s.next_block()  # the preamble
        reset = s.next_block()
        self.assertEqual(reset.get("event"), "reset", reset)
        data = json.loads(reset["data"])
        self.assertEqual(data["reason"], "replay_limit")
        self.assertEqual(data["last_event_id"], 0)
        self.assertEqual(data["replay_max"], REPLAY_MAX)
        self.assertIn("GET /api/transfers", data["action"])
        newest = data["resume_seq"]
        self.assertGreater(newest, REPLAY_MAX)
        self.assertEqual(int(reset["id"]), newest)
        # Nothing of the log was rendered: the next event is the next new one.
        sent_before = len(s.body) + len(s.raw)
        _, t = self.mesh.transfer("carol", "dave", 300)
        following = s.next_event()
        self.assertEqual(int(following["id"]), newest + 1)
        self.assertEqual(json.loads(following["data"])["transfer"]["id"], t["id"])
        self.assertLess(sent_before, 1024, "bytes after the reset before the new event")
        self.assertEqual(self.refused("stream_replay_limit"), 1)
        # Within the bound, a resume replays exactly what it missed.
        r = self.open_stream(self.mesh.key, last_event_id=newest - 3)
        r.next_block()
        self.assertEqual([int(r.next_event()["id"]) for _ in range(4)],
                         [newest - 2, newest - 1, newest, newest + 1])

    def test_a_stream_idle_past_the_stall_timeout_is_not_closed(self):
        s = self.open_stream(self.mesh.key)
        self.assertEqual(s.status, 200)
        s.next_block()  # the preamble
        # Idle (suspended) for well over STALL_MS: nothing to send is not a stall. Time passing
        # is the condition here.
        time.sleep(3 * STALL_MS / 1000)
        _, t = self.mesh.transfer("carol", "dave", 300)
        events = s.transfer_events(t["id"], {"transfer.settled"}, timeout=30)
        self.assertEqual(events[-1]["type"], "transfer.settled")
        self.assertEqual(self.refused("stream_stalled"), 0)

    def test_a_client_that_never_reads_is_closed_and_memory_stays_bounded(self):
        alice = self.mesh.owner_key("alice")
        pid = self.mesh.procs["gateway"].pid
        before_kib = rss_anon_kib(pid)
        # A client that opens its stream with a tiny receive window and never reads.
        stuck = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        stuck.connect(("127.0.0.1", self.mesh.http_port))
        stuck.sendall(f"GET /api/events HTTP/1.1\r\nHost: x\r\n"
                      f"Authorization: Bearer {alice}\r\n\r\n".encode())
        # A client that reads: the operator's stream, kept open throughout.
        reader = self.open_stream(self.mesh.key)
        self.assertEqual(reader.status, 200)
        wait_until(lambda: sample(self.mesh.metrics("gateway"), "ledger_http_streams_open") == 2,
                   what="both streams open")
        items = [{"idempotency_key": f"stall-{i}", "from": "alice", "to": "bob", "amount": 1}
                 for i in range(400)]
        status, payload, _ = self.mesh.request("POST", "/api/transfers/batch",
                                               {"transfers": items}, key=alice)
        self.assertEqual(status, 200, payload)
        self.assertEqual(payload["accepted"], 400)
        # 1,600 events of alice's, ~1 KB each: far more than the window and the buffers. The
        # reader keeps reading meanwhile.

        def stalled_closed():
            while reader._recv(time.monotonic() + 0.05):
                reader._dechunk()
            m = self.mesh.metrics("gateway")
            return (sample(m, "ledger_http_refused_total", reason="stream_stalled") == 1 and
                    sample(m, "ledger_http_streams_open") == 1)

        wait_until(stalled_closed, 30, "the stream that never reads to be closed", interval=0.05)
        stuck.settimeout(5)
        received = 0
        try:
            while True:
                chunk = stuck.recv(65536)
                if not chunk:
                    break
                received += len(chunk)
        except ConnectionError:
            pass
        stuck.close()
        self.assertLess(received, 1024 * 1024, "the gateway kept sending a client that stopped")
        # The reader was not closed: it still gets new events.
        _, t = self.mesh.transfer("carol", "dave", 300)
        reader.transfer_events(t["id"], {"transfer.settled"}, timeout=30)
        self.assertEqual(self.refused("stream_stalled"), 1)
        # Under AddressSanitizer freed memory stays in its quarantine (up to 256 MiB), so
        # RssAnon says nothing there about what the gateway holds.
        if not sanitized(pid):
            grown_kib = rss_anon_kib(pid) - before_kib
            self.assertLess(grown_kib, 16 * 1024, f"RssAnon grew {grown_kib} KiB")


class WebAppTest(MeshTest):
    """The built web app served at /: a temporary web_dir with a fake build."""

    FILES = {
        "index.html": b"<!doctype html><title>ledger</title><div id=app></div>",
        "assets/index-3f2a9c.js": b"console.log('app')",
        "assets/index-77aa01.css": b"body{}",
        "assets/logo-12ab.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        "assets/inter-99.woff2": b"wOF2",
        "assets/index-3f2a9c.js.map": b"{}",
        "favicon.ico": b"\x00\x00\x01\x00",
        "shot.png": b"\x89PNG\r\n",
        "manifest.json": b"{}",
        "robots.txt": b"User-agent: *\n",
    }

    def run(self, result=None):
        self.root = tempfile.mkdtemp(prefix="ledger-web-")
        self.web_dir = os.path.join(self.root, "dist")
        for name, data in self.FILES.items():
            path = os.path.join(self.web_dir, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        with open(os.path.join(self.root, "README.md"), "w") as f:
            f.write("secret outside the web dir\n")
        os.symlink("/etc/passwd", os.path.join(self.web_dir, "passwd-link"))
        os.symlink("/etc", os.path.join(self.web_dir, "etc-link"))
        os.symlink(os.path.join(self.root, "README.md"),
                   os.path.join(self.web_dir, "assets", "readme.js"))
        self.mesh_options = {"env": {"gateway": {"LEDGER_WEB_DIR": self.web_dir}}}
        try:
            return super().run(result)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def raw(self, method, path):
        """One request with the path sent byte for byte (no client-side normalising)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.mesh.http_port, timeout=10)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            conn.endheaders()
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
        finally:
            conn.close()

    def test_files_have_their_content_type_and_cache_headers(self):
        expected = {
            "/": ("text/html; charset=utf-8", "no-cache", "index.html"),
            "/index.html": ("text/html; charset=utf-8", "no-cache", "index.html"),
            "/assets/index-3f2a9c.js": ("text/javascript; charset=utf-8", "immutable", None),
            "/assets/index-77aa01.css": ("text/css; charset=utf-8", "immutable", None),
            "/assets/logo-12ab.svg": ("image/svg+xml", "immutable", None),
            "/assets/inter-99.woff2": ("font/woff2", "immutable", None),
            "/assets/index-3f2a9c.js.map": ("application/json", "immutable", None),
            "/favicon.ico": ("image/x-icon", "no-cache", None),
            "/shot.png": ("image/png", "no-cache", None),
            "/manifest.json": ("application/json", "no-cache", None),
            "/robots.txt": ("text/plain; charset=utf-8", "no-cache", None),
        }
        for path, (ctype, cache, name) in expected.items():
            status, headers, body = self.raw("GET", path)
            self.assertEqual(status, 200, path)
            self.assertEqual(headers["content-type"], ctype, path)
            if cache == "immutable":
                self.assertEqual(headers["cache-control"], "public, max-age=31536000, immutable",
                                 path)
            else:
                self.assertEqual(headers["cache-control"], "no-cache", path)
            self.assertEqual(body, self.FILES[name or path.lstrip("/")], path)
            self.assertEqual(headers.get("x-content-type-options"), "nosniff")
            # The page keeps API keys: only its own scripts, styles and API, no referrer.
            csp = headers.get("content-security-policy", "")
            self.assertIn("script-src 'self'", csp, path)
            self.assertIn("connect-src 'self'", csp, path)
            self.assertIn("frame-ancestors 'none'", csp, path)
            self.assertEqual(headers.get("referrer-policy"), "no-referrer", path)

    def test_head_gives_the_headers_without_a_body(self):
        status, headers, body = self.raw("HEAD", "/assets/index-3f2a9c.js")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-length"], str(len(self.FILES["assets/index-3f2a9c.js"])))
        self.assertEqual(body, b"")
        status, _, _ = self.raw("POST", "/")
        self.assertEqual(status, 405)

    def test_unknown_paths_fall_back_to_index_html_but_assets_and_api_do_not(self):
        for path in ("/transfers", "/transfers/tr_019a8f3c2b1d0000002a", "/a/b/", "/assets"):
            status, headers, body = self.raw("GET", path)
            self.assertEqual((status, body), (200, self.FILES["index.html"]), path)
            self.assertEqual(headers["cache-control"], "no-cache", path)
        status, _, _ = self.raw("GET", "/assets/missing-000.js")
        self.assertEqual(status, 404)
        status, headers, body = self.raw("GET", "/api/nothing-here")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)["error"]["code"], "not_found")

    def test_nothing_outside_the_web_dir_can_be_read(self):
        attempts = [
            "/../etc/passwd", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
            "/%2E%2E/README.md", "/assets/..%2f..%2fREADME.md", "/assets/%2e%2e/%2e%2e/README.md",
            "/..%5c..%5cREADME.md", "/%252e%252e/README.md", "/passwd-link", "/etc-link/passwd",
            "/assets/readme.js", "/.%2e/README.md", "/index.html%00.png",
        ]
        for path in attempts:
            status, _, body = self.raw("GET", path)
            self.assertNotIn(b"root:", body, path)
            self.assertNotIn(b"secret outside", body, path)
            if path != "/index.html%00.png":
                self.assertIn(status, (400, 404), path)

    def test_without_index_html_the_root_says_the_app_is_not_built(self):
        os.unlink(os.path.join(self.web_dir, "index.html"))
        status, headers, body = self.raw("GET", "/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertIn(b"not built", body)
        self.assertIn(b"scripts/demo.sh", body)


if __name__ == "__main__":
    unittest.main()
