#!/usr/bin/python3
"""Speed-up map of an spmm_bench run: shape (d_out x d_in x tokens) x backend (and pattern), the
median over repeats/seeds of /summary's speedup column (t_dense / t_sparse, measured in the same
trial). Writes a PNG heat map and prints a markdown table. Reads /summary only, never recomputes.

    /usr/bin/python3 plotting/speedup_map.py results/bench_spmm/latest.h5 [--out map.png]
"""
import argparse
import math
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nmlab_summary as ns  # noqa: E402

SHAPE_KEYS = ("task.d_out", "task.d_in", "task.tokens")


def shape_labels(cols):
    """Per trial 'd_out x d_in x tokens' from whichever of the task's shape axes were swept
    (an axis that was not swept is not a /summary column and is shown as '·')."""
    n = len(cols["trial"])
    parts = [cols[k] if k in cols else ["·"] * n for k in SHAPE_KEYS]
    return ["×".join(str(p[i]) for p in parts) for i in range(n)]


def column_labels(cols):
    """Per trial 'backend' or 'backend n:m' when the pattern was swept."""
    n = len(cols["trial"])
    backend = cols.get("backend_used", cols.get("task.backend", ["?"] * n))
    if "pattern" in cols and len(set(cols["pattern"])) > 1:
        return [f"{backend[i]} {cols['pattern'][i]}" for i in range(n)]
    return [str(b) for b in backend]


def speedup_map(cols):
    """(shapes, columns, matrix) with matrix[i][j] = median speedup (NaN when absent/failed)."""
    if "speedup" not in cols:
        raise SystemExit("no speedup column in /summary: is this an spmm_bench run?")
    values = defaultdict(list)
    for s, c, v in zip(shape_labels(cols), column_labels(cols), cols["speedup"]):
        if not math.isnan(float(v)):
            values[(s, c)].append(float(v))
    # Numeric order of (d_out, d_in, tokens); unswept parts ('·') sort first.
    shapes = sorted({s for s, _ in values},
                    key=lambda s: [ns.as_number(x) if ns.as_number(x) is not None else -1.0 for x in s.split("×")])
    columns = sorted({c for _, c in values})
    matrix = [[_median(values.get((s, c), [])) for c in columns] for s in shapes]
    return shapes, columns, matrix


def _median(v):
    if not v:
        return float("nan")
    v = sorted(v)
    h = len(v) // 2
    return v[h] if len(v) % 2 else 0.5 * (v[h - 1] + v[h])


def markdown(shapes, columns, matrix):
    lines = ["| shape (d_out×d_in×tokens) | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    for s, row in zip(shapes, matrix):
        lines.append(f"| {s} | " + " | ".join("—" if math.isnan(v) else f"{v:.2f}×" for v in row) + " |")
    return "\n".join(lines)


def plot(shapes, columns, matrix, title, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    data = np.array(matrix, dtype=float)
    fig, ax = plt.subplots(figsize=(2.6 + 1.3 * len(columns), 1.4 + 0.45 * len(shapes)))
    finite = data[np.isfinite(data)]
    span = max(1.0, float(np.max(np.abs(np.log2(finite))))) if finite.size else 1.0
    im = ax.imshow(np.log2(data), cmap="RdBu", vmin=-span, vmax=span, aspect="auto")  # red < 1x < blue
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(shapes)), shapes)
    for i in range(len(shapes)):
        for j in range(len(columns)):
            if math.isfinite(data[i, j]):
                dark = abs(math.log2(data[i, j])) > 0.6 * span
                ax.text(j, i, f"{data[i, j]:.2f}×", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    cb = fig.colorbar(im, ax=ax)
    cb.set_label("log2 speed-up")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="an spmm_bench results file (.h5)")
    ap.add_argument("--out", help="PNG path (default: <results>_speedup_map.png)")
    a = ap.parse_args(argv)
    cols, attrs = ns.load(a.results)
    shapes, columns, matrix = speedup_map(cols)
    out = a.out or os.path.splitext(a.results)[0] + "_speedup_map.png"
    plot(shapes, columns, matrix, f"{attrs.get('experiment', '')}: speed-up of N:M over dense", out)
    print(markdown(shapes, columns, matrix))
    print(f"\n![speed-up map]({os.path.basename(out)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
