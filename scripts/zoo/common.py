"""Shared helpers for the SparseLoom model zoo (scripts/zoo/*.py).

Run every zoo script with Debian's interpreter, /usr/bin/python3 (torch 1.13, onnx 1.12).

Public API (the task scripts depend on these exact signatures):
  set_seed(seed)
  evaluate(model, x, y, batch=512) -> accuracy in percent
  gradual_prune(model, levels, finetune, scope="global", prunable=None) -> {level: state_dict}
  apply_masks(model, masks)
  layer_densities(model, prunable=None) -> {param_name: density}
  export_onnx(model, example_input, path, input_name, output_name="logits",
              sparse_initializers=True) -> file size in bytes
  write_split(outdir, x_calib, y_calib, x_test, y_test)
  write_card(outdir, card)
Extra helpers: prunable_names, measured_density, compute_masks, masks_from_model,
  train_epochs, variant_record, check_onnx, sparseloom_import_ok, run_onnx_reference,
  torch_onnx_agreement.
"""
import copy
import json
import os
import random
import subprocess
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import onnx
from onnx import helper, numpy_helper  # numpy_helper must be imported explicitly (onnx 1.12)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPARSELOOM_OPT = os.path.join(REPO, "build", "tools", "sparseloom-opt", "sparseloom-opt")
LEVELS = [0.5, 0.7, 0.8, 0.9, 0.95]


# ----------------------------------------------------------------------------- basics

def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _as_tensor(x):
    if isinstance(x, torch.Tensor):
        return x
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return torch.from_numpy(x.astype(np.float32))
    return torch.from_numpy(x.astype(np.int64))


@torch.no_grad()
def predict(model, x, batch=512):
    model.eval()
    x = _as_tensor(x)
    outs = [model(x[i:i + batch]) for i in range(0, len(x), batch)]
    return torch.cat(outs).argmax(1)


def evaluate(model, x, y, batch=512):
    """Top-1 accuracy in percent (model.eval(), no grad)."""
    y = _as_tensor(y).long()
    pred = predict(model, x, batch)
    return float((pred == y).float().mean().item() * 100.0)


# ----------------------------------------------------------------------------- pruning

_CONV_LINEAR = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def prunable_names(model, prunable=None):
    """Names of prunable parameters, in model order.

    Default: every Conv/Linear weight with dim > 1, plus MultiheadAttention's packed
    in_proj_weight (or q/k/v_proj_weight); out_proj is an nn.Linear and counts already."""
    params = dict(model.named_parameters())
    if prunable is not None:
        return [n for n, p in params.items() if prunable(n, p)]
    names = []
    for mname, mod in model.named_modules():
        pre = mname + "." if mname else ""
        cands = []
        if isinstance(mod, _CONV_LINEAR):
            cands = ["weight"]
        elif isinstance(mod, nn.MultiheadAttention):
            cands = ["in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"]
        for c in cands:
            p = getattr(mod, c, None)
            if isinstance(p, nn.Parameter) and p.dim() > 1 and pre + c in params:
                names.append(pre + c)
    seen, out = set(), []
    for n in names:  # shared modules appear once
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


@torch.no_grad()
def compute_masks(model, level, scope="global", prunable=None):
    """Magnitude masks (float tensors of 0/1) that zero exactly round(level * n) weights,
    either over all prunable weights together ("global") or per tensor ("per-layer")."""
    params = dict(model.named_parameters())
    names = prunable_names(model, prunable)
    masks = {}
    if scope == "global":
        flat = torch.cat([params[n].detach().abs().flatten() for n in names])
        k = int(round(level * flat.numel()))
        keep = torch.ones_like(flat)
        if k > 0:
            order = torch.argsort(flat, stable=True)
            keep[order[:k]] = 0.0
        off = 0
        for n in names:
            m = params[n].numel()
            masks[n] = keep[off:off + m].view_as(params[n]).clone()
            off += m
    elif scope in ("per-layer", "layer", "local"):
        for n in names:
            w = params[n].detach().abs().flatten()
            k = int(round(level * w.numel()))
            keep = torch.ones_like(w)
            if k > 0:
                keep[torch.argsort(w, stable=True)[:k]] = 0.0
            masks[n] = keep.view_as(params[n])
    else:
        raise ValueError("scope must be 'global' or 'per-layer', got %r" % scope)
    return masks


@torch.no_grad()
def apply_masks(model, masks):
    """Zero the masked weights in place (call after every optimizer step)."""
    if not masks:
        return
    params = dict(model.named_parameters())
    for n, m in masks.items():
        params[n].mul_(m.to(params[n].dtype))


@torch.no_grad()
def masks_from_model(model, prunable=None):
    params = dict(model.named_parameters())
    return {n: (params[n] != 0).float() for n in prunable_names(model, prunable)}


