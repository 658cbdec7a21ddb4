"""B-cos-v2 layer set, written from the formulas in the project's method digest.

Dependencies (Debian bookworm, as root):
    apt-get update
    apt-get install -y --no-install-recommends python3-torch python3-numpy
Run with Debian's interpreter: /usr/bin/python3 (torch 1.13.1).

Every dynamic factor of the network (the |out| and the patch norm inside a B-cos scale, the variance of a
norm layer, the attention matrix q.k) is computed through `_maybe_detach`, so inside `explanation_mode(model)`
the network is a linear map of its input, x -> W(x) x, and the input gradient of a logit is W(x).

Each B-cos layer also carries a fixed `divisor` (a buffer, not trained), calibrated from data with
`calibrate_divisors` so that activations stay O(1). A divisor is a constant positive scale, so it changes neither
the linearity in explanation mode nor the positive 1-homogeneity of the network.

`to_inference_form(model)` freezes the weight normalisation (W/||W|| is computed once and stored), folds the
eval-mode norm statistics into per-channel constants, and makes the modules emit a small, fixed ONNX pattern
per B-cos layer (no weight-norm ops, no Shape/Gather ops):

    lin   = Conv(x, W_hat)                                  (MatMul for BcosLinear)
    n2    = Conv(ReduceSum(Mul(x, x), axis=1), ones[1,1,k,k]) (omitted for 1x1/stride-1: n2 = ReduceSum(x*x))
    norm  = Sqrt(Add(n2, 1e-6))                            (BcosLinear: Add(Sqrt(ReduceSum(x*x)), 1e-12))
    y     = Mul(lin, Div(Abs(lin), norm))
For b = 2 the fixed divisor d is folded into the stored weight (W/(||W|| sqrt(d))), so no extra op appears;
uncentred batch norms become one Mul by a per-channel constant; centred norms keep their Sub/ReduceMean/Sqrt/Div.
"""
from __future__ import annotations

import contextlib
import math
from typing import Iterator, List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "DetachableModule",
    "explanation_mode",
    "BcosConv2d",
    "BcosLinear",
    "BatchNormUncentered2d",
    "DetachableLayerNorm",
    "DetachableGNLayerNorm2d",
    "AddInverse",
    "LogitLayer",
    "BcosAttention",
    "PlainLinear",
    "calibrate_divisors",
    "to_inference_form",
    "bcos_modules",
]


# --------------------------------------------------------------------------------------------------------------
# explanation mode
# --------------------------------------------------------------------------------------------------------------
class DetachableModule(nn.Module):
    """A module whose dynamic (input-dependent) factors can be detached from the autograd graph."""

    def __init__(self) -> None:
        super().__init__()
        self.explanation = False

    def _maybe_detach(self, t: Tensor) -> Tensor:
        return t.detach() if self.explanation else t


