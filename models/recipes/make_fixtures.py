"""Writes the PyTorch golden fixtures under test/fixtures/ (and, with --full-width, benchmark-size models under the
git-ignored models/.bench/).

Dependencies (Debian bookworm, as root):
    apt-get update
    apt-get install -y --no-install-recommends python3-torch python3-onnx python3-numpy dataset-fashion-mnist \
        libtcmalloc-minimal4
Run from the repository root, after train_default.py has written models/fashion-mnist-bcos/model.onnx:
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/bin/python3 models/recipes/make_fixtures.py
Options: --only default|structures|sae (repeatable), --full-width (export full-width ResNet-50 / DenseNet-121 /
ViT-C-S shapes into models/.bench/<arch>/, and export_patterns.py's raw-export patterns at full width into
models/.bench/pattern-<name>/, instead of writing fixtures).

Every golden value is computed with PyTorch autograd in float64 (the model cast to double; explanation mode detaches
the dynamic factors) from the float32 input, and stored as float32 (int64 for class indices) in safetensors.
The default model's weights are read back from the shipped model.onnx, so the goldens describe exactly that file.
`test/fixtures/index.json` describes every tensor in words.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from collections import OrderedDict
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bcos_archs  # noqa: E402
from bcos_layers import (BatchNormUncentered2d, BcosConv2d, DetachableGNLayerNorm2d,  # noqa: E402
                         DetachableLayerNorm, calibrate_divisors, explanation_mode, to_inference_form)
from common import (FASHION_DIR, REPO, BoundaryTap, assert_clean_ops, export_onnx,  # noqa: E402
                    ort_run, read_idx, read_safetensors, rel, sha256_file, write_json, write_safetensors)

FIX = os.path.join(REPO, "test", "fixtures")
BENCH = os.path.join(REPO, "models", ".bench")
DEFAULT_DIR = os.path.join(REPO, "models", "fashion-mnist-bcos")
SEED = 20261126

STRUCT_OPS = {"Constant", "Conv", "Mul", "ReduceSum", "Add", "Sqrt", "Div", "Abs", "ReduceMean", "AveragePool",
              "Pad", "Concat", "Sub", "Reshape", "Transpose", "MatMul", "Softmax", "Slice"}

ARCHS = OrderedDict(
    resnet=dict(
        small=bcos_archs.resnet_small, full=bcos_archs.resnet50,
        title="B-cos ResNet (bottleneck blocks)",
        boundaries=[("layer1", "layer1"), ("layer2", "layer2"), ("layer3", "layer3"), ("layer4", "layer4")],
        card_layers=["layer2", "layer3", "layer4"], golden_layer="layer3",
        small_desc=("ResNet with Bottleneck blocks [2, 2, 2, 2] at 1/16 of ResNet-50's width (inplanes 4, "
                    "bottleneck widths 4/8/16/32, expansion 4): B-cos 7x7 stride-2 stem conv, uncentred BN, "
                    "3x3/2 average pooling, bottlenecks (1x1, 3x3 with the stride, 1x1, each followed by uncentred BN; a 1x1 "
                    "B-cos + BN downsample on the first block of each stage) with residual adds and no ReLU, "
                    "B-cos 1x1 classifier before global average pooling, logit bias -log(999)."),
        full_desc="ResNet-50 shape: Bottleneck blocks [3, 4, 6, 3], inplanes 64, 1000 classes."),
    densenet=dict(
        small=bcos_archs.densenet_small, full=bcos_archs.densenet121,
        title="B-cos DenseNet",
        boundaries=[("features.transition1", "features.transition1"),
                    ("features.transition2", "features.transition2"),
                    ("features.transition3", "features.transition3"),
                    ("features.norm5", "features.norm5")],
        card_layers=["features.transition2", "features.transition3", "features.norm5"],
        golden_layer="features.transition2",
        small_desc=("DenseNet-BC with growth 8, blocks (2, 3, 3, 2), 16 initial features, bottleneck size 4: "
                    "B-cos 7x7 stride-2 conv0, uncentred BN norm0, 3x3/2 average pooling pool0, dense layers "
                    "(norm1, B-cos 1x1 conv1, norm2, B-cos 3x3 conv2) whose outputs are concatenated, transitions "
                    "(norm, B-cos 1x1 conv halving the channels, 2x2 average pooling), final norm5, B-cos 1x1 "
                    "classifier before global average pooling, logit bias -log(999). No ReLU anywhere."),
        full_desc="DenseNet-121 shape: growth 32, blocks (6, 12, 24, 16), 64 initial features, 1000 classes."),
    vit=dict(
        small=bcos_archs.vitc_small, full=bcos_archs.vitc_s,
        title="B-cos ViT-C (convolutional stem)",
        boundaries=None,  # encoder_i -> 0.transformer.encoder_i, filled in from the depth
        card_layers=None, golden_layer="encoder_4",
        small_desc=("B-cos SimpleViT with a convolutional stem, wrapped as Sequential(SimpleViT, LogitLayer) like "
                    "B-cos-v2: stem of four B-cos 3x3 convs (6->8->16->32->64, stride 2 each) each followed by a "
                    "centred, bias-free GN-LayerNorm (variance detached in explanation mode) and act=Identity; "
                    "1x1 patches of the 14x14 grid (196 tokens); BcosLinear patch embedding to dim 64; plus the "
                    "fixed 2-D sine-cosine positional embedding (a constant); 6 encoders (transformer.encoder_i: "
                    "x + Attention(x), then x + FeedForward(x)); attention: centred LayerNorm, plain bias-free "
                    "linear q/k/v, 4 heads of 16, softmax(q k^T / 4) with q and k detached in explanation mode, "
                    "BcosLinear output; feed-forward: LayerNorm, BcosLinear 64->128, Identity, BcosLinear 128->64; "
                    "mean over tokens; LayerNorm and BcosLinear head; logit bias -log(999)."),
        full_desc="ViT-C-S shape (vitc_s_patch1_14): stem 48/96/192/384, dim 384, depth 11, 6 heads, MLP 1536."),
)


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def imagenet_classes() -> List[str]:
    try:
        from torchvision.models._meta import _IMAGENET_CATEGORIES  # category names only (data)
        if len(_IMAGENET_CATEGORIES) == 1000:
            return list(_IMAGENET_CATEGORIES)
    except Exception:
        pass
    return [f"class {i}" for i in range(1000)]


def encode6(img_u8: np.ndarray) -> torch.Tensor:
    """uint8 [N,3,H,W] -> float32 [N,6,H,W] = [x, 1-x] with x = u8/255 (float32 division)."""
    x = torch.from_numpy(img_u8.astype(np.float32) / np.float32(255.0))
    return torch.cat([x, 1.0 - x], dim=1)


def encode2(img_u8: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(img_u8.astype(np.float32) / np.float32(255.0))[:, None]
    return torch.cat([x, 1.0 - x], dim=1)


def synthetic_rgb(n: int, seed: int = SEED) -> Tuple[np.ndarray, List[int]]:
    """n deterministic 224x224 RGB uint8 images: Fashion-MNIST test images (one per class), upsampled bilinearly,
    coloured with seeded foreground/background colours and smooth shading."""
    xte = read_idx(f"{FASHION_DIR}/t10k-images-idx3-ubyte.gz")
    yte = read_idx(f"{FASHION_DIR}/t10k-labels-idx1-ubyte.gz")
    idx = [int(np.flatnonzero(yte == c)[0]) for c in range(10)][:n]
    rng = np.random.default_rng(seed)
    m = torch.from_numpy(xte[idx].astype(np.float64) / 255.0)[:, None]
    m = F.interpolate(m, size=(224, 224), mode="bilinear", align_corners=False)[:, 0].numpy()
    gy, gx = np.meshgrid(np.linspace(0, 1, 224), np.linspace(0, 1, 224), indexing="ij")
    out = np.zeros((n, 3, 224, 224), dtype=np.uint8)
    for i in range(n):
        fg = rng.uniform(0.2, 1.0, 3)
        bg = rng.uniform(0.0, 0.6, 3)
        shade_f = 0.75 + 0.25 * np.cos(2 * np.pi * (gx * rng.uniform(0.5, 2) + gy * rng.uniform(0.5, 2)))
        shade_b = 0.6 + 0.4 * (gy if i % 2 else gx)
        img = m[i][None] * fg[:, None, None] * shade_f[None] + (1 - m[i][None]) * bg[:, None, None] * shade_b[None]
        out[i] = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    return out, idx


def randomise_norms(model: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (BatchNormUncentered2d, DetachableLayerNorm, DetachableGNLayerNorm2d)):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))


def explain(model: nn.Module, x: torch.Tensor, cls: torch.Tensor, taps: Dict[str, nn.Module] = None,
            explain_mode: bool = True, extra: Dict[str, torch.Tensor] = None):
    """Returns logits, the input gradient of logit[cls] and (optionally) features/gradients at tapped modules.
    `extra` maps names to leaf tensors that the model reads (e.g. the positional embedding) whose gradients are
    wanted too."""
    x = x.clone().requires_grad_(True)
    feats: Dict[str, torch.Tensor] = {}
    hs = []
    for name, mod in (taps or {}).items():
        hs.append(mod.register_forward_hook(lambda _m, _i, o, n=name: feats.__setitem__(n, o)))
    try:
        if explain_mode:
            with explanation_mode(model):
                z = model(x)
        else:
            z = model(x)
    finally:
        for h in hs:
            h.remove()
    sel = z.gather(1, cls.view(-1, 1)).sum()
    wrt = [x] + [feats[n] for n in feats] + list((extra or {}).values())
    grads = torch.autograd.grad(sel, wrt)
    g_x = grads[0]
    g_f = OrderedDict((n, g) for n, g in zip(feats, grads[1:1 + len(feats)]))
    g_e = OrderedDict((n, g) for n, g in zip((extra or {}), grads[1 + len(feats):]))
    return z.detach(), g_x, OrderedDict((n, f.detach()) for n, f in feats.items()), g_f, g_e


def f32(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).contiguous().numpy()


def i64(t) -> np.ndarray:
    return np.asarray(t, dtype=np.int64)


def describe(tensors: "OrderedDict[str, np.ndarray]", words: Dict[str, str]) -> "OrderedDict[str, dict]":
    out = OrderedDict()
    for k, v in tensors.items():
        out[k] = OrderedDict(dtype=str(v.dtype), shape=list(v.shape), description=words[k])
    return out


def top2_gap(z: torch.Tensor) -> float:
    s = z.sort(dim=1, descending=True).values
    return float((s[:, 0] - s[:, 1]).min())


# ----------------------------------------------------------------------------------------------------------------
# default model
# ----------------------------------------------------------------------------------------------------------------
def load_default_from_onnx(path: str):
    """Rebuilds the inference-form FashionBcosCNN from the initializers of the shipped model.onnx."""
    import onnx
    from onnx import numpy_helper
    from train_default import FashionBcosCNN

    model = to_inference_form(FashionBcosCNN())
    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    sd = model.state_dict()
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, BcosConv2d):
                mod.weight.copy_(torch.from_numpy(inits.pop(f"{name}.weight").copy()))
                mod.divisor.fill_(1.0)  # folded into the weights at export
    if inits:
        raise RuntimeError(f"unused initializers in {path}: {sorted(inits)}")
    del sd
    return model.eval()


def make_default(index: dict) -> None:
    from train_default import LOGIT_BIAS, SAE_LAYERS

    onnx_path = os.path.join(DEFAULT_DIR, "model.onnx")
    card = json.load(open(os.path.join(DEFAULT_DIR, "card.json")))
    sha = sha256_file(onnx_path)
    assert card["sha256"] == sha, "card.json does not match model.onnx"
    model = load_default_from_onnx(onnx_path)

    xte = read_idx(f"{FASHION_DIR}/t10k-images-idx3-ubyte.gz")
    yte = read_idx(f"{FASHION_DIR}/t10k-labels-idx1-ubyte.gz")
    # fixed indices: the first 3 test images of every class, then the first 2 misclassified ones not yet taken
    idx = sorted(int(i) for c in range(10) for i in np.flatnonzero(yte == c)[:3])
    with torch.no_grad():
        pred_all = torch.cat([model(encode2(xte[i:i + 1000])).argmax(1) for i in range(0, 10000, 1000)]).numpy()
    wrong = [int(i) for i in np.flatnonzero(pred_all != yte) if int(i) not in idx][:2]
    idx = idx + wrong
    assert len(idx) == 32

    x32 = encode2(xte[idx])                      # float32 input, exactly what the app feeds the graph
    m64 = copy.deepcopy(model).double().eval()
    x = x32.double()
    taps = OrderedDict((n, getattr(m64, n)) for n in SAE_LAYERS)
    with torch.no_grad():
        z = m64(x)
    order = z.argsort(dim=1, descending=True)
    pred, other = order[:, 0], order[:, 1]
    z, w_pred, feats, g_feats, _ = explain(m64, x, pred, taps)
    _, w_other, _, _, _ = explain(m64, x, other)
    _, w_full, _, _, _ = explain(m64, x, pred, explain_mode=False)

    zp = z.gather(1, pred.view(-1, 1)).squeeze(1)
    comp = float(((x * w_pred).sum(dim=(1, 2, 3)) + LOGIT_BIAS - zp).abs().max())
    comp_layers = {n: float(((feats[n] * g_feats[n]).sum(dim=tuple(range(1, feats[n].dim()))) + LOGIT_BIAS
                             - zp).abs().max()) for n in feats}
    full_gap = float((w_full - w_pred).abs().max())
    print(f"default golden: completeness {comp:.2e}, at layers {comp_layers}, |full - explanation| {full_gap:.3f}, "
          f"top-2 gap {top2_gap(z):.4f}")

    t = OrderedDict()
    t["indices"] = i64(idx)
    t["input"] = x32.numpy()
    t["labels"] = i64(yte[idx])
    t["logits"] = f32(z)
    t["pred"] = i64(pred)
    t["other"] = i64(other)
    for n in SAE_LAYERS:
        t[f"features.{n}"] = f32(feats[n])
    t["wx.pred"] = f32(w_pred)
    t["wx.other"] = f32(w_other)
    t["wxFull.pred"] = f32(w_full)
    for n in SAE_LAYERS:
        t[f"grad.{n}"] = f32(g_feats[n])
    words = {
        "indices": "indices into the Fashion-MNIST test set (data/t10k-*): the first 3 images of every class in "
                   "index order, then the first 2 misclassified test images not already included",
        "input": "the graph input: [x, 1-x] with x = uint8/255 in float32, NCHW",
        "labels": "true class of each image",
        "logits": "model output including the constant logit bias (float64 PyTorch, stored as float32)",
        "pred": "argmax of logits (the predicted class)",
        "other": "the runner-up class (second-largest logit), a second class to explain",
        "wx.pred": "explanation-mode input gradient W(x) = d logit[pred] / d input (dynamic factors detached); "
                   "sum(input * wx.pred) + logitBias = logits[pred]",
        "wx.other": "explanation-mode input gradient of logit[other]",
        "wxFull.pred": "the FULL (nothing detached) input gradient of logit[pred]. It ALSO satisfies "
                       "sum(input * g) + logitBias ~= logit (Euler: the network is positively 1-homogeneous up "
                       "to the 1e-6 inside the patch norms) but differs from wx.pred: completeness alone does not "
                       "prove that the right factors were frozen",
    }
    for n in SAE_LAYERS:
        words[f"features.{n}"] = f"the block output tensor named '{n}' in model.onnx (NCHW)"
        words[f"grad.{n}"] = (f"explanation-mode gradient of logit[pred] w.r.t. features.{n}; "
                              f"sum(features.{n} * grad.{n}) + logitBias = logits[pred] (completeness at the layer)")
    out_dir = os.path.join(FIX, "fashion-mnist-bcos")
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "golden.safetensors")
    write_safetensors(path, t, {"model": "models/fashion-mnist-bcos/model.onnx", "modelSha256": sha})

    # float32 ORT cross-check of the same images
    ort = ort_run(onnx_path, x32.numpy(), extra_outputs=list(SAE_LAYERS))
    ort_diff = None
    if ort is not None:
        ort_diff = {k: float(np.abs(ort[k] - (t["logits"] if k == "logits" else t[f"features.{k}"])).max())
                    for k in ["logits"] + list(SAE_LAYERS)}
        print("default golden vs onnxruntime (float32):", ort_diff)

    index["files"][rel(path).replace("test/fixtures/", "")] = OrderedDict(
        model="models/fashion-mnist-bcos/model.onnx", modelSha256=sha, logitBias=LOGIT_BIAS,
        images="32 Fashion-MNIST test images (see 'indices')",
        checks=OrderedDict(completenessWorstAbs=comp, completenessAtLayersWorstAbs=comp_layers,
                           explanationVsFullGradientMaxAbs=full_gap, top2LogitGapMin=top2_gap(z),
                           onnxruntimeFloat32MaxAbsDiff=ort_diff),
        tensors=describe(t, words))


# ----------------------------------------------------------------------------------------------------------------
# structure fixtures
# ----------------------------------------------------------------------------------------------------------------
def arch_boundaries(name: str, model: nn.Module) -> List[Tuple[str, str]]:
    spec = ARCHS[name]
    if spec["boundaries"] is not None:
        return spec["boundaries"]
    depth = len(model[0].transformer)
    return [(f"encoder_{i}", f"0.transformer.encoder_{i}") for i in range(depth)]


def arch_card_layers(name: str, model: nn.Module) -> List[str]:
    spec = ARCHS[name]
    if spec["card_layers"] is not None:
        return spec["card_layers"]
    depth = len(model[0].transformer)
    return [f"encoder_{i}" for i in range(max(0, depth - 3), depth)]


def build_structure(name: str, full: bool, images_u8: np.ndarray, seed: int) -> nn.Module:
    spec = ARCHS[name]
    torch.manual_seed(seed)
    model = (spec["full"] if full else spec["small"])()
    randomise_norms(model, seed + 1)
    divs = calibrate_divisors(model, encode6(images_u8))
    print(f"{name}{' (full width)' if full else ''}: {len(divs)} B-cos layers calibrated, divisors "
          f"{min(divs):.3g}..{max(divs):.3g}", flush=True)
    if not full and os.path.isdir(BENCH):
        # the training-form weights, as a user's checkpoint would hold them (input for testing export.py)
        torch.save({"state_dict": copy.deepcopy(model.state_dict())},
                   os.path.join(BENCH, f"structure-{name}-train.pt"))
    return to_inference_form(model).eval()


def structure_card(name: str, model: nn.Module, onnx_path: str, full: bool, seed: int, shapes: Dict[str, list]):
    spec = ARCHS[name]
    n_params = int(sum(p.numel() for p in model.parameters()))
    return OrderedDict(
        format=1, name=f"structure-{name}{'-full' if full else ''}",
        displayName=f"{spec['title']} ({'full width' if full else 'small width'}, random weights)",
        model="model.onnx", sha256=sha256_file(onnx_path),
        architecture=(spec["full_desc"] if full else spec["small_desc"]) + (
            " Randomly initialised (not trained): uncentred-norm and LayerNorm gains uniform in [0.5, 1.5], fixed "
            "per-layer divisors calibrated on the fixture images so activations stay O(1), then folded into the "
            "pre-normalised weights. For structure tests only: the classes are meaningless."),
        parameters=n_params,
        input=OrderedDict(name="input", shape=[None, 6, 224, 224], encoding="add-inverse-outside"),
        output=OrderedDict(name="logits", logitBias=-math.log(999)),
        preprocessing=OrderedDict(colorSpace="rgb", resize=256, centerCrop=224, scale="0-1", addInverse=True),
        classes=imagenet_classes(),
        layers=[OrderedDict(name=l, tensor=l, shape=shapes[l]) for l in arch_card_layers(name, model)],
        training=OrderedDict(recipe="models/recipes/make_fixtures.py", seed=seed, epochs=0,
                             optimizer="none (random initialisation with calibrated divisors)", seconds=0),
    )


def make_structure(name: str, images_u8: np.ndarray, index: dict, seed: int) -> None:
    spec = ARCHS[name]
    t0 = time.time()
    model = build_structure(name, False, images_u8, seed)
    bounds = arch_boundaries(name, model)
    out_dir = os.path.join(FIX, "structures", name)
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "model.onnx")
    x32 = encode6(images_u8[:2])
    export_onnx(BoundaryTap(model, bounds).eval(), x32, onnx_path, [b for b, _ in bounds])
    summ = assert_clean_ops(onnx_path, STRUCT_OPS)
    print(f"{name}: {os.path.getsize(onnx_path) / 1e6:.2f} MB, {summ['nodes']} nodes, ops {summ['ops']}")

    # golden in float64
    m64 = copy.deepcopy(model).double().eval()
    x = x32.double()
    mods = dict(m64.named_modules())
    gl = spec["golden_layer"]
    taps = OrderedDict([(gl, mods[dict(bounds)[gl]])])
    with torch.no_grad():
        z = m64(x)
        shapes = {}
        feats_all = {}
        hs = [mods[p].register_forward_hook(lambda _m, _i, o, n=n: feats_all.__setitem__(n, o)) for n, p in bounds]
        m64(x[:1])
        for h in hs:
            h.remove()
        shapes = {n: list(f.shape[1:]) for n, f in feats_all.items()}
    pred = z.argmax(1)
    extra = None
    pe = None
    if name == "vit":
        pe = m64[0].pos_embedding.clone().requires_grad_(True)
        m64[0].pos_embedding = pe
        extra = {"pos_embedding": pe}
    z, w, feats, g_feats, g_extra = explain(m64, x, pred, taps, extra=extra)
    _, w_full, _, _, _ = explain(m64, x, pred, explain_mode=False, extra=None)
    bias = -math.log(999)
    zp = z.gather(1, pred.view(-1, 1)).squeeze(1)
    contrib_x = (x * w).sum(dim=(1, 2, 3))
    pe_term = torch.zeros_like(zp)
    if pe is not None:
        # the constant positional embedding is shared by the batch: its contribution per image needs one backward
        # pass per image (the batch gradient would mix the images)
        terms = []
        for b in range(x.shape[0]):
            _, _, _, _, ge = explain(m64, x[b:b + 1], pred[b:b + 1], extra={"pos_embedding": pe})
            terms.append((pe * ge["pos_embedding"]).sum())
        pe_term = torch.stack(terms).detach()
    comp = float((contrib_x + pe_term + bias - zp).abs().max())
    f = feats[gl]
    comp_layer = float(((f * g_feats[gl]).sum(dim=tuple(range(1, f.dim()))) + bias - zp).abs().max())
    gap = float((w_full - w).abs().max())
    print(f"{name}: completeness {comp:.2e} (pe term {pe_term.tolist() if pe is not None else 0}), at {gl} "
          f"{comp_layer:.2e}, |full - explanation| {gap:.3g}, top-2 gap {top2_gap(z):.4g}", flush=True)

    t = OrderedDict()
    t["logits"] = f32(z)
    t["pred"] = i64(pred)
    t[f"features.{gl}"] = f32(f)
    t["wx.pred"] = f32(w[:1])  # image 0 only: 1.2 MB per image at 224x224x6 (fixture size budget)
    t[f"grad.{gl}"] = f32(g_feats[gl])
    t["contribution.pred"] = f32(contrib_x)
    words = {
        "logits": "model output including the constant logit bias -log(999)",
        "pred": "argmax of logits",
        f"features.{gl}": f"the boundary tensor named '{gl}' in model.onnx "
                          f"({'[N, tokens, dim]' if name == 'vit' else 'NCHW'})",
        "wx.pred": "explanation-mode input gradient W(x) = d logit[pred] / d input, for image 0 ONLY "
                   "([1, 6, 224, 224]; image 1 is covered by contribution.pred)",
        f"grad.{gl}": f"explanation-mode gradient of logit[pred] w.r.t. features.{gl}",
        "contribution.pred": "sum over the input of input * W(x) for logit[pred], per image (both images)",
    }
    if pe is not None:
        t["posEmbContribution.pred"] = f32(pe_term)
        words["posEmbContribution.pred"] = (
            "contribution of the constant positional embedding: sum(pos_embedding * d logit[pred]/d pos_embedding)"
            " per image. A constant enters on the path, so completeness needs this bias term: "
            "contribution.pred + posEmbContribution.pred + logitBias = logits[pred]. The same holds at the layer "
            f"'{gl}' without it: sum(features * grad) + logitBias = logits[pred], since the embedding is added "
            "before the encoders")
        words["contribution.pred"] += (" (does NOT equal logit - logitBias here: the positional embedding "
                                       "contributes too)")
    else:
        words["contribution.pred"] += "; contribution.pred + logitBias = logits[pred]"
    path = os.path.join(out_dir, "golden.safetensors")
    sha = sha256_file(onnx_path)
    write_safetensors(path, t, {"model": rel(onnx_path), "modelSha256": sha,
                                "images": "test/fixtures/structures/images.safetensors"})

    ort = ort_run(onnx_path, x32.numpy(), extra_outputs=[gl])
    ort_diff = None
    if ort is not None:
        ort_diff = {"logits": float(np.abs(ort["logits"] - t["logits"]).max()),
                    gl: float(np.abs(ort[gl] - t[f"features.{gl}"]).max())}
        print(f"{name} golden vs onnxruntime (float32):", ort_diff)
    card = structure_card(name, model, onnx_path, False, seed, shapes)
    write_json(os.path.join(out_dir, "card.json"), card)

    index["files"][rel(path).replace("test/fixtures/", "")] = OrderedDict(
        model=rel(onnx_path), modelSha256=sha, logitBias=-math.log(999),
        images="the 2 images of structures/images.safetensors",
        boundaries=OrderedDict((n, OrderedDict(modulePath=p, shape=shapes[n])) for n, p in bounds),
        opList=summ["ops"],
        constantOnPath=(name == "vit"),
        checks=OrderedDict(completenessWorstAbs=comp, completenessAtLayerWorstAbs=comp_layer,
                           explanationVsFullGradientMaxAbs=gap, top2LogitGapMin=top2_gap(z),
                           onnxruntimeFloat32MaxAbsDiff=ort_diff),
        tensors=describe(t, words))
    print(f"{name}: done in {time.time() - t0:.0f} s", flush=True)


def make_structures(index: dict) -> None:
    imgs, src_idx = synthetic_rgb(8)
    d = os.path.join(FIX, "structures")
    os.makedirs(d, exist_ok=True)
    t = OrderedDict(image=imgs[:2])
    write_safetensors(os.path.join(d, "images.safetensors"), t)
    index["files"]["structures/images.safetensors"] = OrderedDict(
        tensors=describe(t, {"image": "2 RGB uint8 images [N, 3, 224, 224]; the graph input is "
                                      "[x, 1-x] (6 channels) with x = image/255 in float32"}),
        source=f"synthetic: Fashion-MNIST test images {src_idx[:2]} upsampled bilinearly to 224 and coloured "
               f"(make_fixtures.synthetic_rgb); calibration also used images {src_idx[2:8]}")
    for i, name in enumerate(ARCHS):
        make_structure(name, imgs, index, SEED + 100 * i)


def make_full_width() -> None:
    imgs, _ = synthetic_rgb(4)
    for i, name in enumerate(ARCHS):
        t0 = time.time()
        model = build_structure(name, True, imgs, SEED + 100 * i)
        bounds = arch_boundaries(name, model)
        out_dir = os.path.join(BENCH, name)
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "model.onnx")
        export_onnx(BoundaryTap(model, bounds).eval(), encode6(imgs[:1]), path, [b for b, _ in bounds])
        summ = assert_clean_ops(path, STRUCT_OPS)
        with torch.no_grad():
            feats = {}
            mods = dict(model.named_modules())
            hs = [mods[p].register_forward_hook(lambda _m, _i, o, n=n: feats.__setitem__(n, o)) for n, p in bounds]
            z = model(encode6(imgs[:2]))
            for h in hs:
                h.remove()
        shapes = {n: list(f.shape[1:]) for n, f in feats.items()}
        ort = ort_run(path, encode6(imgs[:2]).numpy())
        diff = None if ort is None else float(np.abs(ort["logits"] - z.numpy()).max())
        write_json(os.path.join(out_dir, "card.json"), structure_card(name, model, path, True, SEED + 100 * i,
                                                                      shapes))
        print(f"{name} full width: {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M params, "
              f"{os.path.getsize(path) / 1e6:.1f} MB, {summ['nodes']} nodes, ops {summ['ops']}, "
              f"ORT vs torch logits {diff}, {time.time() - t0:.0f} s", flush=True)


# ----------------------------------------------------------------------------------------------------------------
# SAE conversion fixture
# ----------------------------------------------------------------------------------------------------------------
def make_sae(index: dict) -> None:
    """A FaCT-format SAE checkpoint (random, bias-free TopK, unit-norm decoder columns) for the default model's
    layer4, converted by export.py, plus a small golden of the SAE forward pass."""
    import export as exporter

    C, K, k = 128, 256, 8
    g = torch.Generator().manual_seed(SEED + 7)
    dec = torch.randn(C, K, generator=g, dtype=torch.float64)
    dec = dec / dec.norm(dim=0, keepdim=True)
    enc = dec.t().clone() + 0.05 * torch.randn(K, C, generator=g, dtype=torch.float64)
    ck = {"encoder.weight": enc.float(), "decoder.weight": dec.float(), "k": torch.tensor(k),
          "threshold": torch.tensor(-1.0)}
    os.makedirs(BENCH, exist_ok=True)
    pt = os.path.join(BENCH, "fact-sae-layer4.pt")
    torch.save(ck, pt)
    out_dir = os.path.join(FIX, "fashion-mnist-bcos", "sae-layer4")
    exporter.convert_sae(pt, out_dir, layer="layer4", model_onnx=os.path.join(DEFAULT_DIR, "model.onnx"))
    st, _ = read_safetensors(os.path.join(out_dir, "sae.safetensors"))
    golden, _ = read_safetensors(os.path.join(FIX, "fashion-mnist-bcos", "golden.safetensors"))
    f = torch.from_numpy(golden["features.layer4"][:1]).double()              # [1, 128, 7, 7]
    xv = f.permute(0, 2, 3, 1).reshape(-1, C)                                   # [49, 128]: one vector per location
    W_enc = torch.from_numpy(st["encoder.weight"]).double()
    W_dec = torch.from_numpy(st["decoder.weight"]).double()
    pre = torch.relu(xv @ W_enc.t())
    top = pre.topk(k, dim=1)
    u = torch.zeros_like(pre).scatter(1, top.indices, top.values)
    xhat = u @ W_dec.t()
    t = OrderedDict(x=f32(xv), u=f32(u), xhat=f32(xhat))
    path = os.path.join(out_dir, "sae-golden.safetensors")
    write_safetensors(path, t)
    index["files"][rel(os.path.join(out_dir, "sae.safetensors")).replace("test/fixtures/", "")] = OrderedDict(
        description=("converted by models/recipes/export.py sae from a random FaCT-format checkpoint "
                     "(encoder.weight [K,C], decoder.weight [C,K], k, threshold) with unit-norm decoder columns "
                     f"and W_enc = W_dec^T + noise; K={K}, C={C}, k={k}, for layer4 of the default model"),
        tensors=describe(st, {"encoder.weight": "encoder weight [K, C]: pre = ReLU(W_enc x)",
                              "decoder.weight": "decoder weight [C, K], unit-norm columns: xhat = W_dec u"}))
    index["files"][rel(path).replace("test/fixtures/", "")] = OrderedDict(
        description="forward pass of that SAE (float64, stored float32) on the layer4 features of the first "
                    "default golden image, flattened NCHW -> [H*W, C] (row = h*7 + w)",
        tensors=describe(t, {"x": "input vectors [49, 128]",
                             "u": "codes: TopK_k(ReLU(W_enc x)), the k largest kept, the rest 0 [49, 256]",
                             "xhat": "reconstruction W_dec u [49, 128] (no bias, error not added back)"}))


# ----------------------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append", choices=["default", "structures", "sae"])
    ap.add_argument("--full-width", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(BENCH, exist_ok=True)
    if args.full_width:
        make_full_width()
        # and the raw-export patterns (plain torch.onnx.export, as B-cos-v2's authors export) at full width
        import export_patterns
        for name in export_patterns.PATTERNS:
            export_patterns.make(name, True)
        return
    index_path = os.path.join(FIX, "index.json")
    index = json.load(open(index_path)) if os.path.exists(index_path) else OrderedDict()
    index["format"] = 1
    index["generator"] = "models/recipes/make_fixtures.py"
    index["conventions"] = (
        "All files are safetensors (8-byte little-endian header length, JSON header, little-endian data). Golden "
        "values were computed with PyTorch 1.13 autograd in float64 (the model cast to double, its float32 "
        "weights exact) from the float32 input, then stored as float32; class indices are int64. 'Explanation "
        "mode' detaches every dynamic factor: the |lin|/norm scale of each B-cos layer, norm variances, and "
        "attention q.k. Tensor names with a dot: features.<layer>, grad.<layer>, wx.<class>.")
    index.setdefault("files", OrderedDict())
    only = set(args.only or ["default", "structures", "sae"])
    if "default" in only:
        make_default(index)
    if "structures" in only:
        make_structures(index)
    if "sae" in only:
        make_sae(index)
    write_json(index_path, index)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(FIX) for f in fs)
    print(f"test/fixtures: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
