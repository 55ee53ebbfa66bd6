#!/usr/bin/env node
// ort_run.js - Run an ONNX model in ONNX Runtime on .npy inputs.
//
// Part of SparseLoom.
//
// The reference side of every comparison with sparseloom-run: the same
// model, the same .npy inputs, the same thread count. Runs offline once
// scripts/setup-ort has installed onnxruntime-node.
//
//   node benchmarks/ort/ort_run.js MODEL.onnx --input x.npy
//        [--input NAME=x.npy ...] [--threads N] [--runs N] [--warmup N]
//        [--output y.npy | --output NAME=y.npy ... | --output-dir DIR]
//        [--json FILE]
//
// Prints one JSON object: model, threads, load_ms, the inputs and outputs
// (name, dtype, shape), and the timings of the measured runs in ms (median,
// min, max, all; and the median CPU time of the process per run). Warm-up runs (default 2) are not timed: the first run of a
// session allocates its memory arena and spins up the thread pool.
//
// Exit status: 0 ok, 1 bad input or ONNX Runtime error, 77 ONNX Runtime not
// installed (the code ctest treats as "skipped").

'use strict';

const fs = require('fs');
const path = require('path');
const ortlib = require('./ort.js');
const { writeNpy } = require('./npy.js');

const TOOL = 'ort_run';
const USAGE = `usage: ort_run.js MODEL.onnx --input [NAME=]X.npy ... [--threads N] [--runs N]
                  [--warmup N] [--output [NAME=]Y.npy ... | --output-dir DIR] [--json FILE]`;

function fail(msg, code = 1) {
  process.stderr.write(`${TOOL}: error: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { inputs: [], outputs: [], threads: 1, runs: 1, warmup: 2,
                 outputDir: null, json: null, model: null };
  const intArg = (name, v, min) => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min)
      fail(`${name} needs an integer >= ${min}, got '${v}'\n${USAGE}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    switch (a) {
      case '--input': case '-i': opts.inputs.push(next()); break;
      case '--output': case '-o': opts.outputs.push(next()); break;
      case '--output-dir': opts.outputDir = next(); break;
      case '--threads': opts.threads = intArg(a, next(), 1); break;
      case '--runs': opts.runs = intArg(a, next(), 1); break;
      case '--warmup': opts.warmup = intArg(a, next(), 0); break;
      case '--json': opts.json = next(); break;
      case '-h': case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        if (a.startsWith('-')) fail(`unknown option ${a}\n${USAGE}`);
        if (opts.model) fail(`more than one model given (${opts.model}, ${a})`);
        opts.model = a;
    }
  }
  if (!opts.model) fail(`no model given\n${USAGE}`);
  if (!opts.inputs.length) fail(`no --input given\n${USAGE}`);
  if (opts.outputs.length && opts.outputDir)
    fail('give either --output or --output-dir, not both');
  return opts;
}

// Maps output names to files: "--output y.npy" for a single-output model,
// "--output NAME=y.npy" otherwise, or every output into --output-dir.
function outputFiles(session, opts) {
  const names = session.outputNames;
  const files = {};
  if (opts.outputDir) {
    fs.mkdirSync(opts.outputDir, { recursive: true });
    for (const n of names)
      files[n] = path.join(opts.outputDir, n.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy');
    return files;
  }
  for (const spec of opts.outputs) {
    const eq = spec.indexOf('=');
    if (eq > 0 && names.includes(spec.slice(0, eq))) {
      files[spec.slice(0, eq)] = spec.slice(eq + 1);
    } else if (names.length === 1 && opts.outputs.length === 1) {
      files[names[0]] = spec;
    } else {
      fail(`${opts.model}: the model has outputs [${names.join(', ')}]; ` +
           `use --output NAME=FILE.npy or --output-dir DIR`);
    }
  }
  return files;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(opts.model)) fail(`${opts.model}: no such file`);
  try {
    ortlib.loadOrt();
  } catch (e) {
    if (e instanceof ortlib.OrtUnavailable) fail(e.message, 77);
    throw e;
  }
  const t0 = ortlib.nowMs();
  const session = await ortlib.createSession(opts.model, opts.threads);
  const loadMs = ortlib.nowMs() - t0;
  let feeds;
  try {
    feeds = ortlib.loadFeeds(session, opts.inputs);
  } catch (e) {
    fail(`${opts.model}: ${e.message}`);
  }
  const outFiles = outputFiles(session, opts);

  let out;
  const times = [], cpuTimes = [];
  try {
    for (let i = 0; i < opts.warmup; ++i) out = (await ortlib.timedRun(session, feeds.tensors))[0];
    for (let i = 0; i < opts.runs; ++i) {
      const cpu0 = process.cpuUsage();
      const [o, ms] = await ortlib.timedRun(session, feeds.tensors);
      const cpu = process.cpuUsage(cpu0);
      out = o;
      times.push(ms);
      cpuTimes.push((cpu.user + cpu.system) / 1000);
    }
  } catch (e) {
    fail(`${opts.model}: ONNX Runtime failed to run: ${e.message}`);
  }

  for (const [name, file] of Object.entries(outFiles)) {
    const t = out[name];
    writeNpy(file, t.type, t.dims.map(Number), t.data);
  }

  const round = x => Math.round(x * 1000) / 1000;
  const describe = (name, t) => ({ name, dtype: t.type, shape: t.dims.map(Number) });
  const result = {
    model: opts.model,
    runtime: `onnxruntime-node ${ortlib.loadOrt().env.versions.node}`,
    threads: opts.threads,
    warmup: opts.warmup,
    runs: opts.runs,
    load_ms: round(loadMs),
    median_ms: round(ortlib.median(times)),
    min_ms: round(Math.min(...times)),
    max_ms: round(Math.max(...times)),
    times_ms: times.map(round),
    // CPU time of the whole process (every ORT thread) per run: on a loaded
    // machine it stays close to the work done while wall time stretches.
    cpu_median_ms: round(ortlib.median(cpuTimes)),
    inputs: Object.entries(feeds.tensors).map(([n, t]) =>
      Object.assign(describe(n, t), { file: feeds.files[n] })),
    outputs: session.outputNames.map(n =>
      Object.assign(describe(n, out[n]), outFiles[n] ? { file: outFiles[n] } : {})),
  };
  const text = JSON.stringify(result, null, 2) + '\n';
  if (opts.json) {
    const tmp = `${opts.json}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, opts.json);
  }
  process.stdout.write(text);
}

main().catch(e => fail(e.message));
