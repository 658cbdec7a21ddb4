"""Trains and exports the embedded default model: a small B-cos-v2 CNN on Fashion-MNIST.

Dependencies (Debian bookworm, as root):
    apt-get update
    apt-get install -y --no-install-recommends python3-torch python3-onnx python3-numpy \
        dataset-fashion-mnist libtcmalloc-minimal4
Run from the repository root with Debian's interpreter and tcmalloc (glibc malloc makes training 3-10x slower):
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/bin/python3 models/recipes/train_default.py
Options: --epochs N, --seed S, --data-only (only the data/, samples/ and LICENSE files),
         --from-checkpoint (skip training; re-export models/.bench/fashion-mnist-bcos-train.pt).

Writes models/fashion-mnist-bcos/{model.onnx, card.json, data/*, samples/*.png} and the (git-ignored) training
checkpoint models/.bench/fashion-mnist-bcos-train.pt that make_fixtures.py does NOT need (it reads model.onnx).

The model: input [x, 1-x] (2 x 28 x 28, values in [0, 1]; the encoding is done by the app, outside the graph),
layer1: B-cos 3x3 conv 2->32; layer2: B-cos 3x3 conv 32->64 stride 2, B-cos 3x3 conv 64->64;
layer3: B-cos 3x3 conv 64->128 stride 2; layer4: B-cos 3x3 conv 128->128; classifier: B-cos 1x1 conv 128->10
applied before global average pooling; logit = mean_hw + b with the constant b = -log(10 - 1) (B-cos-v2's
default -log(num_classes - 1)). b = 2, max-out 1, no bias, no norm layers; fixed per-layer divisors calibrated
from 512 training images at initialisation. Loss: binary cross-entropy on one-hot targets (as in B-cos-v2),
for which the logit bias is the prior log-odds of a class.
"""
from __future__ import annotations

import argparse
import copy
import math
import os
import shutil
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bcos_layers import (BcosConv2d, LogitLayer, calibrate_divisors, explanation_mode,  # noqa: E402
                         to_inference_form)
from common import (FASHION_CLASSES, FASHION_DIR, FASHION_SLUGS, REPO, BoundaryTap,  # noqa: E402
                    assert_clean_ops, export_onnx, ort_run, read_idx, rel, sha256_file, write_idx_gz,
                    write_json, write_png_gray)

OUT = os.path.join(REPO, "models", "fashion-mnist-bcos")
BENCH = os.path.join(REPO, "models", ".bench")
CKPT = os.path.join(BENCH, "fashion-mnist-bcos-train.pt")
LOGIT_BIAS = -math.log(10 - 1)
BOUNDARIES = ["layer1", "layer2", "layer3", "layer4"]
SAE_LAYERS = ["layer2", "layer3", "layer4"]
SAMPLE_CLASSES = [0, 1, 2, 3, 5, 7, 8, 9]  # 8 different classes; the first test image of each
TRAIN_SUBSET = 20000
N_FLOAT64 = 1000  # test images for the float64 completeness check (float64 convolutions are slow here)
ALLOWED_OPS = {"Constant", "Conv", "Mul", "ReduceSum", "Add", "Sqrt", "Div", "Abs", "ReduceMean"}


# ----------------------------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------------------------
class FashionBcosCNN(nn.Module):
    def __init__(self, num_classes: int = 10, logit_bias: float = LOGIT_BIAS) -> None:
        super().__init__()
        self.layer1 = nn.Sequential(OrderedDict(conv=BcosConv2d(2, 32, 3, 1, 1)))                # 32 x 28 x 28
        self.layer2 = nn.Sequential(OrderedDict(conv1=BcosConv2d(32, 64, 3, 2, 1),
                                                conv2=BcosConv2d(64, 64, 3, 1, 1)))             # 64 x 14 x 14
        self.layer3 = nn.Sequential(OrderedDict(conv=BcosConv2d(64, 128, 3, 2, 1)))              # 128 x 7 x 7
        self.layer4 = nn.Sequential(OrderedDict(conv=BcosConv2d(128, 128, 3, 1, 1)))             # 128 x 7 x 7
        self.classifier = BcosConv2d(128, num_classes, 1)                                         # 10 x 7 x 7
        self.logit_layer = LogitLayer(logit_bias)

    def forward_all(self, x):
        f1 = self.layer1(x)
        f2 = self.layer2(f1)
        f3 = self.layer3(f2)
        f4 = self.layer4(f3)
        logits = self.logit_layer(self.classifier(f4).mean(dim=(2, 3)))
        return logits, f1, f2, f3, f4

    def forward(self, x):
        return self.forward_all(x)[0]


