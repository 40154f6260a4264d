"""Read an nmlab results file's /summary table and aggregate it. Never recomputes a metric."""
import math
import re
from collections import OrderedDict, defaultdict

import h5py
import numpy as np

# Columns that say *what* a trial is (its identity) apart from the solver and the seed.
NON_AXIS = {"key", "trial", "seed", "solver", "solver_name", "update", "termination",
            "backend_requested", "backend_used", "task", "task.backend"}


def load(path):
    """Returns (columns, attrs): columns maps name -> numpy array (str arrays for strings)."""
    with h5py.File(path, "r") as f:
        if "summary" not in f:
            raise SystemExit(f"{path}: not an nmlab results file (no /summary)")
        cols = OrderedDict()
        for name, ds in f["summary"].items():
            if h5py.check_string_dtype(ds.dtype) is not None:
                cols[name] = ds.asstr()[...].astype(object)
            else:
                cols[name] = ds[...]
        attrs = {k: (v.decode() if isinstance(v, bytes) else str(v)) for k, v in f.attrs.items()}
    if "solver" not in cols and "trial" in cols:
        # Tasks without a mask solver (kernel benchmarks): rows are the task, split by backend if any.
        task = cols.get("task", np.array(["task"] * len(cols["trial"]), dtype=object))
        backend = cols.get("task.backend")
        cols["solver"] = np.array([t if backend is None else f"{t}[{b}]" for t, b in
                                   zip(task, backend if backend is not None else task)], dtype=object)
    return cols, attrs


def axis_columns(cols):
    """String identity columns with more than one distinct value (the swept axes), solver excluded."""
    out = []
    for name, values in cols.items():
        if name in NON_AXIS or values.dtype != object:
            continue
        if name == "pattern" or name == "problem" or name.startswith("problem.") or name.startswith("task."):
            if len(set(values)) > 1:
                out.append(name)
    return out


def as_number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


PATTERN = re.compile(r"^(\d+):(\d+)(T?)$")


def sort_values(values):
    """Numeric order for numbers, (m, n) order for N:M patterns ("2:4" < "8:16T"), else text order."""
    values = list(values)
    if all(as_number(v) is not None for v in values):
        return sorted(values, key=as_number)
    if all(PATTERN.match(str(v)) for v in values):
        def key(v):
            n, m, t = PATTERN.match(str(v)).groups()
            return (int(m), int(n), t)
        return sorted(values, key=key)
    return sorted(values)


def aggregate(cols, metric, group_by):
    """{(solver, *group values): [metric values over seeds]} with NaN (failed) entries dropped,
    plus a parallel dict of failure counts."""
    values, failed = defaultdict(list), defaultdict(int)
    n = len(cols["trial"])
    for i in range(n):
        key = (cols["solver"][i],) + tuple(cols[g][i] for g in group_by)
        v = float(cols[metric][i]) if metric in cols else math.nan
        if math.isnan(v):
            failed[key] += 1
        else:
            values[key].append(v)
    return values, failed


def relative_to(cols, metric, baseline, group_by):
    """metric / baseline's metric on the same (group, seed), per trial; {key: [ratios]}."""
    base = {}
    n = len(cols["trial"])
    for i in range(n):
        if cols["solver"][i] == baseline:
            base[tuple(cols[g][i] for g in group_by) + (int(cols["seed"][i]),)] = float(cols[metric][i])
    ratios = defaultdict(list)
    for i in range(n):
        ref = base.get(tuple(cols[g][i] for g in group_by) + (int(cols["seed"][i]),))
        v = float(cols[metric][i])
        if ref is None or math.isnan(v) or not ref > 0:
            continue
        ratios[(cols["solver"][i],) + tuple(cols[g][i] for g in group_by)].append(v / ref)
    return ratios


def mean_std(xs):
    a = np.asarray(xs, dtype=float)
    if a.size == 0:
        return math.nan, math.nan
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0
