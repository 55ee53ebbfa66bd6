// ort.js - ONNX Runtime as SparseLoom's reference runtime (shared helpers).
//
// Part of SparseLoom.
//
// Loads onnxruntime-node from the repo-local install made by
// scripts/setup-ort (third_party/ort/node_modules, or SPARSELOOM_ORT_DIR),
// and creates sessions with the one configuration every comparison uses, so
// the benchmark (benchmarks/ort-compare), the runner (ort_run.js) and the
// zoo agreement test (test/ort) measure and check the same thing:
//   intra-op threads = N, inter-op threads = 1, sequential execution,
//   graph optimisation level "all", CPU execution provider.
// Sequential mode with one inter-op thread matches our executor, which runs
// one op at a time and parallelises inside ops.

'use strict';

const fs = require('fs');
const path = require('path');
const { readNpy, NpyError } = require('./npy.js');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_ORT_DIR = path.join(REPO_ROOT, 'third_party', 'ort', 'node_modules');

class OrtUnavailable extends Error {}

let cached = null;

// Returns the onnxruntime-node module, or throws OrtUnavailable saying how
// to install it.
function loadOrt() {
  if (cached) return cached;
  const dir = process.env.SPARSELOOM_ORT_DIR || DEFAULT_ORT_DIR;
  const pkg = path.join(dir, 'onnxruntime-node');
  if (!fs.existsSync(path.join(pkg, 'package.json')))
    throw new OrtUnavailable(`onnxruntime-node is not installed in ${dir} ` +
                             `(run scripts/setup-ort)`);
  try {
    cached = require(pkg);
    // require() loads only JavaScript; the native binding loads lazily.
    // Load it now so a broken install is reported here, not mid-benchmark.
    require(path.join(pkg, 'dist', 'binding.js'));
  } catch (e) {
    cached = null;
    throw new OrtUnavailable(`onnxruntime-node in ${dir} does not load ` +
                             `(${e.message.split('\n')[0]}); rerun scripts/setup-ort`);
  }
  return cached;
}

function sessionOptions(threads) {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3, // errors only: warnings would pollute JSON output
  };
}

async function createSession(model, threads) {
  const ort = loadOrt();
  try {
    return await ort.InferenceSession.create(model, sessionOptions(threads));
  } catch (e) {
    throw new Error(`${model}: ONNX Runtime cannot load the model: ${e.message}`);
  }
}

// Binds .npy files to the session's inputs. `specs` are "path" (only for a
// single-input model, or as many as the model has inputs, in order) or
// "name=path".
function loadFeeds(session, specs) {
  const ort = loadOrt();
  const names = session.inputNames;
  const feeds = {};
  const positional = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq > 0 && names.includes(spec.slice(0, eq))) {
      feeds[spec.slice(0, eq)] = spec.slice(eq + 1);
    } else {
      positional.push(spec);
    }
  }
  const unbound = names.filter(n => !(n in feeds));
  if (positional.length !== unbound.length)
    throw new Error(`the model has inputs [${names.join(', ')}]; ` +
                    `${specs.length} --input given (use --input NAME=FILE.npy)`);
  unbound.forEach((n, i) => { feeds[n] = positional[i]; });
  const tensors = {};
  for (const [name, file] of Object.entries(feeds)) {
    const a = readNpy(file);
    tensors[name] = new ort.Tensor(a.dtype, a.data, a.shape);
  }
  return { tensors, files: feeds };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Milliseconds since an arbitrary origin, with nanosecond resolution.
function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

// Runs the session once and returns [outputs, milliseconds].
async function timedRun(session, feeds) {
  const t0 = nowMs();
  const out = await session.run(feeds);
  return [out, nowMs() - t0];
}

module.exports = {
  loadOrt, createSession, sessionOptions, loadFeeds, timedRun, median, nowMs,
  OrtUnavailable, NpyError, REPO_ROOT,
};
