"""PyTorch reference for bench/explain.bench.ts: B-cos explanation-mode input gradients timed on the CPU.

For an architecture (`--arch default`: the embedded default's FashionBcosCNN, 2 x 28 x 28; `--arch resnet50`: the
full-width B-cos ResNet-50 shape of bcos_archs, 6 x 224 x 224, ~25 M parameters; `--arch densenet121` and `--arch vit`
(ViT-C-S) likewise at full width) this script
  1. builds the model with a fixed seed (random weights, NOT the trained default: the bench times structure, not
     accuracy), calibrates its per-layer divisors (and uncentred-norm statistics) on a few seeded synthetic images
     so that activations stay O(1) (tiny activations become denormal floats, which make timings meaningless),
  2. puts it in inference form (to_inference_form: W/||W|| stored, divisors folded, norms frozen) and exports it
     with common.export_onnx to models/.bench/<arch>-bench.onnx, with the block outputs (layer1..layer4, the
     DenseNet transitions, four ViT encoders) as named
     boundary tensors (as train_default.py / make_fixtures.py do),
  3. writes the synthetic batch it times on (models/.bench/<arch>-bench.batch.f32, float32 [B, C, S, S], the
     encoded [x, 1-x] input) and PyTorch's explanation of it (models/.bench/<arch>-bench.grad.f32: dlogit/dx of
     each image's predicted logit, float32 [B, C, S, S]), so the bench can time our engine on the same images
     and check that both engines compute the same explanation,
  4. times explanation-mode autograd: inside `explanation_mode(model)`, z = model(x) with x requiring grad,
     the predicted logit z[i, argmax z[i]] of each image, and torch.autograd.grad of their sum w.r.t. x
     (what the app computes: W(x) for the predicted class). Batch-1 latency is the median over `--repeats`
     runs after `--warmup` untimed runs; throughput is images / median seconds per batch of `--batch` images
     over `--batch-repeats` runs after `--warmup` untimed runs. The first batch-1 call of the process (timed
     separately as firstCallMs) and the call that writes the gradient file count as the first warm-up of each.

OpenMP: OMP_WAIT_POLICY defaults to PASSIVE here (set it to ACTIVE to let PyTorch's threads spin), because ONNX
Runtime runs with spinning off in our engine; the JSON line says which policy was in force.

Prints one JSON line:
  {"arch", "onnx", "threads", "allocator", "latencyMs", "throughputImagesPerS", "batch", "torch", ...}
(extra keys: "latencyCpuMs" and "batchCpuMs" (median CPU milliseconds of the process, all threads), "latencyRuns", "batchRuns", "firstCallMs", "firstBatchMs", "ompWaitPolicy", "exported" (false when the ONNX was reused),
"batchFile", "gradFile", "predicted", "params", "denormalFraction").

Dependencies (Debian bookworm, as root):
    apt-get update
    apt-get install -y --no-install-recommends python3-torch python3-onnx python3-numpy libtcmalloc-minimal4
Run from anywhere with Debian's interpreter, preferably with tcmalloc (glibc malloc makes large-tensor autograd
slow and erratic; the JSON line says which allocator was active):
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/bin/python3 \
        models/recipes/bench_explain_torch.py --arch resnet50 --threads 2
Options: --no-time (export and write the batch/gradient files only), --reuse-onnx (keep an existing ONNX file
whose sidecar <arch>-bench.json says it came from the same arch and seed), --repeats, --warmup, --batch,
--batch-repeats, --seed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

# PyTorch's OpenMP threads spin while they wait for work by default; on a shared machine (more runnable threads than
# cores) that made the batch-1 timings 5-10x slower and erratic here. Our engine runs ONNX Runtime with spinning off,
# so the reference does not spin either unless the caller says otherwise (must be set before torch is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bcos_layers import calibrate_divisors, explanation_mode, to_inference_form  # noqa: E402
from common import REPO, BoundaryTap, export_onnx, onnx_summary, sha256_file, write_json  # noqa: E402

BENCH = os.path.join(REPO, "models", ".bench")
BOUNDARIES = ["layer1", "layer2", "layer3", "layer4"]
ARCHS = {
    # channels (encoded), side, default timing batch, calibration images, default repeats (latency, batch)
    "default": dict(channels=2, side=28, batch=32, calib=256, repeats=30, batch_repeats=10),
    "resnet50": dict(channels=6, side=224, batch=8, calib=8, repeats=3, batch_repeats=2),
    "densenet121": dict(channels=6, side=224, batch=8, calib=8, repeats=3, batch_repeats=2),
    "vit": dict(channels=6, side=224, batch=8, calib=8, repeats=3, batch_repeats=2),
}
# The block-boundary tensors each export names (ONNX name, module path): the layers a user would pick.
ARCH_BOUNDARIES = {
    "default": [(b, b) for b in BOUNDARIES],
    "resnet50": [(b, b) for b in BOUNDARIES],
    "densenet121": [(f"features.transition{i}", f"features.transition{i}") for i in (1, 2, 3)] + [("features.norm5", "features.norm5")],
    "vit": [(f"encoder_{i}", f"0.transformer.encoder_{i}") for i in (2, 5, 8, 10)],
}


def allocator() -> str:
    pre = os.environ.get("LD_PRELOAD", "")
    if "tcmalloc" in pre:
        return "tcmalloc-minimal" if "minimal" in pre else "tcmalloc"
    if "jemalloc" in pre:
        return "jemalloc"
    return "glibc malloc"


def synthetic_images(n: int, channels: int, side: int, seed: int) -> torch.Tensor:
    """Seeded smooth images in [0, 1]: random low-resolution fields upsampled bilinearly, plus a little pixel
    noise (closer to natural images than i.i.d. noise). Returns the [x, 1 - x] encoding, [n, 2*channels, S, S]."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, channels, max(2, side // 8), max(2, side // 8), generator=g)
    x = F.interpolate(coarse, size=(side, side), mode="bilinear", align_corners=False)
    x = (x + 0.05 * torch.randn(n, channels, side, side, generator=g)).clamp(0.0, 1.0)
    return torch.cat([x, 1.0 - x], dim=1).contiguous()


