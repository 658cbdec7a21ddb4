"""The export-pattern corpus: small B-cos-style models whose plain torch.onnx.export contains the constructs that
real B-cos-v2 exports contain and hand-made graphs avoid, each written to test/fixtures/patterns/<name>/ with its
PyTorch explanation-mode goldens (and, with --full-width, larger versions under the git-ignored models/.bench/).

    bias-free LayerNorm (empty bias input) on 2-D maps via a transpose   ln2d
    bias-free LayerNorm in a transformer block                           ln_block
    max-out through a run-time-shape unflatten + amax                    maxout
    ViT: rearrange-style patch embedding, qkv.chunk(3), detached attention, positional embedding   vit
    conv stem with GroupNorm (exported as InstanceNormalization)          groupnorm
    grouped convolutions (ResNeXt-style block)                            resnext
    DenseNet concatenations                                               densenet

The modules are written here from the B-cos-v2 paper's definitions (not copied from its code). Each has a fast path
(what is exported: F.layer_norm, F.group_norm, softmax attention) and an explanation mode that detaches exactly what
B-cos-v2's explanation mode detaches: the B-cos scale |cos|, the norms' variances (never their means), attention.
Exports are plain: torch.onnx.export(model, x, f, opset_version=17, input_names=['image'],
output_names=['logits'], dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}}); nothing is edited after.

Run from the repository root with Debian's torch (python3-torch, python3-onnx, python3-numpy):
    /usr/bin/python3 models/recipes/export_patterns.py [--only NAME ...] [--full-width]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, rel, sha256_file, write_safetensors  # noqa: E402

OUT = os.path.join(REPO, "test", "fixtures", "patterns")
BENCH = os.path.join(REPO, "models", ".bench")
SEED = 20261129


# ------------------------------------------------------------------------------------------------------------------
# building blocks (explanation mode: a flag every module reads)
# ------------------------------------------------------------------------------------------------------------------
class Explainable(nn.Module):
    explain = False

    def frozen(self, t: torch.Tensor) -> torch.Tensor:
        return t.detach() if self.explain else t


@contextlib.contextmanager
def explanation_mode(model: nn.Module):
    mods = [m for m in model.modules() if isinstance(m, Explainable)]
    for m in mods:
        m.explain = True
    try:
        yield
    finally:
        for m in mods:
            m.explain = False


class BConv(Explainable):
    """B-cos convolution, b = 2: y = c·|c|/‖x_patch‖ with c = conv(x, ŵ), ŵ unit-norm per output channel; the scale
    |c|/‖x‖ is the dynamic factor. With max_out M the conv computes M candidates per channel and keeps the largest
    (an unflatten of the channel axis, then `amax`). Groups as in nn.Conv2d."""

    def __init__(self, cin, cout, k=3, stride=1, groups=1, max_out=1):
        super().__init__()
        self.k, self.stride, self.groups, self.max_out, self.cout = k, stride, groups, max_out, cout
        self.weight = nn.Parameter(torch.randn(cout * max_out, cin // groups, k, k))

    def forward(self, x):
        w = self.weight / self.weight.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        c = F.conv2d(x, w, None, self.stride, self.k // 2, 1, self.groups)
        if self.max_out > 1:
            # c.unflatten(1, (cout, M)) where the exporter supports it (torch ≥ 2); Debian's torch 1.13 cannot export
            # aten::unflatten, so the same reshape is written with the run-time shape, which exports as unflatten
            # does in torch 2: Shape → Gather → Concat → Reshape.
            n, _, h, w = c.shape
            c = c.reshape(n, self.cout, self.max_out, h, w).amax(2)
        sq = (x * x).sum(1, keepdim=True)
        norm = (F.avg_pool2d(sq, self.k, self.stride, self.k // 2, count_include_pad=True) * self.k * self.k + 1e-6).sqrt()
        return c * self.frozen(c.abs() / norm)


class BLinear(Explainable):
    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin))

    def forward(self, x):
        w = self.weight / self.weight.norm(dim=1, keepdim=True)
        c = torch.matmul(x, w.t())
        norm = (x * x).sum(-1, keepdim=True).sqrt() + 1e-6
        return c * self.frozen(c.abs() / norm)


class LayerNormNoBias(Explainable):
    """LayerNorm over the last axis without a bias: F.layer_norm(x, ·, γ, None) (exported as
    LayerNormalization(X, γ, "")); in explanation mode the variance is detached, the mean is not."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim
        self.weight = nn.Parameter(1 + 0.3 * torch.randn(dim))

    def forward(self, x):
        if not self.explain:
            return F.layer_norm(x, (self.dim,), self.weight, None, 1e-5)
        xc = x - x.mean(-1, keepdim=True)
        var = (xc * xc).mean(-1, keepdim=True)
        return xc / (var.detach() + 1e-5).sqrt() * self.weight


