"""Converts a user's PyTorch B-cos-v2 model into the app's format, and a FaCT SAE checkpoint into sae.safetensors.

Dependencies (Debian bookworm, as root):
    apt-get update
    apt-get install -y --no-install-recommends python3-torch python3-onnx python3-numpy
Run with /usr/bin/python3.

1) Model -> ONNX + card.json template:
    /usr/bin/python3 models/recipes/export.py model --module pkg.mod:factory [--factory-kwargs '{"num_classes":1000}']
        [--weights ckpt.pt] --out models/my-model --layers layer2,layer3,layer4 [--input-size 224] [--channels 6]
        [--name my-model] [--classes classes.txt|imagenet] [--logit-bias auto|<float>]
   The factory returns an nn.Module taking the add-inverse input [N, channels, S, S] and returning logits.
   --layers lists module paths; `tensor=path` renames (e.g. encoder_4=0.transformer.encoder_4). Each listed
   module's output becomes a tensor with that name in the graph.
   Conversion to an inference form before export:
     * layers of models/recipes/bcos_layers.py: to_inference_form (W/||W|| stored, divisors folded, norms frozen);
     * B-cos-v2 library modules, recognised by class name: NormedConv2d / NormedLinear (the weight-normalising
       linear parts inside BcosConv2d / BcosLinear) are replaced by plain bias-free Conv2d / Linear holding
       W/||W|| (norm over all but the output dimension). NOTE: not tested against the library itself (it is not
       installable here); the op-list check below catches a normalisation that was left in the graph.
   Checks: onnx.checker, no computation on weights left in the graph (a node whose inputs are all constants), the
   op list is printed, and, if onnxruntime-node is found, ORT's logits are compared with PyTorch's (on a copy
   normalised as the app normalises: trailing empty optional inputs dropped; an onnxruntime crash is reported).
   --weights and --checkpoint are loaded as tensors only (torch.load(weights_only=True)): a .pt is a pickle, and
   unpickling runs code from the file. --trust-checkpoint loads it fully, for files you trust.

2) FaCT SAE checkpoint -> sae.safetensors + cfg.json:
    /usr/bin/python3 models/recipes/export.py sae --checkpoint v0.1-...pt --layer layer4 --out DIR
        --model-onnx models/x/model.onnx
   Reads encoder.weight [K, C], decoder.weight [C, K] and k; writes them under the same names (float32, the app's checkpoint format) and
   {"format":1,"architecture":"bias-free-topk","k":..,"dictSize":K,"dModel":C,"layer":..,"modelSha256":..,
   "inputScale":1.0,"source":"fact-pt",...}.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections import OrderedDict
from typing import List, Optional, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (BoundaryTap, export_onnx, onnx_summary, ort_run, sha256_file, write_json,  # noqa: E402
                    write_safetensors)


# ----------------------------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------------------------
def _load_factory(spec: str):
    if ":" not in spec:
        raise SystemExit("--module must look like pkg.mod:factory")
    mod, fn = spec.split(":", 1)
    sys.path.insert(0, os.getcwd())
    return getattr(importlib.import_module(mod), fn)


def load_checkpoint(path: str, trust: bool):
    """torch.load of a .pt unpickles it, and unpickling runs whatever code the file names: a checkpoint from
    elsewhere could do anything on this machine. So only tensors (and dicts/lists of them) are loaded
    (weights_only=True, torch >= 1.13) unless the user says they trust the file with --trust-checkpoint."""
    import inspect

    import torch

    if not os.path.isfile(path):
        raise SystemExit(f"{path}: no such checkpoint file")
    if trust:
        return torch.load(path, map_location="cpu")
    if "weights_only" not in inspect.signature(torch.load).parameters:
        raise SystemExit(f"{path}: this torch ({torch.__version__}) cannot load tensors only, and loading a .pt fully "
                         "runs code stored in it (pickle). If you trust where the file came from, rerun with "
                         "--trust-checkpoint.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises UnpicklingError or RuntimeError depending on the version
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SystemExit(f"{path} holds more than tensors ({first}). Loading it fully runs code stored in the file "
                         "(pickle); if you trust where it came from, rerun with --trust-checkpoint.")


def _load_weights(model, path: str, trust: bool = False) -> None:
    sd = load_checkpoint(path, trust)
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
            break
    sd = OrderedDict((k[len("module."):] if k.startswith("module.") else k, v) for k, v in sd.items())
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise SystemExit(f"weights do not match the model: missing {missing[:8]}, unexpected {unexpected[:8]}")


def convert_library_modules(model) -> int:
    """Replaces B-cos-v2 library NormedConv2d / NormedLinear modules (recognised by class name) with plain
    bias-free modules holding the normalised weight. Returns the number of replacements."""
    import torch
    from torch import nn

    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            cls = type(child).__name__
            if cls == "NormedConv2d":
                w = child.weight.detach()
                w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                new = nn.Conv2d(child.in_channels, child.out_channels, child.kernel_size, child.stride,
                                child.padding, child.dilation, child.groups, bias=False)
                with torch.no_grad():
                    new.weight.copy_(w)
                setattr(parent, name, new)
                count += 1
            elif cls == "NormedLinear":
                w = child.weight.detach()
                w = w / w.norm(dim=1, keepdim=True)
                new = nn.Linear(child.in_features, child.out_features, bias=False)
                with torch.no_grad():
                    new.weight.copy_(w)
                setattr(parent, name, new)
                count += 1
    return count


def find_logit_bias(model) -> Optional[float]:
    for m in model.modules():
        if type(m).__name__ == "LogitLayer":
            b = getattr(m, "logit_bias", None)
            if b is not None:
                return float(b)
    return None


def parse_layers(spec: str) -> List[Tuple[str, str]]:
    out = []
    for item in [s for s in spec.split(",") if s.strip()]:
        if "=" in item:
            t, p = item.split("=", 1)
        else:
            t = p = item
        out.append((t.strip(), p.strip()))
    return out


def export_model(args) -> dict:
    import torch

    from bcos_layers import to_inference_form

    torch.set_num_threads(2)
    factory = _load_factory(args.module)
    model = factory(**json.loads(args.factory_kwargs or "{}"))
    if args.weights:
        _load_weights(model, args.weights, args.trust_checkpoint)
    model.eval()
    to_inference_form(model)
    n_lib = convert_library_modules(model)
    model.eval()
    layers = parse_layers(args.layers)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "model.onnx")
    S, C = args.input_size, args.channels
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, C // 2, S, S, generator=g)
    x = torch.cat([x, 1 - x], 1) if C % 2 == 0 else torch.rand(2, C, S, S, generator=g)
    export_onnx(BoundaryTap(model, layers).eval(), x, path, [t for t, _ in layers], opset=args.opset)
    summ = onnx_summary(path)
    print(f"wrote {path}: {summ['nodes']} nodes, ops {summ['ops']}; {n_lib} library modules converted")

    with torch.no_grad():
        ref = model(x).numpy()
        feats = {}
        mods = dict(model.named_modules())
        hs = [mods[p].register_forward_hook(lambda _m, _i, o, n=t: feats.__setitem__(n, o)) for t, p in layers]
        model(x[:1])
        for h in hs:
            h.remove()
    ort = ort_run(path, x.numpy())
    if ort is not None:
        d = float(np.abs(ort["logits"] - ref).max())
        print(f"onnxruntime vs PyTorch logits: max |diff| = {d:.3g}")
        if d > 1e-3 * max(1.0, float(np.abs(ref).max())):
            raise SystemExit("onnxruntime disagrees with PyTorch")
    else:
        print("onnxruntime-node not found: ORT cross-check skipped")

    bias = find_logit_bias(model) if args.logit_bias == "auto" else float(args.logit_bias)
    if bias is None:
        bias = 0.0
        print("no LogitLayer found: logitBias set to 0.0 (check!)")
    n_out = int(ref.shape[1])
    if args.classes == "imagenet":
        from make_fixtures import imagenet_classes
        classes = imagenet_classes()
    elif args.classes:
        classes = [ln.strip() for ln in open(args.classes) if ln.strip()]
    else:
        classes = [f"class {i}" for i in range(n_out)]
    name = args.name or os.path.basename(os.path.abspath(args.out))
    card = OrderedDict(
        format=1, name=name, displayName=args.display_name or name, model="model.onnx", sha256=sha256_file(path),
        architecture=f"TODO: describe. Exported from {args.module} by models/recipes/export.py "
                     f"(weights pre-normalised; ops: {', '.join(summ['ops'])}).",
        parameters=int(sum(p.numel() for p in model.parameters())),
        input=OrderedDict(name="input", shape=[None, C, S, S], encoding="add-inverse-outside"),
        output=OrderedDict(name="logits", logitBias=bias),
        preprocessing=OrderedDict(colorSpace="rgb" if C == 6 else "grayscale", resize=args.resize or S,
                                  centerCrop=S, scale="0-1", addInverse=True),
        classes=classes,
        layers=[OrderedDict(name=t, tensor=t, shape=list(feats[t].shape[1:])) for t, _ in layers],
        training=OrderedDict(recipe=None, seed=None, epochs=None, optimizer=None, seconds=None),
    )
    write_json(os.path.join(args.out, "card.json"), card)
    print(f"wrote {os.path.join(args.out, 'card.json')} (a template: fill in architecture, training, metrics)")
    return {"onnx": path, "ops": summ["ops"], "logits": ref}


# ----------------------------------------------------------------------------------------------------------------
# SAE
# ----------------------------------------------------------------------------------------------------------------
def convert_sae(checkpoint: str, out_dir: str, layer: str, model_onnx: Optional[str] = None, trust: bool = False) -> dict:
    import torch

    sd = load_checkpoint(checkpoint, trust)
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    enc = sd["encoder.weight"].detach().to(torch.float32).contiguous().numpy()
    dec = sd["decoder.weight"].detach().to(torch.float32).contiguous().numpy()
    k = sd["k"]
    k = int(k.item() if hasattr(k, "item") else k)
    K, C = enc.shape
    if dec.shape != (C, K):
        raise SystemExit(f"decoder.weight has shape {dec.shape}, expected {(C, K)}")
    for key in ("encoder.bias", "decoder.bias", "b_dec"):
        if key in sd and float(sd[key].abs().max()) != 0.0:
            raise SystemExit(f"{key} is non-zero: not a bias-free FaCT SAE")
    col = np.linalg.norm(dec.astype(np.float64), axis=0)
    if np.abs(col - 1).max() > 1e-3:
        print(f"warning: decoder columns are not unit-norm (|norm-1| up to {np.abs(col - 1).max():.3g})")
    os.makedirs(out_dir, exist_ok=True)
    if not model_onnx:
        raise SystemExit("--model-onnx is required: the checkpoint records the SHA-256 of the model it belongs to")
    # The app's checkpoint format: FaCT's own tensor names and layouts, and a cfg.json that says what the SAE is.
    write_safetensors(os.path.join(out_dir, "sae.safetensors"),
                      OrderedDict([("decoder.weight", dec), ("encoder.weight", enc)]),
                      {"format": "pt", "source": "fact-pt", "layer": layer})
    import datetime
    cfg = OrderedDict(format=1, architecture="bias-free-topk", k=k, dictSize=int(K), dModel=int(C), layer=layer,
                      modelSha256=sha256_file(model_onnx), inputScale=1.0, source="fact-pt",
                      convertedFrom=os.path.basename(checkpoint),
                      createdAt=datetime.datetime.now(datetime.timezone.utc).isoformat())
    write_json(os.path.join(out_dir, "cfg.json"), cfg)
    print(f"wrote {out_dir}/sae.safetensors (encoder.weight {list(enc.shape)}, decoder.weight {list(dec.shape)}) and cfg.json "
          f"(k={k})")
    return cfg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("model")
    m.add_argument("--module", required=True)
    m.add_argument("--factory-kwargs", default="")
    m.add_argument("--weights")
    m.add_argument("--out", required=True)
    m.add_argument("--layers", required=True)
    m.add_argument("--input-size", type=int, default=224)
    m.add_argument("--resize", type=int, default=0)
    m.add_argument("--channels", type=int, default=6)
    m.add_argument("--name")
    m.add_argument("--display-name")
    m.add_argument("--classes")
    m.add_argument("--logit-bias", default="auto")
    m.add_argument("--opset", type=int, default=17)
    m.add_argument("--trust-checkpoint", action="store_true",
                   help="load --weights fully (pickle runs code from the file); by default only tensors are loaded")
    s = sub.add_parser("sae")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--layer", required=True)
    s.add_argument("--model-onnx", required=True)
    s.add_argument("--trust-checkpoint", action="store_true",
                   help="load --checkpoint fully (pickle runs code from the file); by default only tensors are loaded")
    args = ap.parse_args()
    if args.cmd == "model":
        export_model(args)
    else:
        convert_sae(args.checkpoint, args.out, args.layer, args.model_onnx, args.trust_checkpoint)


if __name__ == "__main__":
    main()
