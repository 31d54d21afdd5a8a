#!/usr/bin/python3
"""slowloris.py: how long an honest request waits while slowly-fed connections fill the gateway.

    bench/slowloris.py [--conns 1040] [--duration 30] [--build DIR] [--plaintext]

Issue 20's measure: --conns connections (half from 127.0.0.1, half from
127.0.0.2, so the per-address limit of 512 is not what stops them) each send
a request head one byte a second and never finish it; a connection the
gateway closes is opened again at once, so the attack keeps the pool full.
Meanwhile a probe sends `GET /health`-like requests (GET / on the public
port: any answer counts) every 0.5 s on a fresh connection and times the
answer. Without a head deadline a probe waits until an attacker's connection
ends (libmicrohttpd's idle timeout only counts silence: one byte a second
keeps it alive for ever); with --http-head-timeout-ms (5 s) each attacker
connection is closed 5 s after it opened, so a probe gets a slot within that.

Prints the probes' p50 / p99 / max wait, how many were closed unanswered
(the connection table full) or got no answer within 60 s, and the gateway's
head_deadline closes. Figures, not a test.
"""
import argparse
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

HEAD_START = b"GET / HTTP/1.1\r\nHost: x\r\n"
PROBE = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


class Attack:
    """--conns trickling connections, reopened when the gateway closes them."""

    def __init__(self, port, conns):
        self.port = port
        self.conns = conns
        self.stop = threading.Event()
        self.opened = 0

    def _open(self, i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((f"127.0.0.{1 + i % 2}", 0))
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", self.port))
            s.sendall(HEAD_START)
            self.opened += 1
            return s
        except OSError:
            s.close()
            return None

    def run(self):
        socks = [self._open(i) for i in range(self.conns)]
        while not self.stop.is_set():
            for i, s in enumerate(socks):
                if self.stop.is_set():
                    break
                if s is not None:
                    try:
                        s.sendall(b"X")
                        continue
                    except OSError:
                        s.close()
                socks[i] = self._open(i)
            self.stop.wait(1.0)
        for s in socks:
            if s is not None:
                s.close()


def probe(port, timeout=60):
    """(seconds until the gateway answered a fresh request, None) or (None, why): "closed"
    when the connection was closed or reset unanswered (the connection table full: libmicrohttpd
    closes what it cannot take), "timeout" when nothing came within `timeout`."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(PROBE)
            if not s.recv(64):
                return None, "closed"
    except socket.timeout:
        return None, "timeout"
    except OSError:
        return None, "closed"
    return time.monotonic() - start, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--conns", type=int, default=1040)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--build", default=os.path.join(bench.ROOT, "build-bench"))
    ap.add_argument("--plaintext", action="store_true",
                    help="no CURVE keys (a build from before node keys, to compare)")
    args = ap.parse_args()
    env = {"LEDGER_INSECURE_PLAINTEXT": "1"} if args.plaintext else None
    mesh = bench.Mesh(args.build, 100, tag="slowloris", extra_env=env)
    try:
        mesh.start()
        attack = Attack(mesh.http_port, args.conns)
        t = threading.Thread(target=attack.run, daemon=True)
        t.start()
        time.sleep(2)  # the pool fills
        waits, failed, end = [], {"closed": 0, "timeout": 0}, time.monotonic() + args.duration
        while time.monotonic() < end:
            w, why = probe(mesh.http_port)
            if w is None:
                failed[why] += 1
            else:
                waits.append(w)
            time.sleep(0.5)
        attack.stop.set()
        t.join(10)
        heads = sum(v for (name, labels), v in mesh.metrics("gateway").items()
                    if name == "ledger_http_refused_total" and ("reason", "head_deadline") in labels)
        waits.sort()
        fmt = lambda p: f"{bench.percentile(waits, p / 100):.2f}" if waits else "-"  # noqa: E731
        print(f"slowloris: {args.conns} trickling connections from 2 addresses, "
              f"{attack.opened} opened in {args.duration:.0f} s; probes {len(waits)} answered, "
              f"{failed['closed']} closed unanswered, {failed['timeout']} not within 60 s; wait p50 {fmt(50)} s, p99 {fmt(99)} s, "
              f"max {waits[-1] if waits else 0:.2f} s; head_deadline closes {heads:.0f}")
    finally:
        mesh.close()


if __name__ == "__main__":
    main()
