#!/usr/bin/python3
"""ab.py: A/B comparison of builds or settings in ONE run (used for the optimisation notes).

    bench/ab.py [--rounds 3] [--duration 8] [--accounts 10000] [--mode single|batch] [--rate N]
                NAME=BUILD_DIR[,ENV=VALUE...] NAME=BUILD_DIR[,ENV=VALUE...] ...

Each round starts a fresh mesh per variant (variants interleaved, so drift of the
shared machine hits all of them alike) and runs one phase; prints the median
settled/s, accepted/s, p99 and CPU µs per transfer of each variant and the
ratio to the first one. BUILD_DIR holds nodes/ledger-*, bench/ledger-bench-* and
tools/keys/ledger-keys (each mesh gets its own CURVE keys; ENV LEDGER_INSECURE_PLAINTEXT=1
runs a variant without). CURVE against plaintext, one build:

    bench/ab.py --rounds 5 --mode batch --conns 4 curve=build plain=build,LEDGER_INSECURE_PLAINTEXT=1
"""
import argparse
import statistics
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--mode", default="single")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--rate", type=int, default=0,
                    help="offered transfers/s (0: closed loop); for latency at a fixed load")
    ap.add_argument("variants", nargs="+")
    args = ap.parse_args()
    variants = [bench.parse_variant(v) for v in args.variants]
    results = {name: [] for name, _, _ in variants}
    for r in range(args.rounds):
        for name, build, env in variants:
            mesh = bench.Mesh(build, args.accounts, tag=f"ab-{name}", extra_env=env)
            try:
                mesh.start()
                mesh.warm_up(build)
                res = bench.run_phase(build, mesh, f"{name}#{r}", args.mode, args.conns,
                                      args.duration, rate=args.rate, batch=2000,
                                      max_transfers=args.duration * 4000 if args.mode == "batch" else 0)
                results[name].append(res)
            finally:
                mesh.close()
    first = None
    print("| variant | settled/s | accepted/s | p50 / p99 ms | CPU µs/transfer | settled/s ratio | CPU ratio |")
    print("|---|---|---|---|---|---|---|")
    for name, _, _ in variants:
        rs = results[name]
        med = {k: statistics.median(x[k] for x in rs)
               for k in ("settled_per_s", "accepted_per_s", "lat_p50_ms", "lat_p99_ms",
                         "cpu_us_per_transfer")}
        if first is None:
            first = med
        print(f"| {name} | {med['settled_per_s']:,.0f} | {med['accepted_per_s']:,.0f} | "
              f"{med['lat_p50_ms']:.0f} / {med['lat_p99_ms']:.0f} | {med['cpu_us_per_transfer']:.1f} | "
              f"{med['settled_per_s'] / first['settled_per_s']:.2f}x | "
              f"{med['cpu_us_per_transfer'] / first['cpu_us_per_transfer']:.2f}x |")


if __name__ == "__main__":
    main()
