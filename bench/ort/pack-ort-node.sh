#!/usr/bin/env bash
# Packs onnxruntime-node for bench/ort/node-attention.ts on the lent GPU machine (Linux x64, no registry):
# just its JavaScript, its Linux x64 binding and libonnxruntime.so.1 (the WebGPU EP with Dawn linked in),
# and onnxruntime-common, into .ort-pack/onnxruntime-node.tar.xz (.ort-pack/ is in .gitignore).
# The script unpacks it into /tmp/ort-node-pack on first use. Run from the project's root:
#   ORT_NODE_DIR=/tmp/ortnode/node_modules/onnxruntime-node bash bench/ort/pack-ort-node.sh
# where /tmp/ortnode holds `npm install --ignore-scripts onnxruntime-node@1.30` (its install script only
# downloads CUDA libraries). Then carry [".gpu-pack", ".ort-pack"] and run
#   bash .gpu-pack/run.sh node --import tsx bench/ort/node-attention.ts --allow-disagreement --out $OUT/ort-node
# (--allow-disagreement: ORT's FlashAttention may be wrong on Vulkan, see bench/results/ort-node-lavapipe.md;
# the report still says so).
set -euo pipefail
[ -f package.json ] || { echo "run from the project root" >&2; exit 1; }
package=$(cd "${ORT_NODE_DIR:?set ORT_NODE_DIR to the onnxruntime-node package directory}" && pwd)
modules=$(dirname "$package")
[ -d "$modules/onnxruntime-common" ] || { echo "no onnxruntime-common beside $package" >&2; exit 1; }
out=.ort-pack
mkdir -p "$out"
tar -C "$(dirname "$modules")" -cf - \
  node_modules/onnxruntime-node/package.json node_modules/onnxruntime-node/dist \
  node_modules/onnxruntime-node/bin/napi-v6/linux/x64 \
  node_modules/onnxruntime-common/package.json node_modules/onnxruntime-common/dist/cjs \
  | xz -T0 -9 > "$out/onnxruntime-node.tar.xz"
du -h "$out/onnxruntime-node.tar.xz"
