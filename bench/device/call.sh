#!/usr/bin/env bash
# Session 5, device call B (not committed): decode attention laid out for memory parallelism, the merge over 4 lanes.
set -uo pipefail
o=/tmp/o; mkdir -p $o /tmp/models
t0=$(date +%s)
stamp() { echo "=== $1 at $(( $(date +%s) - t0 )) s"; }
nvidia-smi --query-gpu=name --format=csv,noheader
stamp layouts
[ -d /tmp/models/llama-3.2-1b ] || PYTHONUNBUFFERED=1 python3 bench/torch/layouts.py /tmp/models qwen2.5-0.5b llama-3.2-1b 2>&1 | tail -1
bash .gpu-pack/run.sh node --version
stamp profile-qwen
STAR_READER_DAWN_DISABLE=timestamp_quantization timeout 80 bash .gpu-pack/run.sh node --import tsx bench/decode-profile.ts --model /tmp/models/qwen2.5-0.5b --weight-type f32 --kv-type f16 --contexts 16384 --out $o/profile-qwen-new 2>&1 | grep -v artificially | tail -12
stamp decode-qwen
timeout 100 bash .gpu-pack/run.sh node --import tsx bench/decode.ts --model /tmp/models/qwen2.5-0.5b --weight-type f32 --kv-type f16 --contexts 1024,16384,65536 --tokens 96 --citations --out $o/decode-qwen-f32-f16 2>&1 | grep -v artificially | grep -E "^  context|^loaded"
timeout 90 bash .gpu-pack/run.sh node --import tsx bench/decode.ts --model /tmp/models/qwen2.5-0.5b --weight-type bf16 --kv-type f16 --contexts 1024,16384,65536 --tokens 96 --out $o/decode-qwen-bf16-f16 2>&1 | grep -v artificially | grep -E "^  context|^loaded"
stamp decode-llama
timeout 100 bash .gpu-pack/run.sh node --import tsx bench/decode.ts --model /tmp/models/llama-3.2-1b --weight-type bf16 --kv-type f16 --contexts 1024,16384,65536 --tokens 96 --citations --out $o/decode-llama-bf16-f16 2>&1 | grep -v artificially | grep -E "^  context|^loaded"
stamp tensor-cores
STAR_READER_DAWN_DISABLE=timestamp_quantization timeout 150 bash .gpu-pack/run.sh node --import tsx bench/attention-tensor-cores.ts --out $o/tc 2>&1 | grep -v 'artificially' | tail -40
stamp done
tar -czf $OUT/callB.tgz -C $o .
