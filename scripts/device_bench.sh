#!/usr/bin/env bash
# CUDA tests + benchmarks on a lent GPU machine (H100/H200, sm_90), in two halves:
#
#   1. here, on the build box:      scripts/device_bench.sh pack
#      builds the kernels-only tree for sm_90 with a portable host target (-DNMLAB_NATIVE=OFF, the
#      GPU machine's CPU may lack AVX-512) and packs the binaries with their libraries into .devpack/
#   2. there, through the device tool:   command "bash scripts/device_bench.sh run", carry [".devpack"]
#      runs the kernel tests (none may skip), the CUDA benchmark (our 2:4 mma.sp vs cuBLAS) and torch's
#      semi-structured sparse matmul (cuSPARSELt and CUTLASS) on the same shapes; logs and JSON land in
#      $OUT. Record the figures in docs/PERFORMANCE.md ("Sparse kernels") with this command.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  pack)
    cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DNMLAB_KERNELS_ONLY=ON \
      -DCMAKE_CUDA_ARCHITECTURES=90 -DNMLAB_NATIVE=OFF
    cmake --build build-gpu -j2 --target nmlab_kernel_tests nmlab_spmm_bench nmlab_cuda_spmm_bench
    rm -rf .devpack
    /work/shared/tools/device-pack .devpack build-gpu/nmlab_kernel_tests build-gpu/nmlab_spmm_bench \
      build-gpu/nmlab_cuda_spmm_bench
    # cuBLAS/cuBLASLt (~600 MB) come from the GPU machine's CUDA (run.sh puts them on the path).
    rm -f .devpack/lib/libcublas*
    du -sh .devpack   # must stay under the 64 MiB carry limit; .devpack/ is git-ignored
    ;;
  run)
    out=${OUT:-/tmp/nmlab-device}
    mkdir -p "$out"
    set -o pipefail
    (nvidia-smi; nvcc --version 2>/dev/null || true) 2>&1 | tee "$out/device.txt"
    # Kernel tests: on a GPU none of the Cuda* tests may be skipped.
    bash .devpack/run.sh .devpack/bin/nmlab_kernel_tests 2>&1 | tee "$out/tests.log"
    # (the two tests about builds without CUDA / machines without GPU skip by design here)
    if grep -Eq 'SKIPPED \] (CudaSpmm24\.(Exact|Identity|Random)|CudaDenseGemm|CudaGroupTopn|CudaProx\.Matches)' "$out/tests.log"; then
      echo "GPU tests were skipped on a GPU machine: see device_info() in tests.log" | tee -a "$out/tests.log"
    fi
    compute-sanitizer --version >/dev/null 2>&1 &&
      bash .devpack/run.sh compute-sanitizer --tool memcheck .devpack/bin/nmlab_kernel_tests \
        --gtest_filter='CudaSpmm24.ExactOnSmallIntegers*' 2>&1 | tail -20 | tee "$out/sanitizer.log" || true
    bash .devpack/run.sh .devpack/bin/nmlab_cuda_spmm_bench --benchmark_out="$out/cuda_spmm_bench.json" \
      --benchmark_out_format=json 2>&1 | tee "$out/cuda_spmm_bench.log"
    python3 scripts/torch_semi_structured_bench.py --json "$out/torch_semi_structured.json" 2>&1 |
      tee "$out/torch_semi_structured.log" || echo "torch comparison failed (see log)"
    ;;
  *)
    echo "usage: scripts/device_bench.sh pack|run" >&2
    exit 2
    ;;
esac
