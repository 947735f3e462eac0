#!/usr/bin/env bash
# One device call: the whole-model prefill table (Star Reader full and Star Attention, bf16 weights
# kept as 16 bits so the linear layers go to tensor cores where the adapter has them, then the same
# with f32 weights for Qwen), transformers' prefill beside it, and a CPU profile of Star Reader's
# decode loop (where a decoded token's milliseconds go). Outputs under $1.
set -uo pipefail
out=$1
mkdir -p /tmp/models "$out"
PYTHONUNBUFFERED=1 python3 bench/torch/layouts.py /tmp/models qwen2.5-0.5b llama-3.2-1b
run() { bash .gpu-pack/run.sh node --import tsx "$@" 2>&1 | grep -v 'artificially reduced'; }
for model in qwen2.5-0.5b llama-3.2-1b; do
  timeout 170 bash -c "$(declare -f run); run src/cli/main.ts bench --model /tmp/models/$model --weight-type bf16 --lengths 4096,16384 --block-divisors 4,16 --decode 0 --out $out/prefill-$model-bf16" | tail -12
done
timeout 60 bash -c "$(declare -f run); run --cpu-prof --cpu-prof-dir=/tmp/prof bench/decode.ts --model /tmp/models/qwen2.5-0.5b --weight-type bf16 --contexts 1024 --tokens 64 --out /tmp/decode-prof" | tail -4
bash .gpu-pack/run.sh node bench/profile-summary.mjs /tmp/prof | tee "$out/decode-profile.txt"
PYTHONUNBUFFERED=1 PYTHONPATH=bench/torch timeout 150 python3 bench/torch/prefill.py --lengths 4096,16384,65536 qwen2.5-0.5b llama-3.2-1b | tee "$out/torch-prefill.jsonl"
