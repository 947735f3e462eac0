#!/usr/bin/env bash
# Session 5, device call C (not committed): decode after the attention tuning against before it (.baseline),
# per-format decode and prefill (q8/q4/q4g128), transformers' decode in the same call.
set -uo pipefail
mkdir -p /tmp/models
t0=$(date +%s)
stamp() { echo "=== $1 at $(( $(date +%s) - t0 )) s" | tee -a $OUT/log.txt; }
nvidia-smi --query-gpu=name --format=csv,noheader | tee -a $OUT/log.txt
[ -d /tmp/models/llama-3.2-1b ] || PYTHONUNBUFFERED=1 python3 bench/torch/layouts.py /tmp/models qwen2.5-0.5b llama-3.2-1b 2>&1 | tail -1
bash .gpu-pack/run.sh node --version
dec() { # name dir args...
  local name=$1 dir=$2; shift 2
  (cd $dir && timeout 75 bash $OLDPWD/.gpu-pack/run.sh node --import tsx bench/decode.ts "$@" --out /tmp/r/$name 2>&1 | grep -E "^  context|^  prefill|^loaded" | tee -a $OUT/log.txt)
  [ -f /tmp/r/$name.md ] && { echo; echo "## $name"; cat /tmp/r/$name.md; } >> $OUT/decode.md
}
mkdir -p /tmp/r
stamp decode
dec qwen-f32-f16-after . --model /tmp/models/qwen2.5-0.5b --weight-type f32 --kv-type f16 --contexts 1024,16384,65536 --tokens 96 --citations
dec qwen-f32-f16-before .baseline --model /tmp/models/qwen2.5-0.5b --weight-type f32 --kv-type f16 --contexts 1024,16384,65536 --tokens 96
dec qwen-bf16-f16 . --model /tmp/models/qwen2.5-0.5b --weight-type bf16 --kv-type f16 --contexts 1024,16384,65536 --tokens 96 --prefill 4096
dec llama-bf16-f16 . --model /tmp/models/llama-3.2-1b --weight-type bf16 --kv-type f16 --contexts 1024,16384,65536 --tokens 96 --citations --prefill 4096
stamp formats
for w in q8 q4 q4g128; do dec qwen-$w-f16 . --model /tmp/models/qwen2.5-0.5b --weight-type $w --kv-type f16 --contexts 1024,16384 --tokens 64 --prefill 4096; done
dec qwen-f32-f16-prefill . --model /tmp/models/qwen2.5-0.5b --weight-type f32 --kv-type f16 --contexts 1024 --tokens 16 --prefill 4096
stamp torch
PYTHONUNBUFFERED=1 PYTHONPATH=bench/torch timeout 100 python3 bench/torch/decode.py --contexts 1024,16384,65536 --tokens 32 qwen2.5-0.5b llama-3.2-1b 2>&1 | tee -a $OUT/torch-decode.jsonl | tail -8
stamp done
