#!/usr/bin/env bash
# `npm test`: installs what the tests need, then runs every part in order and fails if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# Node's GPU tests run on Mesa's CPU Vulkan driver (lavapipe) so every machine computes the same way;
# STAR_READER_GPU=native keeps the machine's own Vulkan driver instead.
if [ "${STAR_READER_GPU:-}" != native ]; then
  export VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

exec node scripts/test-all.mjs "$@"
