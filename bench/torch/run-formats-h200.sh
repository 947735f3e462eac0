#!/usr/bin/env bash
# One device call: decode tok/s at 1K and 16K context and one 4K-token prefill (full causal) for the
# two layouts as random-weight models, in each weight format (f32, bf16, q8, q4, q4g128 quantized at load)
# with the f16 KV cache, and bf16 weights with the f32 cache beside them (what f16 KV changes).
# About 5 minutes on the H200 (each of the 12 runs loads its model, q8/q4 quantizing it at about
# 30 ms per million weights on a CPU core, and is cut off at 75 s). Outputs under $1:
# formats-<model>-<weights>-<kv>.{json,md} and formats.md (all tables in one file).
#
#   bash bench/torch/run-formats-h200.sh "$OUT"            on the device, carrying .gpu-pack (models made by layouts.py)
#   bash bench/torch/run-formats-h200.sh /tmp/f --quick    here, on lavapipe: the demo model, tiny lengths
set -uo pipefail
out=$1
mkdir -p "$out"
if [ "${2:-}" = "--quick" ]; then
  models=(demo); dir=public/models; contexts=64,128; tokens=2; prefill=128; limit=300
  node_run() { npx tsx "$@"; }
else
  models=(qwen2.5-0.5b llama-3.2-1b); dir=/tmp/models; contexts=1024,16384; tokens=64; prefill=4096; limit=75
  mkdir -p "$dir"
  PYTHONUNBUFFERED=1 python3 bench/torch/layouts.py "$dir" "${models[@]}"
  node_run() { bash .gpu-pack/run.sh node --import tsx "$@"; }
  # run.sh installs Node and the Vulkan loader on first use: outside the per-run limit.
  bash .gpu-pack/run.sh node --version
fi
for model in "${models[@]}"; do
  for spec in f32:f16 bf16:f16 q8:f16 q4:f16 q4g128:f16 bf16:f32; do
    weights=${spec%%:*}; kv=${spec##*:}
    name="formats-$model-$weights-$kv"
    # Each run loads (and for q8/q4 quantizes) the model once; a run past its limit is cut off and
    # the next one goes on.
    timeout "$limit" bash -c "$(declare -f node_run); node_run bench/decode.ts --model $dir/$model --weight-type $weights --kv-type $kv \
      --contexts $contexts --tokens $tokens --ways gpu --prefill $prefill --out $out/$name" 2>&1 | grep -E '^loaded|^  (prefill|context)'
    [ -f "$out/$name.md" ] && cat "$out/$name.md" >> "$out/formats.md"
  done
done
echo "wrote $out/formats.md"
