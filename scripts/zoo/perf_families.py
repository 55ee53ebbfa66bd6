#!/usr/bin/env python3
"""Performance families: large models with random weights, for speed work.

Exports ResNet-18, ResNet-50, MobileNetV2 (torchvision architectures) and a
BERT-base-sized encoder (12 layers, hidden 768, 12 heads, FFN 3072, sequence
128) to ONNX opset 13, then prunes each with sparseloom-prune to 50/70/90 %
unstructured sparsity. The weights are random, so accuracy means nothing
here; what matters is that the numbers flowing through the network are of a
realistic scale, so numeric comparisons between runtimes are meaningful:

- BatchNorm statistics are re-estimated from random inputs (a few forward
  passes in training mode with a cumulative average), then the affine
  parameters are re-drawn around 1 / 0. Without this, a randomly initialised
  ResNet-50 in eval mode produces activations that vanish or explode.
- Classifier (and BERT output) weights are re-drawn so logits have unit-scale
  spread instead of being near zero.

The outputs are large (ResNet-50 ~100 MB per variant) and are NOT committed.
Usage (Debian's python, which has torch):
    /usr/bin/python3 scripts/zoo/perf_families.py [--out DIR] [--models a,b]
        [--prune-tool PATH]
DIR defaults to build/perf-families. Prints the time and size per file.
"""

import argparse
import math
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torchvision

SEED = 1234


def recalibrate_batchnorm(model, example_shape, batches=4):
    """Re-estimates BatchNorm running statistics from random inputs, then
    re-draws the affine parameters, so that eval-mode activations keep a
    realistic scale through every layer."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches below
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(*example_shape))
    for bn in bns:
        with torch.no_grad():
            bn.weight.uniform_(0.8, 1.2)
            bn.bias.normal_(0.0, 0.1)
    model.eval()


def redraw_linear(layer, fan_in_scale=1.0):
    """Unit-scale outputs for unit-scale inputs: std = 1/sqrt(fan_in)."""
    with torch.no_grad():
        layer.weight.normal_(0.0, fan_in_scale / math.sqrt(layer.in_features))
        if layer.bias is not None:
            layer.bias.normal_(0.0, 0.1)


class EncoderLayer(nn.Module):
    """A post-norm BERT encoder layer written out explicitly so the ONNX
    export is plain MatMul/Add/Softmax/LayerNorm/GELU (no fused fast path)."""

    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, hidden)
        self.o = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden)
        self.ff1 = nn.Linear(hidden, ffn)
        self.ff2 = nn.Linear(ffn, hidden)
        self.ln2 = nn.LayerNorm(hidden)

    def forward(self, x):
        b, s, h = x.shape
        def split(t):
            return t.reshape(b, s, self.heads, self.head_dim).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.head_dim), dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, s, h)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.ff2(nn.functional.gelu(self.ff1(x))))


class BertBase(nn.Module):
    def __init__(self, vocab=30522, hidden=768, layers=12, heads=12, ffn=3072,
                 seq=128, classes=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.pos = nn.Parameter(torch.randn(1, seq, hidden) * 0.02)
        self.ln = nn.LayerNorm(hidden)
        self.layers = nn.ModuleList(EncoderLayer(hidden, heads, ffn) for _ in range(layers))
        self.classifier = nn.Linear(hidden, classes)

    def forward(self, ids):
        x = self.ln(self.embed(ids) + self.pos)
        for layer in self.layers:
            x = layer(x)
        return self.classifier(x[:, 0])


def build(name):
    """Returns (model, example input, input name)."""
    if name == "bert-base":
        model = BertBase().eval()
        for layer in model.layers:
            for lin in (layer.q, layer.k, layer.v, layer.o, layer.ff1, layer.ff2):
                redraw_linear(lin)
        redraw_linear(model.classifier)
        return model, torch.randint(0, 30522, (1, 128)), "input_ids"
    ctor = {"resnet18": torchvision.models.resnet18,
            "resnet50": torchvision.models.resnet50,
            "mobilenetv2": torchvision.models.mobilenet_v2}[name]
    model = ctor(weights=None)
    recalibrate_batchnorm(model, (8, 3, 224, 224))
    classifier = model.fc if hasattr(model, "fc") else model.classifier[-1]
    redraw_linear(classifier, fan_in_scale=3.0)
    return model.eval(), torch.randn(1, 3, 224, 224), "input"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="build/perf-families")
    parser.add_argument("--models", default="resnet18,resnet50,mobilenetv2,bert-base")
    parser.add_argument("--prune-tool", default="build/tools/sparseloom-prune/sparseloom-prune")
    parser.add_argument("--sparsity", default="0.5,0.7,0.9")
    args = parser.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(args.out, exist_ok=True)
    if not os.access(args.prune_tool, os.X_OK):
        sys.exit(f"perf_families: error: {args.prune_tool}: sparseloom-prune not "
                 "built (run scripts/build sparseloom-prune)")
    for name in args.models.split(","):
        start = time.time()
        model, example, input_name = build(name)
        with torch.no_grad():
            out = model(example)
        # Exported without a suffix so the pruned files are <name>.s50.onnx;
        # renamed to <name>.dense.onnx afterwards.
        dense = os.path.join(args.out, f"{name}.onnx")
        torch.onnx.export(model, example, dense, opset_version=13,
                          input_names=[input_name], output_names=["logits"],
                          do_constant_folding=True)
        print(f"{name}: exported {dense} ({os.path.getsize(dense) / 1e6:.1f} MB, "
              f"logit std {out.std().item():.3f}) in {time.time() - start:.1f} s",
              flush=True)
        start = time.time()
        subprocess.run([args.prune_tool, dense, "--sparsity", args.sparsity,
                        "--scope", "per-layer", "-o", args.out], check=True,
                       stdout=subprocess.DEVNULL)
        os.replace(dense, os.path.join(args.out, f"{name}.dense.onnx"))
        print(f"{name}: pruned to {args.sparsity} in {time.time() - start:.1f} s",
              flush=True)
    for f in sorted(os.listdir(args.out)):
        print(f"  {f}: {os.path.getsize(os.path.join(args.out, f)) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