def encode(u8: np.ndarray) -> torch.Tensor:
    """uint8 [N,28,28] -> float32 [N,2,28,28] = [x, 1-x] with x = u8/255 (what the app does outside the graph)."""
    x = torch.from_numpy(u8.astype(np.float32) / np.float32(255.0))[:, None]
    return torch.cat([x, 1.0 - x], dim=1)


def load_fashion():
    d = FASHION_DIR
    return (read_idx(f"{d}/train-images-idx3-ubyte.gz"), read_idx(f"{d}/train-labels-idx1-ubyte.gz"),
            read_idx(f"{d}/t10k-images-idx3-ubyte.gz"), read_idx(f"{d}/t10k-labels-idx1-ubyte.gz"))


# ----------------------------------------------------------------------------------------------------------------
# data files
# ----------------------------------------------------------------------------------------------------------------
def write_data(seed: int):
    xtr, ytr, xte, yte = load_fashion()
    data = os.path.join(OUT, "data")
    samples = os.path.join(OUT, "samples")
    os.makedirs(data, exist_ok=True)
    os.makedirs(samples, exist_ok=True)
    for n in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(os.path.join(FASHION_DIR, n), os.path.join(data, n))
    # class-balanced, seeded training subset: 2,000 images per class, in a seeded shuffled order
    rng = np.random.default_rng(seed)
    per = TRAIN_SUBSET // 10
    idx = np.concatenate([rng.choice(np.flatnonzero(ytr == c), per, replace=False) for c in range(10)])
    idx = idx[rng.permutation(len(idx))]
    write_idx_gz(os.path.join(data, "train-subset-images-idx3-ubyte.gz"), xtr[idx])
    write_idx_gz(os.path.join(data, "train-subset-labels-idx1-ubyte.gz"), ytr[idx])
    np.savetxt(os.path.join(BENCH, "train-subset-indices.txt"), idx, fmt="%d") if os.path.isdir(BENCH) else None
    # licence text from the Debian package's copyright file
    cp = "/usr/share/doc/dataset-fashion-mnist/copyright"
    lic = ("Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist)\n"
           "Copyright (c) 2017 Zalando SE, https://tech.zalando.com\n\nThe MIT License (MIT)\n\n")
    body = None
    if os.path.exists(cp):
        text = open(cp).read()
        i = text.find("License: Expat\n Permission")
        if i >= 0:
            lines = text[i:].splitlines()[1:]
            body = "\n".join("" if ln.strip() == "." else ln[1:] for ln in lines if ln.startswith(" ")).strip()
    if body is None:
        raise RuntimeError("licence text not found: install dataset-fashion-mnist")
    with open(os.path.join(data, "LICENSE"), "w") as f:
        f.write(lic + body + "\n\nThe files here are the original Fashion-MNIST test set (t10k-*, copied "
                "unchanged) and a seeded, class-balanced 20,000-image subset of its training set "
                "(train-subset-*).\n")
    # samples: the first test image of each of 8 classes
    names = []
    for c in SAMPLE_CLASSES:
        i = int(np.flatnonzero(yte == c)[0])
        name = f"{i:04d}-{FASHION_SLUGS[c]}.png"
        write_png_gray(os.path.join(samples, name), xte[i])
        names.append(f"samples/{name}")
    return idx, names


# ----------------------------------------------------------------------------------------------------------------
# training
# ----------------------------------------------------------------------------------------------------------------
@torch.no_grad()
def accuracy(model, x_u8, y, bs=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x_u8), bs):
        pred = model(encode(x_u8[i:i + bs])).argmax(1)
        correct += int((pred == torch.from_numpy(np.array(y[i:i + bs])).long()).sum())
    return correct / len(x_u8)


def train(seed: int, epochs: int, bs: int = 64, peak_lr: float = 2e-3, limit: int = 0):
    xtr, ytr, xte, yte = load_fashion()
    if limit:  # smoke tests only
        xtr, ytr = xtr[:limit], ytr[:limit]
    torch.manual_seed(seed)
    model = FashionBcosCNN()
    g = torch.Generator().manual_seed(seed)
    calib = torch.from_numpy(np.random.default_rng(seed).choice(len(xtr), 512, replace=False))
    divisors = calibrate_divisors(model, encode(xtr[calib.numpy()]))
    print("calibrated divisors:", ["%.4f" % d for d in divisors], flush=True)
    opt = torch.optim.Adam(model.parameters(), lr=peak_lr, betas=(0.9, 0.999))
    steps_per_epoch = len(xtr) // bs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=peak_lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.15, anneal_strategy="cos")
    xall = encode(xtr)
    yall = torch.from_numpy(np.array(ytr)).long()
    t0 = time.time()
    c0 = time.process_time()
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        flips = torch.rand(len(xtr), generator=g) < 0.5
        tot = 0.0
        for s in range(steps_per_epoch):
            b = perm[s * bs:(s + 1) * bs]
            x = xall[b]
            x = torch.where(flips[b].view(-1, 1, 1, 1), x.flip(3), x)  # horizontal-flip augmentation
            z = model(x)
            loss = F.binary_cross_entropy_with_logits(z, F.one_hot(yall[b], 10).to(z.dtype), reduction="sum") / bs
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss)
        acc = accuracy(model, xte, yte)
        print(f"epoch {ep + 1}/{epochs}: train loss {tot / steps_per_epoch:.4f}, test acc {acc:.4f}, "
              f"{time.time() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU", flush=True)
    seconds = time.time() - t0
    print(f"training: {seconds:.0f} s wall, {time.process_time() - c0:.0f} s CPU", flush=True)
    return model, seconds, divisors


