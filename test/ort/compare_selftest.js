#!/usr/bin/env node
// compare_selftest.js - Checks the .npy reader/writer and the agreement rule
// that the ONNX Runtime comparisons rely on.
//
// Part of SparseLoom.
//
// The zoo agreement test can only catch a wrong runtime if its comparison
// can fail: these cases prove it does (a difference just above the
// tolerance, a NaN, a shape or type mismatch), that it accepts differences
// just below, and that .npy files survive a write/read round trip with the
// header NumPy expects. Needs node only, not ONNX Runtime.

'use strict';

const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const { readNpy, writeNpy, encodeNpy, NpyError } =
    require(path.join(REPO, 'benchmarks', 'ort', 'npy.js'));
const { compareTensors, argmaxRows } = require(path.join(REPO, 'benchmarks', 'ort', 'compare.js'));

let cases = 0;
function check(name, fn) {
  try {
    fn();
    ++cases;
  } catch (e) {
    process.stderr.write(`compare_selftest: FAIL ${name}: ${e.message}\n`);
    process.exit(1);
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-npy-'));
const f32 = (shape, values) => ({ dtype: 'float32', shape, data: Float32Array.from(values) });

// --- .npy --------------------------------------------------------------------

check('round trip of every supported type and odd shapes', () => {
  const arrays = [
    ['float32', [2, 3], Float32Array.from([1, -2.5, 3e-8, Infinity, NaN, 0])],
    ['float64', [3], Float64Array.from([1 / 3, -1e300, 0])],
    ['int64', [2, 1, 2], BigInt64Array.from([1n, -2n, 30522n, -(2n ** 62n)])],
    ['int32', [1], Int32Array.from([-7])],
    ['int8', [2], Int8Array.from([-128, 127])],
    ['uint8', [2], Uint8Array.from([0, 255])],
    ['bool', [3], Uint8Array.from([1, 0, 1])],
    ['float32', [], Float32Array.from([42])],       // scalar
    ['float32', [0, 5], new Float32Array(0)],       // empty
  ];
  for (const [dtype, shape, data] of arrays) {
    const file = path.join(tmp, `${dtype}.npy`);
    writeNpy(file, dtype, shape, data);
    const bytes = fs.readFileSync(file);
    // NumPy pads the header so the data starts 64-byte aligned.
    assert.strictEqual((10 + bytes.readUInt16LE(8)) % 64, 0, `${dtype}: header padding`);
    const back = readNpy(file);
    assert.strictEqual(back.dtype, dtype);
    assert.deepStrictEqual(back.shape, shape);
    assert.deepStrictEqual(Array.from(back.data), Array.from(data), `${dtype}: values`);
  }
});

check('reads a NumPy-written file from the zoo', () => {
  const a = readNpy(path.join(REPO, 'examples', 'zoo', 'digits', 'test.inputs.npy'));
  assert.strictEqual(a.dtype, 'float32');
  assert.deepStrictEqual(a.shape, [500, 1, 8, 8]);
  const labels = readNpy(path.join(REPO, 'examples', 'zoo', 'digits', 'test.labels.npy'));
  assert.strictEqual(labels.dtype, 'int64');
  assert.ok(labels.data.every(v => v >= 0n && v < 10n));
});

check('rejects malformed files with the file name in the message', () => {
  const good = encodeNpy('float32', [4], Float32Array.from([1, 2, 3, 4]));
  const bad = {
    'magic.npy': Buffer.concat([Buffer.from('NOTNPY'), good.subarray(6)]),
    'short.npy': good.subarray(0, good.length - 1),
    'fortran.npy': Buffer.from(good.toString('latin1').replace('False', 'True '), 'latin1'),
    'bigendian.npy': Buffer.from(good.toString('latin1').replace('<f4', '>f4'), 'latin1'),
  };
  for (const [name, bytes] of Object.entries(bad)) {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, bytes);
    assert.throws(() => readNpy(file), e => e instanceof NpyError && e.message.includes(file),
                  name);
  }
});

// --- agreement rule ----------------------------------------------------------

check('identical tensors agree', () => {
  const r = compareTensors(f32([2, 2], [1, -2, 300, 0]), f32([2, 2], [1, -2, 300, 0]));
  assert.ok(r.ok);
  assert.strictEqual(r.maxAbs, 0);
});

check('absolute tolerance 1e-4 below magnitude 1', () => {
  assert.ok(compareTensors(f32([1], [0.50009]), f32([1], [0.5])).ok);
  assert.ok(!compareTensors(f32([1], [0.50011]), f32([1], [0.5])).ok);
  // Near zero a relative rule would fail; the absolute floor accepts it.
  assert.ok(compareTensors(f32([1], [3e-6]), f32([1], [1e-7])).ok);
});

check('relative tolerance 1e-4 above magnitude 1', () => {
  assert.ok(compareTensors(f32([1], [1000.09]), f32([1], [1000])).ok);
  assert.ok(!compareTensors(f32([1], [1000.2]), f32([1], [1000])).ok);
  const r = compareTensors(f32([2], [1000.2, 1]), f32([2], [1000, 1]));
  assert.strictEqual(r.worstIndex, 0);
  assert.ok(Math.abs(r.maxScaled - 2e-4) < 1e-5, `maxScaled ${r.maxScaled}`);
});

check('NaN and infinity agree only with themselves', () => {
  assert.ok(compareTensors(f32([2], [NaN, Infinity]), f32([2], [NaN, Infinity])).ok);
  assert.ok(!compareTensors(f32([1], [NaN]), f32([1], [0])).ok);
  assert.ok(!compareTensors(f32([1], [0]), f32([1], [NaN])).ok);
  assert.ok(!compareTensors(f32([1], [Infinity]), f32([1], [-Infinity])).ok);
});

check('shape and type mismatches fail', () => {
  assert.ok(!compareTensors(f32([4], [1, 2, 3, 4]), f32([2, 2], [1, 2, 3, 4])).ok);
  const i64 = { dtype: 'int64', shape: [1], data: BigInt64Array.from([1n]) };
  assert.ok(!compareTensors(f32([1], [1]), i64).ok);
  const j64 = { dtype: 'int64', shape: [1], data: BigInt64Array.from([2n]) };
  assert.ok(!compareTensors(j64, i64).ok);
  assert.ok(compareTensors(i64, i64).ok);
});

check('argmax per row', () => {
  assert.deepStrictEqual(Array.from(argmaxRows(f32([2, 3], [0, 5, 1, 9, 2, 3]))), [1, 0]);
});

fs.rmSync(tmp, { recursive: true, force: true });
process.stdout.write(`compare_selftest: ${cases} cases passed\n`);
