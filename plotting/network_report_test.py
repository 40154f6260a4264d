"""Tests of plotting/network_report.py on a synthetic prune_mlp results file."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import network_report  # noqa: E402
from report_test import write_results  # noqa: E402


class NetworkReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "run.h5")
        rows, i = [], 0
        # good keeps 0.86/0.88 (mean 0.87) at 2:4; bad 0.5; transposable run leaves fc3 dense
        data = {("good", "2:4", ""): [0.86, 0.88], ("bad", "2:4", ""): [0.5, 0.5], ("good", "8:16T", "fc3"): [0.8, 0.8]}
        for (solver, pattern, dense), accs in data.items():
            for seed, acc in enumerate(accs):
                rows.append({"trial": i, "seed": seed, "solver": solver, "pattern": pattern, "accuracy": acc,
                             "dense_accuracy": 0.9, "accuracy_drop": 0.9 - acc, "rel_error": 0.1,
                             "rel_error_fc10": 0.3, "rel_error_fc2": 0.2, "rel_error_fc1": 0.1,
                             "time_solve_s": 0.5, "time_update_s": 0.25, "dense_layers": dense})
                i += 1
        write_results(self.path, rows)

    def tearDown(self):
        self.dir.cleanup()

    def test_one_table_with_dense_accuracy_and_layers_in_order(self):
        network_report.main([self.path])
        with open(os.path.join(self.dir.name, "run_network.md")) as fh:
            md = fh.read()
        self.assertIn("| pattern | solver | test accuracy | drop vs dense | fc1 rel_error | fc2 rel_error | "
                      "fc10 rel_error |", md)
        self.assertIn("| — | **dense** | 0.9000 ± 0.0000 |", md)
        self.assertIn("| 2:4 | good | 0.8700 ± 0.0141 | 0.0300 ± 0.0141 |", md)
        self.assertLess(md.index("| 2:4 | good |"), md.index("| 2:4 | bad |"))  # ranked by accuracy
        self.assertIn("| 8:16T | good (fc3 dense) |", md)
        self.assertTrue(os.path.getsize(os.path.join(self.dir.name, "run_network.png")) > 1000)

    def test_other_swept_axes_split_the_rows(self):
        path = os.path.join(self.dir.name, "damp.h5")
        rows = [{"trial": i, "seed": 0, "solver": "s", "pattern": "2:4", "task.damping": d, "accuracy": a,
                 "dense_accuracy": 0.9, "accuracy_drop": 0.9 - a, "rel_error": 0.1, "rel_error_fc1": 0.1,
                 "time_solve_s": 0.1, "time_update_s": 0.1, "dense_layers": ""}
                for i, (d, a) in enumerate([("0.0", 0.8), ("0.01", 0.86)])]
        write_results(path, rows)
        network_report.main([path])
        with open(os.path.join(self.dir.name, "damp_network.md")) as fh:
            md = fh.read()
        self.assertIn("| 2:4, task.damping=0.0 | s | 0.8000 ± 0.0000 |", md)
        self.assertIn("| 2:4, task.damping=0.01 | s | 0.8600 ± 0.0000 |", md)

    def test_rejects_a_layer_run(self):
        path = os.path.join(self.dir.name, "layer.h5")
        write_results(path, [{"trial": 0, "seed": 0, "solver": "x", "pattern": "2:4", "rel_error": 0.1}])
        with self.assertRaises(SystemExit):
            network_report.main([path])


if __name__ == "__main__":
    unittest.main()
