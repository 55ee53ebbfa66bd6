#!/usr/bin/python3
"""Model zoo: keyword spotting (kws) with a depthwise-separable CNN.

Builds examples/zoo/kws/: a DS-CNN over 40 log-mel bands x 51 frames (1 s of audio) that
recognises 14 spoken words (the ten digits plus yes/no/stop/go), pruned gradually to
50/70/80/90/95 % sparsity with fine-tuning at each level, exported to ONNX (opset 13),
plus calibration/test splits and a model card.

Audio is synthesised with espeak-ng: 8 English accents x ~75 voice variants, random speed
and pitch, random time shift and gain, mixed with background noise (coloured noise, mains
hum and "babble" made of espeak sentences of non-keywords) from a precomputed noise bank.
The calibration and test splits use voice variants that never occur in training (and
their own noise bank), because synthesis is deterministic and seen voices are recognised
almost perfectly.  Features are computed with torch.stft + a mel filterbank (no
torchaudio); the .npy files hold the normalised log-mel features, shape [N, 1, 40, 51].

Pruning is per layer and leaves the depthwise 3x3 convolutions dense: global magnitude
pruning piles the sparsity into the pointwise convolutions and collapses them (see
/work/shared/ZOO-NOTES.md).  Depthwise kernels are ~10 % of the weights.

Run with Debian's interpreter:  /usr/bin/python3 scripts/zoo/kws.py
"""
import argparse
import copy
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# ----------------------------------------------------------------------------- config

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
         "yes", "no", "stop", "go"]

# espeak-ng English voices that exist without mbrola (a wrong name silently falls back to
# "en", so every name is checked below).
ACCENTS = ["en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc"]

# Human-sounding voice variants (robots, whisper, "Demonic", "croak" ... left out;
# klatt6 and caleb are identical to klatt, "fast" is identical to no variant).
VARIANTS_ALL = [
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "Annie", "adam", "Alex", "Alicia",
    "Andrea", "Andy", "AnxiousAndy", "antonio", "aunty", "belinda", "benjamin", "boris",
    "david", "Denis", "Diogo", "ed", "edward", "edward2", "Gene", "Gene2", "grandma",
    "grandpa", "gustave", "Henrique", "Hugo", "iven", "iven2", "iven3", "iven4", "Jacky",
    "john", "kaukovalta", "Lee", "linda", "marcelo", "Marco", "Mario", "max", "Michael",
    "michel", "miguel", "Mike", "Nguyen", "norbert", "pablo", "paul", "pedro", "quincy",
    "rob", "robert", "sandro", "shelby", "steph", "steph2", "steph3", "travis", "victor",
    "zac"]
# Held-out voices: never used for training (nor for the training noise bank's babble).
VARIANTS_TEST = ["m7", "f4", "klatt4", "Annie", "belinda", "david", "grandma", "Lee",
                 "michel", "quincy", "steph2", "zac"]
VARIANTS_CALIB = ["m8", "f5", "klatt5", "Alicia", "boris", "iven3", "pablo", "travis"]
VARIANTS_TRAIN = [v for v in VARIANTS_ALL if v not in VARIANTS_TEST + VARIANTS_CALIB]

SPEED = (120, 220)   # espeak words per minute (default 175)
PITCH = (20, 80)     # espeak pitch 0..99 (default 50)
SNR_DB = [5.0, 25.0]
P_CLEAN = 0.1        # fraction of clips without noise
GAIN_DB = (-10.0, 6.0)

SR = 22050           # espeak-ng's rate
CLIP = SR            # 1 s
HOP = 441            # 20 ms -> 1 + 22050 // 441 = 51 frames (centred)
WIN = 882            # 40 ms Hann window
NFFT = 1024
NMEL = 40
FMIN, FMAX = 20.0, 8000.0
NOISE_LEN = 2 * SR

# ----------------------------------------------------------------------------- synthesis


