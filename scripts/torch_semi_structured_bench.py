#!/usr/bin/env python3
"""torch's semi-structured (2:4) sparse matmul vs dense torch.mm on the GPU, on the shapes of
bench/cuda_spmm_bench.cpp: Y = W X with W d_out x d_in (2:4) and X d_in x tokens, fp16 and bf16.
Both torch backends are timed and recorded: cuSPARSELt (_FORCE_CUTLASS = False) and CUTLASS (True).
Timing: torch.utils.benchmark.Timer.blocked_autorange, median, warm L2. Run on the GPU machine by
scripts/device_bench.sh run (that machine's python3 has torch; this build box's does not)."""
import argparse
import json
import sys

import torch
from torch.sparse import SparseSemiStructuredTensor, to_sparse_semi_structured
from torch.utils.benchmark import Timer

SHAPES = [(8192, 8192, 8192), (4096, 4096, 4096), (4096, 4096, 512), (11008, 4096, 512), (4096, 4096, 128)]


def random_24(d_out, d_in, dtype):
    """N(0,1) weights keeping the 2 largest |w| of each group of 4 along a row."""
    g = torch.randn(d_out, d_in // 4, 4, device="cuda", dtype=dtype)
    keep = torch.zeros_like(g, dtype=torch.bool).scatter_(-1, g.abs().topk(2, dim=-1).indices, True)
    return (g * keep).reshape(d_out, d_in)


def median_s(stmt, env):
    return Timer(stmt=stmt, globals=env).blocked_autorange(min_run_time=1.0).median


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the rows here as JSON")
    a = ap.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("torch sees no GPU")
    env_info = {"torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0),
                "cusparselt": getattr(getattr(torch.backends, "cusparselt", None), "version", lambda: None)()}
    print(json.dumps(env_info))
    rows = []
    for dtype in (torch.float16, torch.bfloat16):
        for d_out, d_in, tokens in SHAPES:
            W = random_24(d_out, d_in, dtype)
            X = torch.randn(d_in, tokens, device="cuda", dtype=dtype)
            Y = torch.mm(W, X)
            t_dense = median_s("torch.mm(W, X)", {"torch": torch, "W": W, "X": X})
            flops = 2.0 * d_out * d_in * tokens
            row = {"d_out": d_out, "d_in": d_in, "tokens": tokens, "dtype": str(dtype).replace("torch.", ""),
                   "dense_us": t_dense * 1e6, "dense_tflops": flops / t_dense * 1e-12}
            for name, force_cutlass in (("cusparselt", False), ("cutlass", True)):
                try:
                    SparseSemiStructuredTensor._FORCE_CUTLASS = force_cutlass
                    Ws = to_sparse_semi_structured(W)
                    Ys = torch.mm(Ws, X)
                    t = median_s("torch.mm(Ws, X)", {"torch": torch, "Ws": Ws, "X": X})
                    row[f"{name}_us"] = t * 1e6
                    row[f"{name}_speedup"] = t_dense / t
                    row[f"{name}_rel_max_diff"] = float((Ys.float() - Y.float()).abs().max() / Y.float().abs().max())
                    row[f"{name}_class"] = type(Ws).__name__
                except Exception as e:  # a backend may not support a dtype/shape: record why
                    row[f"{name}_error"] = f"{type(e).__name__}: {e}"[:300]
            print(json.dumps(row))
            rows.append(row)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"env": env_info, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
