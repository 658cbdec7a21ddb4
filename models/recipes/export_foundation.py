"""Exports the C² foundation model, DINOv2 ViT-S/14, to ONNX for the app (optionally with a LoftUp or AnyUp
feature upsampler), with the JSON spec that the app's FoundationModel reads beside each ONNX file.

NOT EXERCISED HERE: nothing can be downloaded on the machine these recipes were written on, so the code paths that
load the real DINOv2 / LoftUp / AnyUp code and weights have never run. What did run is `--selftest`: the same export,
check and spec code on randomly initialised stand-ins with the same interfaces (a small ViT with DINOv2's
`forward_features(x)["x_norm_patchtokens"]` and `interpolate_pos_encoding`, and upsamplers with LoftUp's and AnyUp's
calling conventions), plus a check that the app's FoundationModel accepts the output layouts.

What C² needs (FaCT, fact/analysis/dino_consistency.py): DINOv2 ViT-S/14 patch tokens (`x_norm_patchtokens`) of the
ImageNet-normalised 224 x 224 RGB image: [N, 256, 384] (a 16 x 16 grid of 14-pixel patches, no class token),
upsampled to 224 x 224 by LoftUp (`torch.hub.load('andrehuang/loftup', 'loftup_dinov2s')`: a ChannelNorm followed by
LoftUp). FaCT's minimal C² script uses AnyUp (`wimmerth/anyup`) instead. The app reads an ONNX whose output is
N x T x D tokens on a square grid (a leading class token is dropped) or an N x D x h x w map, and upsamples it
bilinearly itself.

Outputs (in --out, default ./foundation-export):
  dinov2-vits14.onnx / .json          input `image` [N, 3, 224, 224] = (x - mean) / std, x in [0, 1] RGB;
                                      output `patch_tokens` [N, 256, 384]. Spec: size 224, channels 3, ImageNet
                                      mean/std. The positional embedding is interpolated once to the 16 x 16 grid
                                      and stored as a constant, so the file only takes 224 x 224 inputs.
  with --upsampler loftup|anyup:
  <up>-upsampler.onnx / .json         the upsampler alone, for tools that want it (the app does not read this file
                                      yet). Inputs:
                                        `features` [N, 384, 16, 16]  the patch tokens as a map (token q -> row
                                                                     q // 16, column q % 16), NOT channel-normalised
                                                                     (LoftUp's hub model applies its ChannelNorm);
                                        `image`    [N, 3, 224, 224]  the same ImageNet-normalised image DINOv2 saw.
                                      Output `features_hr` [N, 384, 224, 224].
                                      Calling conventions of the PyTorch modules (note the argument order):
                                        LoftUp (loftup_dinov2s = ChannelNorm(384) + LoftUp(384, lr_size=16)):
                                          model(features, image) -> [N, 384, 224, 224]
                                        AnyUp (anyup): model(image, features) -> features at the image's
                                          resolution [N, 384, 224, 224]
  dinov2-vits14-<up>.onnx / .json     DINOv2 and the upsampler in ONE graph: input `image` as above, output
                                      `features` [N, 384, 224, 224]; the app can use this one directly as the
                                      foundation model (it then has nothing left to upsample). Note the size: 384 x
                                      224 x 224 floats = 77 MB per image, and both upsamplers attend over all
                                      224 x 224 positions (slow on a CPU).

Where the code and weights come from (in this order; nothing is downloaded: HF_HUB_OFFLINE=1 is set):
  DINOv2:  --dinov2-repo PATH (a clone of facebookresearch/dinov2, torch.hub source='local'), else the torch hub
           cache (<torch.hub.get_dir()>/facebookresearch_dinov2_main, left there by an earlier
           torch.hub.load('facebookresearch/dinov2', 'dinov2_vits14')). Weights: --dinov2-weights FILE (a state
           dict such as dinov2_vits14_pretrain.pth), else the hub code's own loader, which finds
           <hub dir>/checkpoints/dinov2_vits14_pretrain.pth in the cache.
  LoftUp:  --upsampler-repo PATH (a clone of andrehuang/loftup), else <hub dir>/andrehuang_loftup_main; weights:
           --upsampler-weights FILE (its pytorch_model.bin), else the hub code's loader (hf_hub_download from the
           Hugging Face cache of haiwen/loftup-dinov2s).
  AnyUp:   --upsampler-repo PATH (a clone of wimmerth/anyup), else <hub dir>/wimmerth_anyup_main; weights:
           --upsampler-weights FILE, else the hub code's loader (its own cache).
DINOv2's and the upsamplers' code may need a newer torch than Debian's 1.13 (e.g. for
F.scaled_dot_product_attention) and their own dependencies (LoftUp: einops, huggingface_hub); use a pip-installed
torch >= 2.1 for them. The ONNX export uses opset 17; the checks need onnx and (optionally) onnxruntime-node.

Dependencies for --selftest (Debian bookworm, as root):
    apt-get update
    apt-get install -y --no-install-recommends python3-torch python3-onnx python3-numpy
Run:
    /usr/bin/python3 models/recipes/export_foundation.py --selftest          (stand-ins, about a minute)
    python3 models/recipes/export_foundation.py --out DIR [--upsampler loftup|anyup] [--dinov2-repo PATH]
        [--dinov2-weights FILE] [--upsampler-repo PATH] [--upsampler-weights FILE]
Then point the app at DIR/dinov2-vits14.onnx (fact consistency MODEL --sae CKPT --foundation DIR/dinov2-vits14.onnx,
or "foundation": "<path relative to the card>" in a model's card.json).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
from collections import OrderedDict
from typing import Optional, Tuple

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the network

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, onnx_summary, ort_run, sha256_file, write_json  # noqa: E402

SIZE = 224
PATCH = 14
GRID = SIZE // PATCH          # 16
DIM = 384
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CALL_ORDER = {"loftup": "features,image", "anyup": "image,features"}


# ----------------------------------------------------------------------------------------------------------------
# loading the real models (not exercised here)
# ----------------------------------------------------------------------------------------------------------------
def _hub_dir(name: str) -> Optional[str]:
    d = os.path.join(torch.hub.get_dir(), name)
    return d if os.path.isdir(d) else None


def _load_state(path: str):
    sd = torch.load(path, map_location="cpu")
    for key in ("state_dict", "model", "teacher"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
            break
    return OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in sd.items())


def load_dinov2(repo: Optional[str], weights: Optional[str]) -> nn.Module:
    src = repo or _hub_dir("facebookresearch_dinov2_main")
    if src is None:
        raise SystemExit("DINOv2's code was not found: pass --dinov2-repo PATH (a clone of facebookresearch/dinov2) "
                         f"or run torch.hub.load('facebookresearch/dinov2', 'dinov2_vits14') once where a network "
                         f"is available (it caches to {torch.hub.get_dir()}).")
    model = torch.hub.load(src, "dinov2_vits14", source="local", pretrained=weights is None)
    if weights:
        missing, unexpected = model.load_state_dict(_load_state(weights), strict=False)
        if missing or unexpected:
            raise SystemExit(f"{weights} does not fit dinov2_vits14: missing {missing[:6]}, unexpected {unexpected[:6]}")
    return model.eval()


def load_upsampler(kind: str, repo: Optional[str], weights: Optional[str]) -> nn.Module:
    entry, cache = {"loftup": ("loftup_dinov2s", "andrehuang_loftup_main"),
                    "anyup": ("anyup", "wimmerth_anyup_main")}[kind]
    src = repo or _hub_dir(cache)
    if src is None:
        raise SystemExit(f"{kind}'s code was not found: pass --upsampler-repo PATH or fill the torch hub cache "
                         f"({torch.hub.get_dir()}/{cache}) where a network is available.")
    model = torch.hub.load(src, entry, source="local", pretrained=weights is None)
    if weights:
        missing, unexpected = model.load_state_dict(_load_state(weights), strict=False)
        if missing or unexpected:
            raise SystemExit(f"{weights} does not fit {entry}: missing {missing[:6]}, unexpected {unexpected[:6]}")
    return model.eval()


# ----------------------------------------------------------------------------------------------------------------
# export wrappers
# ----------------------------------------------------------------------------------------------------------------
def freeze_pos_encoding(vit: nn.Module, example: torch.Tensor) -> None:
    """DINOv2 interpolates its 37 x 37 positional embedding (bicubic) to the input's grid on every call. Runs one
    eager forward pass and replaces `interpolate_pos_encoding` by the tensor it returned, so the export holds the
    16 x 16 embedding as a constant (no Resize on weights, no shape arithmetic) and takes 224 x 224 inputs only."""
    if not hasattr(vit, "interpolate_pos_encoding"):
        return
    original = vit.interpolate_pos_encoding
    cache = {}

    def frozen(x, w, h):
        key = (int(x.shape[1]), int(w), int(h))
        if key not in cache:
            if torch.jit.is_tracing():
                raise RuntimeError(f"positional embedding for {key} was not prepared before the export")
            cache[key] = original(x, w, h).detach()
        return cache[key].to(x.dtype)

    vit.interpolate_pos_encoding = frozen
    with torch.no_grad():
        vit.forward_features(example)


class PatchTokens(nn.Module):
    """image [N, 3, 224, 224] -> x_norm_patchtokens [N, 256, 384]."""

    def __init__(self, vit: nn.Module) -> None:
        super().__init__()
        self.vit = vit

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.vit.forward_features(image)["x_norm_patchtokens"]


def tokens_to_map(tokens: torch.Tensor) -> torch.Tensor:
    """[N, 256, 384] -> [N, 384, 16, 16] (token q at row q // 16, column q % 16), with constant shapes."""
    return tokens.transpose(1, 2).reshape(-1, DIM, GRID, GRID)


class Upsampler(nn.Module):
    """(features [N, 384, 16, 16], image [N, 3, 224, 224]) -> [N, 384, 224, 224], whatever the module's order."""

    def __init__(self, up: nn.Module, order: str) -> None:
        super().__init__()
        self.up = up
        self.order = order

    def forward(self, features: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        if self.order == "features,image":
            return self.up(features, image)
        return self.up(image, features)


class TokensThenUpsample(nn.Module):
    """image -> DINOv2 patch tokens -> map -> upsampler guided by the same image -> [N, 384, 224, 224]."""

    def __init__(self, tokens: PatchTokens, up: Upsampler) -> None:
        super().__init__()
        self.tokens = tokens
        self.up = up

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.up(tokens_to_map(self.tokens(image)), image)


def export(module: nn.Module, inputs: Tuple[torch.Tensor, ...], input_names, output_name: str, path: str,
           output_shape: Tuple[int, ...], opset: int = 17) -> dict:
    """torch.onnx.export with a dynamic batch; the output's other dimensions (which the exporter may leave symbolic
    after a Slice or Transpose) are then written into the graph as the fixed `output_shape` checked in PyTorch."""
    import onnx

    with torch.no_grad():
        got = module(*inputs)
        torch.onnx.export(module, inputs, path, opset_version=opset, input_names=list(input_names),
                          output_names=[output_name], do_constant_folding=True,
                          dynamic_axes={**{n: {0: "N"} for n in input_names}, output_name: {0: "N"}})
    if tuple(got.shape[1:]) != tuple(output_shape):
        raise SystemExit(f"{output_name}: PyTorch gives {list(got.shape)}, expected [N, {', '.join(map(str, output_shape))}]")
    m = onnx.load(path)
    m.producer_name = "fact-vscode-recipes"
    for o in m.graph.output:
        if o.name == output_name:
            dims = o.type.tensor_type.shape.dim
            for d, v in zip(list(dims)[1:], output_shape):
                d.ClearField("dim_param")
                d.dim_value = int(v)
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return onnx_summary(path)


def check_against_torch(module: nn.Module, inputs: Tuple[torch.Tensor, ...], path: str, output_name: str) -> Optional[float]:
    """Max |ORT - PyTorch| on `inputs` (single-input graphs only; None when onnxruntime-node is not found)."""
    if len(inputs) != 1:
        return None
    with torch.no_grad():
        ref = module(*inputs).numpy()
    out = ort_run(path, inputs[0].numpy(), output_names=(output_name,))
    if out is None:
        return None
    if list(out[output_name].shape) != list(ref.shape):
        raise RuntimeError(f"{path}: ORT output {out[output_name].shape} vs PyTorch {ref.shape}")
    return float(np.abs(out[output_name] - ref).max())


def spec(output: str, description: str, **extra) -> OrderedDict:
    return OrderedDict(size=SIZE, channels=3, mean=IMAGENET_MEAN, std=IMAGENET_STD, input="image", output=output,
                       description=description, **extra)


def export_all(vit: nn.Module, up: Optional[nn.Module], kind: Optional[str], out: str, source: dict,
               check_batch: int = 2) -> dict:
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    image = ((torch.rand(check_batch, 3, SIZE, SIZE, generator=g) - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
             / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
    freeze_pos_encoding(vit, image[:1])
    tok = PatchTokens(vit).eval()
    with torch.no_grad():
        t = tok(image)
    if list(t.shape[1:]) != [GRID * GRID, DIM]:
        raise SystemExit(f"patch tokens have shape {list(t.shape)}, expected [N, {GRID * GRID}, {DIM}] "
                         f"(is this ViT-S/14 at {SIZE}x{SIZE}?)")
    results = {}
    path = os.path.join(out, "dinov2-vits14.onnx")
    summ = export(tok, (image[:1],), ["image"], "patch_tokens", path, (GRID * GRID, DIM))
    diff = check_against_torch(tok, (image,), path, "patch_tokens")
    write_json(path[:-5] + ".json", spec(
        "patch_tokens",
        "DINOv2 ViT-S/14 patch tokens (x_norm_patchtokens, no class token) of the ImageNet-normalised 224x224 RGB "
        "image: [N, 256, 384], a 16x16 grid of 14-pixel patches in row-major order. The foundation model of FaCT's "
        "C2 score; exported by models/recipes/export_foundation.py.",
        tokens=GRID * GRID, grid=GRID, dim=DIM, patchSize=PATCH, source=source, sha256=sha256_file(path),
        checks=OrderedDict(onnxruntimeMaxAbsDiff=diff)))
    results["dinov2"] = dict(path=path, nodes=summ["nodes"], ops=summ["ops"], outputs=summ["outputs"], ortDiff=diff,
                             mb=os.path.getsize(path) / 1e6)
    print(f"wrote {path}: {results['dinov2']['mb']:.1f} MB, {summ['nodes']} nodes, outputs {summ['outputs']}, "
          f"ORT vs torch max |diff| {diff}", flush=True)
    if up is None:
        return results

    order = CALL_ORDER[kind]
    ups = Upsampler(up, order).eval()
    fmap = tokens_to_map(t)
    with torch.no_grad():
        hr = ups(fmap[:1], image[:1])
    if list(hr.shape) != [1, DIM, SIZE, SIZE]:
        raise SystemExit(f"the {kind} upsampler returned {list(hr.shape)}, expected [1, {DIM}, {SIZE}, {SIZE}]")
    up_path = os.path.join(out, f"{kind}-upsampler.onnx")
    summ = export(ups, (fmap[:1], image[:1]), ["features", "image"], "features_hr", up_path, (DIM, SIZE, SIZE))
    write_json(up_path[:-5] + ".json", OrderedDict(
        kind="upsampler", upsampler=kind, description=(
            f"{kind} feature upsampler for DINOv2 ViT-S/14 patch features (not read by the app yet). Inputs: "
            "'features' [N, 384, 16, 16] = the patch tokens [N, 256, 384] as a map (token q at row q // 16, column "
            "q % 16), not channel-normalised; 'image' [N, 3, 224, 224] = the ImageNet-normalised image DINOv2 saw. "
            "Output 'features_hr' [N, 384, 224, 224]."),
        inputs=OrderedDict(features=[None, DIM, GRID, GRID], image=[None, 3, SIZE, SIZE]),
        output=OrderedDict(features_hr=[None, DIM, SIZE, SIZE]), mean=IMAGENET_MEAN, std=IMAGENET_STD,
        pytorchCallOrder=order, source=source, sha256=sha256_file(up_path)))
    results["upsampler"] = dict(path=up_path, nodes=summ["nodes"], inputs=summ["inputs"], outputs=summ["outputs"],
                                mb=os.path.getsize(up_path) / 1e6)
    print(f"wrote {up_path}: {results['upsampler']['mb']:.1f} MB, inputs {summ['inputs']}, outputs "
          f"{summ['outputs']}", flush=True)

    both = TokensThenUpsample(tok, ups).eval()
    both_path = os.path.join(out, f"dinov2-vits14-{kind}.onnx")
    summ = export(both, (image[:1],), ["image"], "features", both_path, (DIM, SIZE, SIZE))
    diff = check_against_torch(both, (image[:1],), both_path, "features")
    write_json(both_path[:-5] + ".json", spec(
        "features",
        f"DINOv2 ViT-S/14 patch tokens upsampled to 224x224 by {kind}, guided by the same image, in one graph: "
        "[N, 384, 224, 224] (77 MB per image). As in FaCT's C2 score; exported by "
        "models/recipes/export_foundation.py.",
        dim=DIM, upsampler=kind, source=source, sha256=sha256_file(both_path),
        checks=OrderedDict(onnxruntimeMaxAbsDiff=diff)))
    results["combined"] = dict(path=both_path, nodes=summ["nodes"], outputs=summ["outputs"], ortDiff=diff,
                               mb=os.path.getsize(both_path) / 1e6)
    print(f"wrote {both_path}: {results['combined']['mb']:.1f} MB, outputs {summ['outputs']}, ORT vs torch max "
          f"|diff| {diff}", flush=True)
    return results


# ----------------------------------------------------------------------------------------------------------------
# stand-ins with the same interfaces (for --selftest)
# ----------------------------------------------------------------------------------------------------------------
class _Block(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Parameter(torch.randn(3 * dim, dim) * dim ** -0.5)
        self.proj = nn.Parameter(torch.randn(dim, dim) * dim ** -0.5)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Parameter(torch.randn(4 * dim, dim) * dim ** -0.5)
        self.fc2 = nn.Parameter(torch.randn(dim, 4 * dim) * (4 * dim) ** -0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        h = self.heads
        qkv = torch.matmul(self.norm1(x), self.qkv.t()).reshape(n, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        a = torch.softmax(torch.matmul(qkv[0], qkv[1].transpose(-1, -2)) * (d // h) ** -0.5, dim=-1)
        x = x + torch.matmul(torch.matmul(a, qkv[2]).transpose(1, 2).reshape(n, t, d), self.proj.t())
        return x + torch.matmul(F.gelu(torch.matmul(self.norm2(x), self.fc1.t())), self.fc2.t())


class StandInViT(nn.Module):
    """A randomly initialised ViT with DINOv2's interface: 14-pixel patches, a class token, a positional embedding
    trained at 518 px (37 x 37) and interpolated bicubically to the input's grid by `interpolate_pos_encoding`,
    `forward_features(x)` returning a dict with x_norm_clstoken / x_norm_patchtokens / x_prenorm."""

    def __init__(self, dim: int = DIM, depth: int = 2, heads: int = 6, train_grid: int = 37) -> None:
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, PATCH, PATCH)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + train_grid * train_grid, dim) * 0.02)
        self.blocks = nn.Sequential(*[_Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def interpolate_pos_encoding(self, x: torch.Tensor, w: int, h: int) -> torch.Tensor:
        n = x.shape[1] - 1
        m = self.pos_embed.shape[1] - 1
        if n == m and w == h:
            return self.pos_embed
        g0 = int(math.sqrt(m))
        patch = self.pos_embed[:, 1:].reshape(1, g0, g0, -1).permute(0, 3, 1, 2)
        patch = F.interpolate(patch, size=(h // PATCH, w // PATCH), mode="bicubic", align_corners=False)
        return torch.cat([self.pos_embed[:, :1], patch.permute(0, 2, 3, 1).reshape(1, -1, patch.shape[1])], dim=1)

    def forward_features(self, x: torch.Tensor) -> dict:
        _, _, h, w = x.shape
        t = self.patch_embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], dim=1)
        t = t + self.interpolate_pos_encoding(t, w, h)
        t = self.blocks(t)
        y = self.norm(t)
        return {"x_norm_clstoken": y[:, 0], "x_norm_patchtokens": y[:, 1:], "x_prenorm": t}


class StandInUpsampler(nn.Module):
    """An image-guided upsampler with LoftUp's (features, image) or AnyUp's (image, features) argument order:
    bilinear upsampling of the channel-normalised features, modulated per pixel by a 1x1 convolution of the image."""

    def __init__(self, order: str, dim: int = DIM) -> None:
        super().__init__()
        self.order = order
        self.dim = dim
        self.gate = nn.Conv2d(3, dim, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        feats, image = (a, b) if self.order == "features,image" else (b, a)
        mu = feats.mean(dim=1, keepdim=True)  # a ChannelNorm (LayerNorm over the channels at each position)
        feats = (feats - mu) / torch.sqrt(((feats - mu) ** 2).mean(dim=1, keepdim=True) + 1e-6)
        up = F.interpolate(feats, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        return up * torch.sigmoid(self.gate(image))


_TS_CHECK = r"""
const { FoundationModel } = require('./src/core/consistency/foundationModel');
(async () => {
  const out = {};
  for (const f of process.argv.slice(1)) {
    const m = await FoundationModel.open(f, { threads: 1 });
    const img = new Float32Array(2 * 28 * 28).fill(0.3);   // two grayscale 28x28 images, as the default model has
    const r = await m.features(img, 1, 28, 2);
    out[f] = { n: r.n, dim: r.dim, h: r.h, w: r.w, values: r.data.length, finite: r.data.every(Number.isFinite) };
    await m.dispose();
  }
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def ts_foundation_check(paths) -> Optional[dict]:
    """Opens each ONNX with the app's FoundationModel (through tsx) and returns the feature-map layout it read."""
    if shutil.which("node") is None or not os.path.isdir(os.path.join(REPO, "node_modules", "tsx")):
        return None
    r = subprocess.run(["node", "--import", "tsx", "-e", _TS_CHECK, *paths], cwd=REPO, capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"FoundationModel rejected the export: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def selftest(out: str) -> None:
    torch.manual_seed(0)
    results = {}
    for kind in ("loftup", "anyup"):
        vit = StandInViT().eval()
        up = StandInUpsampler(CALL_ORDER[kind]).eval()
        d = os.path.join(out, kind)
        results[kind] = export_all(vit, up, kind, d, {"selftest": "random stand-ins, not DINOv2/" + kind},
                                   check_batch=2)
    paths = [results["loftup"]["dinov2"]["path"], results["loftup"]["combined"]["path"],
             results["anyup"]["combined"]["path"]]
    ts = ts_foundation_check(paths)
    if ts is None:
        print("node/tsx not found: FoundationModel check skipped")
    else:
        print("FoundationModel read:", json.dumps(ts))
        tok, comb = ts[paths[0]], ts[paths[1]]
        assert (tok["dim"], tok["h"], tok["w"]) == (DIM, GRID, GRID) and tok["finite"], tok
        assert (comb["dim"], comb["h"], comb["w"]) == (DIM, SIZE, SIZE) and comb["finite"], comb
    for kind, r in results.items():
        for part in ("dinov2", "combined"):
            if r[part]["ortDiff"] is not None and r[part]["ortDiff"] > 1e-3:
                raise SystemExit(f"{kind} {part}: ORT and PyTorch disagree ({r[part]['ortDiff']})")
    print("selftest passed: export, ONNX checker, ORT vs PyTorch and the app's FoundationModel on the stand-ins "
          "(the real DINOv2/LoftUp/AnyUp paths were NOT exercised)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="foundation-export")
    ap.add_argument("--dinov2-repo")
    ap.add_argument("--dinov2-weights")
    ap.add_argument("--upsampler", choices=sorted(CALL_ORDER))
    ap.add_argument("--upsampler-repo")
    ap.add_argument("--upsampler-weights")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--selftest", action="store_true",
                    help="export random stand-ins with the same interfaces (to --out, default models/.bench/"
                         "foundation-selftest) and check them, including with the app's FoundationModel")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.selftest:
        out = args.out if args.out != "foundation-export" else os.path.join(REPO, "models", ".bench",
                                                                           "foundation-selftest")
        selftest(out)
        return
    vit = load_dinov2(args.dinov2_repo, args.dinov2_weights)
    up = load_upsampler(args.upsampler, args.upsampler_repo, args.upsampler_weights) if args.upsampler else None
    source = OrderedDict(dinov2=OrderedDict(code=args.dinov2_repo or "torch hub cache",
                                            weights=args.dinov2_weights or "hub checkpoint cache"),
                         torch=torch.__version__)
    if args.upsampler:
        source["upsampler"] = OrderedDict(kind=args.upsampler, code=args.upsampler_repo or "torch hub cache",
                                          weights=args.upsampler_weights or "hub loader cache")
    res = export_all(vit, up, args.upsampler, args.out, source)
    ts = ts_foundation_check([r["path"] for k, r in res.items() if k != "upsampler"])
    if ts is not None:
        print("FoundationModel read:", json.dumps(ts))


if __name__ == "__main__":
    main()
