"""Tests of plotting/lambda_trajectory.py on a synthetic results file with nmlab's /trials schema."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lambda_trajectory as lt  # noqa: E402
import trial_fixtures as fixtures  # noqa: E402


def write_trials(path, trials):
    """trials: list of (attrs dict, lambda list or None, groups_not_nm list or None)."""
    fixtures.write_trials(path, [(attrs, None if lam is None else {"lambda": lam, "groups_not_nm": open_groups})
                                 for attrs, lam, open_groups in trials])


class LambdaTrajectoryTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "run.h5")
        shape = {"problem.d_out": "4", "problem.d_in": "8", "pattern": "2:4"}  # 8 groups
        lam = [1e-3 * 1.5 ** k for k in range(6)]
        write_trials(self.path, [
            (dict(shape, solver="prox", **{"problem.rho": "0.8"}), lam, [8, 8, 6, 3, 1, 0]),
            (dict(shape, solver="prox", **{"problem.rho": "0.0"}), lam, [8, 7, 7, 4, 2, 0]),
            (dict(shape, solver="magnitude", **{"problem.rho": "0.8"}), None, None),  # no traces
        ])

    def tearDown(self):
        self.dir.cleanup()

    def test_loads_only_trials_with_traces_and_filters(self):
        self.assertEqual(len(lt.load_trajectories(self.path)), 2)
        only = lt.load_trajectories(self.path, where=[("problem.rho", "0.8")])
        self.assertEqual(len(only), 1)
        self.assertEqual(list(only[0][3]), [8, 8, 6, 3, 1, 0])
        self.assertEqual(lt.total_groups(only[0][1]), 8)
        self.assertEqual(lt.load_trajectories(self.path, solver="wanda"), [])

    def test_writes_png(self):
        out = lt.main([self.path])
        self.assertEqual(out, os.path.join(self.dir.name, "run_lambda_trajectory.png"))
        with open(out, "rb") as fh:
            self.assertEqual(fh.read(8), b"\x89PNG\r\n\x1a\n")

    def test_no_traces_is_a_clear_error(self):
        with self.assertRaises(SystemExit) as e:
            lt.main([self.path, "--solver", "magnitude"])
        self.assertIn("no trial with traces", str(e.exception))
        with self.assertRaises(SystemExit):
            lt.main([self.path, "--where", "rho"])


if __name__ == "__main__":
    unittest.main()