def espeak(text, voice, speed=175, pitch=50):
    """int16 samples of espeak-ng's output (22050 Hz mono)."""
    out = subprocess.run(["espeak-ng", "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)),
                          "--stdout", text], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         check=True).stdout
    # --stdout writes a streaming WAV header (sizes 0x7fff....): find "data" and skip it.
    pos = out.find(b"data")
    return np.frombuffer(out[pos + 8:], dtype=np.int16).copy()


def check_voices():
    """A wrong voice name falls back to "en" with exit code 0: require distinct audio."""
    seen = {}
    for acc in ACCENTS:
        a = espeak(" ".join(WORDS), acc).tobytes()
        assert a not in seen, "voice %s sounds like %s" % (acc, seen.get(a))
        seen[a] = acc
    base = espeak("seven three", "en-us").tobytes()
    seen = {base: "en-us"}
    for var in VARIANTS_ALL:
        a = espeak("seven three", "en-us+" + var).tobytes()
        assert a not in seen, "variant %s sounds like %s" % (var, seen[a])
        seen[a] = var


def trim(x, thresh=0.03):
    """Cut leading/trailing silence (5 ms frames below thresh x peak), keep 10 ms margin."""
    x = x.astype(np.float32) / 32768.0
    n = len(x) // 110
    env = np.abs(x[:n * 110]).reshape(n, 110).max(1)
    on = np.flatnonzero(env > thresh * env.max())
    if len(on) == 0:
        return x
    a = max(0, (on[0] - 2) * 110)
    b = min(len(x), (on[-1] + 3) * 110)
    return x[a:b]


def synth_set(rng, variants, per_word):
    """per_word clips per keyword with random accent/variant/speed/pitch.
    Returns waves [n, CLIP] float32 (speech at the start, zero padded), lengths, labels."""
    n = per_word * len(WORDS)
    waves = np.zeros((n, CLIP), np.float32)
    lens = np.zeros(n, np.int64)
    labels = np.zeros(n, np.int64)
    meta = []
    i = 0
    for w, word in enumerate(WORDS):
        for _ in range(per_word):
            acc = ACCENTS[rng.integers(len(ACCENTS))]
            var = variants[rng.integers(len(variants))]
            sp = rng.integers(SPEED[0], SPEED[1] + 1)
            pi = rng.integers(PITCH[0], PITCH[1] + 1)
            x = trim(espeak(word, "%s+%s" % (acc, var), sp, pi))
            if len(x) > CLIP:  # very slow speech: keep the middle second
                s = (len(x) - CLIP) // 2
                x = x[s:s + CLIP]
            x = x / (np.sqrt(np.mean(x ** 2)) + 1e-8) * 0.1  # RMS 0.1
            waves[i, :len(x)] = x
            lens[i] = len(x)
            labels[i] = w
            meta.append((acc, var))
            i += 1
    return waves, lens, labels


