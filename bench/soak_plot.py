#!/usr/bin/python3
"""soak_plot.py: draws a soak's CSV (bench/soak.py) as a plain SVG, with no plotting library.

    bench/soak_plot.py results/soak-<stamp>.csv [out.svg]

Three panels over time: each node's LMDB pages used (solid: the file's high-water mark) and
live without the ledger (dashed: used minus the freelist minus the ledger's pages, the part
that retention must keep level; the ledger is never pruned), each node's anonymous RSS (heap) in MiB, and each
node's outbox depth.
"""
import csv
import sys
from xml.sax.saxutils import escape

NODES = ("gateway", "accounts", "fraud")
COLOURS = {"gateway": "#1f77b4", "accounts": "#d62728", "fraud": "#2ca02c"}
W, H = 1500, 420           # whole picture
PW, PH = 420, 300          # one panel's plot area
LEFT, TOP, GAP = 80, 60, 80


def nice_max(v):
    if v <= 0:
        return 1
    step = 10 ** (len(str(int(v))) - 1)
    return (int(v / step) + 1) * step


def panel(x0, title, ylabel, t, series):
    """series: [(label, colour, dashed, values)]."""
    out = [f'<text x="{x0 + PW / 2}" y="{TOP - 25}" text-anchor="middle" '
           f'font-weight="bold">{escape(title)}</text>']
    tmax = max(t) if t and max(t) > 0 else 1
    ymax = nice_max(max((max(v) for _, _, _, v in series if v), default=1))
    out.append(f'<rect x="{x0}" y="{TOP}" width="{PW}" height="{PH}" fill="none" stroke="#888"/>')
    for i in range(5):
        y = TOP + PH - PH * i / 4
        out.append(f'<line x1="{x0}" y1="{y}" x2="{x0 + PW}" y2="{y}" stroke="#eee"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4}" text-anchor="end" font-size="11">'
                   f'{ymax * i / 4:g}</text>')
        x = x0 + PW * i / 4
        out.append(f'<text x="{x}" y="{TOP + PH + 16}" text-anchor="middle" font-size="11">'
                   f'{tmax * i / 4 / 60:.1f}</text>')
    out.append(f'<text x="{x0 + PW / 2}" y="{TOP + PH + 34}" text-anchor="middle" '
               f'font-size="12">minutes</text>')
    out.append(f'<text x="{x0 - 60}" y="{TOP + PH / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 {x0 - 60} {TOP + PH / 2})">{escape(ylabel)}</text>')
    for k, (label, colour, dashed, values) in enumerate(series):
        pts = " ".join(f"{x0 + PW * tt / tmax:.1f},{TOP + PH - PH * v / ymax:.1f}"
                       for tt, v in zip(t, values))
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.6"{dash} '
                   f'points="{pts}"/>')
        ly = TOP + 14 + 15 * k
        out.append(f'<line x1="{x0 + 8}" y1="{ly - 4}" x2="{x0 + 30}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{x0 + 35}" y="{ly}" font-size="11">{escape(label)}</text>')
    return out


def main():
    src = sys.argv[1]
    dst = sys.argv[2] if len(sys.argv) > 2 else src.rsplit(".", 1)[0] + ".svg"
    rows = list(csv.DictReader(open(src)))
    t = [float(r["t_s"]) for r in rows]

    def col(name, fallback=None):
        if rows and name not in rows[0] and fallback:
            name = fallback  # a CSV of before the per-database columns
        return [float(r[name] or 0) for r in rows]

    pages = []
    for n in NODES:
        pages.append((f"{n} used", COLOURS[n], False, col(f"{n}_pages_used")))
        pages.append((f"{n} live w/o ledger", COLOURS[n], True, col(f"{n}_pages_live_no_ledger",
                                                               f"{n}_pages_live")))
    heap = [(n, COLOURS[n], False, [v / 1024 for v in col(f"{n}_anon_kb")]) for n in NODES]
    depth = [(n, COLOURS[n], False, col(f"{n}_outbox")) for n in NODES]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
             f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>',
             f'<text x="10" y="18" font-size="13">'
             f'{escape(src.rsplit("/", 1)[-1])}</text>']
    parts += panel(LEFT, "LMDB pages (4 KiB)", "pages", t, pages)
    parts += panel(LEFT + PW + GAP, "Heap (anonymous RSS)", "MiB", t, heap)
    parts += panel(LEFT + 2 * (PW + GAP), "Outbox depth", "entries", t, depth)
    parts.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(parts) + "\n")
    print(f"soak_plot: {dst}")


if __name__ == "__main__":
    main()