def gradual_prune(model, levels, finetune, scope="global", prunable=None):
    """Gradual magnitude pruning with fine-tuning.

    For each level (ascending): compute masks by magnitude, apply them, call
    finetune(model, masks) (which must call apply_masks after each optimizer step), apply the
    masks once more and snapshot.  Returns {level: copy.deepcopy(model.state_dict())}."""
    snaps = {}
    for level in sorted(levels):
        masks = compute_masks(model, level, scope, prunable)
        apply_masks(model, masks)
        finetune(model, masks)
        apply_masks(model, masks)
        snaps[level] = copy.deepcopy(model.state_dict())
    return snaps


@torch.no_grad()
def layer_densities(model, prunable=None):
    params = dict(model.named_parameters())
    # exact ratio (not a float32 mean): the zoo check matches it to within 1/numel
    return {n: int(torch.count_nonzero(params[n])) / params[n].numel()
            for n in prunable_names(model, prunable)}


@torch.no_grad()
def measured_density(model, prunable=None):
    """Fraction of non-zero weights over all prunable weights together."""
    params = dict(model.named_parameters())
    names = prunable_names(model, prunable)
    nz = sum(int((params[n] != 0).sum().item()) for n in names)
    tot = sum(params[n].numel() for n in names)
    return nz / max(tot, 1)


def count_params(model):
    return int(sum(p.numel() for p in model.parameters()))


# ----------------------------------------------------------------------------- training

def train_epochs(model, x, y, epochs, lr=1e-3, batch=64, masks=None, augment=None,
                 weight_decay=0.0, seed=0, schedule="cosine", label_smoothing=0.0):
    """Adam(W) training loop; keeps masked weights at zero. augment(xb, gen) -> xb."""
    x = _as_tensor(x)
    y = _as_tensor(y).long()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = None
    if schedule == "cosine" and steps > 0:
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    lossf = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            xb, yb = x[idx], y[idx]
            if augment is not None:
                xb = augment(xb, gen)
            opt.zero_grad()
            loss = lossf(model(xb), yb)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            apply_masks(model, masks)
    model.eval()
    return model


# ----------------------------------------------------------------------------- ONNX

def _to_sparse(init):
    arr = numpy_helper.to_array(init)
    flat = arr.reshape(-1)
    idx = np.flatnonzero(flat).astype(np.int64)
    values = numpy_helper.from_array(flat[idx].copy(), name=init.name)
    indices = numpy_helper.from_array(idx, name=init.name + "_indices")
    return helper.make_sparse_tensor(values, indices, list(arr.shape))


def export_onnx(model, example_input, path, input_name, output_name="logits",
                sparse_initializers=True):
    """Export at opset 13 with a dynamic batch axis "N"; optionally store initializers with
    density < 0.5 as sparse_initializers (COO, linear int64 indices) when smaller.  The
    names stay identical (the SparseLoom importer densifies them again).  Returns the size."""
    model.eval()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # No torch.no_grad() here: in torch 1.13 it would make nn.MultiheadAttention take its
    # fused fast path (aten::_native_multi_head_attention), which has no ONNX export.
    torch.onnx.export(model, example_input, path, opset_version=13,
                      input_names=[input_name], output_names=[output_name],
                      dynamic_axes={input_name: {0: "N"}, output_name: {0: "N"}},
                      do_constant_folding=True)
    m = onnx.load(path)
    if sparse_initializers:
        keep, sparse = [], []
        for init in m.graph.initializer:
            arr = numpy_helper.to_array(init)
            if arr.size > 0 and arr.dtype.kind == "f" and np.count_nonzero(arr) < 0.5 * arr.size:
                sp = _to_sparse(init)
                if sp.ByteSize() < init.ByteSize():
                    sparse.append(sp)
                    continue
            keep.append(init)
        if sparse:
            del m.graph.initializer[:]
            m.graph.initializer.extend(keep)
            m.graph.sparse_initializer.extend(sparse)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return os.path.getsize(path)


def check_onnx(path):
    onnx.checker.check_model(onnx.load(path))


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


