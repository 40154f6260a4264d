"""Tests of plotting/speedup_map.py on a synthetic spmm_bench /summary."""
import math
import os
import sys
import tempfile
import unittest


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import speedup_map  # noqa: E402
from report_test import write_results  # noqa: E402


def write_summary(path, rows):
    write_results(path, rows, {"experiment": "bench_spmm"})


class SpeedupMapTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "run.h5")
        rows = []
        # (tokens, backend) -> speedups over two seeds; one failed cuda trial (NaN).
        data = {("128", "cpu"): [1.0, 2.0], ("2048", "cpu"): [1.5, 1.5], ("128", "reference"): [3.0, 3.0],
                ("2048", "reference"): [0.5, float("nan")]}
        for (tokens, backend), vals in data.items():
            for seed, v in enumerate(vals):
                rows.append({"trial": len(rows), "seed": seed, "task.tokens": tokens, "backend_used": backend,
                             "speedup": v, "time_dense_s": 1.0, "time_sparse_s": 1.0 / v if v else 1.0})
        write_summary(self.path, rows)

    def tearDown(self):
        self.dir.cleanup()

    def test_map_is_median_per_shape_and_backend(self):
        cols, _ = speedup_map.ns.load(self.path)
        shapes, columns, matrix = speedup_map.speedup_map(cols)
        self.assertEqual(shapes, ["·×·×128", "·×·×2048"])  # numeric order, unswept axes shown as ·
        self.assertEqual(columns, ["cpu", "reference"])
        self.assertAlmostEqual(matrix[0][0], 1.5)
        self.assertAlmostEqual(matrix[1][1], 0.5)  # the NaN (failed) trial is dropped
        self.assertAlmostEqual(matrix[0][1], 3.0)

    def test_main_writes_png_and_table(self):
        out = os.path.join(self.dir.name, "map.png")
        self.assertEqual(speedup_map.main([self.path, "--out", out]), 0)
        self.assertTrue(os.path.getsize(out) > 0)

    def test_markdown_marks_missing_cells(self):
        text = speedup_map.markdown(["a"], ["cpu", "cuda"], [[1.234, math.nan]])
        self.assertIn("| a | 1.23× | — |", text)


if __name__ == "__main__":
    unittest.main()