# ----------------------------------------------------------------------------------------------------------------
# checks in float64
# ----------------------------------------------------------------------------------------------------------------
def input_gradient(model, x, cls, explain: bool):
    x = x.clone().requires_grad_(True)
    if explain:
        with explanation_mode(model):
            z = model(x)
    else:
        z = model(x)
    sel = z.gather(1, cls.view(-1, 1)).sum()
    (g,) = torch.autograd.grad(sel, x)
    return z.detach(), g


def completeness_checks(inf_model, xte, dtype=torch.float64, bs=250):
    """Explanation-mode completeness sum(x*W) + b = logit and the full-vs-explanation gradient gap, over `xte`.
    (Debian's torch has no oneDNN path for float64 convolutions: float64 is ~20x slower than float32.)"""
    m = copy.deepcopy(inf_model).to(dtype).eval()
    worst_abs = worst_rel = 0.0
    gap = 0.0
    euler_full = 0.0
    for i in range(0, len(xte), bs):
        x = encode(xte[i:i + bs]).to(dtype)
        with torch.no_grad():
            pred = m(x).argmax(1)
        z, w = input_gradient(m, x, pred, explain=True)
        zp = z.gather(1, pred.view(-1, 1)).squeeze(1)
        recon = (x * w).sum(dim=(1, 2, 3)) + LOGIT_BIAS
        err = (recon - zp).abs()
        worst_abs = max(worst_abs, float(err.max()))
        worst_rel = max(worst_rel, float((err / zp.abs().clamp_min(1e-12)).max()))
        _, wf = input_gradient(m, x, pred, explain=False)
        gap = max(gap, float((wf - w).abs().max()))
        euler_full = max(euler_full, float(((x * wf).sum(dim=(1, 2, 3)) + LOGIT_BIAS - zp).abs().max()))
    return {"images": int(len(xte)), "dtype": str(dtype), "completenessWorstAbs": worst_abs,
            "completenessWorstRel": worst_rel, "explanationVsFullGradientMaxAbs": gap,
            "fullGradientCompletenessWorstAbs": euler_full}


