#!/usr/bin/python3
"""pipeline.py: where a load's wall time goes, node by node (a diagnostic, not a benchmark row).

    bench/pipeline.py [--build DIR] [--mode batch|single] [--conns N] [--transfers N]
                      [--duration S] [--rate R] [--accounts N]

Starts the three real nodes as bench.py does (fresh data dirs, durable), warms
them up, runs ONE load with ledger-bench-loadgen and waits until every outbox
is empty. Over that span it reads, for each node:

- CPU of each thread (/proc/<pid>/task/*/stat): the node loop (the thread
  named after the binary), ZeroMQ's I/O thread, the gateway's MHD workers;
- the loop's write batches from /metrics (ledger_commit_duration_seconds,
  ledger_batch_messages): how many, how long (apply + LMDB's two syncs), how
  many messages and answers each;

and for the block device under the data dirs, what it wrote (/proc/diskstats).
A loop that is busy most of the wall time, on CPU or in its commits, is the
bottleneck; a device near its sequential write rate (dd) is another.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from mesh import sample  # noqa: E402  (bench puts tests/integration on the path)


def thread_ticks(pid):
    """{(tid, name): utime+stime ticks} of every thread of `pid`."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue  # the thread ended
        out[(int(tid), name)] = int(fields[11]) + int(fields[12])
    return out


def device_written(path):
    """(bytes written, write requests) so far by the block device holding `path`."""
    dev = os.stat(path).st_dev
    major, minor = os.major(dev), os.minor(dev)
    with open("/proc/diskstats") as f:
        for line in f:
            fields = line.split()
            if int(fields[0]) == major and int(fields[1]) == minor:
                return int(fields[9]) * 512, int(fields[7]), fields[2]
    return 0, 0, "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(bench.ROOT, "build-bench"))
    ap.add_argument("--mode", default="batch", choices=("batch", "single"))
    ap.add_argument("--conns", type=int, default=0, help="default: 4 for batch, 64 for single")
    ap.add_argument("--transfers", type=int, default=32000, help="batch mode: how many in all")
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rate", type=int, default=0, help="single mode: offered transfers/s")
    ap.add_argument("--accounts", type=int, default=10000)
    args = ap.parse_args()
    conns = args.conns or (4 if args.mode == "batch" else 64)

    mesh = bench.Mesh(args.build, args.accounts, tag="pipeline")
    try:
        mesh.start()
        mesh.warm_up(args.build)
        pids = mesh.pids()
        ticks0 = {n: thread_ticks(p) for n, p in pids.items()}
        met0 = {n: mesh.metrics(n) for n in pids}
        disk0 = device_written(mesh.tmp)
        t0 = time.monotonic()
        lg = bench.loadgen(args.build, mesh, args.mode, conns, args.duration, args.rate, batch=2000,
                           tag="pipeline",
                           max_transfers=args.transfers if args.mode == "batch" else 0)
        if not mesh.wait_drained(300):
            bench.log("WARNING: the outboxes did not drain in 300 s")
        wall = time.monotonic() - t0
        ticks1 = {n: thread_ticks(p) for n, p in pids.items()}
        met1 = {n: mesh.metrics(n) for n in pids}
        disk1 = device_written(mesh.tmp)
    finally:
        mesh.close()

    transfers = lg["accepted"]
    print(f"{args.mode} x{conns}: {transfers:,.0f} transfers accepted, all outboxes empty after "
          f"{wall:.2f} s = {transfers / wall:,.0f} transfers/s end to end")
    print()
    print("| node | thread | CPU s | % of wall | µs per transfer |")
    print("|---|---|---|---|---|")
    cores = 0.0
    for node in pids:
        for key, end in sorted(ticks1[node].items(), key=lambda kv: -kv[1]):
            cpu = (end - ticks0[node].get(key, 0)) / bench.CLK_TCK
            cores += cpu / wall
            if cpu >= 0.01:
                print(f"| {node} | {key[1]} | {cpu:.2f} | {100 * cpu / wall:.0f}% | "
                      f"{cpu * 1e6 / transfers:.1f} |")
    print()
    print("| node | write batches | per s | in commits, % of wall | ms per commit | messages + answers per commit |")
    print("|---|---|---|---|---|---|")
    for node in pids:
        def delta(name):
            return sample(met1[node], name) - sample(met0[node], name)
        commits = delta("ledger_commit_duration_seconds_count")
        seconds = delta("ledger_commit_duration_seconds_sum")
        per_batch = delta("ledger_batch_messages_sum") / commits if commits else 0
        print(f"| {node} | {commits:.0f} | {commits / wall:.0f} | {100 * seconds / wall:.0f}% | "
              f"{1000 * seconds / commits if commits else 0:.1f} | {per_batch:.0f} |")
    written, requests, name = (disk1[0] - disk0[0], disk1[1] - disk0[1], disk1[2])
    print()
    print(f"CPU: {cores:.2f} of {os.cpu_count()} cores busy on average. Device {name} (every writer on "
          f"the machine): {written / 1e6:.0f} MB in {requests:,} write requests, "
          f"{written / wall / 1e6:.0f} MB/s, {written / transfers:,.0f} bytes per transfer.")


if __name__ == "__main__":
    main()
