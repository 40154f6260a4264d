#!/usr/bin/python3
"""nmlab report RUN.h5: markdown tables (mean ± std over seeds per solver and sweep value) and PNG
plots, written next to the HDF5 file. Reads /summary (and the run's provenance attributes) only.

usage: report.py RUN.h5 [--baseline SOLVER] [--x COLUMN] [--metric rel_error]
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nmlab_summary as ns  # noqa: E402


def fmt(mean, std, digits=4):
    if math.isnan(mean):
        return "—"
    return f"{mean:.{digits}g} ± {std:.2g}"


def sections(cols, others):
    """Distinct combinations of the non-x axes, each a dict column -> value."""
    combos = sorted({tuple(cols[c][i] for c in others) for i in range(len(cols["trial"]))})
    return [dict(zip(others, c)) for c in combos]


def higher_is_better(metric):
    return any(word in metric for word in ("speedup", "accuracy", "gflops", "kept_score"))


def table(cols, metric, x, section, values, failed, digits=4):
    """Markdown table: rows = solvers ranked by mean over x, columns = x values."""
    xs = ns.sort_values({cols[x][i] for i in range(len(cols["trial"]))}) if x else [None]
    sect_key = tuple(section.values())
    solvers = sorted({k[0] for k in values if k[1:1 + len(sect_key)] == sect_key} |
                     {k[0] for k in failed if k[1:1 + len(sect_key)] == sect_key})

    def cell_key(s, xv):
        return (s,) + sect_key + ((xv,) if x else ())

    def overall(s):
        means = [ns.mean_std(values.get(cell_key(s, xv), []))[0] for xv in xs]
        means = [m for m in means if not math.isnan(m)]
        if not means:
            return math.inf
        mean = sum(means) / len(means)
        return -mean if higher_is_better(metric) and "/" not in metric else mean

    solvers.sort(key=overall)
    head = ["rank", "solver"] + ([f"{x} = {xv}" for xv in xs] if x else [metric])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rank, s in enumerate(solvers, 1):
        cells = []
        for xv in xs:
            k = cell_key(s, xv)
            m, sd = ns.mean_std(values.get(k, []))
            c = fmt(m, sd, digits)
            if failed.get(k):
                c += f" ({failed[k]} failed)"
            cells.append(c)
        lines.append(f"| {rank} | {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines), solvers, xs


def plot(ax, cols, x, section, values, solvers, xs, metric):
    sect_key = tuple(section.values())
    numeric = x and all(ns.as_number(v) is not None for v in xs)
    pos = [ns.as_number(v) for v in xs] if numeric else list(range(len(xs)))
    if x:
        for s in solvers:
            stats = [ns.mean_std(values.get((s,) + sect_key + (xv,), [])) for xv in xs]
            ax.errorbar(pos, [m for m, _ in stats], yerr=[sd for _, sd in stats], marker="o", capsize=3, label=s)
        ax.set_xlabel(x)
        if not numeric:
            ax.set_xticks(pos, xs)
    else:
        stats = [ns.mean_std(values.get((s,) + sect_key, [])) for s in solvers]
        ax.barh(range(len(solvers)), [m for m, _ in stats], xerr=[sd for _, sd in stats], capsize=3)
        ax.set_yticks(range(len(solvers)), solvers)
        ax.invert_yaxis()
    finite = [v for vs in values.values() for v in vs if v > 0]
    if x and finite and max(finite) / min(finite) > 50:
        ax.set_yscale("log")
    ax.set_ylabel(metric) if x else ax.set_xlabel(metric)
    ax.set_title(", ".join(f"{k}={v}" for k, v in section.items()) or metric, fontsize=9)
    ax.grid(alpha=0.3)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--baseline", help="solver label to normalise by (default: the spec's report.baseline)")
    ap.add_argument("--x", help="summary column for the x axis (default: the spec's report.x, else the first axis)")
    ap.add_argument("--metric", default="rel_error")
    args = ap.parse_args(argv)

    path = os.path.realpath(args.results)
    cols, attrs = ns.load(path)
    if "trial" not in cols or len(cols["trial"]) == 0:
        sys.exit(f"{args.results}: no finished trials yet")
    if args.metric not in cols:
        sys.exit(f"{args.results}: no column '{args.metric}'; columns: {', '.join(cols)}")
    axes = ns.axis_columns(cols)
    x = args.x or attrs.get("report_x") or ""
    if x and x not in cols:
        sys.exit(f"--x {x}: no such summary column; columns: {', '.join(cols)}")
    if not x:
        numeric_axes = [a for a in axes if all(ns.as_number(v) is not None for v in set(cols[a]))]
        x = numeric_axes[0] if numeric_axes else (axes[0] if axes else "")
    others = [a for a in axes if a != x]
    baseline = args.baseline if args.baseline is not None else attrs.get("report_baseline", "")
    if baseline and baseline not in set(cols["solver"]):
        sys.exit(f"--baseline {baseline}: no such solver in this run; solvers: {', '.join(sorted(set(cols['solver'])))}")

    group_by = others + ([x] if x else [])
    values, failed = ns.aggregate(cols, args.metric, group_by)
    ratios = ns.relative_to(cols, args.metric, baseline, group_by) if baseline else {}
    times, _ = ns.aggregate(cols, "time_solve_s", group_by) if "time_solve_s" in cols else ({}, {})

    stem = os.path.splitext(path)[0]
    sects = sections(cols, others)
    seeds = sorted(set(int(s) for s in cols["seed"]))
    md = [f"# {attrs.get('experiment', '?')}: {args.metric}", "",
          attrs.get("description", ""), "",
          f"Mean ± std over {len(seeds)} seed(s) {seeds}; "
          f"{'higher' if higher_is_better(args.metric) else 'lower'} is better; rows ranked by mean. "
          f"Run `{attrs.get('run_id', '?')}`, commit `{attrs.get('git_commit', '?')[:12]}`"
          f"{' (dirty)' if attrs.get('git_dirty') == 'true' else ''}, {attrs.get('cpu', '')}, "
          f"{attrs.get('threads', '?')} threads.", ""]
    fig, axs = plt.subplots(1, len(sects), figsize=(5.5 * len(sects), 4), squeeze=False)
    for ax, sect in zip(axs[0], sects):
        title = ", ".join(f"{k} = {v}" for k, v in sect.items())
        text, solvers, xs = table(cols, args.metric, x, sect, values, failed)
        md += [f"## {title}" if title else "## all trials", "", text, ""]
        if ratios:
            rtext, _, _ = table(cols, f"{args.metric} / {baseline}", x, sect, ratios, {}, digits=5)
            md += [f"{args.metric} relative to `{baseline}` (1 = as good as the baseline):", "", rtext, ""]
        if times:
            ttext, _, _ = table(cols, "time_solve_s", x, sect, times, {}, digits=3)
            md += ["Solver time (s):", "", ttext, ""]
        plot(ax, cols, x, sect, values, solvers, xs, args.metric)
    handles, labels = axs[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    fig.suptitle(attrs.get("experiment", ""))
    fig.tight_layout()
    png = f"{stem}_{args.metric}.png"
    fig.savefig(png, dpi=110, bbox_inches="tight")
    table_path = f"{stem}.md"
    with open(table_path, "w") as fh:
        fh.write("\n".join(md) + f"\n![{args.metric}]({os.path.basename(png)})\n")
    print(f"table: {table_path}")
    print(f"plot:  {png}")
    print(f"hdf5:  {path}")
    if "dense_accuracy" in cols:  # a whole-network run (task prune_mlp): also its accuracy table + plot
        import network_report
        network_report.main([path])


if __name__ == "__main__":
    main()