class PositionNorm(nn.Module):
    """LayerNorm over the channels of each position of a map: transpose to channels-last and back."""

    def __init__(self, c):
        super().__init__()
        self.ln = LayerNormNoBias(c)

    def forward(self, x):
        return self.ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class GroupNormDetachable(Explainable):
    """nn.GroupNorm's computation (exported through F.group_norm as InstanceNormalization); the affine bias is
    kept as a parameter (zero: B-cos models have no biases). Explanation mode detaches the variance only."""

    def __init__(self, groups, c):
        super().__init__()
        self.groups = groups
        self.weight = nn.Parameter(1 + 0.3 * torch.randn(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        if not self.explain:
            return F.group_norm(x, self.groups, self.weight, self.bias, 1e-5)
        n, c = x.shape[:2]
        g = x.reshape(n, self.groups, -1)
        gc = g - g.mean(-1, keepdim=True)
        var = (gc * gc).mean(-1, keepdim=True)
        y = (gc / (var.detach() + 1e-5).sqrt()).reshape(x.shape)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class Head(nn.Module):
    """Global average pooling and a B-cos linear classifier (no bias)."""

    def __init__(self, c, classes):
        super().__init__()
        self.fc = BLinear(c, classes)

    def forward(self, x):
        return self.fc(x.mean((2, 3)))


# ------------------------------------------------------------------------------------------------------------------
# the patterns
# ------------------------------------------------------------------------------------------------------------------
class Ln2d(nn.Module):
    def __init__(self, w=8, classes=5, depth=2, stem_stride=1):
        super().__init__()
        layers = [BConv(6, w, stride=stem_stride)]
        for _ in range(depth):
            layers += [PositionNorm(w), BConv(w, w)]
        self.body = nn.Sequential(*layers)
        self.head = Head(w, classes)

    def forward(self, x):
        return self.head(self.body(x))


class Attention(Explainable):
    """Multi-head self-attention as ViTs write it: qkv.chunk(3), heads split with x.shape, softmax(q·kᵀ) detached
    in explanation mode (B-cos-v2's ViTs detach the attention matrix)."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = BLinear(dim, 3 * dim)
        self.out = BLinear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        split = lambda z: z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(q), split(k), split(v)
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (d // self.heads) ** -0.5, dim=-1)
        y = torch.matmul(self.frozen(att), v)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.attn = LayerNormNoBias(dim), Attention(dim, heads)
        self.norm2, self.mlp = LayerNormNoBias(dim), nn.Sequential(BLinear(dim, 2 * dim), BLinear(2 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class LnBlock(nn.Module):
    """A conv stem, tokens by flatten/transpose, one transformer block with bias-free LayerNorms, mean pooling."""

    def __init__(self, dim=16, heads=2, classes=5, stem_stride=2):
        super().__init__()
        self.stem = BConv(6, dim, stride=stem_stride)
        self.block = Block(dim, heads)
        self.fc = BLinear(dim, classes)

    def forward(self, x):
        t = self.stem(x).flatten(2).transpose(1, 2)
        return self.fc(self.block(t).mean(1))


class MaxOut(nn.Module):
    def __init__(self, w=8, classes=5, stem_stride=1):
        super().__init__()
        self.body = nn.Sequential(BConv(6, w, stride=stem_stride, max_out=2), BConv(w, w, max_out=2))
        self.head = Head(w, classes)

    def forward(self, x):
        return self.head(self.body(x))


class ViT(nn.Module):
    """Patch embedding written as einops' rearrange('b c (h p) (w q) -> b (h w) (p q c)') with x.shape, a B-cos
    linear embedding, a learned positional embedding added (a constant on the path), two blocks, mean pooling."""

    def __init__(self, image=16, patch=4, dim=16, heads=2, depth=2, classes=5):
        super().__init__()
        self.patch = patch
        self.embed = BLinear(6 * patch * patch, dim)
        self.pos = nn.Parameter(0.1 * torch.randn(1, (image // patch) ** 2, dim))
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
        self.norm = LayerNormNoBias(dim)
        self.fc = BLinear(dim, classes)

    def forward(self, x):
        b, c, hh, ww = x.shape
        p = self.patch
        x = x.reshape(b, c, hh // p, p, ww // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, (hh // p) * (ww // p), p * p * c)
        x = self.embed(x) + self.pos
        return self.fc(self.norm(self.blocks(x)).mean(1))


class GroupNormStem(nn.Module):
    def __init__(self, w=8, classes=5, stem_stride=1):
        super().__init__()
        self.body = nn.Sequential(BConv(6, w, stride=stem_stride), GroupNormDetachable(2, w), BConv(w, w, stride=2), GroupNormDetachable(w, w), BConv(w, w))
        self.head = Head(w, classes)

    def forward(self, x):
        return self.head(self.body(x))


class ResNeXtBlock(nn.Module):
    def __init__(self, w, groups):
        super().__init__()
        self.a, self.b, self.c = BConv(w, w, k=1), BConv(w, w, groups=groups), BConv(w, w, k=1)

    def forward(self, x):
        return x + self.c(self.b(self.a(x)))


class ResNeXt(nn.Module):
    def __init__(self, w=8, groups=4, classes=5, blocks=2, stem_stride=1):
        super().__init__()
        self.stem = BConv(6, w, stride=stem_stride)
        self.blocks = nn.Sequential(*[ResNeXtBlock(w, groups) for _ in range(blocks)])
        self.head = Head(w, classes)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.norm, self.conv = PositionNorm(cin), BConv(cin, growth)

    def forward(self, x):
        return torch.cat([x, self.conv(self.norm(x))], 1)


class DenseNet(nn.Module):
    def __init__(self, w=8, growth=4, layers=3, classes=5, stem_stride=1):
        super().__init__()
        mods = [BConv(6, w, stride=stem_stride)]
        for i in range(layers):
            mods.append(DenseLayer(w + i * growth, growth))
        self.body = nn.Sequential(*mods)
        self.head = Head(w + layers * growth, classes)

    def forward(self, x):
        return self.head(self.body(x))


PATTERNS = OrderedDict(
    ln2d=dict(small=lambda: Ln2d(), full=lambda: Ln2d(w=256, classes=1000, depth=4, stem_stride=4), image=16, full_image=224,
              expect=["LayerNormalization with an empty bias input", "Transpose"],
              words="B-cos convs with bias-free LayerNorms over the channels of each position (via permute)"),
    ln_block=dict(small=lambda: LnBlock(), full=lambda: LnBlock(dim=384, heads=6, classes=1000, stem_stride=16), image=16, full_image=224,
                  expect=["LayerNormalization with an empty bias input", "Slice"],
                  words="a transformer block on conv tokens: bias-free LayerNorms, qkv.chunk(3), detached attention"),
    maxout=dict(small=lambda: MaxOut(), full=lambda: MaxOut(w=256, classes=1000, stem_stride=4), image=16, full_image=224,
                expect=["Shape", "ReduceMax"], words="B-cos convs with max-out 2 through unflatten + amax"),
    vit=dict(small=lambda: ViT(), full=lambda: ViT(image=224, patch=16, dim=384, heads=6, depth=12, classes=1000), image=16, full_image=224,
             expect=["LayerNormalization with an empty bias input", "Shape", "Slice"],
             words="a ViT: rearrange-style patch embedding from x.shape, positional embedding, qkv.chunk(3), detached attention"),
    groupnorm=dict(small=lambda: GroupNormStem(), full=lambda: GroupNormStem(w=256, classes=1000, stem_stride=4), image=16, full_image=224,
                   expect=["InstanceNormalization"], words="a conv stem with GroupNorm (2 groups, then one group per channel)"),
    resnext=dict(small=lambda: ResNeXt(), full=lambda: ResNeXt(w=256, groups=32, classes=1000, blocks=4, stem_stride=4), image=16, full_image=224,
                 expect=["grouped Conv"], words="ResNeXt-style residual blocks with 4-group 3x3 B-cos convs"),
    densenet=dict(small=lambda: DenseNet(), full=lambda: DenseNet(w=64, growth=32, layers=12, classes=1000, stem_stride=4), image=16, full_image=224,
                  expect=["Concat"], words="DenseNet layers: position norm, B-cos conv, concatenation"),
)


# ------------------------------------------------------------------------------------------------------------------
def images(n: int, side: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    rgb = torch.rand(n, 3, side, side, generator=g)
    return torch.cat([rgb, 1 - rgb], 1)


def explain(model: nn.Module, x: torch.Tensor):
    """Logits (normal mode) and, in explanation mode, W(x) of each image's predicted class, in float64."""
    m64 = model.double()
    x64 = x.double().requires_grad_(True)
    with torch.no_grad():
        logits = m64(x.double())
    pred = logits.argmax(1)
    with explanation_mode(m64):
        z = m64(x64)
    (wx,) = torch.autograd.grad(z.gather(1, pred.view(-1, 1)).sum(), x64)
    model.float()
    return logits, pred, wx, z.detach()


def export(model: nn.Module, side: int, path: str) -> None:
    x = images(1, side, SEED)
    with torch.no_grad():
        torch.onnx.export(model, (x,), path, opset_version=17, input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})


def make(name: str, full: bool) -> dict:
    spec = PATTERNS[name]
    torch.manual_seed(SEED)
    model = (spec["full"] if full else spec["small"])().eval()
    side = spec["full_image" if full else "image"]
    out = os.path.join(BENCH, f"pattern-{name}") if full else os.path.join(OUT, name)
    os.makedirs(out, exist_ok=True)
    onnx_path = os.path.join(out, "model.onnx")
    export(model, side, onnx_path)
    x = images(2, side, SEED + 1)
    logits, pred, wx, z_explain = explain(model, x)
    assert torch.allclose(z_explain, logits), "explanation mode changes the forward values"
    tensors = OrderedDict(image=x.numpy().astype(np.float32), logits=logits.float().numpy(), pred=pred.numpy().astype(np.int64),
                          **{"wx.pred": wx.float().numpy()})
    write_safetensors(os.path.join(out, "golden.safetensors"), tensors, {"pattern": name, "description": spec["words"]})
    entry = dict(model=rel(onnx_path), modelSha256=sha256_file(onnx_path), image=side, description=spec["words"], expect=spec["expect"],
                 params=sum(p.numel() for p in model.parameters()), bytes=os.path.getsize(onnx_path))
    print(f"{name}{' (full width)' if full else ''}: {entry['params']} params, {entry['bytes']} bytes")
    return entry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", choices=list(PATTERNS))
    ap.add_argument("--full-width", action="store_true", help="write full-width versions into models/.bench/pattern-<name>/")
    args = ap.parse_args()
    names = args.only or list(PATTERNS)
    torch.set_num_threads(1)
    index_path = os.path.join(BENCH if args.full_width else OUT, "patterns.json" if args.full_width else "index.json")
    index = json.load(open(index_path)) if os.path.exists(index_path) else {}
    for n in names:
        index[n] = make(n, args.full_width)
    os.makedirs(os.path.dirname(index_path), exist_ok=True)
    with open(index_path, "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
