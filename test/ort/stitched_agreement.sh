#!/bin/sh
# stitched_agreement.sh - Stitched variants exported by sparseloom-compile
# (--emit-onnx-variants) give the same outputs in ONNX Runtime as in our
# runtime, and pass ONNX's checker on export.
#
# Part of SparseLoom.
#
# Compiles the digits model set of test/lit/compile, writes every selected
# stitched variant as ONNX into a zoo-shaped directory with the digits test
# split, and runs zoo_agreement.js over it (same comparison rule as for the
# zoo models). Exit status 77: ONNX Runtime is not installed (skipped).
#
#   stitched_agreement.sh NODE SPARSELOOM_COMPILE SPARSELOOM_RUN SOURCE_DIR WORK_DIR
set -eu
node=$1 compile=$2 run=$3 src=$4 work=$5
rm -rf "$work"
mkdir -p "$work/zoo"
"$compile" "$src/test/lit/compile/Inputs/digits.json" -o "$work/app.loom" -q \
  --emit-onnx-variants "$work/zoo/digits"
cp "$src/examples/zoo/digits/test.inputs.npy" "$work/zoo/digits/"
count=$(ls "$work/zoo/digits" | grep -c '\.onnx$')
if [ "$count" -lt 2 ]; then
  echo "stitched_agreement: expected several stitched variants, got $count" >&2
  exit 1
fi
exec "$node" "$src/test/ort/zoo_agreement.js" --run "$run" --zoo "$work/zoo" \
  --work-dir "$work/agreement"