def build(arch: str, seed: int):
    torch.manual_seed(seed)
    spec = ARCHS[arch]
    if arch == "default":
        from train_default import FashionBcosCNN
        model = FashionBcosCNN()
    else:
        import bcos_archs
        model = {"resnet50": bcos_archs.resnet50, "densenet121": bcos_archs.densenet121, "vit": bcos_archs.vitc_s}[arch]()
    calib = synthetic_images(spec["calib"], spec["channels"] // 2, spec["side"], seed + 1)
    divisors = calibrate_divisors(model, calib)
    model = to_inference_form(model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, divisors


def explain(model, x: torch.Tensor):
    """Explanation-mode gradient of each image's predicted logit w.r.t. the encoded input."""
    x = x.detach().clone().requires_grad_(True)
    with explanation_mode(model):
        z = model(x)
        pred = z.detach().argmax(1)
        sel = z.gather(1, pred.view(-1, 1)).sum()
        (g,) = torch.autograd.grad(sel, x)
    return g, pred


def timed(fn, warmup: int, repeats: int):
    """Wall and CPU milliseconds (this process's, all its threads) of `repeats` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    runs, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return runs, cpu


def denormal_fraction(model, x: torch.Tensor, boundaries) -> float:
    """The fraction of non-zero float32 values below the normal range among all block outputs and logits."""
    tiny = torch.finfo(torch.float32).tiny
    outs = []
    mods = dict(model.named_modules())
    hs = [mods[p].register_forward_hook(lambda _m, _i, o: outs.append(o.detach())) for _, p in boundaries if p in mods]
    try:
        with torch.no_grad():
            outs.append(model(x))
    finally:
        for h in hs:
            h.remove()
    total = sum(o.numel() for o in outs)
    den = sum(int(((o != 0) & (o.abs() < tiny)).sum()) for o in outs)
    return den / max(total, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=sorted(ARCHS), default="default")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--batch", type=int, default=0, help="throughput batch (default: 32 default, 8 resnet50)")
    ap.add_argument("--repeats", type=int, default=0, help="timed batch-1 runs (default per arch)")
    ap.add_argument("--batch-repeats", type=int, default=0, help="timed batch runs (default per arch)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--no-time", action="store_true", help="export the ONNX and the batch/gradient files only")
    ap.add_argument("--reuse-onnx", action="store_true",
                    help="keep an existing ONNX whose sidecar says it came from the same arch, seed and torch")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    spec = ARCHS[args.arch]
    batch = args.batch or spec["batch"]
    repeats = args.repeats or spec["repeats"]
    batch_repeats = args.batch_repeats or spec["batch_repeats"]
    os.makedirs(BENCH, exist_ok=True)
    stem = os.path.join(BENCH, f"{args.arch}-bench")
    onnx_path, side_path = stem + ".onnx", stem + ".json"

    model, divisors = build(args.arch, args.seed)
    params = int(sum(p.numel() for p in model.parameters()))
    x = synthetic_images(batch, spec["channels"] // 2, spec["side"], args.seed + 2)

    # 1. the ONNX file (reused only when its sidecar matches what this run would export)
    bounds = ARCH_BOUNDARIES[args.arch]
    ident = {"arch": args.arch, "seed": args.seed, "torch": torch.__version__, "boundaries": [n for n, _ in bounds]}
    exported = True
    if args.reuse_onnx and os.path.exists(onnx_path) and os.path.exists(side_path):
        try:
            side = json.load(open(side_path))
            if {k: side.get(k) for k in ident} == ident and side.get("sha256") == sha256_file(onnx_path):
                exported = False
        except (OSError, ValueError):
            pass
    if exported:
        tap = BoundaryTap(model, bounds).eval()
        export_onnx(tap, x[:2], onnx_path, [n for n, _ in bounds])
        summ = onnx_summary(onnx_path)
        write_json(side_path, dict(ident, sha256=sha256_file(onnx_path), nodes=summ["nodes"], ops=summ["ops"],
                                   params=params, divisorsRange=[min(divisors), max(divisors)]))

    # 2. the first explanation of the process (batch 1, untimed by the statistics: PyTorch's counterpart of our
    #    first explanation, which builds the graph and its session), then the batch and PyTorch's explanation of it
    #    (float32) for the cross-check against our engine; these two calls are the warm-ups of the two timings
    x1 = x[:1].clone()
    t0 = time.perf_counter()
    explain(model, x1)
    first_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    g, pred = explain(model, x)
    first_batch_ms = (time.perf_counter() - t0) * 1000
    x.numpy().astype("<f4").tofile(stem + ".batch.f32")
    g.numpy().astype("<f4").tofile(stem + ".grad.f32")
    out = {"arch": args.arch, "onnx": onnx_path, "threads": args.threads, "allocator": allocator(),
           "latencyMs": None, "throughputImagesPerS": None, "batch": batch, "torch": torch.__version__,
           "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"), "firstCallMs": first_ms,
           "firstBatchMs": first_batch_ms, "exported": exported, "params": params, "batchFile": stem + ".batch.f32",
           "gradFile": stem + ".grad.f32", "shape": list(x.shape), "predicted": [int(p) for p in pred],
           "denormalFraction": denormal_fraction(model, x[:1], bounds)}

    # 3. timings (the calls of step 2 were the first warm-up of each)
    if not args.no_time:
        extra = max(0, args.warmup - 1)
        lat, lat_cpu = timed(lambda: explain(model, x1), extra, repeats)
        bat, bat_cpu = timed(lambda: explain(model, x), extra, batch_repeats)
        out.update(latencyMs=statistics.median(lat), throughputImagesPerS=batch / (statistics.median(bat) / 1000),
                   latencyCpuMs=statistics.median(lat_cpu), batchCpuMs=statistics.median(bat_cpu),
                   latencyRuns=[round(t, 3) for t in lat], batchRuns=[round(t, 3) for t in bat])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
