#!/usr/bin/python3
"""Model zoo task "digits": scikit-learn's bundled 8x8 handwritten digits.

The bundled set is easy (a 26K-parameter CNN keeps 98.9 % at 95 % sparsity), so the task is
made harder and the model small enough that pruning costs accuracy:
  * every image gets a random shift of up to 1 pixel in x and y (zero fill) and Gaussian pixel
    noise; training draws fresh shifts/noise each batch, calib/test get a fixed draw (seeded);
  * a 12.7K-parameter CNN (widths 24/48; see SIZING below and in the card).
Writes examples/zoo/digits/: digits.{dense,s50,s70,s80,s90,s95}.onnx, card.json, *.npy.
Usage: /usr/bin/python3 scripts/zoo/digits.py [--out DIR] [--width C1,C2]
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common as C  # noqa: E402

SEED = 1234
N_CALIB, N_TEST = 300, 500
SHIFT = 1          # max shift in pixels
NOISE = 0.15       # std of Gaussian pixel noise (pixels scaled to [0, 1])
EPOCHS, FT_EPOCHS = int(os.environ.get("DG_EP", 80)), int(os.environ.get("DG_FT", 20))
LR, FT_LR = 1e-2, 3e-3


class DigitsNet(nn.Module):
    def __init__(self, c1=6, c2=12):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c2)
        self.fc = nn.Linear(c2 * 4, 10)

    def forward(self, x):                      # [N, 1, 8, 8]
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 2)                 # 4x4
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.max_pool2d(x, 2)                 # 2x2
        return self.fc(torch.flatten(x, 1))


def shift_noise(x, gen):
    """x: [N,1,8,8] float tensor; random integer shifts in [-SHIFT, SHIFT] and noise."""
    n = x.shape[0]
    pad = F.pad(x, (SHIFT, SHIFT, SHIFT, SHIFT))
    dx = torch.randint(0, 2 * SHIFT + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * SHIFT + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = pad[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8]
    return out + NOISE * torch.randn(out.shape, generator=gen)


def load_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]   # [1797, 1, 8, 8]
    y = d.target.astype(np.int64)
    x_tr, x_rest, y_tr, y_rest = train_test_split(
        x, y, test_size=N_CALIB + N_TEST, stratify=y, random_state=SEED)
    x_ca, x_te, y_ca, y_te = train_test_split(
        x_rest, y_rest, test_size=N_TEST, stratify=y_rest, random_state=SEED)
    gen = torch.Generator().manual_seed(SEED + 1)
    x_ca = shift_noise(torch.from_numpy(x_ca), gen).numpy()
    x_te = shift_noise(torch.from_numpy(x_te), gen).numpy()
    return x_tr, y_tr, x_ca, y_ca, x_te, y_te


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(C.REPO, "examples", "zoo", "digits"))
    ap.add_argument("--width", default="24,48")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--noise", type=float, default=NOISE)
    args = ap.parse_args()
    globals()["NOISE"] = args.noise
    torch.set_num_threads(1)
    timer = C.Timer()
    C.set_seed(SEED)
    c1, c2 = (int(v) for v in args.width.split(","))

    x_tr, y_tr, x_ca, y_ca, x_te, y_te = load_data()
    model = DigitsNet(c1, c2)
    nparams = C.count_params(model)
    print("digits: %d params, train %d calib %d test %d" % (nparams, len(x_tr), len(x_ca), len(x_te)))

    C.train_epochs(model, x_tr, y_tr, EPOCHS, lr=LR, batch=64, augment=shift_noise, seed=SEED)
    t_dense = timer()
    models = {0.0: C.copy.deepcopy(model.state_dict())}
    print("dense: calib %.2f test %.2f (%.1fs)" % (C.evaluate(model, x_ca, y_ca),
                                                 C.evaluate(model, x_te, y_te), t_dense))

    step = [0]

    def finetune(m, masks):
        step[0] += 1
        C.train_epochs(m, x_tr, y_tr, FT_EPOCHS, lr=FT_LR, batch=64, masks=masks,
                       augment=shift_noise, seed=SEED + 100 + step[0])
        print("  level done: calib %.2f test %.2f density %.3f" % (
            C.evaluate(m, x_ca, y_ca), C.evaluate(m, x_te, y_te), C.measured_density(m)))

    models.update(C.gradual_prune(model, C.LEVELS, finetune, scope="global"))
    t_train = timer()

    variants = []
    example = torch.from_numpy(x_te[:1])
    for level, sd in models.items():
        model.load_state_dict(sd)
        name = "digits.dense.onnx" if level == 0.0 else "digits.s%d.onnx" % round(level * 100)
        variants.append(C.variant_record(model, name, level, x_ca, y_ca, x_te, y_te))
        if not args.no_export:
            path = os.path.join(args.out, name)
            size = C.export_onnx(model, example, path, "image")
            variants[-1]["file_bytes"] = size
            diff, agree = C.torch_onnx_agreement(model, path, x_te)
            print("%s: torch vs ONNX max |diff| %.2e, argmax agreement %.4f" % (name, diff, agree))
            assert diff < 1e-3 and agree > 0.99, "torch and ONNX disagree on " + name
    C.print_table("digits (%d params, width %d,%d)" % (nparams, c1, c2), variants)
    if args.no_export:
        return

    C.write_split(args.out, x_ca, y_ca, x_te, y_te)
    card = {
        "task": "digits",
        "description": "Handwritten digit classification (10 classes) on scikit-learn's bundled "
                       "8x8 digits, with +-1 pixel random shifts and Gaussian pixel noise "
                       "(std %.2f) so that a small model is needed and pruning costs accuracy. "
                       "Input 'image' float32 [N,1,8,8] in [0,1] plus noise; output 'logits' "
                       "[N,10]." % NOISE,
        "data": {
            "source": "sklearn.datasets.load_digits (1797 images, 8x8, 16 grey levels), "
                      "scaled to [0,1]",
            "classes": [str(i) for i in range(10)],
            "split": "stratified train_test_split, random_state=%d: train %d, then calib %d and "
                     "test %d (disjoint)" % (SEED, len(x_tr), len(x_ca), len(x_te)),
            "train": len(x_tr), "calib": len(x_ca), "test": len(x_te),
            "augmentation": "random integer shift in [-%d,%d]^2 with zero fill, plus N(0, %.2f^2) "
                            "pixel noise; fresh per batch in training, one fixed draw "
                            "(torch seed %d) stored for calib/test" % (SHIFT, SHIFT, NOISE, SEED + 1),
            "seeds": {"split": SEED, "calib_test_augmentation": SEED + 1, "training": SEED},
            "files": "calib.inputs.npy float32 [%d,1,8,8], calib.labels.npy int64, "
                     "test.inputs.npy float32 [%d,1,8,8], test.labels.npy int64"
                     % (len(x_ca), len(x_te)),
        },
        "architecture": "Conv3x3(1->%d, pad 1)+BN+ReLU, MaxPool2, Conv3x3(%d->%d, pad 1)+BN+ReLU, "
                        "MaxPool2, Flatten(%d), Linear(%d->10). BatchNorm folds into the convs "
                        "at export (eval mode)." % (c1, c1, c2, c2 * 4, c2 * 4),
        "parameters": nparams,
        "prunable_weights": "conv1.weight, conv2.weight, fc.weight (global magnitude pruning)",
        "variants": variants,
        "training": {
            "dense": "%d epochs, AdamW lr %g (cosine), batch 64, cross-entropy" % (EPOCHS, LR),
            "pruning": "gradual global magnitude pruning 50->70->80->90->95 %%, %d epochs of "
                       "fine-tuning per level, AdamW lr %g (cosine), masks re-applied after each "
                       "step" % (FT_EPOCHS, FT_LR),
            "epochs": EPOCHS, "finetune_epochs_per_level": FT_EPOCHS, "optimizer": "AdamW",
            "time_s": {"dense": t_dense, "all": timer()}, "threads": 1,
        },
        "sizing": SIZING,
        "generated_by": "scripts/zoo/digits.py",
        "torch_version": torch.__version__,
    }
    C.write_card(args.out, card)
    for v in variants:
        p = os.path.join(args.out, v["file"])
        C.check_onnx(p)
        ok = C.sparseloom_import_ok(p)
        print("%s: %d bytes, onnx.checker ok, sparseloom-opt %s" % (
            v["file"], os.path.getsize(p), {True: "ok", False: "FAILED", None: "not built"}[ok]))
    print("digits: done in %.1fs" % timer())


SIZING = (
    "Targets: dense >= 95 %, 90 % sparse >= 2 points below dense, 95 % >= 4 points below, a "
    "gradual curve. Clean 8x8 digits are too easy (26K-param CNN: 99.4 dense, 98.9 at 95 %), so "
    "calib/test carry +-1 px shifts and noise std 0.15. Measured (test %, dense/50/70/80/90/95), "
    "same recipe: widths 6,12 (1.2K params): 91.4/88.6/76.6/69.0/36.0/11.8 (dense too low, "
    "collapses early); 8,16 (2K): ~91-96 dense, 90 % ~36 (cliff); 16,32 (6.1K): "
    "96.6/95.4/95.0/95.0/78.2/41.4 (cliff at 90-95 %); 20,40 (9.1K): "
    "98.0/97.6/96.0/96.6/86.0/59.2; 24,48 (12.7K, chosen): 97.4/97.4/97.4/97.0/89.8/75.4 "
    "(90 % ~7 points and 95 % ~20 points below dense, monotone); 32,64 (21K): "
    "97.4/97.0/98.0/97.4/95.6/82.8 (90 % within 2 points: too redundant). Single seeds, "
    "+-1.5 points between reruns.")

if __name__ == "__main__":
    main()