@contextlib.contextmanager
def explanation_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Within the context every DetachableModule of `model` detaches its dynamic factors."""
    mods = [m for m in model.modules() if isinstance(m, DetachableModule)]
    old = [m.explanation for m in mods]
    for m in mods:
        m.explanation = True
    try:
        yield model
    finally:
        for m, o in zip(mods, old):
            m.explanation = o


# --------------------------------------------------------------------------------------------------------------
# B-cos layers
# --------------------------------------------------------------------------------------------------------------
def _f32(v: float) -> float:
    """The float32 value of v as a Python float (the constant that ONNX will store)."""
    return float(torch.tensor(float(v), dtype=torch.float32))


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


class BcosConv2d(DetachableModule):
    """B-cos convolution (v2): unit-norm weights over (in, kh, kw), no bias.

    out = conv(x, W/||W||);  ||x|| = sqrt(avg_pool2d(sum_c x^2, k, stride, pad, count_include_pad=True)*kh*kw + 1e-6)
    b = 2:  y = out * |out| / ||x||;   other b:  y = out * (|out/||x||| + 1e-6)^(b-1)
    max_out M > 1: O*M channels are computed and the max over M is taken.
    In explanation mode `out` and `||x||` inside the scale factor are detached.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size=1, stride=1, padding=0,
                 b: float = 2.0, max_out: int = 1, divisor: float = 1.0) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.b = float(b)
        self.max_out = int(max_out)
        self.weight = nn.Parameter(torch.empty(out_channels * self.max_out, in_channels, *self.kernel_size))
        nn.init.kaiming_normal_(self.weight)
        self.register_buffer("divisor", torch.tensor(float(divisor)))
        self.prenormalised = False  # set by to_inference_form

    def normalised_weight(self) -> Tensor:
        if self.prenormalised:
            return self.weight
        w = self.weight
        return w / w.flatten(1).norm(p=2, dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)

    def patch_norm(self, x: Tensor) -> Tensor:
        kh, kw = self.kernel_size
        sq = (x * x).sum(1, keepdim=True)
        if self.prenormalised:
            # inference form: the zero-padded patch sum as a convolution with a ones kernel (same numbers as
            # avg_pool2d(count_include_pad=True)*kh*kw, but one plain Conv in ONNX)
            if (kh, kw) == (1, 1) and self.stride == (1, 1):
                s = sq
            else:
                ones = torch.ones(1, 1, kh, kw, dtype=x.dtype, device=x.device)
                s = F.conv2d(sq, ones, None, self.stride, self.padding)
        else:
            s = F.avg_pool2d(sq, (kh, kw), self.stride, self.padding, count_include_pad=True) * (kh * kw)
        return torch.sqrt(s + 1e-6)

    def forward(self, x: Tensor) -> Tensor:
        out = F.conv2d(x, self.normalised_weight(), None, self.stride, self.padding)
        if self.max_out > 1:
            n, _, h, w = out.shape
            out = out.view(n, self.out_channels, self.max_out, h, w).amax(2)
        if self.b == 1.0:
            y = out
        else:
            norm = self.patch_norm(x)
            if self.b == 2.0:
                y = out * self._maybe_detach(out.abs() / norm)
            else:
                y = out * self._maybe_detach((out / norm).abs() + 1e-6).pow(self.b - 1.0)
        if self.prenormalised:
            if float(self.divisor) != 1.0:
                y = y * _f32(1.0 / float(self.divisor))
            return y
        return y / self.divisor

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, b={self.b}, max_out={self.max_out}")


class BcosLinear(DetachableModule):
    """B-cos linear layer over the last dimension: ||x|| = ||x||_2 + 1e-12, otherwise as BcosConv2d."""

    def __init__(self, in_features: int, out_features: int, b: float = 2.0, max_out: int = 1,
                 divisor: float = 1.0) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.b = float(b)
        self.max_out = int(max_out)
        self.weight = nn.Parameter(torch.empty(out_features * self.max_out, in_features))
        nn.init.kaiming_normal_(self.weight)
        self.register_buffer("divisor", torch.tensor(float(divisor)))
        self.prenormalised = False

    def normalised_weight(self) -> Tensor:
        if self.prenormalised:
            return self.weight
        return self.weight / self.weight.norm(p=2, dim=1, keepdim=True).clamp_min(1e-12)

    def forward(self, x: Tensor) -> Tensor:
        # x @ W^T as a MatMul (Debian's nn.Linear goes through a slow reference BLAS; matmul exports as MatMul)
        out = torch.matmul(x, self.normalised_weight().t())
        if self.max_out > 1:
            out = out.unflatten(-1, (self.out_features, self.max_out)).amax(-1)
        if self.b != 1.0:
            norm = torch.sqrt((x * x).sum(-1, keepdim=True)) + 1e-12
            if self.b == 2.0:
                out = out * self._maybe_detach(out.abs() / norm)
            else:
                out = out * self._maybe_detach((out / norm).abs() + 1e-6).pow(self.b - 1.0)
        if self.prenormalised:
            if float(self.divisor) != 1.0:
                out = out * _f32(1.0 / float(self.divisor))
            return out
        return out / self.divisor

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, b={self.b}, max_out={self.max_out}"


