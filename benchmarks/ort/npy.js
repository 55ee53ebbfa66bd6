// npy.js - Read and write NumPy .npy files (format versions 1.0 to 3.0).
//
// Part of SparseLoom.
//
// The ONNX Runtime side of the benchmarks and cross-checks exchanges tensors
// with sparseloom-run through .npy files, and may use no npm package besides
// onnxruntime-node, so this is a small self-contained reader/writer. It
// handles C-order arrays of the element types our models use (float32,
// float64, int64, int32, int8, uint8, bool); anything else (Fortran order,
// big-endian data, structured dtypes) is rejected with a message rather than
// misread.

'use strict';

const fs = require('fs');

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

// NumPy descr (little-endian or byte-order free) -> element type.
// `ort` is the onnxruntime-node tensor type name.
const DTYPES = {
  '<f4': { ort: 'float32', size: 4, array: Float32Array },
  '<f8': { ort: 'float64', size: 8, array: Float64Array },
  '<i8': { ort: 'int64', size: 8, array: BigInt64Array },
  '<i4': { ort: 'int32', size: 4, array: Int32Array },
  '|i1': { ort: 'int8', size: 1, array: Int8Array },
  '|u1': { ort: 'uint8', size: 1, array: Uint8Array },
  '|b1': { ort: 'bool', size: 1, array: Uint8Array },
};
const DESCR_OF = Object.fromEntries(
  Object.entries(DTYPES).map(([descr, t]) => [t.ort, descr]));

class NpyError extends Error {}

function product(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

// Parses the header dictionary, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (500, 1, 8, 8), }
// NumPy always writes exactly these three keys as a Python literal; a strict
// parse of that form is enough and fails loudly on anything unexpected.
function parseHeader(text, file) {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape)
    throw new NpyError(`${file}: malformed .npy header: ${text.trim()}`);
  // '=' / '<' mean little-endian on every machine we run on; single-byte
  // types may carry '|'.
  let d = descr[1].replace(/^=/, '<');
  if (/^[<|][biu]1$/.test(d)) d = '|' + d.slice(1);
  if (!(d in DTYPES))
    throw new NpyError(`${file}: unsupported element type '${descr[1]}' ` +
                       `(supported: ${Object.keys(DTYPES).join(' ')})`);
  if (fortran[1] === 'True')
    throw new NpyError(`${file}: Fortran-order arrays are not supported ` +
                       `(save with np.ascontiguousarray)`);
  const dims = shape[1].split(',').map(s => s.trim()).filter(s => s.length);
  const parsed = dims.map(s => {
    if (!/^\d+$/.test(s))
      throw new NpyError(`${file}: bad dimension '${s}' in shape`);
    return Number(s);
  });
  return { descr: d, shape: parsed };
}

// Reads a .npy file: { dtype (ORT name), shape, data (typed array) }.
function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new NpyError(`${file}: cannot read: ${e.message}`);
  }
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC))
    throw new NpyError(`${file}: not a .npy file (bad magic)`);
  const major = buf[6];
  let headerLen, headerStart;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new NpyError(`${file}: truncated header`);
    headerLen = buf.readUInt32LE(8);
    headerStart = 12;
  } else {
    throw new NpyError(`${file}: unsupported .npy version ${major}`);
  }
  if (headerStart + headerLen > buf.length)
    throw new NpyError(`${file}: truncated header`);
  const text = buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart,
                            headerStart + headerLen);
  const { descr, shape } = parseHeader(text, file);
  const t = DTYPES[descr];
  const count = product(shape);
  const dataStart = headerStart + headerLen;
  const bytes = count * t.size;
  if (buf.length - dataStart !== bytes)
    throw new NpyError(`${file}: expected ${bytes} data bytes for shape ` +
                       `[${shape}] ${descr}, found ${buf.length - dataStart}`);
  // Copy into a fresh, aligned buffer (the file buffer's offset may not be a
  // multiple of the element size).
  const data = new t.array(count);
  Buffer.from(data.buffer).set(buf.subarray(dataStart));
  return { dtype: t.ort, shape, data };
}

// Encodes a tensor as .npy bytes (version 1.0, header padded to 64 bytes as
// NumPy does).
function encodeNpy(dtype, shape, data) {
  const descr = DESCR_OF[dtype];
  if (!descr) throw new NpyError(`cannot write element type ${dtype} as .npy`);
  const t = DTYPES[descr];
  if (product(shape) !== data.length)
    throw new NpyError(`shape [${shape}] does not match ${data.length} elements`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1; // + '\n'
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  // bool data from ORT comes as Uint8Array or a plain array of booleans.
  let typed = data;
  if (!(data instanceof t.array)) typed = t.array.from(data, v => (dtype === 'bool' ? (v ? 1 : 0) : v));
  const body = Buffer.from(typed.buffer, typed.byteOffset, typed.length * t.size);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

// Writes a .npy file atomically (temp file, then rename), so a failed run
// never leaves a half-written output behind.
function writeNpy(file, dtype, shape, data) {
  const bytes = encodeNpy(dtype, shape, data);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch (_) { /* already gone */ }
    throw new NpyError(`${file}: cannot write: ${e.message}`);
  }
}

module.exports = { readNpy, writeNpy, encodeNpy, NpyError, DTYPES };
