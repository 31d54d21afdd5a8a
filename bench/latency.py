#!/usr/bin/python3
"""latency.py: where submit->settled latency goes: durable against no-sync, and what a flush costs.

    bench/latency.py [--rates 500,2000,4000] [--duration 5] [--accounts 10000] [--build DIR]

Part 1. For each offered rate (single transfers over HTTP, 64 connections,
open loop as bench.py's half-peak phase), a fresh durable mesh and a fresh
no-sync mesh run the same load; it prints submit->settled p50/p99 (the
transfers' own timestamps, as bench.py), each node's commits per second, and
the bytes its write calls put into the data file per commit (/proc/<pid>/io
wchar: LMDB's pwrite/writev of dirty pages; ZeroMQ and HTTP use send(),
which wchar does not count). Same code, same load: the difference between
the two rows is what durability (LMDB's two flushes per commit) costs.

Part 2 (not bench/fsync_growth.c, which appends a fixed 3 pages per commit
with three writers to compare file growth modes: here the question is how a
commit's time grows with the number of random pages it writes). One writer
in the benchmark's temporary directory (the filesystem
the nodes' data dirs are on) does commits shaped like LMDB's: N random 4 KiB
pages written, fdatasync, the first page rewritten (the meta), fdatasync;
it prints the time of such a commit for several N. With part 1's pages per
commit this gives each hop's flush time.

Figures, not a test: nothing here passes or fails.
"""
import argparse
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from mesh import sample  # noqa: E402  (bench puts tests/integration on the path)


def written_and_commits(mesh):
    """{node: (bytes written by write calls, commits)} now."""
    out = {}
    for node, pid in mesh.pids().items():
        with open(f"/proc/{pid}/io") as f:
            io = dict(line.split(": ") for line in f.read().splitlines() if line)
        out[node] = (int(io["wchar"]), sample(mesh.metrics(node), "ledger_batches_total"))
    return out


def load_row(build, accounts, rate, duration, no_sync):
    mesh = bench.Mesh(build, accounts, no_sync=no_sync, tag="latency")
    try:
        mesh.start()
        mesh.warm_up(build)
        before = written_and_commits(mesh)
        res = bench.run_phase(build, mesh, f"rate-{rate}{'-nosync' if no_sync else ''}",
                              "single", 64, duration, rate=rate)
        after = written_and_commits(mesh)
    finally:
        mesh.close()
    per_node = {}
    for node in bench.NODES:
        written = after[node][0] - before[node][0]
        commits = after[node][1] - before[node][1]
        per_node[node] = (commits / duration, written / commits / 4096 if commits else 0.0)
    return res, per_node


def flush_costs(directory, pages_list, commits=300):
    """[(pages, p50 ms, p99 ms)] of LMDB-shaped commits of that many random pages."""
    path = os.path.join(directory, "flush-probe.dat")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    rows = []
    try:
        os.posix_fallocate(fd, 0, 256 << 20)  # blocks exist, as with store/prealloc.h
        page = b"\x5a" * 4096
        for pages in pages_list:
            times = []
            for _ in range(commits):
                t0 = time.perf_counter()
                for p in random.sample(range(1, 65536), pages):
                    os.pwrite(fd, page, p * 4096)
                os.fdatasync(fd)
                os.pwrite(fd, page, 0)
                os.fdatasync(fd)
                times.append((time.perf_counter() - t0) * 1000.0)
            times.sort()
            rows.append((pages, bench.percentile(times, 0.5), bench.percentile(times, 0.99)))
    finally:
        os.close(fd)
        os.unlink(path)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(bench.ROOT, "build-bench"))
    ap.add_argument("--rates", default="500,2000,4000")
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--accounts", type=int, default=10000)
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]

    print("| offered/s | sync | p50 ms | p99 ms | commits/s acc / fraud / gw "
          "| pages written per commit acc / fraud / gw |")
    print("|---|---|---|---|---|---|")
    for rate in rates:
        for no_sync in (False, True):
            res, nodes = load_row(args.build, args.accounts, rate, args.duration, no_sync)
            commits = " / ".join(f"{nodes[n][0]:.0f}" for n in bench.NODES)
            pages = " / ".join(f"{nodes[n][1]:.1f}" for n in bench.NODES)
            print(f"| {rate:,} | {'no-sync' if no_sync else 'durable'} | "
                  f"{bench.fmt(res['lat_p50_ms'], 1)} | {bench.fmt(res['lat_p99_ms'], 1)} | "
                  f"{commits} | {pages} |", flush=True)

    print()
    print("| pages per commit | commit with two flushes, p50 ms | p99 ms |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="ledger-bench-flush-") as d:
        for pages, p50, p99 in flush_costs(d, [3, 10, 20, 40, 100]):
            print(f"| {pages} | {p50:.2f} | {p99:.2f} |", flush=True)


if __name__ == "__main__":
    main()
