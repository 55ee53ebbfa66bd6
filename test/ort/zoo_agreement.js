#!/usr/bin/env node
// zoo_agreement.js - Every zoo model gives the same outputs in SparseLoom's
// runtime as in ONNX Runtime.
//
// Part of SparseLoom.
//
// For each model file in examples/zoo/<task>/ (every sparse variant and the
// channel-pruned one included), runs the first --batch rows of the task's
// test split through sparseloom-run and through ONNX Runtime (same batch,
// one thread each) and compares the outputs with the rule in
// benchmarks/ort/compare.js: |ours - ort| <= 1e-4 * max(1, |ort|) for every
// element. Prints the largest absolute and scaled differences, the relative
// L2 error and how many rows' arg-max agree, per model.
//
//   node test/ort/zoo_agreement.js --run PATH/sparseloom-run
//        [--zoo examples/zoo] [--batch 256] [--threads 1] [--tolerance 1e-4]
//        [--work-dir DIR] [--only SUBSTRING]
//
// Exit status: 0 all agree, 1 a mismatch or a failure of either runtime,
// 77 ONNX Runtime is not installed (ctest reports the test as skipped; run
// scripts/setup-ort, which scripts/setup does).

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const REPO = path.resolve(__dirname, '..', '..');
const ortlib = require(path.join(REPO, 'benchmarks', 'ort', 'ort.js'));
const { readNpy, writeNpy } = require(path.join(REPO, 'benchmarks', 'ort', 'npy.js'));
const { compareTensors, argmaxRows, DEFAULT_TOLERANCE } =
    require(path.join(REPO, 'benchmarks', 'ort', 'compare.js'));

const TOOL = 'zoo_agreement';

