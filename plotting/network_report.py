#!/usr/bin/python3
"""Report of a `prune_mlp` run (a whole network pruned layer by layer): ONE markdown table with test
accuracy (dense beside it), accuracy drop, and every layer's rel_error per pattern and solver, and ONE
PNG (accuracy per solver and pattern with the dense line; per-layer rel_error). Reads /summary only.

usage: network_report.py RUN.h5     -> RUN_network.md, RUN_network.png next to it
"""
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import nmlab_summary as ns  # noqa: E402


def layer_columns(cols):
    """rel_error_fc1, rel_error_fc2, ... in layer order."""
    found = [c for c in cols if re.fullmatch(r"rel_error_fc\d+", c)]
    return sorted(found, key=lambda c: int(c[len("rel_error_fc"):]))


def stats(cols, metric, rows):
    vals = [float(cols[metric][i]) for i in rows if metric in cols and not math.isnan(float(cols[metric][i]))]
    return ns.mean_std(vals)


def fmt(m, s, digits):
    return "—" if math.isnan(m) else f"{m:.{digits}f} ± {s:.{digits}f}"


def build(cols, extra):
    """{group: {solver: [row indices]}}, a group = the pattern plus the other swept axes (`extra`),
    e.g. "2:4, task.damping=0.01"; groups in order of appearance."""
    groups = {}
    for i in range(len(cols["trial"])):
        g = ", ".join([str(cols["pattern"][i])] + [f"{a}={cols[a][i]}" for a in extra])
        groups.setdefault(g, {}).setdefault(str(cols["solver"][i]), []).append(i)
    return groups


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.exit(__doc__)
    path = os.path.realpath(argv[0])
    cols, attrs = ns.load(path)
    if "trial" not in cols or len(cols["trial"]) == 0:
        sys.exit(f"{argv[0]}: no finished trials yet")
    for need in ("accuracy", "dense_accuracy", "pattern"):
        if need not in cols:
            sys.exit(f"{argv[0]}: no column '{need}': not a prune_mlp run (task: prune_mlp)")
    layers = layer_columns(cols)
    extra = [a for a in ns.axis_columns(cols) if a != "pattern"]
    groups = build(cols, extra)
    seeds = sorted(set(int(s) for s in cols["seed"]))
    dense_m, dense_s = stats(cols, "dense_accuracy", range(len(cols["trial"])))

    head = ["pattern" + (" / swept axes" if extra else ""), "solver", "test accuracy", "drop vs dense"] + \
           [c[len("rel_error_"):] + " rel_error" for c in layers] + ["mean rel_error", "solve time (s)", "update time (s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.append("| — | **dense** | " + fmt(dense_m, dense_s, 4) + " | 0 | " +
                 " | ".join("0" for _ in layers) + " | 0 | — | — |")
    ranked = {}
    for pattern, solvers in groups.items():
        order = sorted(solvers, key=lambda s: -stats(cols, "accuracy", solvers[s])[0])
        ranked[pattern] = order
        for s in order:
            rows = solvers[s]
            acc = stats(cols, "accuracy", rows)
            drop = stats(cols, "accuracy_drop", rows)
            cells = [pattern, s, fmt(*acc, 4), fmt(*drop, 4)]
            cells += [fmt(*stats(cols, c, rows), 4) for c in layers]
            cells += [fmt(*stats(cols, "rel_error", rows), 4), f"{stats(cols, 'time_solve_s', rows)[0]:.3g}",
                      f"{stats(cols, 'time_update_s', rows)[0]:.3g}"]
            dense_layers = {str(cols["dense_layers"][i]) for i in rows} if "dense_layers" in cols else set()
            dense_layers.discard("")
            if dense_layers:
                cells[1] += f" ({', '.join(sorted(dense_layers))} dense)"
            lines.append("| " + " | ".join(cells) + " |")

    stem = os.path.splitext(path)[0]
    png = f"{stem}_network.png"
    fig, (ax_acc, ax_err) = plt.subplots(1, 2, figsize=(15, 4.8))
    patterns = list(groups)
    solvers = []
    for p in patterns:
        solvers += [s for s in ranked[p] if s not in solvers]
    width = 0.8 / max(1, len(patterns))
    for k, p in enumerate(patterns):
        ys = [stats(cols, "accuracy", groups[p].get(s, [])) for s in solvers]
        ax_acc.bar([j + k * width for j in range(len(solvers))], [m for m, _ in ys], width,
                   yerr=[sd for _, sd in ys], capsize=2, label=p)
    ax_acc.axhline(dense_m, color="k", linestyle="--", linewidth=1, label=f"dense {dense_m:.4f}")
    ax_acc.set_xticks([j + width * (len(patterns) - 1) / 2 for j in range(len(solvers))], solvers,
                      rotation=30, ha="right", fontsize=8)
    finite = [stats(cols, "accuracy", groups[p][s])[0] for p in patterns for s in groups[p]]
    lo = min([v for v in finite if not math.isnan(v)] + [dense_m])
    ax_acc.set_ylim(max(0.0, lo - 0.05), min(1.0, dense_m + 0.02))
    ax_acc.set_ylabel("test accuracy")
    ax_acc.legend(fontsize=8)
    ax_acc.grid(alpha=0.3, axis="y")
    styles = ["-", "--", ":", "-."]
    for k, p in enumerate(patterns):
        for j, s in enumerate(solvers):
            if s not in groups[p]:
                continue
            ys = [stats(cols, c, groups[p][s])[0] for c in layers]
            color = plt.get_cmap("tab20")(j % 20) if len(solvers) > 10 else f"C{j}"
            ax_err.plot(range(len(layers)), ys, marker="o", linestyle=styles[k % len(styles)], color=color,
                        label=f"{s} {p}")
    ax_err.set_xticks(range(len(layers)), [c[len("rel_error_"):] for c in layers])
    ax_err.set_yscale("log")
    ax_err.set_ylabel("rel_error (inputs of the pruned network)")
    ax_err.grid(alpha=0.3)
    ax_err.legend(fontsize=6, ncol=1 + len(patterns) // 2, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(attrs.get("experiment", ""))
    fig.tight_layout()
    fig.savefig(png, dpi=110)

    md = [f"# {attrs.get('experiment', '?')}: test accuracy and per-layer rel_error", "",
          attrs.get("description", ""), "",
          f"Mean ± std over {len(seeds)} seed(s) {seeds} (seeds vary the calibration images); rows ranked by "
          f"accuracy within each pattern. Dense test accuracy {dense_m:.4f}. Run `{attrs.get('run_id', '?')}`, "
          f"commit `{attrs.get('git_commit', '?')[:12]}`{' (dirty)' if attrs.get('git_dirty') == 'true' else ''}.",
          "", *lines, "", f"![network]({os.path.basename(png)})", ""]
    table_path = f"{stem}_network.md"
    with open(table_path, "w") as fh:
        fh.write("\n".join(md))
    print(f"table: {table_path}")
    print(f"plot:  {png}")


if __name__ == "__main__":
    main()
