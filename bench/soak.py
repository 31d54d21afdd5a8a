"""soak.py: bench/run.sh --soak, a long run at half of peak that shows whether storage and
memory level off (issue 20).

It finds the peak briefly (10 s, 64 connections), then sends half of it for --soak-seconds.
Every --soak-sample-s seconds it writes one CSV row per sample to
bench/results/soak-<stamp>.csv: for each node its LMDB pages (`mdb_stat -efa` on its data dir:
pages used = the file's high-water mark, free = pages on LMDB's freelist, live = used - free,
live without the ledger's pages, and the pages and entries of each named database),
its anonymous RSS (the heap) and VmRSS, its outbox depth, and the retention counters
(ledger_retention_pruned_total). bench/soak_plot.py draws the CSV as an SVG beside it.

--soak-retention-s N sets every retention the nodes have a flag for to N seconds
(LEDGER_TRANSFER_RETENTION_MS, LEDGER_IDEMPOTENCY_RETENTION_MS, LEDGER_SAGA_RETENTION_MS), so
that pruning starts within the run; --soak-env NAME=VALUE (repeatable) passes any other
setting to every node (another retention, a map size). Without them the nodes keep their
production defaults (days), and storage grows through the whole run.

Levelling off, as printed at the end: the growth of used pages over the second half of the
load, against the first half. Pages that are freed are reused by LMDB, so once the
retentions have passed, the used pages of a node that prunes as fast as it writes stop
growing, except for the ledger: it is the record, never pruned, and grows with every
transfer (two entries each, at the accounts node). So the summary and the plot also show
the live pages without the ledger, which is what must level off there.
"""
import csv
import os
import re
import subprocess
import sys
import time

NODES = ("accounts", "fraud", "gateway")
PRUNED = ("views", "saga", "decisions", "seen")  # ledger_retention_pruned_total{what=...}
DBS = ("meta", "outbox", "seen", "dead_letters", "ledger", "accounts", "transfers", "decisions",
       "risk", "idempotency", "index")  # store/store.c's named databases
DB_BLOCK = re.compile(r"Status of (\w+)\n\s*Tree depth: \d+\n\s*Branch pages: (\d+)\n"
                      r"\s*Leaf pages: (\d+)\n\s*Overflow pages: (\d+)\n\s*Entries: (\d+)")


