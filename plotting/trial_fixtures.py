"""Synthetic nmlab results files for the plotting tests: /summary (empty) and /trials/<id> with
attributes and optional traces, the schema framework/io/results.cpp writes."""
import h5py
import numpy as np


def write_trials(path, trials):
    """trials: list of (attrs dict, traces dict name -> list, or None for a trial without traces)."""
    with h5py.File(path, "w") as f:
        f.create_group("summary")
        g = f.create_group("trials")
        for i, (attrs, traces) in enumerate(trials):
            t = g.create_group(f"{i:06d}")
            for k, v in attrs.items():
                t.attrs[k] = v
            if traces is not None:
                tr = t.create_group("traces")
                for name, values in traces.items():
                    tr.create_dataset(name, data=np.array(values, dtype=np.float64))
