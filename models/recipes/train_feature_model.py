"""Trains the embedded default's reference feature model for C² and exports its feature extractor to ONNX.

FaCT's C²-score compares the concepts of a B-cos model through the features of an independent foundation model
(DINOv2 ViT-S/14 patch tokens). DINOv2 cannot be shipped with the app or downloaded here, and it was not trained on
28 x 28 grayscale clothes, so the embedded Fashion-MNIST default ships its own stand-in: a small CONVENTIONAL CNN
(3x3 convolutions with biases, batch norm, ReLU; not a B-cos network, sharing no weights, code or seed with the
default model) trained as a classifier on the 60,000 Fashion-MNIST training images. Only its convolutional trunk is
exported, up to a spatial feature map taken before any pooling of the head:

    image [N, 1, 28, 28]  ((x - mean) / std, x in [0, 1])
    stem:   conv 3x3 1->16,  BN, ReLU                       28 x 28
    block1: conv 3x3 16->32 stride 2, BN, ReLU              14 x 14
    block2: conv 3x3 32->64, BN, ReLU  -> features [N, 64, 14, 14]   (receptive field 9 x 9 pixels)
    head (training only, not exported): conv 3x3 64->128 stride 2, BN, ReLU (7 x 7),
          global average pool, 1x1 conv 128->10 (a linear layer written as a 1x1 conv: Debian's nn.Linear uses a
          slow reference BLAS)
The trunk is kept small so that training takes a few minutes on a shared 2-core machine (a 32-64-64 trunk was
2.5x slower per step).

Like DINOv2's patch tokens the features are local (each 14 x 14 position sees a 9 x 9 pixel window) but trained
to be semantic (they feed a classifier). In the export, batch norms are folded into the convolutions (eval mode), so
the graph is Conv + Relu only. The spec beside it (feature-model.json) is what the app's FoundationModel reads:
{size, channels, mean, std, input, output, description, trainedOn, seed, testAccuracyOfClassifierHead, ...}.

Card key (models/fashion-mnist-bcos/card.json, added by the card's author): "foundation": "foundation/feature-model.onnx"

Dependencies (Debian bookworm, as root):
    apt-get update
    apt-get install -y --no-install-recommends python3-torch python3-onnx python3-numpy dataset-fashion-mnist \
        libtcmalloc-minimal4
Run from the repository root (about 3-5 minutes on 2 shared cores):
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/bin/python3 models/recipes/train_feature_model.py
Options: --epochs N (3), --seed S (20261128), --threads T (2), --out DIR (models/fashion-mnist-bcos/foundation).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import OrderedDict

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning OpenMP threads are slow on a shared machine

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FASHION_DIR, REPO, onnx_summary, ort_run, read_idx, rel, sha256_file, write_json  # noqa: E402

OUT = os.path.join(REPO, "models", "fashion-mnist-bcos", "foundation")
ALLOWED_OPS = {"Conv", "Relu"}


def conv_bn(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(OrderedDict(conv=nn.Conv2d(cin, cout, 3, stride, 1, bias=True), bn=nn.BatchNorm2d(cout),
                                     relu=nn.ReLU(inplace=True)))


class FeatureNet(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(OrderedDict(stem=conv_bn(1, 16), block1=conv_bn(16, 32, 2),
                                                  block2=conv_bn(32, 64)))
        self.head = nn.Sequential(OrderedDict(conv=conv_bn(64, 128, 2)))
        self.fc = nn.Conv2d(128, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(self.features(x)).mean(dim=(2, 3), keepdim=True)
        return self.fc(h).flatten(1)


@torch.no_grad()
def fold_bn(seq: nn.Sequential) -> nn.Sequential:
    """An eval-mode copy of `features` with every BatchNorm folded into the convolution before it."""
    out = OrderedDict()
    for name, block in seq.named_children():
        conv, bn = block.conv, block.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=True)
        fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        fused.bias.copy_((conv.bias - bn.running_mean) * scale + bn.bias)
        out[name] = nn.Sequential(OrderedDict(conv=fused, relu=nn.ReLU()))
    return nn.Sequential(out).eval()


def to_input(u8: np.ndarray, mean: float, std: float) -> torch.Tensor:
    x = torch.from_numpy(u8.astype(np.float32) / np.float32(255.0))[:, None]
    return (x - mean) / std


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bs: int = 1000) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(x), bs):
        correct += int((model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum())
    return correct / len(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    d = FASHION_DIR
    xtr_u8, ytr = read_idx(f"{d}/train-images-idx3-ubyte.gz"), read_idx(f"{d}/train-labels-idx1-ubyte.gz")
    xte_u8, yte = read_idx(f"{d}/t10k-images-idx3-ubyte.gz"), read_idx(f"{d}/t10k-labels-idx1-ubyte.gz")
    # normalisation statistics of the 60,000 training images (x in [0, 1]), rounded as stored in the spec
    x01 = xtr_u8.astype(np.float64) / 255.0
    mean, std = round(float(x01.mean()), 4), round(float(x01.std()), 4)
    xtr, xte = to_input(xtr_u8, mean, std), to_input(xte_u8, mean, std)
    ytr_t, yte_t = torch.from_numpy(ytr.astype(np.int64)), torch.from_numpy(yte.astype(np.int64))

    model = FeatureNet()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    steps = args.epochs * (len(xtr) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    g = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=g)
        flips = torch.rand(len(xtr), generator=g) < 0.5
        tot = 0.0
        for s in range(len(xtr) // args.batch):
            b = perm[s * args.batch:(s + 1) * args.batch]
            x = torch.where(flips[b].view(-1, 1, 1, 1), xtr[b].flip(3), xtr[b])  # horizontal flips
            loss = F.cross_entropy(model(x), ytr_t[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss)
        acc = accuracy(model, xte, yte_t)
        print(f"epoch {ep + 1}/{args.epochs}: loss {tot / (len(xtr) // args.batch):.4f}, test acc {acc:.4f}, "
              f"{time.time() - t0:.0f} s", flush=True)
    seconds = time.time() - t0
    model.eval()
    acc = accuracy(model, xte, yte_t)

    # export the feature extractor, batch norms folded
    feats = fold_bn(model.features)
    with torch.no_grad():
        ref = model.features(xte[:256])
        d_fold = float((feats(xte[:256]) - ref).abs().max())
    print(f"BN folding: max |diff| = {d_fold:.2e} (feature scale {float(ref.abs().max()):.3g})")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "feature-model.onnx")
    with torch.no_grad():
        torch.onnx.export(feats, (xte[:2],), path, opset_version=17, input_names=["image"],
                          output_names=["features"], do_constant_folding=True,
                          dynamic_axes={"image": {0: "N"}, "features": {0: "N"}})
    import onnx
    m = onnx.load(path)
    m.producer_name = "fact-vscode-recipes"
    m.doc_string = ("Reference feature model for C² of the embedded Fashion-MNIST default (a conventional CNN, not "
                    "B-cos); models/recipes/train_feature_model.py")
    onnx.checker.check_model(m)
    onnx.save(m, path)
    summ = onnx_summary(path)
    bad = sorted(set(summ["ops"]) - ALLOWED_OPS)
    if bad:
        raise RuntimeError(f"unexpected ops in the exported feature model: {bad}")
    print(f"wrote {rel(path)}: {os.path.getsize(path) / 1e6:.2f} MB, ops {summ['ops']}, "
          f"inputs {summ['inputs']}, outputs {summ['outputs']}")
    ort = ort_run(path, xte[:64].numpy(), output_names=("features",))
    ort_diff = None
    if ort is not None:
        ort_diff = float(np.abs(ort["features"] - ref[:64].numpy()).max())
        print(f"onnxruntime vs PyTorch features (64 test images): max |diff| = {ort_diff:.2e}")
        assert ort_diff < 1e-3 * max(1.0, float(ref.abs().max())), ort_diff
    else:
        print("onnxruntime-node not found: ORT cross-check skipped")

    n_feat = int(sum(p.numel() for p in feats.parameters()))
    n_all = int(sum(p.numel() for p in model.parameters()))
    spec = OrderedDict(
        size=28, channels=1, mean=[mean], std=[std], input="image", output="features",
        description=("Reference feature model for C² of the embedded Fashion-MNIST default, standing in for "
                     "DINOv2 ViT-S/14 (which cannot be shipped): the convolutional trunk of a small conventional "
                     "CNN (3x3 convs with biases, batch norm folded in, ReLU; NOT a B-cos model, independent of "
                     "the explained model) trained as a classifier on the 60,000 Fashion-MNIST training images. "
                     "Input: grayscale x in [0,1], (x - mean)/std, [N,1,28,28]. Output: features [N,64,14,14] "
                     "before any pooling (receptive field 9x9 pixels per position)."),
        trainedOn="Fashion-MNIST training set (60,000 images; zalandoresearch/fashion-mnist, MIT licence), "
                  "random horizontal flips",
        seed=args.seed,
        testAccuracyOfClassifierHead=round(acc, 4),
        testImages=int(len(xte)),
        featureShape=[64, 14, 14],
        parameters=OrderedDict(exported=n_feat, withHead=n_all),
        training=OrderedDict(recipe="models/recipes/train_feature_model.py", epochs=args.epochs,
                             optimizer=(f"AdamW(lr {args.lr}, weight decay 5e-4), one-cycle LR, batch {args.batch}, "
                                        f"cross-entropy, float32, {args.threads} CPU thread(s)"),
                             seconds=round(seconds, 1)),
        checks=OrderedDict(bnFoldMaxAbsDiff=d_fold, onnxruntimeMaxAbsDiff=ort_diff),
        sha256=sha256_file(path),
    )
    write_json(os.path.join(args.out, "feature-model.json"), spec)
    print(f"wrote {rel(os.path.join(args.out, 'feature-model.json'))}: test accuracy {acc:.4f}, "
          f"{seconds:.0f} s training")


if __name__ == "__main__":
    main()
