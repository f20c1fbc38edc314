#!/usr/bin/env bash
# GPU checks in one go (for a lent CUDA machine whose python already has torch + triton):
# the CUDA kernel tests (real GPU, no interpreter), then the surrogate-training benchmark against
# snnTorch / SpikingJelly / Norse. Peer wheels may be carried in .whl/ (see docs/benchmarks.md).
# Logs go to $OUT (or ./gpu-logs). Usage: bash benchmarks/run_gpu.sh [pytest|bench|cpu|all]
# (cpu: the CPU benchmark at n = 1024 on the host's cores, for comparison with other CPUs).
set -u
OUT=${OUT:-gpu-logs}; mkdir -p "$OUT"
what=${1:-all}
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/env.txt"
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, torch.cuda.get_device_name())" | tee -a "$OUT/env.txt"
if [[ $what == all || $what == pytest ]]; then
  timeout ${PYTEST_LIMIT:-300} python3 -m pytest -q -p no:cacheprovider \
    tests/sim/test_triton_kernels.py tests/sim/test_event_kernels.py \
    tests/sim/test_engine_checkpoint.py tests/networks/test_neurons_layers.py \
    --durations=10 2>&1 | tee "$OUT/pytest.txt" | tail -40
fi
if [[ $what == all || $what == bench ]]; then
  timeout ${BENCH_LIMIT:-280} python3 benchmarks/bench_surrogate_training.py --device cuda \
    --json "$OUT/bench_cuda.json" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.txt"
fi
if [[ $what == all || $what == cpu ]]; then
  nproc | sed 's/^/host cores: /' | tee -a "$OUT/env.txt"
  timeout ${CPU_LIMIT:-200} python3 benchmarks/bench_surrogate_training.py --sizes 1024 \
    --json "$OUT/bench_cpu.json" ${CPU_ARGS:-} 2>&1 | tee "$OUT/bench_cpu.txt"
fi