def colored_noise(rng, n, alpha):
    """Noise with power spectrum ~ 1/f^alpha (0 white, 1 pink, 2 brown)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SR)
    f[0] = f[1]
    spec *= f ** (-alpha / 2.0)
    x = np.fft.irfft(spec, n)
    return x


def noise_bank(rng, variants, count, babble_words):
    """count noise clips of NOISE_LEN samples, unit RMS: coloured noise, hum, babble."""
    bank = np.zeros((count, NOISE_LEN), np.float32)
    kinds = []
    for i in range(count):
        kind = ["white", "pink", "brown", "colored", "hum", "babble", "babble"][i % 7]
        if kind == "white":
            x = rng.standard_normal(NOISE_LEN)
        elif kind == "pink":
            x = colored_noise(rng, NOISE_LEN, 1.0)
        elif kind == "brown":
            x = colored_noise(rng, NOISE_LEN, 2.0)
        elif kind == "colored":
            x = colored_noise(rng, NOISE_LEN, rng.uniform(0.0, 2.0))
        elif kind == "hum":
            t = np.arange(NOISE_LEN) / SR
            f0 = rng.choice([50.0, 60.0]) * rng.uniform(0.98, 1.02)
            x = sum(rng.uniform(0.2, 1.0) / h * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 6.3))
                    for h in range(1, 12))
            x = x / np.std(x) + 0.3 * colored_noise(rng, NOISE_LEN, 1.0) / 50.0
        else:  # babble: 3 overlapping talkers saying non-keywords
            x = np.zeros(NOISE_LEN)
            for _ in range(3):
                text = " ".join(babble_words[rng.integers(len(babble_words))] for _ in range(6))
                voice = "%s+%s" % (ACCENTS[rng.integers(len(ACCENTS))],
                                   variants[rng.integers(len(variants))])
                s = espeak(text, voice, rng.integers(150, 230), rng.integers(20, 80))
                s = s.astype(np.float64) / 32768.0
                s = np.tile(s, 1 + NOISE_LEN // max(len(s), 1))
                off = rng.integers(len(s) - NOISE_LEN + 1)
                s = s[off:off + NOISE_LEN]
                x += s / (np.std(s) + 1e-8)
        x = np.asarray(x, np.float64)
        bank[i] = (x / (np.std(x) + 1e-8)).astype(np.float32)
        kinds.append(kind)
    return bank


def load_babble_words(rng, n=3000):
    words = []
    with open("/usr/share/dict/american-english", encoding="utf-8") as f:
        for line in f:
            w = line.strip()
            if w.isalpha() and w.islower() and 3 <= len(w) <= 9 and w not in WORDS:
                words.append(w)
    words = sorted(set(words))
    idx = rng.choice(len(words), size=min(n, len(words)), replace=False)
    return [words[i] for i in sorted(idx)]

# ----------------------------------------------------------------------------- features


def mel_filterbank():
    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel2hz(m):
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    pts = mel2hz(np.linspace(hz2mel(FMIN), hz2mel(FMAX), NMEL + 2))
    freqs = np.fft.rfftfreq(NFFT, 1.0 / SR)
    fb = np.zeros((NMEL, len(freqs)), np.float32)
    for m in range(NMEL):
        lo, c, hi = pts[m], pts[m + 1], pts[m + 2]
        up = (freqs - lo) / (c - lo)
        down = (hi - freqs) / (hi - c)
        fb[m] = np.maximum(0.0, np.minimum(up, down))
    return torch.from_numpy(fb)


MEL_FB = mel_filterbank()
WINDOW = torch.hann_window(WIN)


def logmel(waves):
    """[B, CLIP] float -> raw log-mel [B, 40, 51]."""
    spec = torch.stft(waves, NFFT, HOP, WIN, WINDOW, center=True, return_complex=True)
    power = spec.real ** 2 + spec.imag ** 2
    return torch.log(torch.matmul(MEL_FB, power) + 1e-6)


def mix(waves, lens, noise, gen, shift=True):
    """Random time shift, gain, and noise at a random SNR.  All tensors, all in torch."""
    b = waves.shape[0]
    if shift:
        room = (CLIP - lens).clamp(min=0).float()
        off = (torch.rand(b, generator=gen) * (room + 1)).long()
        idx = (torch.arange(CLIP)[None, :] - off[:, None]) % CLIP
        waves = waves.gather(1, idx)
    k = torch.randint(len(noise), (b,), generator=gen)
    start = torch.randint(NOISE_LEN - CLIP + 1, (b,), generator=gen)
    nidx = start[:, None] + torch.arange(CLIP)[None, :]
    nz = noise[k][torch.arange(b)[:, None], nidx]
    snr = SNR_DB[0] + torch.rand(b, generator=gen) * (SNR_DB[1] - SNR_DB[0])
    # speech RMS is 0.1 over its own length; scale the noise relative to that
    nscale = 0.1 / (10.0 ** (snr / 20.0))
    nscale = torch.where(torch.rand(b, generator=gen) < P_CLEAN, torch.zeros(b), nscale)
    gain = 10.0 ** ((GAIN_DB[0] + torch.rand(b, generator=gen) * (GAIN_DB[1] - GAIN_DB[0])) / 20.0)
    return (waves + nscale[:, None] * nz) * gain[:, None]


class Featurizer:
    """Waveform batch -> normalised log-mel [B, 1, 40, 51] (scalar mean/std from training)."""

    def __init__(self, noise, mean=0.0, std=1.0):
        self.noise = noise
        self.mean, self.std = mean, std

    def __call__(self, waves, lens, gen, shift=True):
        x = logmel(mix(waves, lens, self.noise, gen, shift))
        return ((x - self.mean) / self.std).unsqueeze(1)


def fixed_features(feat, waves, lens, seed, batch=256):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(waves), batch):
        out.append(feat(waves[i:i + batch], lens[i:i + batch], gen))
    return torch.cat(out)

# ----------------------------------------------------------------------------- model


class DSCNN(nn.Module):
    """DS-CNN (Zhang et al., "Hello Edge"): conv 10x4 stride 2, then blocks of depthwise
    3x3 + pointwise 1x1 (BatchNorm + ReLU after each), global average pool, linear.
    The first depthwise conv has stride `stride` (2: 20x25 -> 10x13 maps, which makes
    training ~3x faster on one thread; BatchNorm/ReLU over big maps dominate the time)."""

    def __init__(self, n_classes, ch=64, blocks=4, dropout=0.1, stride=2):
        super().__init__()
        self.conv1 = nn.Conv2d(1, ch, (10, 4), stride=(2, 2), padding=(4, 1), bias=False)
        self.bn1 = nn.BatchNorm2d(ch)
        layers = []
        for b in range(blocks):
            st = stride if b == 0 else 1
            layers += [nn.Conv2d(ch, ch, 3, stride=st, padding=1, groups=ch, bias=False),
                       nn.BatchNorm2d(ch),
                       nn.ReLU(), nn.Conv2d(ch, ch, 1, bias=False), nn.BatchNorm2d(ch), nn.ReLU()]
        self.blocks = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(ch, n_classes)

    def forward(self, x):  # x: [N, 1, 40, 51]
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.blocks(x)
        x = self.pool(x).flatten(1)
        return self.fc(self.drop(x))


def pruned_names(model):
    """Conv/Linear weights except the depthwise ones (groups > 1) which stay dense."""
    names = set()
    for mname, mod in model.named_modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            if isinstance(mod, nn.Conv2d) and mod.groups > 1:
                continue
            names.add(mname + ".weight")
    return names


def gradual_prune_capped(model, levels, finetune, names, end_names, end_cap):
    """common.gradual_prune with scope "per-layer", except that the layers in end_names
    (the first convolution and the classifier: few weights, and each one matters) are
    pruned to at most end_cap.  Weights pruned at one level stay pruned at the next (they
    are the smallest magnitudes, exactly zero)."""
    snaps = {}
    for level in sorted(levels):
        masks = common.compute_masks(model, level, "per-layer",
                                     lambda n, p: n in names and n not in end_names)
        masks.update(common.compute_masks(model, min(level, end_cap), "per-layer",
                                          lambda n, p: n in end_names))
        common.apply_masks(model, masks)
        finetune(model, masks)
        common.apply_masks(model, masks)
        snaps[level] = copy.deepcopy(model.state_dict())
    return snaps

# ----------------------------------------------------------------------------- training


def feature_bank(feat, waves, lens, copies, seed, batch=256):
    """copies x [n, 1, 40, 51]: each clip with `copies` independent shift/gain/noise draws.
    Drawing them once instead of every epoch halves the training time (the STFT costs as
    much as the DS-CNN's forward and backward pass)."""
    return torch.stack([fixed_features(feat, waves, lens, seed + c, batch) for c in range(copies)])


def train(model, data, epochs, lr, seed, masks=None, batch=64, wd=1e-4):
    """data = (bank [copies, n, 1, 40, 51], labels [n]); each step takes a random copy."""
    bank, labels = data
    copies, n = bank.shape[:2]
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    steps = epochs * ((n + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.1 if masks is None else 0.02)
    lossf = nn.CrossEntropyLoss(label_smoothing=0.05)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            xb = bank[torch.randint(copies, (len(idx),), generator=gen), idx]
            opt.zero_grad()
            loss = lossf(model(xb), labels[idx])
            loss.backward()
            opt.step()
            sched.step()
            common.apply_masks(model, masks)
    model.eval()
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(common.REPO, "examples", "zoo", "kws"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--blocks", type=int, default=4)
    ap.add_argument("--stride", type=int, default=2, help="stride of the first depthwise conv")
    ap.add_argument("--train-per-word", type=int, default=450)
    ap.add_argument("--calib-per-word", type=int, default=18)
    ap.add_argument("--test-per-word", type=int, default=29)
    ap.add_argument("--extra-test-per-word", type=int, default=0,
                    help="development only: a larger held-out set (not written)")
    ap.add_argument("--copies", type=int, default=6, help="augmented copies of each training clip")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--ft-epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--ft-lr", type=float, default=1e-3)
    ap.add_argument("--snr", type=float, nargs=2, default=SNR_DB, help="SNR range in dB")
    ap.add_argument("--end-cap", type=float, default=0.8,
                    help="most sparsity for the first conv and the classifier (per-layer scope)")
    ap.add_argument("--scope", default="per-layer", choices=["per-layer", "global"])
    ap.add_argument("--no-export", action="store_true", help="development: train and report only")
    args = ap.parse_args()

    torch.set_num_threads(1)
    SNR_DB[:] = args.snr
    timer = common.Timer()
    common.set_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    check_voices()
    babble = load_babble_words(rng)
    # the training noise bank's babble uses training voices only; calib/test get their own
    # bank (other seed, held-out voices)
    noise_train = torch.from_numpy(noise_bank(rng, VARIANTS_TRAIN, 140, babble))
    noise_eval = torch.from_numpy(noise_bank(rng, VARIANTS_TEST + VARIANTS_CALIB, 70, babble))
    tr = synth_set(rng, VARIANTS_TRAIN, args.train_per_word)
    ca = synth_set(rng, VARIANTS_CALIB, args.calib_per_word)
    te = synth_set(rng, VARIANTS_TEST, args.test_per_word)
    ex = synth_set(rng, VARIANTS_TEST, args.extra_test_per_word) if args.extra_test_per_word else None
    t_synth = timer()
    print("synthesised %d/%d/%d clips, longest %.2f s (%.0f s)" % (
        len(tr[0]), len(ca[0]), len(te[0]), tr[1].max() / SR, t_synth), flush=True)

    tr = tuple(torch.from_numpy(a) for a in tr)
    n_train = len(tr[2])
    # training features: `copies` augmented draws per clip; scalar normalisation from them
    feat_tr = Featurizer(noise_train)
    bank = feature_bank(feat_tr, tr[0], tr[1], args.copies, seed=10 * args.seed + 10)
    mean, std = float(bank[0].mean()), float(bank[0].std())
    bank.sub_(mean).div_(std)
    data = (bank, tr[2])
    del tr
    t_feat = timer()
    print("training features: %d copies (%.0f s)" % (args.copies, t_feat), flush=True)
    feat_ev = Featurizer(noise_eval, mean, std)
    xc = fixed_features(feat_ev, torch.from_numpy(ca[0]), torch.from_numpy(ca[1]), seed=1000 + args.seed)
    xt = fixed_features(feat_ev, torch.from_numpy(te[0]), torch.from_numpy(te[1]), seed=2000 + args.seed)
    yc, yt = torch.from_numpy(ca[2]), torch.from_numpy(te[2])
    if ex is not None:
        xe = fixed_features(feat_ev, torch.from_numpy(ex[0]), torch.from_numpy(ex[1]), seed=3000 + args.seed)
        ye = torch.from_numpy(ex[2])

    model = DSCNN(len(WORDS), args.channels, args.blocks, stride=args.stride)
    n_params = common.count_params(model)
    print("DS-CNN ch=%d blocks=%d: %d parameters" % (args.channels, args.blocks, n_params), flush=True)

    def report(tag):
        s = "%-6s calib %.2f test %.2f" % (tag, common.evaluate(model, xc, yc), common.evaluate(model, xt, yt))
        if ex is not None:
            s += " extra %.2f" % common.evaluate(model, xe, ye)
        print(s + " [%.0f s, cpu %.0f s]" % (timer(), time.process_time()), flush=True)

    train(model, data, args.epochs, args.lr, seed=args.seed)
    t_dense = timer()
    report("dense")
    dense_state = {k: v.clone() for k, v in model.state_dict().items()}

    names = pruned_names(model)
    prunable = (lambda n, p: n in names) if args.scope == "per-layer" else None
    step = [0]

    def finetune(m, masks):
        step[0] += 1
        train(m, data, args.ft_epochs, args.ft_lr, seed=args.seed + 100 + step[0], masks=masks)
        report("%.2f" % common.measured_density(m, prunable))

    if args.scope == "per-layer" and args.end_cap < max(common.LEVELS):
        snaps = gradual_prune_capped(model, common.LEVELS, finetune, names,
                                     {"conv1.weight", "fc.weight"}, args.end_cap)
    else:
        snaps = common.gradual_prune(model, common.LEVELS, finetune, scope=args.scope,
                                     prunable=prunable)
    t_prune = timer()
    if args.no_export:
        return

    os.makedirs(args.out, exist_ok=True)
    example = xt[:1]
    variants = []
    for level, state in [(0.0, dense_state)] + sorted(snaps.items()):
        model.load_state_dict(state)
        fname = "kws.dense.onnx" if level == 0.0 else "kws.s%d.onnx" % round(level * 100)
        path = os.path.join(args.out, fname)
        size = common.export_onnx(model, example, path, input_name="mel")
        ok = common.sparseloom_import_ok(path)
        # the exported graph, evaluated independently of torch's tracer, on the test split
        diff, agree = common.torch_onnx_agreement(model, path, xt)
        variants.append(common.variant_record(
            model, fname, level, xc, yc, xt, yt,
            density_pruned_layers=round(common.measured_density(model, prunable), 4),
            file_bytes=size, sparseloom_import=ok,
            onnx_check={"max_abs_logit_diff": diff, "argmax_agreement": agree}))
    common.write_split(args.out, xc.numpy(), yc.numpy(), xt.numpy(), yt.numpy())
    common.print_table("kws (test = held-out voices)", variants)

    card = {
        "task": "kws",
        "description": "Keyword spotting: 14 spoken English words (zero..nine, yes, no, stop, go) "
                       "from 1 s of audio as 40 log-mel bands x 51 frames.",
        "data": {
            "source": "espeak-ng %s, synthesised at generation time" % subprocess.run(
                ["espeak-ng", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip(),
            "classes": WORDS,
            "accents": ACCENTS,
            "voice_variants_train": VARIANTS_TRAIN,
            "voice_variants_calib": VARIANTS_CALIB,
            "voice_variants_test": VARIANTS_TEST,
            "held_out": "calib and test voice variants never occur in training (nor in the "
                        "training noise bank); calib and test variants are disjoint too",
            "speed_wpm": list(SPEED), "pitch": list(PITCH),
            "augmentation": "silence trimmed, RMS-normalised, random placement in 1 s, gain "
                            "%s dB, noise at SNR U%s dB (%d %% clean) from a precomputed bank "
                            "(white, pink, brown, 1/f^a, mains hum, 3-talker babble of "
                            "non-keywords); %d independent draws per training clip computed once "
                            "(each step picks one at random), calib/test are one fixed draw "
                            "each from a separate noise bank" % (
                                list(GAIN_DB), list(SNR_DB), round(P_CLEAN * 100), args.copies),
            "features": "torch.stft (n_fft %d, Hann %d, hop %d, centred) at %d Hz, power, "
                        "%d HTK-mel triangles %g-%g Hz, log(x + 1e-6), then (x - %.4f) / %.4f"
                        % (NFFT, WIN, HOP, SR, NMEL, FMIN, FMAX, mean, std),
            "input": "mel: float32 [N, 1, 40, 51]",
            "split_sizes": {"train": n_train, "calib": int(len(yc)), "test": int(len(yt))},
            "seeds": {"seed": args.seed, "calib_noise": 1000 + args.seed, "test_noise": 2000 + args.seed},
        },
        "architecture": "DS-CNN: Conv 10x4/2 (%d ch) + BN + ReLU, %d x [depthwise 3x3 + BN + ReLU, "
                        "pointwise 1x1 + BN + ReLU], global average pool, dropout 0.1, Linear(%d, %d). "
                        "BatchNorm folds into Conv in the ONNX export." % (
                            args.channels, args.blocks, args.channels, len(WORDS)),
        "parameters": n_params,
        "pruning": ("gradual magnitude pruning, per layer, levels %s, fine-tuning %d epochs at "
                    "each level; the depthwise 3x3 kernels stay dense and the first conv and "
                    "the classifier are pruned to at most %d %%; density_measured counts all "
                    "Conv/Linear weights (depthwise included), density_pruned_layers only the "
                    "pruned ones" % (common.LEVELS, args.ft_epochs, round(args.end_cap * 100))
                    if args.scope == "per-layer" else "gradual global magnitude pruning"),
        "variants": variants,
        "training": {"epochs": args.epochs, "finetune_epochs_per_level": args.ft_epochs,
                     "optimizer": "AdamW (wd 1e-4), one-cycle lr %g (fine-tune %g), batch 64, "
                                  "label smoothing 0.05, dropout 0.1" % (args.lr, args.ft_lr),
                     "time_s": {"synthesis": t_synth, "features": round(t_feat - t_synth, 1),
                                "dense": round(t_dense - t_feat, 1),
                                "pruning": round(t_prune - t_dense, 1), "total": timer(),
                                "total_cpu": round(time.process_time(), 1)},
                     "threads": 1},
        "sizing": SIZING,
        "generated_by": ("/usr/bin/python3 scripts/zoo/kws.py " + " ".join(sys.argv[1:])).strip(),
        "torch_version": torch.__version__,
    }
    common.write_card(args.out, card)
    print("done in %.0f s (cpu %.0f s)" % (timer(), time.process_time()))


SIZING = (
    "ZOO-NOTES: 22K-parameter DS-CNN, per-layer pruning with depthwise dense: 96.3 / 93.2 "
    "(80 %) / 85.0 (90 %) / 66.1 (95 %); 76K parameters stays at 92.1 % at 95 % (too "
    "redundant, and 4x the file size).  Kept 64 channels x 4 blocks (23.3K parameters, "
    "~90 KB per dense file, so that 252 calib + 406 test clips (5.4 MB) fit the 6 MB budget). "
    "Development runs (seed 0, test / a disjoint 840-clip set of the test voices): "
    "(1) SNR U[0, 20] dB, features drawn anew each epoch, first conv and classifier pruned "
    "like the rest: 92.4 / 93.3 dense, 87.4 / 89.6 at 80 %, 69.0 / 71.2 at 90 %, 42.6 / 43.0 "
    "at 95 %, ~17 min of CPU: too slow, and too close to the 90 % dense target. "
    "(2) SNR U[5, 25] dB, 6 precomputed augmented copies: 96.3 / 97.0, 94.6 / 95.0, "
    "72.7 / 71.4, 55.2 / 56.4: at 90 % and 95 % the 256-weight first conv and the "
    "45-weight classifier collapse. (3) as (2) with those two layers pruned to at most 80 %: "
    "96.3 / 97.0, 95.1 / 97.3 (50 %), 94.1 / 96.1 (70 %), 94.6 / 95.0 (80 %), 88.4 / 88.3 "
    "(90 %), 76.1 / 78.6 (95 %): a gradual curve, kept.  The first depthwise conv has stride "
    "2 (10x13 maps): BatchNorm/ReLU over 20x25x64 maps made a step ~3x slower.  Calib uses 8 "
    "other held-out voices and comes out ~3 points below test.")

if __name__ == "__main__":
    main()