# --------------------------------------------------------------------------------------------------------------
# norms (all bias-free)
# --------------------------------------------------------------------------------------------------------------
class BatchNormUncentered2d(DetachableModule):
    """Uncentred batch norm without bias: y = gamma * x / sqrt(var + eps) (no mean subtraction, no beta).

    Training: var is the batch variance over (N, H, W) (detached in explanation mode), running_var is updated.
    Eval: the running variance is used, so the layer is a fixed per-channel scale.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("frozen_scale", None, persistent=False)  # set by to_inference_form

    def forward(self, x: Tensor) -> Tensor:
        if self.frozen_scale is not None:
            return x * self.frozen_scale
        if self.training:
            var = x.var(dim=(0, 2, 3), unbiased=False)
            with torch.no_grad():
                n = x.numel() / x.shape[1]
                self.running_var.mul_(1 - self.momentum).add_(var.detach() * (self.momentum * n / max(n - 1, 1)))
            var = self._maybe_detach(var)
        else:
            var = self.running_var
        scale = self.weight / torch.sqrt(var + self.eps)
        return x * scale.view(1, -1, 1, 1)


class DetachableLayerNorm(DetachableModule):
    """Centred LayerNorm over the last dim without bias; the variance is detached in explanation mode.

    y = gamma * (x - mean(x)) / sqrt(var(x) + eps). Mean-centring is linear and stays in the graph.
    """

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        xc = x - x.mean(-1, keepdim=True)
        var = (xc * xc).mean(-1, keepdim=True)
        return xc / self._maybe_detach(torch.sqrt(var + self.eps)) * self.weight


class DetachableGNLayerNorm2d(DetachableModule):
    """GroupNorm with one group (a LayerNorm over C, H, W per image), centred, without bias; the variance is
    detached in explanation mode. y = gamma_c * (x - mean_chw(x)) / sqrt(var_chw(x) + eps)."""

    def __init__(self, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_channels))

    def forward(self, x: Tensor) -> Tensor:
        xc = x - x.mean(dim=(1, 2, 3), keepdim=True)
        var = (xc * xc).mean(dim=(1, 2, 3), keepdim=True)
        return xc / self._maybe_detach(torch.sqrt(var + self.eps)) * self.weight.view(1, -1, 1, 1)


# --------------------------------------------------------------------------------------------------------------
# input / output
# --------------------------------------------------------------------------------------------------------------
class AddInverse(nn.Module):
    """[x, 1 - x] along the channel dimension (3 -> 6 channels for RGB, 1 -> 2 for grayscale)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, 1.0 - x], dim=1)


class LogitLayer(nn.Module):
    """logit = x / T + b with a constant bias b (B-cos-v2 default: b = -log(num_classes - 1), T = None)."""

    def __init__(self, logit_bias: float, logit_temperature: Optional[float] = None) -> None:
        super().__init__()
        self.logit_bias = float(logit_bias)
        self.logit_temperature = logit_temperature

    def forward(self, x: Tensor) -> Tensor:
        if self.logit_temperature is not None:
            x = x / self.logit_temperature
        return x + self.logit_bias