def mdb_pages(data_dir):
    """(used, free, {db: (pages, entries)}) of the LMDB environment in data_dir, from
    mdb_stat -efa; zeros if it cannot be read."""
    try:
        out = subprocess.run(["mdb_stat", "-efa", data_dir], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    used = re.search(r"Number of pages used:\s*(\d+)", out)
    free = re.search(r"Free pages:\s*(\d+)", out)
    dbs = {m.group(1): (int(m.group(2)) + int(m.group(3)) + int(m.group(4)), int(m.group(5)))
           for m in DB_BLOCK.finditer(out)}
    return (int(used.group(1)) if used else 0, int(free.group(1)) if free else 0, dbs)


def retention_env(args):
    env = {}
    if args.soak_retention_s:
        ms = str(args.soak_retention_s * 1000)
        env.update({"LEDGER_TRANSFER_RETENTION_MS": ms, "LEDGER_IDEMPOTENCY_RETENTION_MS": ms,
                    "LEDGER_SAGA_RETENTION_MS": ms, "LEDGER_DECISION_RETENTION_MS": ms,
                    "LEDGER_PAYEE_RETENTION_MS": ms})
    for item in args.soak_env or []:
        name, _, value = item.partition("=")
        env[name] = value
    return env


def header():
    cols = ["t_s"]
    for n in NODES:
        cols += [f"{n}_pages_used", f"{n}_pages_free", f"{n}_pages_live",
                 f"{n}_pages_live_no_ledger", f"{n}_anon_kb", f"{n}_rss_kb", f"{n}_outbox"]
        cols += [f"{n}_{db}_{what}" for db in DBS for what in ("pages", "entries")]
    return cols + [f"pruned_{w}" for w in PRUNED]


def sample_row(b, mesh, t):
    row = {"t_s": f"{t:.1f}"}
    depths = mesh.outbox_depths()
    rss, anon = mesh.rss(), mesh.rss("RssAnon")
    pruned = dict.fromkeys(PRUNED, 0)
    for n in NODES:
        used, free, dbs = mdb_pages(os.path.join(mesh.tmp, "data", n))
        for db in DBS:
            row[f"{n}_{db}_pages"], row[f"{n}_{db}_entries"] = dbs.get(db, (0, 0))
        row.update({f"{n}_pages_used": used, f"{n}_pages_free": free,
                    f"{n}_pages_live": used - free,
                    f"{n}_pages_live_no_ledger": used - free - row[f"{n}_ledger_pages"],
                    f"{n}_anon_kb": anon[n],
                    f"{n}_rss_kb": rss[n], f"{n}_outbox": depths.get(n)})
        m = mesh.metrics(n)
        for w in PRUNED:
            pruned[w] += int(b.sample(m, "ledger_retention_pruned_total", what=w))
    row.update({f"pruned_{w}": v for w, v in pruned.items()})
    return row, sum(depths.values())


def summarise(rows, load_s):
    """Growth of used pages and heap over each half of the load, per node."""
    load = [r for r in rows if float(r["t_s"]) <= load_s]
    if len(load) < 3:
        return
    first, mid, last = load[0], load[len(load) // 2], load[-1]
    for n in NODES:
        def grow(key, a, b):
            return int(b[f"{n}_{key}"]) - int(a[f"{n}_{key}"])
        print(f"  {n}: pages used {first[f'{n}_pages_used']} -> {mid[f'{n}_pages_used']} -> "
              f"{last[f'{n}_pages_used']} (first half +{grow('pages_used', first, mid)}, "
              f"second half +{grow('pages_used', mid, last)}); live pages without the ledger: "
              f"first half {grow('pages_live_no_ledger', first, mid):+d}, second half "
              f"{grow('pages_live_no_ledger', mid, last):+d}; the ledger (never pruned) "
              f"{grow('ledger_pages', first, last):+d}; heap (anonymous) "
              f"{int(first[f'{n}_anon_kb']) / 1024:.1f} -> {int(mid[f'{n}_anon_kb']) / 1024:.1f}"
              f" -> {int(last[f'{n}_anon_kb']) / 1024:.1f} MiB")


def run_load(b, args, mesh, accounts, rate, path):
    proc = subprocess.Popen(
        [os.path.join(args.build, "bench", "ledger-bench-loadgen"), "--port",
         str(mesh.http_port), "--conns", "64", "--duration", str(args.soak_seconds),
         "--rate", str(int(rate)), "--accounts", str(accounts), "--account-prefix",
         b.ACCOUNT_PREFIX, "--key-prefix", f"soak-{time.time_ns()}"],
        stdout=subprocess.PIPE, text=True)
    t0, rows = time.monotonic(), []
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header())
        w.writeheader()
        while True:
            t = time.monotonic() - t0
            row, depth = sample_row(b, mesh, t)
            rows.append(row)
            w.writerow(row)
            f.flush()
            if (proc.poll() is not None and depth == 0) or t > args.soak_seconds + 300:
                break
            time.sleep(args.soak_sample_s)
    return proc.stdout.read(), rows


def soak(args, results_dir, stamp, b):
    """b: the bench module (Mesh, run_phase, ...)."""
    accounts = (args.accounts or [10000])[0]
    env = retention_env(args)
    mesh = b.Mesh(args.build, accounts, tag="soak", extra_env=env)
    try:
        mesh.start()
        mesh.warm_up(args.build)
        peak = b.run_phase(args.build, mesh, "soak-peak", "single", 64, 10)
        rate = min(peak["accepted_per_s"], peak["settled_per_s"]) / 2
        b.log(f"soak: {args.soak_seconds}s at {rate:.0f}/s, env {env}")
        path = os.path.join(results_dir, f"soak-{stamp}.csv")
        out, rows = run_load(b, args, mesh, accounts, rate, path)
        drained = mesh.wait_drained(60)
        print(f"soak {args.soak_seconds}s at {rate:.0f}/s, retention "
              f"{args.soak_retention_s or 'defaults'} s: {out.strip()}")
        summarise(rows, args.soak_seconds)
        svg = path[:-4] + ".svg"
        subprocess.run([sys.executable, os.path.join(b.HERE, "soak_plot.py"), path, svg],
                       check=False)
        print(f"  outbox drained after the load: {drained}; samples {path}; plot {svg}")
    finally:
        mesh.close()
