"""Tests of plotting/transposable_plots.py on a synthetic /summary."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nmlab_summary as ns  # noqa: E402
import transposable_plots as tp  # noqa: E402
from report_test import write_results  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class TransposablePlotsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "run.h5")
        rows, i = [], 0
        for dist in ("gaussian", "student_t"):
            for m in (4, 16):
                for d_out in ("256", "512"):
                    for seed, (gap, t) in enumerate([(0.01, 0.1), (0.03, 0.3)]):
                        for solver, scale in (("tn_flow", 0.0), ("tsenor", 1.0)):
                            rows.append({"trial": i, "seed": seed, "solver": solver, "pattern": f"{m // 2}:{m}T",
                                         "problem": "random_weights", "problem.dist": dist,
                                         "problem.d_out": d_out, "problem.d_in": "256", "pattern_m": float(m),
                                         "kept_score_gap": scale * gap, "time_solve_s": t * (1 + scale)})
                            i += 1
        rows[-1]["kept_score_gap"] = float("nan")  # a failed trial is dropped, not averaged
        write_results(self.path, rows)

    def tearDown(self):
        self.dir.cleanup()

    def test_aggregates_read_summary_columns(self):
        cols, _ = ns.load(self.path)
        gaps = tp.gap_by_m(cols)
        self.assertEqual(sorted(gaps), ["random_weights (gaussian)", "random_weights (student_t)"])
        # tsenor, gaussian, m = 4: seeds 1% and 3% at two sizes -> mean 2%
        self.assertAlmostEqual(ns.mean_std(gaps["random_weights (gaussian)"]["tsenor"][4])[0], 2.0)
        self.assertEqual(len(gaps["random_weights (student_t)"]["tsenor"][16]), 3)
        times = tp.time_by_size(cols)
        self.assertEqual(sorted(times, key=tp.pattern_order), ["2:4T", "8:16T"])
        self.assertEqual(sorted(times["2:4T"]["tn_flow"]), [256 * 256, 512 * 256])

    def test_writes_both_pngs(self):
        written = tp.main([self.path])
        self.assertEqual([os.path.basename(p) for p in written], ["run_gap_vs_m.png", "run_time_vs_size.png"])
        for p in written:
            with open(p, "rb") as fh:
                self.assertEqual(fh.read(8), PNG_MAGIC)

    def test_rejects_a_non_transposable_file(self):
        other = os.path.join(self.dir.name, "other.h5")
        write_results(other, [{"trial": 0, "seed": 0, "solver": "magnitude", "rel_error": 0.1}])
        with self.assertRaises(SystemExit):
            tp.main([other])


if __name__ == "__main__":
    unittest.main()