# ----------------------------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--data-only", action="store_true")
    ap.add_argument("--from-checkpoint", action="store_true")
    ap.add_argument("--train-limit", type=int, default=0, help="smoke test: train on the first N images only")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads (use 1 on a busy machine: 2 spinning OpenMP threads on shared cores were "
                         "2-3x slower than 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(BENCH, exist_ok=True)

    _, sample_names = write_data(args.seed)
    print("data written", flush=True)
    if args.data_only:
        return

    xtr, ytr, xte, yte = load_fashion()
    if args.from_checkpoint:
        ck = torch.load(CKPT)
        model = FashionBcosCNN()
        model.load_state_dict(ck["state_dict"])
        seconds, epochs = ck["seconds"], ck["epochs"]
        args.seed = ck.get("seed", args.seed)
        args.threads = ck.get("threads", args.threads)  # the card describes the training run
    else:
        model, seconds, _ = train(args.seed, args.epochs, limit=args.train_limit)
        epochs = args.epochs
        torch.save({"state_dict": model.state_dict(), "seconds": seconds, "epochs": epochs, "seed": args.seed,
                    "threads": args.threads}, CKPT)
    model.eval()
    acc_train_form = accuracy(model, xte, yte)

    inf = to_inference_form(copy.deepcopy(model))
    with torch.no_grad():
        x = encode(xte[:512])
        d = float((inf(x) - model(x)).abs().max())
    print(f"inference form vs training form (float32, 512 images): max |dlogit| = {d:.2e}")
    acc = accuracy(inf, xte, yte)
    print(f"test accuracy: {acc:.4f} (training form {acc_train_form:.4f})")

    path = os.path.join(OUT, "model.onnx")
    export_onnx(BoundaryTap(inf, [(b, b) for b in BOUNDARIES]).eval(), encode(xte[:2]), path, BOUNDARIES)
    summ = assert_clean_ops(path, ALLOWED_OPS)
    print("onnx:", summ)

    ort = ort_run(path, encode(xte[:256]).numpy(), extra_outputs=BOUNDARIES)
    ort_note = "onnxruntime-node not found: ORT cross-check skipped"
    if ort is not None:
        with torch.no_grad():
            ref = inf.forward_all(encode(xte[:256]))
        diffs = {n: float(np.abs(ort[n] - r.numpy()).max()) for n, r in zip(["logits"] + BOUNDARIES, ref)}
        ort_note = f"ORT vs torch (float32, 256 images) max |diff|: {diffs}"
        assert diffs["logits"] < 1e-3, diffs
    print(ort_note)

    checks32 = completeness_checks(inf, xte, torch.float32, bs=1000)
    print("float32 checks over all 10,000 test images:", checks32, flush=True)
    checks = completeness_checks(inf, xte[:N_FLOAT64], torch.float64)
    print(f"float64 checks over the first {N_FLOAT64} test images:", checks, flush=True)

    layers = []
    with torch.no_grad():
        outs = inf.forward_all(encode(xte[:1]))
    for name, t in zip(BOUNDARIES, outs[1:]):
        if name in SAE_LAYERS:
            layers.append({"name": name, "tensor": name, "shape": list(t.shape[1:])})
    n_params = sum(p.numel() for p in model.parameters())
    card = OrderedDict(
        format=1, name="fashion-mnist-bcos", displayName="B-cos CNN on Fashion-MNIST",
        model="model.onnx", sha256=sha256_file(path),
        architecture=(
            "B-cos-v2 CNN (b=2, max-out 1, no biases, no ReLU, no norm layers) for 28x28 grayscale images. "
            "The graph input is the add-inverse encoding [x, 1-x] (2 channels, x in [0,1]), computed by the app "
            "outside the graph. layer1: B-cos 3x3 conv 2->32 (28x28); layer2: B-cos 3x3 conv 32->64 stride 2 and "
            "B-cos 3x3 conv 64->64 (14x14); layer3: B-cos 3x3 conv 64->128 stride 2 (7x7); layer4: B-cos 3x3 conv "
            "128->128 (7x7); classifier: B-cos 1x1 conv 128->10 applied before global average pooling; then the "
            "constant logit bias. Each B-cos layer computes lin = Conv(x, W), norm = sqrt(zero-padded patch sum "
            "of x^2 + 1e-6) and y = lin*|lin|/norm; the weights are stored pre-normalised (W/||W|| with the "
            "layer's calibrated fixed divisor d folded in as 1/sqrt(d)), so the graph has no weight-norm ops. In "
            "explanation mode the factor |lin|/norm is treated as a constant, making the network linear: "
            "logit = sum(x * dlogit/dx) + logitBias. Block outputs are the tensors named layer1..layer4."),
        parameters=int(n_params),
        input=OrderedDict(name="input", shape=[None, 2, 28, 28], encoding="add-inverse-outside"),
        output=OrderedDict(name="logits", logitBias=LOGIT_BIAS),
        preprocessing=OrderedDict(colorSpace="grayscale", resize=28, centerCrop=28, scale="0-1", addInverse=True),
        classes=FASHION_CLASSES,
        layers=layers,
        training=OrderedDict(
            recipe="models/recipes/train_default.py", seed=args.seed, epochs=epochs,
            optimizer=("Adam(betas=0.9,0.999), one-cycle LR (peak 2e-3, 15% warm-up, cosine to 0), batch 64, "
                       "binary cross-entropy on one-hot targets, random horizontal flips, all 60,000 "
                       f"Fashion-MNIST training images, float32, {args.threads} CPU thread(s); seconds = wall "
                       "time on a shared 2-core machine"),
            seconds=round(float(seconds), 1)),
        metrics=OrderedDict(testAccuracy=round(acc, 4), testImages=int(len(xte)),
                            completenessWorstAbs=checks["completenessWorstAbs"],
                            completenessWorstRel=checks["completenessWorstRel"],
                            explanationVsFullGradientMaxAbs=checks["explanationVsFullGradientMaxAbs"]),
        data=OrderedDict(
            test=OrderedDict(images="data/t10k-images-idx3-ubyte.gz", labels="data/t10k-labels-idx1-ubyte.gz",
                             count=10000),
            train=OrderedDict(images="data/train-subset-images-idx3-ubyte.gz",
                              labels="data/train-subset-labels-idx1-ubyte.gz", count=TRAIN_SUBSET)),
        samples=sample_names,
        license=OrderedDict(data="data/LICENSE (MIT, Fashion-MNIST)"),
    )
    write_json(os.path.join(OUT, "card.json"), card)
    print("wrote", rel(path), rel(os.path.join(OUT, "card.json")))


if __name__ == "__main__":
    main()
