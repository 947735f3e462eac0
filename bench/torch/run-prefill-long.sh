#!/usr/bin/env bash
# One device call: Star Attention's phase 1 alone (`bench --modes star`, bf16 weights, f16 KV) at
# 65,536 and 131,072 tokens with b = n/16 for the two layouts, then transformers' bf16 prefill at the
# same lengths (f32 runs out of memory at 64K), then b = n/32 at 128K if time is left. A model whose
# 64K run says its 128K one would pass that run's limit (4× the 64K encode: the attention's n·b grows
# 4×, the rest 2×) goes straight to b = n/32 (n·b 2×). Full attention is not run: at 64K it takes
# minutes (earlier, on an H200: star b=n/16 at 16K 2.3 s, full 8.0 s).
#
# Each step runs under a limit cut to what is left of the whole script's budget (LONG_PREFILL_SECONDS,
# default 470 s), most wanted first, so a slow run costs the steps after it, not the call. The device
# tool brings back only a few files: every output goes into ONE archive, $OUT/long-prefill.tgz,
# rewritten after each step (log.txt, star-<model>-<n>-n<d>.{json,md}, torch-prefill.jsonl,
# summary.md), so a cut-off run keeps what finished.
#
#   bash bench/torch/run-prefill-long.sh "$OUT"            on the device, carrying .gpu-pack
#   bash bench/torch/run-prefill-long.sh /tmp/l --quick    here, on lavapipe: the demo model, tiny lengths
set -uo pipefail
out=$1
mkdir -p "$out"
work=$(mktemp -d /tmp/long-prefill.XXXXXX)
log=$work/log.txt
budget=${LONG_PREFILL_SECONDS:-470}

if [ "${2:-}" = "--quick" ]; then
  models=(demo); dir=public/models; short=512; long=1024
  export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/share/vulkan/icd.d/lvp_icd.json} XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
  node_run=(node --import tsx)
else
  models=(qwen2.5-0.5b llama-3.2-1b); dir=/tmp/models; short=65536; long=131072
  node_run=(bash .gpu-pack/run.sh node --import tsx)
fi

# The runs' rows in one table, in the order they ran, then transformers' lines: summary.md, packed
# with everything else.
runs=()
pack() {
  {
    local first=1 name
    for name in "${runs[@]}"; do
      [ -f "$work/$name.md" ] || continue
      if ((first)); then
        grep -h -e '^Measured' -e '^Device limits' "$work/$name.md" | sed 's/; model: .*$/./'
        printf '\n| run | context | mode | block | hosts | encode ms | attention FLOPs full / this | attention GFLOP | decode tok/s |\n|---|---|---|---|---|---|---|---|---|\n'
        first=0
      fi
      grep -h '^| [0-9]' "$work/$name.md" | sed "s/^/| $name /"
    done
    if [ -s "$work/torch-prefill.jsonl" ]; then printf '\ntransformers (SDPA), the median of 3 runs:\n\n'; sed 's/^/    /' "$work/torch-prefill.jsonl"; fi
  } >"$work/summary.md"
  tar -czf "$out/long-prefill.tgz.part" -C "$work" . && mv "$out/long-prefill.tgz.part" "$out/long-prefill.tgz"
}

# step LIMIT NAME STDOUT COMMAND…: runs COMMAND under LIMIT seconds or what is left of the budget,
# its standard output to STDOUT and its errors to the log; then packs. Skipped when under 15 s are left.
step() {
  local limit=$1 name=$2 stdout=$3; shift 3
  local left=$((budget - SECONDS))
  ((left < limit)) && limit=$left
  if ((limit < 15)); then
    echo "== $name: skipped, ${left} s left of ${budget}" | tee -a "$log"
    pack
    return 1
  fi
  echo "== $name (limit ${limit} s, at ${SECONDS} s)" | tee -a "$log"
  local started=$SECONDS
  timeout -k 5 "$limit" "$@" >>"$stdout" 2>>"$log"
  local rc=$?
  echo "== $name: exit ${rc}$( ((rc == 124)) && echo ' (cut off)') after $((SECONDS - started)) s" | tee -a "$log"
  pack
  return $rc
}

# star MODEL LENGTH DIVISOR LIMIT: one bench run (its own process: a cut-off run loses only its row).
star() {
  local name=star-$1-$2-n$3
  runs+=("$name")
  step "$4" "$name" "$log" "${node_run[@]}" src/cli/main.ts bench --model "$dir/$1" --weight-type bf16 --modes star \
    --lengths "$2" --block-divisors "$3" --decode 0 --out "$work/$name"
  grep -h '^| [0-9]' "$work/$name.md" 2>/dev/null
}

# The encode ms of a run's first row (its markdown table's fifth column); empty if it did not finish.
encode_ms() {
  awk -F'|' '/^\| [0-9]/ { gsub(/ /, "", $6); print $6; exit }' "$work/$1.md" 2>/dev/null
}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null; } >>"$log"
if [ "${2:-}" != "--quick" ]; then
  # run.sh installs Node and the Vulkan loader on first use: outside the per-run limits.
  step 60 setup "$log" bash .gpu-pack/run.sh node --version
  # layouts.py keeps a model made earlier with today's settings (the window of 262,144 included).
  step 180 layouts "$log" env PYTHONUNBUFFERED=1 python3 bench/torch/layouts.py "$dir" "${models[@]}"
fi

for model in "${models[@]}"; do star "$model" "$short" 16 100; done
if python3 -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
  step 150 torch "$work/torch-prefill.jsonl" env PYTHONUNBUFFERED=1 PYTHONPATH=bench/torch \
    python3 bench/torch/prefill.py --lengths "$short,$long" --dtypes bf16 "${models[@]}"
  cat "$work/torch-prefill.jsonl"
else
  echo "== torch: skipped, no PyTorch with CUDA here" | tee -a "$log"
fi
long_limit=150
for model in "${models[@]}"; do
  ms=$(encode_ms "star-$model-$short-n16")
  if [ -n "$ms" ] && ((4 * ms / 1000 + 15 > long_limit)); then
    echo "== star-$model-$long-n16: skipped, 4 × its ${short}-token encode (${ms} ms) would pass ${long_limit} s" | tee -a "$log"
  else
    star "$model" "$long" 16 "$long_limit"
  fi
done
for model in "${models[@]}"; do star "$model" "$long" 32 100; done
pack
echo "== done at ${SECONDS} s; $out/long-prefill.tgz holds:"
tar -tzf "$out/long-prefill.tgz" | sort
cat "$work/summary.md"
