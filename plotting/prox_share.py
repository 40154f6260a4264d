#!/usr/bin/python3
"""Where a proximal solve's time goes: for every trial with the per-iteration traces time_product_s
and time_prox_s (written by the `prox` solver), the prox's share of each iteration, prox / (product
+ prox), summarised as a markdown table (whole run, median, 95th percentile and worst iteration) and
plotted against the iteration (one line per trial, the 20% target of issue 3 dashed). Recomputes
nothing: the times are the solver's own phase timers.

usage: prox_share.py RUN.h5 [--out PREFIX] [--target PERCENT]
  writes PREFIX.md and PREFIX.png (default PREFIX: <run>_prox_share next to the results file)
"""
import argparse
import os
import sys

import h5py
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def label_of(attrs):
    """Solver label with the options that set a prox run apart, and the problem parameters."""
    label = attrs.get("solver", "?")
    if attrs.get("solver.normalized") == "true" and "normalized" not in label:
        label += " normalized"
    shape = f"{attrs.get('problem.d_out', '?')}x{attrs.get('problem.d_in', '?')}"
    extra = "".join(f", {k[len('problem.'):]} = {v}" for k, v in sorted(attrs.items())
                    if k.startswith("problem.") and k not in ("problem.d_out", "problem.d_in"))
    return f"{label}, {attrs.get('problem', '?')} {shape}{extra}, threads {attrs.get('threads_used', '?')}"


def load_runs(path):
    """[(label, product seconds array, prox seconds array)] for trials with both traces."""
    out = []
    with h5py.File(path, "r") as f:
        if "trials" not in f:
            raise SystemExit(f"{path}: not an nmlab results file (no /trials)")
        for tid in sorted(f["trials"].keys()):
            t = f["trials"][tid]
            tr = t.get("traces")
            if tr is None or "time_product_s" not in tr or "time_prox_s" not in tr:
                continue
            attrs = {k: text(v) for k, v in t.attrs.items()}
            out.append((label_of(attrs), np.asarray(tr["time_product_s"][...], dtype=float),
                        np.asarray(tr["time_prox_s"][...], dtype=float)))
    return out


def shares(product, prox):
    """Per-iteration share (percent) and the whole run's share."""
    total = product + prox
    per = np.where(total > 0, 100.0 * prox / np.where(total > 0, total, 1.0), 0.0)
    whole = 100.0 * prox.sum() / total.sum() if total.sum() > 0 else 0.0
    return per, whole


def table(runs, target):
    lines = [f"| trial | iterations | product (s) | prox (s) | whole run | median | 95th pct | worst (iteration) "
             f"| iterations above {target:g}% |", "|---|---|---|---|---|---|---|---|---|"]
    for label, product, prox in runs:
        per, whole = shares(product, prox)
        worst = int(np.argmax(per)) if per.size else 0
        lines.append(f"| {label} | {per.size} | {product.sum():.2f} | {prox.sum():.2f} | {whole:.1f}% | "
                     f"{np.median(per):.1f}% | {np.percentile(per, 95):.1f}% | {per.max():.1f}% ({worst}) | "
                     f"{int((per > target).sum())} |")
    return "\n".join(lines) + "\n"


def plot(runs, out_png, title, target):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (label, product, prox) in enumerate(runs):
        per, _ = shares(product, prox)
        ax.plot(np.arange(per.size), per, lw=0.8, alpha=0.8, color=f"C{i % 10}", label=label)
    ax.axhline(target, color="k", ls="--", lw=1, label=f"target {target:g}%")
    ax.set_xlabel("iteration")
    ax.set_ylabel("prox / (product + prox)  [%]")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--out", help="output prefix (default: <run>_prox_share next to the results file)")
    ap.add_argument("--target", type=float, default=20.0, help="share to mark and count, in percent (default 20)")
    args = ap.parse_args(argv)
    runs = load_runs(args.results)
    if not runs:
        raise SystemExit(f"{args.results}: no trial with traces 'time_product_s' and 'time_prox_s' "
                         "(run the `prox` solver, e.g. experiments/prox_share.yaml)")
    prefix = args.out or os.path.splitext(args.results)[0] + "_prox_share"
    md = table(runs, args.target)
    with open(prefix + ".md", "w") as fh:
        fh.write(md)
    plot(runs, prefix + ".png", os.path.basename(args.results), args.target)
    print(md, end="")
    print(f"table: {os.path.abspath(prefix + '.md')}\nplot:  {os.path.abspath(prefix + '.png')}")
    return prefix


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
