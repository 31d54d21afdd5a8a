#!/usr/bin/python3
"""callgrind.py: instructions per transfer on each node, counted by valgrind (not timed).

    bench/callgrind.py [--transfers 4000] [--top 25] NAME=BUILD_DIR[,ENV=VALUE...] ...

--keep DIR copies each node's dump to DIR/callgrind.<variant>.<node>, for
`callgrind_annotate --inclusive=yes --tree=calling` and the like.

Variants as in ab.py: `curve=build plain=build,LEDGER_INSECURE_PLAINTEXT=1` counts
one build with CURVE (each mesh its own keys) and without.

For each build: starts the three real nodes under `valgrind --tool=callgrind`
(fresh data dirs, durable, as bench.py does), warms them up, zeroes the
counters (`callgrind_control -z`), sends the transfers through the batch
endpoint (2,000 per request, one connection), waits until every outbox is
empty, dumps the counters (`callgrind_control -d`) and stops the nodes. It
prints the instructions (Ir) per transfer of each node, all threads, and
the ratio to the first build; with --top N, each node's N largest functions
by inclusive Ir per transfer (`callgrind_annotate --inclusive=yes`).

Counts barely move between runs of one build, unlike times on a shared
machine, so a change of a few percent in one place shows; they count
instructions, not cache misses, syscalls' kernel time or waiting, which
the timed A/B (`ab.py`) still has to judge. The nodes run ~50x slower under
valgrind, so retries start late (`LEDGER_RETRY_MIN_MS`=10000, `LEDGER_RETRY_MAX_MS`=60000) and batches
are smaller than at full speed.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from mesh import sample  # noqa: E402  (bench puts tests/integration on the path)


# Frames every node has above its work: not worth a line each.
WRAPPERS = {"main", "node_main_run", "node_run", "clone", "clone3", "start_thread"}


def valgrind_prefix(node, tmp):
    return ["valgrind", "--tool=callgrind", "--quiet",
            f"--callgrind-out-file={os.path.join(tmp, 'callgrind.' + node)}.%p"]


def dump_file(tmp, node):
    """The counters' dump: callgrind writes <file>.<n> for the n-th dump on request."""
    files = [f for f in glob.glob(os.path.join(tmp, f"callgrind.{node}.*")) if re.search(r"\.\d+\.\d+$", f)]
    if not files:
        raise RuntimeError(f"no callgrind dump for {node} in {tmp}")
    return max(files, key=os.path.getmtime)


def total_ir(path):
    with open(path) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def top_functions(path, n):
    """[(inclusive Ir, function)] of the n largest, from callgrind_annotate."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         check=True, capture_output=True, text=True).stdout
    rows, names = [], set()
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
        if not m or "PROGRAM TOTALS" in line or ":" not in m.group(2):
            continue
        name = m.group(2).split(":", 1)[1].split(" [")[0].strip()
        if name in names or name in WRAPPERS or name.startswith(("0x", "(below main)", "__libc_start")):
            continue
        names.add(name)
        rows.append((int(m.group(1).replace(",", "")), name))
    return rows[:n]


def run(build, env, transfers, top, keep=None, name=""):
    env = {"LEDGER_RETRY_MIN_MS": "10000", "LEDGER_RETRY_MAX_MS": "60000", **env}
    mesh = bench.Mesh(build, 10000, tag="callgrind", wrapper=valgrind_prefix, start_timeout_s=180,
                      extra_env=env)
    try:
        mesh.start()
        mesh.warm_up(build)
        pids = mesh.pids()
        for pid in pids.values():
            subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
        m0 = {n: redeliveries(mesh, n) for n in pids}
        lg = bench.loadgen(build, mesh, "batch", 1, 600, batch=2000, tag="callgrind",
                           max_transfers=transfers)
        if not mesh.wait_drained(600):
            raise RuntimeError("the outboxes did not drain")
        for pid in pids.values():
            subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
        m1 = {n: redeliveries(mesh, n) for n in pids}
        resent = sum(m1[n] - m0[n] for n in pids)
        result = {}
        for node in pids:
            path = dump_file(mesh.tmp, node)
            result[node] = (total_ir(path), top_functions(path, top) if top else [])
            if keep:
                os.makedirs(keep, exist_ok=True)
                shutil.copy(path, os.path.join(keep, f"callgrind.{name}.{node}"))
        return lg["accepted"], resent, result
    finally:
        mesh.close()


def redeliveries(mesh, node):
    return sample(mesh.metrics(node), "ledger_redeliveries_total")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--transfers", type=int, default=4000)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("--keep", metavar="DIR",
                    help="copy each dump to DIR/callgrind.<variant>.<node> (for callgrind_annotate)")
    ap.add_argument("variants", nargs="+", help="NAME=BUILD_DIR[,ENV=VALUE...]")
    args = ap.parse_args()
    variants = [bench.parse_variant(v) for v in args.variants]
    rows = []
    for name, build, env in variants:
        accepted, resent, result = run(build, env, args.transfers, args.top, args.keep, name)
        rows.append((name, accepted, resent, result))
        for node, (ir, top) in result.items():
            for fn_ir, fn in top:
                print(f"{name} {node}: {fn_ir / accepted:12,.0f} Ir/transfer  {fn}")
    print()
    print("| variant | transfers | resent | accounts Ir/transfer | fraud | gateway | all | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    first = None
    for name, accepted, resent, result in rows:
        per = {n: result[n][0] / accepted for n in result}
        allnodes = sum(per.values())
        first = first or allnodes
        print(f"| {name} | {accepted:,.0f} | {resent:.0f} | {per['accounts']:,.0f} | {per['fraud']:,.0f} | "
              f"{per['gateway']:,.0f} | {allnodes:,.0f} | {allnodes / first:.3f}x |")


if __name__ == "__main__":
    main()
