"""Tests of plotting/report.py on a synthetic results file with nmlab's /summary schema."""
import os
import sys
import tempfile
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402


def write_results(path, rows, attrs=None):
    """rows: list of dicts (trial, seed, solver, pattern, problem.rho, rel_error, time_solve_s)."""
    with h5py.File(path, "w") as f:
        f.attrs["schema_version"] = "1"
        f.attrs["experiment"] = "synthetic"
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
        s = f.create_group("summary")
        f.create_group("trials")
        str_t = h5py.string_dtype()
        for col in rows[0]:
            vals = [r[col] for r in rows]
            if isinstance(vals[0], str):
                s.create_dataset(col, data=np.array(vals, dtype=object), dtype=str_t)
            elif col in ("trial", "seed"):
                s.create_dataset(col, data=np.array(vals, dtype=np.int64))
            else:
                s.create_dataset(col, data=np.array(vals, dtype=np.float64))


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "run.h5")
        rows, i = [], 0
        # good: 0.1/0.3 at rho 0 (mean 0.2), 0.05 at rho 0.8; bad: 0.4/0.6 (mean 0.5), 0.25; one failed trial
        data = {("good", "0.0"): [0.1, 0.3], ("good", "0.8"): [0.05, 0.05],
                ("bad", "0.0"): [0.4, 0.6], ("bad", "0.8"): [0.25, float("nan")]}
        for (solver, rho), vals in data.items():
            for seed, v in enumerate(vals):
                rows.append({"trial": i, "seed": seed, "solver": solver, "pattern": "2:4", "problem.rho": rho,
                             "rel_error": v, "time_solve_s": 0.01})
                i += 1
        write_results(self.path, rows, {"report_x": "problem.rho", "report_baseline": ""})

    def tearDown(self):
        self.dir.cleanup()

    def test_table_has_means_stds_ranks_and_failures(self):
        report.main([self.path])
        with open(os.path.join(self.dir.name, "run.md")) as fh:
            md = fh.read()
        self.assertIn("| rank | solver | problem.rho = 0.0 | problem.rho = 0.8 |", md)
        self.assertIn("| 1 | good | 0.2 ± 0.14 | 0.05 ± 0 |", md)
        self.assertIn("| 2 | bad | 0.5 ± 0.14 | 0.25 ± 0 (1 failed) |", md)
        png = os.path.join(self.dir.name, "run_rel_error.png")
        with open(png, "rb") as fh:
            self.assertEqual(fh.read(8), b"\x89PNG\r\n\x1a\n")

    def test_baseline_ratios_are_per_seed(self):
        report.main([self.path, "--baseline", "good"])
        with open(os.path.join(self.dir.name, "run.md")) as fh:
            md = fh.read()
        self.assertIn("relative to `good`", md)
        # bad/good at rho 0: 0.4/0.1 = 4 and 0.6/0.3 = 2 -> mean 3
        self.assertIn("| 2 | bad | 3 ± 1.4 |", md)

    def test_unknown_baseline_and_column_are_errors(self):
        with self.assertRaises(SystemExit):
            report.main([self.path, "--baseline", "nope"])
        with self.assertRaises(SystemExit):
            report.main([self.path, "--x", "problem.nope"])


if __name__ == "__main__":
    unittest.main()