# --------------------------------------------------------------------------------------------------------------
# attention (B-cos ViT)
# --------------------------------------------------------------------------------------------------------------
class PlainLinear(nn.Module):
    """A bias-free linear map y = x W^T (state-dict key `weight`, like nn.Linear(bias=False)), computed with
    matmul: Debian's nn.Linear goes through a slow reference BLAS."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.normal_(self.weight, std=in_features ** -0.5)

    def forward(self, x: Tensor) -> Tensor:
        return torch.matmul(x, self.weight.t())


class BcosAttention(DetachableModule):
    """Multi-head self-attention of the B-cos ViT.

    x <- norm(x); q, k, v = one plain bias-free linear map (not B-cos); A = softmax(q k^T / sqrt(d));
    out = BcosLinear(A v). In explanation mode q and k are detached, so A is a constant (dynamic) weight on v and
    the block is linear in its input. `num_tokens` is fixed per model so every reshape exports with constant shapes.
    """

    def __init__(self, dim: int, heads: int, dim_head: int, num_tokens: int, norm: nn.Module,
                 divisor: float = 1.0) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.dim_head = dim_head
        self.num_tokens = num_tokens
        self.scale = dim_head ** -0.5
        self.norm = norm
        self.to_qkv = PlainLinear(dim, 3 * inner)  # NOT a B-cos layer
        self.to_out = BcosLinear(inner, dim, divisor=divisor)

    def _split(self, t: Tensor) -> Tensor:  # [B, N, h*d] -> [B, h, N, d]
        return t.reshape(-1, self.num_tokens, self.heads, self.dim_head).permute(0, 2, 1, 3)

    def forward(self, x: Tensor) -> Tensor:
        x = self.norm(x)
        inner = self.heads * self.dim_head
        qkv = self.to_qkv(x)
        q = self._maybe_detach(self._split(qkv[..., :inner]))
        k = self._maybe_detach(self._split(qkv[..., inner:2 * inner]))
        v = self._split(qkv[..., 2 * inner:])
        attn = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale, dim=-1)
        out = torch.matmul(attn, v).permute(0, 2, 1, 3).reshape(-1, self.num_tokens, inner)
        return self.to_out(out)


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------
def bcos_modules(model: nn.Module) -> List[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (BcosConv2d, BcosLinear))]


@torch.no_grad()
def calibrate_divisors(model: nn.Module, x: Tensor, target_rms: float = 1.0,
                       norms: bool = True) -> List[float]:
    """Sets each B-cos layer's divisor (and, if `norms`, each BatchNormUncentered2d's running variance) from data
    in ONE forward pass, in execution order: a forward hook measures the RMS of the layer's output on `x`,
    stores the divisor that brings it to `target_rms`, and passes the corrected output on, so every later layer
    is calibrated on already-calibrated inputs. Returns the divisors in execution order."""
    was_training = model.training
    model.eval()
    found: List[float] = []
    handles = []

    def bcos_hook(mod, inp, out):
        rms = float(out.pow(2).mean().sqrt())
        rms = max(rms, 1e-12) / target_rms
        mod.divisor.mul_(rms)
        found.append(float(mod.divisor))
        return out / rms

    def bn_hook(mod, inp, out):
        xin = inp[0]
        ms = xin.pow(2).mean(dim=(0, 2, 3))  # the uncentred second moment per channel
        mod.running_var.copy_(ms.clamp_min(1e-12))
        return xin * (mod.weight / torch.sqrt(mod.running_var + mod.eps)).view(1, -1, 1, 1)

    for m in model.modules():
        if isinstance(m, (BcosConv2d, BcosLinear)):
            handles.append(m.register_forward_hook(bcos_hook))
        elif norms and isinstance(m, BatchNormUncentered2d):
            handles.append(m.register_forward_hook(bn_hook))
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return found


@torch.no_grad()
def to_inference_form(model: nn.Module, fold_divisors: bool = True) -> nn.Module:
    """In place: store W/||W|| as the weight of every B-cos layer (no weight-norm ops at run time) and freeze the
    eval-mode scale of every BatchNormUncentered2d as a constant. The model must be in eval mode afterwards.

    With `fold_divisors` (b = 2 only) a layer's fixed divisor d is folded into its weight as W/(||W|| sqrt(d)),
    since out|out| is 2-homogeneous in the weight; the layer then emits no extra Mul. The stored weights are
    then no longer unit-norm; the B-cos pattern Mul(lin, Div(Abs(lin), norm)) is unchanged."""
    model.eval()
    for m in model.modules():
        if isinstance(m, (BcosConv2d, BcosLinear)) and not m.prenormalised:
            w = m.normalised_weight().detach().clone()
            d = float(m.divisor)
            if fold_divisors and m.b == 2.0 and d != 1.0:
                # (s*out)|s*out|/||x|| = s^2 * out|out|/||x||: storing W_hat/sqrt(d) divides the output by d
                w = w / math.sqrt(d)
                m.divisor.fill_(1.0)
            m.weight = nn.Parameter(w, requires_grad=False)
            m.prenormalised = True
        elif isinstance(m, BatchNormUncentered2d) and m.frozen_scale is None:
            m.frozen_scale = (m.weight / torch.sqrt(m.running_var + m.eps)).detach().view(1, -1, 1, 1).clone()
    return model
