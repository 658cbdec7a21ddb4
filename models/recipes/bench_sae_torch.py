"""PyTorch reference for bench/saeTrain.bench.ts: one training step of FaCT's bias-free TopK SAE, timed on the CPU.

Two variants of the same step (loss = mean_b sum_d (x - x_hat)^2 + auxk_coef * AuxK, decoder-gradient projection,
clip_grad_norm_(1.0), Adam(0.9, 0.999), decoder columns renormalised):
  fact   - FaCT's own code path (fact/training/saes.py on dictionary_learning's TopKTrainer): autograd through a dense
           B x K code buffer (scatter of the top-k values), nn.Linear encoder/decoder.
  sparse - the formulation of our ONNX graph written by hand: gather the k active decoder rows, hand-derived backward
           with index_add_, no autograd and no dense B x K code buffer.

Prints one JSON line: {"variant", "ms_per_step" (median), "vectors_per_s", "torch", "threads", "allocator"}.
Run: /usr/bin/python3 models/recipes/bench_sae_torch.py --d 128 --K 2048 --k 16 --B 4096 --steps 10 --variant fact
(optionally with LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4).
"""
import argparse
import json
import os
import statistics
import time

import torch
from torch import nn


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--d", type=int, required=True)
    p.add_argument("--K", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--B", type=int, required=True)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--dead", type=int, default=0, help="latents marked as dead candidates (AuxK active when > 0)")
    p.add_argument("--auxk-max", type=int, default=256)
    p.add_argument("--auxk-coef", type=float, default=1 / 32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--variant", choices=["fact", "sparse"], default="fact")
    return p.parse_args()


class BiasFreeTopKSAE(nn.Module):
    """MyBiasFreeTopKSAE: encoder.weight [K,d], decoder.weight [d,K], unit-norm decoder columns, W_enc = W_dec^T."""

    def __init__(self, d, K, k):
        super().__init__()
        self.k = k
        self.decoder = nn.Linear(K, d, bias=False)
        self.decoder.weight.data /= self.decoder.weight.data.norm(dim=0, keepdim=True)
        self.encoder = nn.Linear(d, K, bias=False)
        self.encoder.weight.data = self.decoder.weight.data.T.clone()


def unit_norm_(w):
    w.data /= w.data.norm(dim=0, keepdim=True) + torch.finfo(w.dtype).eps


def remove_parallel(w, g):
    normed = w / (w.norm(dim=0, keepdim=True) + 1e-6)
    return g - (g * normed).sum(dim=0, keepdim=True) * normed


def dead_now(dead_candidates, fired):
    return dead_candidates & ~fired


def fact_step(sae, opt, x, dead_candidates, a):
    """FaCT's MyTopKTrainer.update, with the dead mask given instead of tracked."""
    pre_relu = torch.relu(sae.encoder(x))
    vals, idx = pre_relu.topk(sae.k, sorted=False, dim=-1)
    f = torch.zeros_like(pre_relu).scatter_(-1, idx, vals)
    x_hat = sae.decoder(f)
    e = x - x_hat
    loss = e.pow(2).sum(dim=-1).mean()
    fired = torch.zeros(pre_relu.shape[1], dtype=torch.bool)
    fired[idx.flatten()[vals.flatten() > 0]] = True
    dead = dead_now(dead_candidates, fired)
    n_dead = int(dead.sum())
    if n_dead > 0 and a.auxk_coef > 0:
        residual = e.detach()
        aux_vals, aux_idx = torch.where(dead[None], pre_relu, -torch.inf).topk(min(a.auxk_max, n_dead), sorted=False)
        aux_f = torch.zeros_like(pre_relu).scatter_(-1, aux_idx, aux_vals)
        aux_l2 = (residual - sae.decoder(aux_f)).pow(2).sum(dim=-1).mean()
        denom = (residual - residual.mean(dim=0, keepdim=True)).pow(2).sum(dim=-1).mean()
        loss = loss + a.auxk_coef * aux_l2 / denom
    loss.backward()
    sae.decoder.weight.grad = remove_parallel(sae.decoder.weight, sae.decoder.weight.grad)
    torch.nn.utils.clip_grad_norm_(sae.parameters(), 1.0)
    opt.step()
    opt.zero_grad()
    unit_norm_(sae.decoder.weight)
    return float(loss)


def sparse_step(sae, opt, x, dead_candidates, a):
    """The same step as our ONNX graph: gathered decoder rows, hand-derived backward, no dense B x K codes."""
    with torch.no_grad():
        B, d = x.shape
        w_enc, w_dec = sae.encoder.weight, sae.decoder.weight
        dec_rows = w_dec.t().contiguous()                                     # [K,d]
        pre = x @ w_enc.t()                                                   # [B,K]
        vals, idx = pre.topk(sae.k, dim=1, sorted=False)
        u = torch.relu(vals)
        rows = dec_rows[idx]                                                  # [B,k,d]
        e = x - torch.bmm(u.unsqueeze(1), rows).squeeze(1)
        loss = e.pow(2).sum() / B
        d_xhat = e * (-2.0 / B)
        du = torch.bmm(rows, d_xhat.unsqueeze(2)).squeeze(2) * (vals > 0)
        all_idx = [idx.flatten()]
        enc_upd = [(du.unsqueeze(2) * x.unsqueeze(1)).reshape(-1, d)]
        dec_upd = [(u.unsqueeze(2) * d_xhat.unsqueeze(1)).reshape(-1, d)]
        fired = torch.zeros(pre.shape[1], dtype=torch.bool)
        fired[idx.flatten()[vals.flatten() > 0]] = True
        dead = dead_now(dead_candidates, fired)
        n_dead = int(dead.sum())
        if n_dead > 0 and a.auxk_coef > 0:
            aux_vals, aux_idx = torch.where(dead[None], pre, -torch.inf).topk(min(a.auxk_max, n_dead), dim=1, sorted=False)
            aux_u = torch.relu(aux_vals)
            aux_rows = dec_rows[aux_idx]
            aux_err = e - torch.bmm(aux_u.unsqueeze(1), aux_rows).squeeze(1)
            denom = (e - e.mean(dim=0, keepdim=True)).pow(2).sum() / B
            loss = loss + a.auxk_coef * aux_err.pow(2).sum() / B / denom
            d_aux = aux_err * (-2.0 * a.auxk_coef / (B * denom))
            d_aux_u = torch.bmm(aux_rows, d_aux.unsqueeze(2)).squeeze(2) * (aux_vals > 0)
            all_idx.append(aux_idx.flatten())
            enc_upd.append((d_aux_u.unsqueeze(2) * x.unsqueeze(1)).reshape(-1, d))
            dec_upd.append((aux_u.unsqueeze(2) * d_aux.unsqueeze(1)).reshape(-1, d))
        cat = lambda parts: parts[0] if len(parts) == 1 else torch.cat(parts)  # noqa: E731
        all_idx = cat(all_idx)
        K = w_enc.shape[0]
        w_enc.grad = torch.zeros(K, d).index_add_(0, all_idx, cat(enc_upd))
        grad_dec = torch.zeros(K, d).index_add_(0, all_idx, cat(dec_upd)).t()
        w_dec.grad = remove_parallel(w_dec, grad_dec)
    torch.nn.utils.clip_grad_norm_(sae.parameters(), 1.0)
    opt.step()
    opt.zero_grad()
    unit_norm_(sae.decoder.weight)
    return float(loss)


def main():
    a = parse()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    sae = BiasFreeTopKSAE(a.d, a.K, a.k)
    opt = torch.optim.Adam(sae.parameters(), lr=1e-3, betas=(0.9, 0.999))
    x = torch.randn(a.B, a.d) / a.d ** 0.5
    dead_candidates = torch.zeros(a.K, dtype=torch.bool)
    if a.dead > 0:
        dead_candidates[torch.arange(a.dead) * (a.K // a.dead)] = True
    step = fact_step if a.variant == "fact" else sparse_step
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        step(sae, opt, x, dead_candidates, a)
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1000
    preload = os.environ.get("LD_PRELOAD", "")
    print(json.dumps({
        "variant": a.variant, "ms_per_step": ms, "vectors_per_s": a.B / (ms / 1000),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "allocator": "tcmalloc-minimal" if "tcmalloc" in preload else "glibc malloc",
    }))


if __name__ == "__main__":
    main()
