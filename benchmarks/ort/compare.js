// compare.js - How SparseLoom's outputs are compared with ONNX Runtime's.
//
// Part of SparseLoom.
//
// One definition of "agrees", used by the zoo agreement test (test/ort) and
// by the benchmark's sanity check (benchmarks/ort-compare):
//
//   every element:  |ours - ort| <= tol * max(1, |ort|)      (tol = 1e-4)
//
// i.e. an absolute tolerance of 1e-4 for values of magnitude up to 1 and a
// relative one above. A purely relative test would fail on values near
// zero, where two correct float32 summation orders differ by far more than
// 1e-4 of the value itself (a logit of 1e-6 computed as the difference of
// terms of size 1); a purely absolute one would be meaningless for large
// logits. ONNX Runtime is the reference (the denominator). Shapes and
// element types must match exactly; NaN or infinity agrees only with the
// same value at the same position; integer and bool tensors must be equal.
//
// Reported besides pass/fail: the largest absolute difference, the largest
// scaled difference |a-b| / max(1,|b|) (what the tolerance bounds), and the
// relative L2 error ||a-b|| / ||b|| of the whole tensor.

'use strict';

const DEFAULT_TOLERANCE = 1e-4;

// "[r, c]" for flat index i of a tensor of the given shape.
function multiIndex(shape, i) {
  const idx = [];
  for (let d = shape.length - 1; d >= 0; --d) {
    idx.unshift(i % shape[d]);
    i = Math.floor(i / shape[d]);
  }
  return `[${idx.join(', ')}]`;
}

// a, b: { dtype, shape, data } (data: typed array). Returns
// { ok, reason, maxAbs, maxScaled, relL2, worstIndex, count }.
function compareTensors(a, b, tol = DEFAULT_TOLERANCE) {
  const res = { ok: true, reason: '', maxAbs: 0, maxScaled: 0, relL2: 0,
                worstIndex: -1, count: b.data.length };
  const failWith = reason => Object.assign(res, { ok: false, reason });
  if (a.dtype !== b.dtype)
    return failWith(`element type ${a.dtype} differs from ONNX Runtime's ${b.dtype}`);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    return failWith(`shape [${a.shape}] differs from ONNX Runtime's [${b.shape}]`);
  const n = b.data.length;
  if (a.data.length !== n) return failWith('element counts differ');

  if (a.dtype !== 'float32' && a.dtype !== 'float64') {
    for (let i = 0; i < n; ++i) {
      if (a.data[i] !== b.data[i]) {
        res.worstIndex = i;
        return failWith(`element ${multiIndex(b.shape, i)}: ${a.data[i]} != ${b.data[i]} (exact type)`);
      }
    }
    return res;
  }

  let diff2 = 0, ref2 = 0;
  for (let i = 0; i < n; ++i) {
    const x = a.data[i], y = b.data[i];
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      // Same non-finite value in both (NaN matches NaN) is agreement.
      if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))) continue;
      res.worstIndex = i;
      return failWith(`element ${multiIndex(b.shape, i)}: ${x} vs ONNX Runtime's ${y}`);
    }
    const d = Math.abs(x - y);
    const scaled = d / Math.max(1, Math.abs(y));
    if (d > res.maxAbs) res.maxAbs = d;
    if (scaled > res.maxScaled) {
      res.maxScaled = scaled;
      res.worstIndex = i;
    }
    diff2 += d * d;
    ref2 += y * y;
  }
  res.relL2 = ref2 > 0 ? Math.sqrt(diff2 / ref2) : Math.sqrt(diff2);
  if (res.maxScaled > tol) {
    const i = res.worstIndex;
    failWith(`element ${multiIndex(b.shape, i)}: ${a.data[i]} vs ONNX Runtime's ${b.data[i]}: ` +
             `|a-b|/max(1,|b|) = ${res.maxScaled.toExponential(2)} > ${tol}`);
  }
  return res;
}

// Index of the largest value in each row of a [rows, cols] float tensor.
function argmaxRows(t) {
  const cols = t.shape[t.shape.length - 1];
  const rows = t.data.length / cols;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; ++r) {
    let best = 0;
    for (let c = 1; c < cols; ++c)
      if (t.data[r * cols + c] > t.data[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}

module.exports = { compareTensors, argmaxRows, multiIndex, DEFAULT_TOLERANCE };
