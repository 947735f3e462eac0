#!/usr/bin/env bash
# One device call: the two layouts as random-weight models, Star Reader's decode benchmark on each
# (f32 and bf16 storage), then transformers' decode on the same GPU. Outputs under $1.
set -uo pipefail
out=$1
mkdir -p /tmp/models "$out"
PYTHONUNBUFFERED=1 python3 bench/torch/layouts.py /tmp/models qwen2.5-0.5b llama-3.2-1b
for spec in qwen2.5-0.5b:f32 qwen2.5-0.5b:bf16 llama-3.2-1b:bf16; do
  model=${spec%%:*}; type=${spec##*:}
  timeout 150 bash .gpu-pack/run.sh node --import tsx bench/decode.ts --model /tmp/models/$model --weight-type $type \
    --contexts 1024,16384,65536 --tokens 32 --out "$out/decode-$model-$type" 2>&1 | grep -v 'artificially reduced'
done
PYTHONUNBUFFERED=1 PYTHONPATH=bench/torch timeout 120 python3 bench/torch/decode.py --contexts 1024,16384,65536 --tokens 32 qwen2.5-0.5b llama-3.2-1b | tee "$out/torch-decode.jsonl"
