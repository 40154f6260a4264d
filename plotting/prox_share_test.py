"""Tests of plotting/prox_share.py on a synthetic results file with nmlab's /trials schema."""
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prox_share as ps  # noqa: E402
import trial_fixtures as fixtures  # noqa: E402


def write_trials(path, trials):
    """trials: list of (attrs dict, product seconds list or None, prox seconds list or None)."""
    fixtures.write_trials(path, [(attrs, None if product is None else {"time_product_s": product, "time_prox_s": prox})
                                 for attrs, product, prox in trials])


class ProxShareTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "run.h5")
        attrs = {"solver": "prox", "problem": "correlated_groups", "problem.d_out": "8", "problem.d_in": "8",
                 "problem.rho": "0.8", "threads_used": "2"}
        write_trials(self.path, [
            # shares 10%, 20%, 50%, 10%: whole run 1.0 / 5.0 = 20%, one iteration above 20%
            (attrs, [0.9, 0.8, 0.5, 1.8], [0.1, 0.2, 0.5, 0.2]),
            (dict(attrs, **{"solver.normalized": "true"}), [1.0, 1.0], [0.0, 0.0]),
            (dict(attrs, solver="magnitude"), None, None),  # no traces: left out
        ])

    def tearDown(self):
        self.dir.cleanup()

    def test_shares_are_computed_from_the_traces(self):
        runs = ps.load_runs(self.path)
        self.assertEqual(len(runs), 2)
        per, whole = ps.shares(runs[0][1], runs[0][2])
        np.testing.assert_allclose(per, [10.0, 20.0, 50.0, 10.0])
        self.assertAlmostEqual(whole, 20.0)
        self.assertIn("normalized", runs[1][0])
        self.assertIn("rho = 0.8", runs[0][0])

    def test_table_counts_iterations_above_the_target_and_names_the_worst(self):
        md = ps.table(ps.load_runs(self.path), 20.0)
        row = md.splitlines()[2]
        self.assertIn("| 4 |", row)           # iterations
        self.assertIn("50.0% (2)", row)       # worst iteration and its index
        self.assertTrue(row.rstrip().endswith("| 1 |"), row)  # one iteration above 20%

    def test_writes_table_and_png(self):
        prefix = ps.main([self.path])
        self.assertEqual(prefix, os.path.join(self.dir.name, "run_prox_share"))
        with open(prefix + ".png", "rb") as fh:
            self.assertEqual(fh.read(8), b"\x89PNG\r\n\x1a\n")
        with open(prefix + ".md") as fh:
            self.assertIn("whole run", fh.read())

    def test_no_traces_is_a_clear_error(self):
        only_magnitude = os.path.join(self.dir.name, "m.h5")
        write_trials(only_magnitude, [({"solver": "magnitude"}, None, None)])
        with self.assertRaises(SystemExit) as e:
            ps.main([only_magnitude])
        self.assertIn("time_prox_s", str(e.exception))


if __name__ == "__main__":
    unittest.main()