function fail(msg, code = 1) {
  process.stderr.write(`${TOOL}: error: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { run: null, zoo: path.join(REPO, 'examples', 'zoo'), batch: 256,
              threads: 1, tolerance: DEFAULT_TOLERANCE, workDir: null, only: '' };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--run': o.run = v(); break;
      case '--zoo': o.zoo = v(); break;
      case '--batch': o.batch = Number(v()); break;
      case '--threads': o.threads = Number(v()); break;
      case '--tolerance': o.tolerance = Number(v()); break;
      case '--work-dir': o.workDir = v(); break;
      case '--only': o.only = v(); break;
      default: fail(`unknown argument ${a}`);
    }
  }
  if (!o.run) fail('--run PATH/sparseloom-run is required');
  if (!(o.batch >= 1) || !(o.threads >= 1) || !(o.tolerance > 0))
    fail('--batch, --threads and --tolerance must be positive');
  return o;
}

// The first `rows` rows of a .npy array (rows = leading dimension).
function firstRows(a, rows) {
  const n = Math.min(rows, a.shape[0]);
  const rowSize = a.data.length / a.shape[0];
  return { dtype: a.dtype, shape: [n, ...a.shape.slice(1)],
           data: a.data.slice(0, n * rowSize) };
}

function fmt(x) {
  return x === 0 ? '0' : x.toExponential(2);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  try {
    ortlib.loadOrt();
  } catch (e) {
    if (e instanceof ortlib.OrtUnavailable) {
      process.stdout.write(`SKIPPED: ${e.message}\n`);
      process.exit(77);
    }
    throw e;
  }
  if (!fs.existsSync(o.run)) fail(`${o.run}: sparseloom-run not found (build it first)`);
  const work = o.workDir || fs.mkdtempSync(path.join(os.tmpdir(), 'sl-zoo-ort-'));
  fs.mkdirSync(work, { recursive: true });

  const tasks = fs.readdirSync(o.zoo).filter(
      t => fs.existsSync(path.join(o.zoo, t, 'test.inputs.npy'))).sort();
  if (!tasks.length) fail(`${o.zoo}: no zoo task (a folder with test.inputs.npy)`);

  let checked = 0;
  const failures = [];
  for (const task of tasks) {
    const dir = path.join(o.zoo, task);
    const batch = firstRows(readNpy(path.join(dir, 'test.inputs.npy')), o.batch);
    const batchFile = path.join(work, `${task}.batch.npy`);
    writeNpy(batchFile, batch.dtype, batch.shape, batch.data);
    const models = fs.readdirSync(dir).filter(f => f.endsWith('.onnx')).sort();
    for (const file of models) {
      if (o.only && !file.includes(o.only)) continue;
      const model = path.join(dir, file);
      const label = `${task}/${file}`;

      // Reference: ONNX Runtime, in this process.
      let ref;
      try {
        const session = await ortlib.createSession(model, o.threads);
        if (session.inputNames.length !== 1 || session.outputNames.length !== 1)
          throw new Error('expected one input and one output');
        const { tensors } = ortlib.loadFeeds(session, [batchFile]);
        const out = (await session.run(tensors))[session.outputNames[0]];
        ref = { dtype: out.type, shape: out.dims.map(Number), data: out.data };
      } catch (e) {
        failures.push(`${label}: ONNX Runtime: ${e.message}`);
        process.stdout.write(`${label}: FAIL (ONNX Runtime: ${e.message})\n`);
        continue;
      }

      // Ours: sparseloom-run, which lowers the model in-process and runs it.
      const outFile = path.join(work, `${task}.${file}.ours.npy`);
      try { fs.unlinkSync(outFile); } catch (_) { /* not there */ }
      const r = spawnSync(o.run, [model, '--input', batchFile, '--output', outFile,
                                  '--threads', String(o.threads)],
                          { encoding: 'utf8', timeout: 600e3 });
      if (r.status !== 0 || !fs.existsSync(outFile)) {
        // Its own error message (the last lines of stderr) says what failed.
        const why = (r.error ? r.error.message
                             : (r.stderr || '').trim().split('\n').slice(-5).join('\n')) ||
                    `exit status ${r.status}`;
        failures.push(`${label}: sparseloom-run: ${why}`);
        process.stdout.write(`${label}: FAIL (sparseloom-run: ${why})\n`);
        continue;
      }
      const ours = readNpy(outFile);
      const c = compareTensors(ours, ref, o.tolerance);
      // Classifier outputs: also say how many predictions agree.
      let agree = '';
      if (ours.shape.length === 2 && ref.shape.length === 2 &&
          ours.shape[0] === ref.shape[0] && ours.shape[1] === ref.shape[1] &&
          ours.dtype.startsWith('float')) {
        const am = argmaxRows(ours), bm = argmaxRows(ref);
        agree = `  argmax ${am.filter((v, i) => v === bm[i]).length}/${am.length}`;
      }
      ++checked;
      process.stdout.write(
          `${label}: ${c.ok ? 'ok  ' : 'FAIL'} batch ${batch.shape[0]}  ` +
          `max_abs ${fmt(c.maxAbs)}  max_scaled ${fmt(c.maxScaled)}  ` +
          `rel_l2 ${fmt(c.relL2)}${agree}${c.ok ? '' : '  (' + c.reason + ')'}\n`);
      if (!c.ok) failures.push(`${label}: ${c.reason}`);
      fs.unlinkSync(outFile);
    }
    fs.unlinkSync(batchFile);
  }
  if (!o.workDir) fs.rmSync(work, { recursive: true, force: true });

  process.stdout.write(`${checked} models compared with ONNX Runtime ` +
                       `${ortlib.loadOrt().env.versions.node} (|ours-ort| <= ` +
                       `${o.tolerance}*max(1,|ort|)), ${failures.length} failed\n`);
  if (failures.length) {
    for (const f of failures) process.stderr.write(`${TOOL}: error: ${f}\n`);
    process.exit(1);
  }
  if (!checked) fail('no model was compared (check --zoo and --only)');
}

main().catch(e => fail(e.message));