@torch.no_grad()
def run_onnx_reference(path, x):
    """Minimal independent evaluator of an exported ONNX graph (torch.nn.functional per node,
    sparse_initializers densified).  Covers the ops the CNN zoo models emit; raises
    NotImplementedError on others.  onnxruntime is not installed and onnx 1.12 has no
    reference evaluator."""
    m = onnx.load(path)
    g = m.graph
    env = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in g.initializer}
    for sp in g.sparse_initializer:
        vals = numpy_helper.to_array(sp.values)
        idx = numpy_helper.to_array(sp.indices).astype(np.int64)
        dense = np.zeros(int(np.prod(sp.dims)), dtype=vals.dtype)
        dense[idx.reshape(-1)] = vals
        env[sp.values.name] = torch.from_numpy(dense.reshape(list(sp.dims)))
    env[g.input[0].name] = _as_tensor(x)
    for n in g.node:
        a = _attrs(n)
        i = [env[t] if t else None for t in n.input]
        op = n.op_type
        if op == "Conv":
            k = len(a.get("kernel_shape", i[1].shape[2:]))
            pads = a.get("pads", [0] * 2 * k)
            assert pads[:k] == pads[k:], "asymmetric pads"
            fn = {1: F.conv1d, 2: F.conv2d}[k]
            y = fn(i[0], i[1], i[2] if len(i) > 2 else None, a.get("strides", 1), pads[:k],
                   a.get("dilations", 1), a.get("group", 1))
        elif op in ("MaxPool", "AveragePool"):
            k = len(a["kernel_shape"])
            pads = a.get("pads", [0] * 2 * k)
            fn = F.max_pool2d if op == "MaxPool" else F.avg_pool2d
            kw = {} if op == "MaxPool" else {"count_include_pad": bool(a.get("count_include_pad", 0))}
            y = fn(i[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), pads[:k],
                   ceil_mode=bool(a.get("ceil_mode", 0)), **kw)
        elif op == "GlobalAveragePool":
            y = i[0].mean(dim=tuple(range(2, i[0].dim())), keepdim=True)
        elif op == "ReduceMean":
            y = i[0].mean(dim=tuple(a["axes"]), keepdim=bool(a.get("keepdims", 1)))
        elif op == "Relu":
            y = torch.relu(i[0])
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = i[0].reshape(int(np.prod(i[0].shape[:ax])), -1)
        elif op == "Gemm":
            A = i[0].t() if a.get("transA", 0) else i[0]
            B = i[1].t() if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(i) > 2 and i[2] is not None:
                y = y + a.get("beta", 1.0) * i[2]
        elif op == "MatMul":
            y = i[0] @ i[1]
        elif op in ("Add", "Mul", "Sub", "Div"):
            y = {"Add": torch.add, "Mul": torch.mul, "Sub": torch.sub, "Div": torch.div}[op](i[0], i[1])
        elif op == "Reshape":
            shape = [int(v) for v in i[1].tolist()]
            shape = [i[0].shape[j] if v == 0 else v for j, v in enumerate(shape)]
            y = i[0].reshape(shape)
        elif op == "Identity":
            y = i[0]
        else:
            raise NotImplementedError("run_onnx_reference: op %s" % op)
        env[n.output[0]] = y
    return env[g.output[0].name].numpy()


@torch.no_grad()
def torch_onnx_agreement(model, path, x):
    """(max |logit difference|, fraction of equal argmax) between the torch model and the
    exported file evaluated by run_onnx_reference."""
    model.eval()
    ref = model(_as_tensor(x)).numpy()
    got = run_onnx_reference(path, x)
    return float(np.abs(ref - got).max()), float((ref.argmax(1) == got.argmax(1)).mean())


def sparseloom_import_ok(path):
    """True when sparseloom-opt imports the model (None when the tool is not built)."""
    if not os.path.exists(SPARSELOOM_OPT):
        return None
    r = subprocess.run([SPARSELOOM_OPT, path], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        print("sparseloom-opt failed on %s: %s" % (path, r.stderr.strip()[:500]))
    return r.returncode == 0


# ----------------------------------------------------------------------------- files

def write_split(outdir, x_calib, y_calib, x_test, y_test):
    os.makedirs(outdir, exist_ok=True)

    def inp(a):
        a = np.asarray(a)
        return a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int64)

    np.save(os.path.join(outdir, "calib.inputs.npy"), inp(x_calib))
    np.save(os.path.join(outdir, "calib.labels.npy"), np.asarray(y_calib).astype(np.int64))
    np.save(os.path.join(outdir, "test.inputs.npy"), inp(x_test))
    np.save(os.path.join(outdir, "test.labels.npy"), np.asarray(y_test).astype(np.int64))


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, torch.Tensor):
        return o.tolist()
    raise TypeError("not JSON serialisable: %r" % type(o))


def write_card(outdir, card):
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "card.json"), "w") as f:
        json.dump(card, f, sort_keys=True, indent=2, default=_json_default)
        f.write("\n")


def variant_record(model, file, sparsity_target, x_calib, y_calib, x_test, y_test,
                   prunable=None, **extra):
    """One entry of card["variants"] (densities over prunable weights, accuracies)."""
    rec = {
        "file": file,
        "sparsity_target": sparsity_target,
        "density_measured": round(measured_density(model, prunable), 6),
        "nonzero_prunable_weights": int(sum(int((p != 0).sum()) for n, p in model.named_parameters()
                                            if n in set(prunable_names(model, prunable)))),
        # unrounded: test/zoo/ZooCardCheck matches each layer within one element
        "density_per_layer": layer_densities(model, prunable),
        "accuracy_calib": round(evaluate(model, x_calib, y_calib), 2),
        "accuracy_test": round(evaluate(model, x_test, y_test), 2),
    }
    rec.update(extra)
    return rec


def print_table(title, variants):
    print("\n%s" % title)
    print("%-26s %8s %8s %8s %8s" % ("file", "target", "density", "calib%", "test%"))
    for v in variants:
        print("%-26s %8s %8.3f %8.2f %8.2f" % (v["file"], v["sparsity_target"],
                                               v["density_measured"], v["accuracy_calib"],
                                               v["accuracy_test"]))


class Timer:
    def __init__(self):
        self.t0 = time.time()

    def __call__(self):
        return round(time.time() - self.t0, 1)
