#!/usr/bin/python3
"""λ trajectory of proximal solvers: λ (log scale) against the fraction of groups that are not yet
N:M, one line per trial, one colour per solver label. Reads /trials/<id>/traces/{lambda,
groups_not_nm} (written by the `prox` solver) and the trial attributes; recomputes nothing.

usage: lambda_trajectory.py RUN.h5 [--out FILE.png] [--solver SUBSTRING] [--where COLUMN=VALUE ...]
  --where problem.rho=0.8     keep trials whose attribute equals the value (repeatable)
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def total_groups(attrs):
    """Groups per matrix from the trial's problem shape and pattern, or None when unknown."""
    try:
        d_out, d_in = int(text(attrs["problem.d_out"])), int(text(attrs["problem.d_in"]))
        m = int(text(attrs["pattern"]).rstrip("T").split(":")[1])
        return d_out * d_in // m
    except (KeyError, ValueError, IndexError):
        return None


def load_trajectories(path, solver=None, where=()):
    """[(label, attrs, lambda array, groups_not_nm array)] for trials that have both traces."""
    out = []
    with h5py.File(path, "r") as f:
        if "trials" not in f:
            raise SystemExit(f"{path}: not an nmlab results file (no /trials)")
        for tid in sorted(f["trials"].keys()):
            t = f["trials"][tid]
            if "traces" not in t or "lambda" not in t["traces"] or "groups_not_nm" not in t["traces"]:
                continue
            attrs = {k: text(v) for k, v in t.attrs.items()}
            label = attrs.get("solver", tid)
            if solver and solver not in label:
                continue
            if any(attrs.get(k) != v for k, v in where):
                continue
            out.append((label, attrs, t["traces"]["lambda"][...], t["traces"]["groups_not_nm"][...]))
    return out


def plot(trajectories, out_png, title):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = {}
    for label, attrs, lam, open_groups in trajectories:
        if label not in colours:
            colours[label] = f"C{len(colours) % 10}"
        n = total_groups(attrs)
        y = open_groups / n if n else open_groups
        ax.plot(lam, y, color=colours[label], alpha=0.6, lw=1.2,
                label=label if label not in [l.get_label() for l in ax.get_lines()] else "_nolegend_")
    ax.set_xscale("log")
    ax.set_xlabel("λ")
    fractions = all(total_groups(a) for _, a, _, _ in trajectories)
    ax.set_ylabel("fraction of groups not yet N:M" if fractions else "groups not yet N:M")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=120)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--out", help="PNG path (default: next to the results file, <run>_lambda_trajectory.png)")
    ap.add_argument("--solver", help="keep solver labels containing this substring")
    ap.add_argument("--where", action="append", default=[], help="COLUMN=VALUE filter on trial attributes")
    args = ap.parse_args(argv)
    where = []
    for w in args.where:
        if "=" not in w:
            raise SystemExit(f"--where {w}: expected COLUMN=VALUE, for example problem.rho=0.8")
        where.append(tuple(w.split("=", 1)))
    traj = load_trajectories(args.results, args.solver, where)
    if not traj:
        raise SystemExit(f"{args.results}: no trial with traces 'lambda' and 'groups_not_nm' "
                         "(run a `prox` solver, or loosen --solver/--where)")
    out = args.out or os.path.splitext(args.results)[0] + "_lambda_trajectory.png"
    if os.path.basename(args.results) == "latest.h5" and not args.out:
        out = os.path.join(os.path.dirname(args.results), "latest_lambda_trajectory.png")
    title = os.path.basename(args.results) + "".join(f", {k} = {v}" for k, v in where)
    plot(traj, out, title)
    print(f"plot:  {os.path.abspath(out)}  ({len(traj)} trials)")
    return out


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
