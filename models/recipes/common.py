"""Shared helpers of the model recipes: IDX and PNG files, safetensors, hashing, ONNX export and checks.

Dependencies (Debian bookworm, as root):
    apt-get update
    apt-get install -y --no-install-recommends python3-torch python3-onnx python3-numpy
Optional: an onnxruntime-node install (npm) for the cross-check against ONNX Runtime; found through
$FACT_ORT_NODE_MODULES, ./node_modules of the repository, or skipped.
Run with Debian's interpreter: /usr/bin/python3.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FASHION_SLUGS = ["tshirt-top", "trouser", "pullover", "dress", "coat",
                 "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


# ----------------------------------------------------------------------------------------------------------------
# IDX
# ----------------------------------------------------------------------------------------------------------------
def read_idx(path: str) -> np.ndarray:
    """Reads a (gzipped) IDX file of unsigned bytes: magic 0x00 0x00 0x08 ndim, big-endian u32 dims, data."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch")
    return arr.reshape(dims)


def write_idx_gz(path: str, arr: np.ndarray) -> None:
    """Writes uint8 data as gzipped IDX (0x801 for 1-D labels, 0x803 for N x 28 x 28 images)."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    # mtime=0 keeps the file byte-identical between runs
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(header)
            f.write(arr.tobytes())


# ----------------------------------------------------------------------------------------------------------------
# PNG (8-bit grayscale, no external library)
# ----------------------------------------------------------------------------------------------------------------
def write_png_gray(path: str, img: np.ndarray) -> None:
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape

    def chunk(tag: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload))

    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))  # filter type 0 per row
    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9))
           + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(png)


# ----------------------------------------------------------------------------------------------------------------
# safetensors (written by hand: 8-byte LE header length, JSON header, raw little-endian data)
# ----------------------------------------------------------------------------------------------------------------
_ST_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64",
              np.dtype("int32"): "I32", np.dtype("uint8"): "U8"}
_ST_NP = {v: k for k, v in _ST_DTYPES.items()}


def write_safetensors(path: str, tensors: "OrderedDict[str, np.ndarray]",
                      metadata: Optional[Dict[str, str]] = None) -> None:
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dt = _ST_DTYPES[arr.dtype]
        b = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((8 - len(hjson) % 8) % 8)  # pad so that the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path: str) -> Tuple["OrderedDict[str, np.ndarray]", Dict[str, str]]:
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        a, b = info["data_offsets"]
        dt = _ST_NP[info["dtype"]].newbyteorder("<")
        out[name] = np.frombuffer(data[base + a:base + b], dtype=dt).reshape(info["shape"]).astype(
            dt.newbyteorder("="))
    return out, meta


# ----------------------------------------------------------------------------------------------------------------
# misc
# ----------------------------------------------------------------------------------------------------------------
def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def rel(path: str) -> str:
    return os.path.relpath(path, REPO)


# ----------------------------------------------------------------------------------------------------------------
# ONNX export and checks
# ----------------------------------------------------------------------------------------------------------------
class BoundaryTap:
    """Wraps a model for export: forward returns (logits, *boundary tensors), captured with forward hooks on
    the named modules. Built lazily as an nn.Module subclass so that this file imports without torch."""

    def __new__(cls, net, boundaries: Sequence[Tuple[str, str]]):
        import torch.nn as nn

        class _Tap(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = net
                mods = dict(net.named_modules())
                missing = [p for _, p in boundaries if p not in mods]
                if missing:
                    raise KeyError(f"modules not found: {missing}")
                self.paths = [(n, mods[p]) for n, p in boundaries]

            def forward(self, x):
                caught = {}
                hs = [m.register_forward_hook(lambda _m, _i, o, n=n: caught.__setitem__(n, o))
                      for n, m in self.paths]
                try:
                    logits = self.net(x)
                finally:
                    for h in hs:
                        h.remove()
                return (logits,) + tuple(caught[n] for n, _ in self.paths)

        return _Tap()


def constant_subgraph_nodes(model) -> List[str]:
    """Nodes (other than Constant) whose inputs are all initializers/constants: computations on weights that the
    exporter did not fold (e.g. a weight normalisation)."""
    const = {i.name for i in model.graph.initializer}
    bad = []
    for n in model.graph.node:
        # Constant nodes, and Identity copies of a constant (torch.onnx.export shares equal initializers, e.g.
        # the equal LayerNorm/bias tensors of a ViT's blocks, through Identity nodes), compute nothing.
        if n.op_type == "Constant" or (n.op_type == "Identity" and n.input and n.input[0] in const):
            const.update(n.output)
            continue
        ins = [i for i in n.input if i]
        if ins and all(i in const for i in ins):
            bad.append(f"{n.op_type} {n.name}")
            const.update(n.output)
    return bad


def export_onnx(module, example, path: str, boundary_names: Sequence[str], opset: int = 17,
                input_name: str = "input", output_name: str = "logits", strip_prefix: str = "net.") -> None:
    """Exports `module`, whose forward returns (logits, boundary_1, ..., boundary_n), to ONNX.

    The exporter names each returned tensor after `output_names`, so every block-boundary tensor is literally
    named after its block; the extra boundary outputs are then removed again, leaving one graph output `logits`.
    Node names keep their torch module scopes (/layer2/conv1/Conv, ...).
    """
    import onnx
    import torch

    names = [output_name] + list(boundary_names)
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(module, (example,), tmp, opset_version=opset, input_names=[input_name],
                          output_names=names, do_constant_folding=True,
                          dynamic_axes={input_name: {0: "N"}, output_name: {0: "N"}})
    m = onnx.load(tmp)
    os.remove(tmp)
    keep = [o for o in m.graph.output if o.name == output_name]
    produced = {o for n in m.graph.node for o in n.output}
    for b in boundary_names:
        if b not in produced:
            raise RuntimeError(f"boundary tensor {b!r} is not produced by any node (is it an identity?)")
    del m.graph.output[:]
    m.graph.output.extend(keep)
    # initializers of the wrapped model are named "net.<path>": drop the wrapper's prefix
    if strip_prefix:
        ren = {i.name: i.name[len(strip_prefix):] for i in m.graph.initializer if i.name.startswith(strip_prefix)}
        for i in m.graph.initializer:
            i.name = ren.get(i.name, i.name)
        for n in m.graph.node:
            for k, v in enumerate(n.input):
                if v in ren:
                    n.input[k] = ren[v]
    # node and tensor names carry the wrapper's scope ("/net/...", "/net/net.0/..."): drop it
    if strip_prefix:
        p = strip_prefix.rstrip(".")

        def clean(s: str) -> str:
            if not s.startswith(f"/{p}/"):
                return s
            parts = s[len(p) + 1:].split("/")
            return "/".join(x[len(p) + 1:] if x.startswith(p + ".") else x for x in parts)

        for n in m.graph.node:
            n.name = clean(n.name)
            for k, v in enumerate(n.input):
                n.input[k] = clean(v)
            for k, v in enumerate(n.output):
                n.output[k] = clean(v)
        for vi in m.graph.value_info:
            vi.name = clean(vi.name)
    bad = constant_subgraph_nodes(m)
    if bad:
        raise RuntimeError(f"un-folded computations on weights in the graph: {bad[:8]}")
    m.producer_name = "fact-vscode-recipes"
    onnx.checker.check_model(m)
    onnx.save(m, path)


def onnx_summary(path: str) -> Dict[str, object]:
    import onnx

    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops: Dict[str, int] = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    params = 0
    for init in m.graph.initializer:
        params += int(np.prod(init.dims)) if len(init.dims) else 1
    return {"ops": dict(sorted(ops.items())), "nodes": len(m.graph.node), "initializerElements": params,
            "opset": [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")][0],
            "inputs": [(i.name, [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim])
                       for i in m.graph.input],
            "outputs": [(o.name, [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim])
                        for o in m.graph.output]}


def assert_clean_ops(path: str, allowed: Iterable[str]) -> Dict[str, object]:
    s = onnx_summary(path)
    bad = sorted(set(s["ops"]) - set(allowed))
    if bad:
        raise RuntimeError(f"{path}: unexpected ops {bad} (weight-norm or shape ops leaked into the graph?)")
    return s


def _ort_node_modules() -> Optional[str]:
    cands = [os.environ.get("FACT_ORT_NODE_MODULES", ""), os.path.join(REPO, "node_modules")]
    for c in cands:
        if c and os.path.isdir(os.path.join(c, "onnxruntime-node")):
            return c
    return None


_ORT_JS = r"""
const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const [model, inBin, shapeJson, outNames, outDir] = process.argv.slice(2);
  const shape = JSON.parse(shapeJson);
  const buf = fs.readFileSync(inBin);
  const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const s = await ort.InferenceSession.create(model, {executionProviders: ['cpu'], graphOptimizationLevel: 'all'});
  const r = await s.run({[s.inputNames[0]]: new ort.Tensor('float32', data, shape)});
  for (const n of outNames.split(',')) {
    const t = r[n];
    fs.writeFileSync(outDir + '/' + n + '.bin', Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    fs.writeFileSync(outDir + '/' + n + '.json', JSON.stringify(t.dims));
  }
})().catch(e => { console.error(e); process.exit(1); });
"""


def drop_trailing_empty_inputs(model) -> int:
    """The app's first normalisation step (src/core/onnx/emptyInputs.ts), in place: torch writes a bias-free
    LayerNorm as LayerNormalization(X, scale, ""), on which onnxruntime 1.30 crashes; a trailing empty input means
    "not given", exactly as a shorter input list does. Returns how many inputs were dropped."""
    dropped = 0
    for n in model.graph.node:
        while len(n.input) and n.input[-1] == "":
            n.input.pop()
            dropped += 1
    return dropped


def ort_run(model_path: str, x: np.ndarray, output_names: Sequence[str] = ("logits",),
            extra_outputs: Sequence[str] = ()) -> Optional[Dict[str, np.ndarray]]:
    """Runs the ONNX model in onnxruntime-node (CPU) if it can be found; returns None otherwise. The model is
    normalised first as the app does (a copy; the file is not changed), and a crash of onnxruntime is reported.
    `extra_outputs` are intermediate tensors (e.g. 'layer2') that are added as graph outputs for the run."""
    nm = _ort_node_modules()
    if nm is None or shutil.which("node") is None:
        return None
    import onnx

    with tempfile.TemporaryDirectory() as td:
        m = onnx.load(model_path)
        drop_trailing_empty_inputs(m)
        for name in extra_outputs:
            vi = onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
            m.graph.output.append(vi)
        mp = os.path.join(td, "model.onnx")
        onnx.save(m, mp)
        xin = np.ascontiguousarray(x, dtype=np.float32)
        xin.tofile(os.path.join(td, "in.bin"))
        js = os.path.join(td, "run.js")
        with open(js, "w") as f:
            f.write(_ORT_JS)
        names = list(output_names) + list(extra_outputs)
        env = dict(os.environ, NODE_PATH=nm)
        r = subprocess.run(["node", js, mp, os.path.join(td, "in.bin"), json.dumps(list(xin.shape)), ",".join(names),
                            td], env=env)
        if r.returncode < 0 or r.returncode >= 128:
            raise SystemExit(f"onnxruntime crashed while loading {model_path} (exit {r.returncode}); "
                             "run `npx fact check` on it to find the node")
        if r.returncode != 0:
            raise SystemExit(f"onnxruntime could not run {model_path} (exit {r.returncode})")
        out = {}
        for n in names:
            with open(os.path.join(td, n + ".json")) as f:
                dims = json.load(f)
            out[n] = np.fromfile(os.path.join(td, n + ".bin"), dtype=np.float32).reshape(dims)
        return out
