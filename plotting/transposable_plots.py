#!/usr/bin/python3
"""Plots for experiments/transposable.yaml, from a results file's /summary only (never recomputes):

  <stem>_gap_vs_m.png      mean kept-score gap to tn_flow (%) vs pattern m, one line per solver,
                           one panel per weight family (problem name + dist), averaged over seeds/sizes
  <stem>_time_vs_size.png  mean solve time (s) vs matrix entries d_out·d_in, one line per solver,
                           one panel per pattern

usage: transposable_plots.py RUN.h5 [--out DIR]
"""
import argparse
import math
import os
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nmlab_summary as ns  # noqa: E402

REQUIRED = ("solver", "pattern", "pattern_m", "kept_score_gap", "time_solve_s")


def column(cols, name, i, default=""):
    """cols[name][i] as text, or `default` when the column is absent or empty for this trial."""
    if name not in cols:
        return default
    v = cols[name][i]
    text = v if isinstance(v, str) else str(v)
    return default if text in ("", "nan") else text


def family(cols, i):
    """Weight family of trial i: the problem name plus its distribution when it has one."""
    dist = column(cols, "problem.dist", i)
    name = column(cols, "problem", i, "problem")
    return f"{name} ({dist})" if dist else name


def gap_by_m(cols):
    """{family: {solver: {m: [gap in %]}}}, NaN (failed) trials dropped."""
    out = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for i in range(len(cols["solver"])):
        gap = float(cols["kept_score_gap"][i])
        if math.isnan(gap):
            continue
        out[family(cols, i)][cols["solver"][i]][int(float(cols["pattern_m"][i]))].append(100.0 * gap)
    return out


def time_by_size(cols):
    """{pattern: {solver: {entries: [time_solve_s]}}}."""
    out = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for i in range(len(cols["solver"])):
        t = float(cols["time_solve_s"][i])
        d_out, d_in = ns.as_number(column(cols, "problem.d_out", i)), ns.as_number(column(cols, "problem.d_in", i))
        if math.isnan(t) or d_out is None or d_in is None:
            continue
        out[cols["pattern"][i]][cols["solver"][i]][int(d_out * d_in)].append(t)
    return out


def pattern_order(p):
    """'8:16T' -> (16, 8) so panels run by m."""
    n, m = p.rstrip("T").split(":")
    return (int(m), int(n))


def save_panels(groups, keys, logy, xlabel, ylabel, path):
    """One panel per key of `groups` ({key: {solver: {x: [values]}}}), a shared legend, saved as PNG."""
    fig, axs = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.6), squeeze=False)
    axs = axs[0]
    for ax, key in zip(axs, keys):
        plot_lines(ax, groups[key], logy)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    axs[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_lines(ax, by_solver, logy):
    for solver in sorted(by_solver):
        xs = sorted(by_solver[solver])
        means = [ns.mean_std(by_solver[solver][x])[0] for x in xs]
        ax.plot(xs, means, marker="o", label=solver)
    ax.set_xscale("log", base=2)
    if logy == "sym":  # gaps: exact methods sit at 0, heuristics span 0.01 % … 30 %
        ax.set_yscale("symlog", linthresh=1e-2)
        ax.set_ylim(bottom=0)
    elif logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--out", help="folder for the PNGs (default: next to the results file)")
    args = ap.parse_args(argv)
    cols, _ = ns.load(args.results)
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        sys.exit(f"{args.results}: /summary lacks {', '.join(missing)}: not a transposable experiment")
    out_dir = args.out or os.path.dirname(os.path.abspath(args.results))
    stem = os.path.splitext(os.path.basename(args.results))[0]
    written = []

    gaps = gap_by_m(cols)
    written.append(save_panels(gaps, sorted(gaps), "sym", "pattern m (n = m/2 in the spec)",
                               "kept-score gap to tn_flow (%)", os.path.join(out_dir, f"{stem}_gap_vs_m.png")))
    times = time_by_size(cols)
    if times:
        written.append(save_panels(times, sorted(times, key=pattern_order), "log", "matrix entries d_out·d_in",
                                   "solve time (s)", os.path.join(out_dir, f"{stem}_time_vs_size.png")))
    for p in written:
        print(p)
    return written


if __name__ == "__main__":
    main()
