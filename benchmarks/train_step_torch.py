"""PyTorch peer for benchmarks/train_step.ts: one training step (forward, backward, AdamW) of the
same LLaMA on the CPU, in f32 ("fp32") or with the FP4 paper's recipe as its code runs it
("fp4": fake quantization, i.e. absmax scale, round to E2M1, dequantize, f32 matmul; per-token
OCC quantile clamp with the residual added back; DGE factor on the weight gradient; output
gradient rounded to E5M2 per tensor). torch 1.13 (Debian) has no float8 dtypes, so E2M1 and
E5M2 rounding are written with torch ops, as the paper's simulation kernels do.

PyTorch's best shot: ATTENTION "sdpa" runs attention as a user would write it,
torch.nn.functional.scaled_dot_product_attention(is_causal=True) (fused kernels), instead of the
explicit softmax(q kᵀ) v; COMPILE "1" wraps the step's forward in torch.compile (inductor: the
first steps compile, then run generated C++/OpenMP code).

usage: python3 train_step_torch.py PRESET_JSON RECIPE BATCH STEPS THREADS [ATTENTION [COMPILE]]
prints one JSON line: {"recipe", "tokens_per_s", "step_s", "step_times", "threads", "torch",
"attention", "compile"}; step_s is the median of the timed steps.
"""
import json
import math
import sys
import time

import torch

E2M1_GRID = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
E2M1_MID = torch.tensor([0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0])
DGE_GRID = torch.cat((-E2M1_GRID.flip(0)[:-1], E2M1_GRID))


def e2m1(x):
    # the paper's look-up table: compare against the midpoints, ties upward
    idx = torch.bucketize(x.abs(), E2M1_MID, right=True)
    return E2M1_GRID[idx] * x.sign()


def fq_rows(x):
    scale = x.abs().amax(dim=-1, keepdim=True).clamp_min(1e-30) / 6.0
    return e2m1(x / scale) * scale, x / scale


def e5m2_tensor(x):
    amax = x.abs().max().clamp_min(1e-30)
    s = amax / 57344.0
    y = x / s
    m, e = torch.frexp(y)
    return torch.ldexp(torch.round(m * 8) / 8, e).clamp(-57344, 57344) * s


def dge_factor(w_scaled, k=5.0, cap=3.0):
    i = torch.bucketize(w_scaled, DGE_GRID, right=True).clamp(1, len(DGE_GRID) - 1) - 1
    lo, hi = DGE_GRID[i], DGE_GRID[i + 1]
    u = (2 * (w_scaled - lo) / (hi - lo) - 1).abs()
    return ((1 / k) * u.pow(1 / k - 1)).clamp(max=cap)


class FP4Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, w):
        a2 = a.reshape(-1, a.shape[-1])
        C = a2.shape[-1]
        srt = a2.sort(dim=-1).values
        lo = srt[:, int(math.floor(0.01 * C))].unsqueeze(1)
        hi = srt[:, int(math.floor(0.99 * C))].unsqueeze(1)
        ac = torch.maximum(torch.minimum(a2, hi), lo)
        aq = fq_rows(ac)[0] + (a2 - ac)
        wq, w_scaled = fq_rows(w)
        ctx.save_for_backward(aq, wq, w_scaled)
        ctx.shape = a.shape
        return (aq @ wq.T).reshape(*a.shape[:-1], w.shape[0])

    @staticmethod
    def backward(ctx, g):
        aq, wq, w_scaled = ctx.saved_tensors
        g2 = e5m2_tensor(g.reshape(-1, g.shape[-1]))
        da = (g2 @ wq).reshape(ctx.shape)
        dw = (g2.T @ aq) * dge_factor(w_scaled)
        return da, dw


def build(cfg, recipe):
    D, F, V, L = cfg["hiddenSize"], cfg["intermediateSize"], cfg["vocabSize"], cfg["numLayers"]
    P = {}

    def p(name, *shape):
        P[name] = torch.nn.Parameter(torch.randn(*shape) * 0.02 if len(shape) == 2 else torch.ones(*shape))

    p("embed", V, D)
    for i in range(L):
        for n, s in (("q", (D, D)), ("k", (D, D)), ("v", (D, D)), ("o", (D, D)),
                     ("gate", (F, D)), ("up", (F, D)), ("down", (D, F))):
            p(f"{i}.{n}", *s)
        p(f"{i}.ln1", D)
        p(f"{i}.ln2", D)
    p("norm", D)
    p("head", V, D)
    lin = (lambda x, w: FP4Linear.apply(x, w)) if recipe == "fp4" else (lambda x, w: x @ w.T)
    return P, lin


def step_fn(cfg, P, lin, tokens, targets, sdpa=False):
    B, T = tokens.shape
    D, H, V, L = cfg["hiddenSize"], cfg["numHeads"], cfg["vocabSize"], cfg["numLayers"]
    hd = D // H
    inv = 1.0 / (cfg["ropeTheta"] ** (torch.arange(0, hd, 2).float() / hd))
    fr = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat((fr, fr), -1)
    cos, sin = emb.cos(), emb.sin()

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + cfg["rmsNormEps"]))

    def rot(x):
        return torch.cat((-x[..., hd // 2:], x[..., :hd // 2]), -1)

    mask = torch.full((T, T), float("-inf")).triu(1)
    x = P["embed"][tokens]
    for i in range(L):
        h = rms(x, P[f"{i}.ln1"])
        q = lin(h, P[f"{i}.q"]).view(B, T, H, hd).transpose(1, 2)
        k = lin(h, P[f"{i}.k"]).view(B, T, H, hd).transpose(1, 2)
        v = lin(h, P[f"{i}.v"]).view(B, T, H, hd).transpose(1, 2)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        if sdpa:
            att = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1) @ v
        x = x + lin(att.transpose(1, 2).reshape(B, T, D), P[f"{i}.o"])
        h = rms(x, P[f"{i}.ln2"])
        x = x + lin(torch.nn.functional.silu(lin(h, P[f"{i}.gate"])) * lin(h, P[f"{i}.up"]), P[f"{i}.down"])
    logits = rms(x, P["norm"]) @ P["head"].T
    return torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))


def main():
    cfg = json.loads(sys.argv[1])
    recipe, B, steps, threads = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    attention = sys.argv[6] if len(sys.argv) > 6 else "manual"
    compiled = len(sys.argv) > 7 and sys.argv[7] == "1"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    P, lin = build(cfg, recipe)
    opt = torch.optim.AdamW(P.values(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    T = cfg["contextLength"]
    tokens = torch.randint(0, 256, (B, T))
    targets = torch.randint(0, 256, (B, T))

    sdpa = attention == "sdpa"

    def loss_fn(tokens, targets):
        return step_fn(cfg, P, lin, tokens, targets, sdpa)

    if compiled:
        loss_fn = torch.compile(loss_fn)

    def one():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(tokens, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(P.values(), 1.0)
        opt.step()

    for _ in range(3 if compiled else 1):
        one()  # warm-up (compiled: forward and backward graphs are built here)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        one()
        times.append(time.perf_counter() - t)
    dt = sorted(times)[len(times) // 2]
    print(json.dumps({"recipe": recipe, "tokens_per_s": B * T / dt, "step_s": dt,
                      "step_times": times, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "attention": attention, "compile": compiled}))


if __name__ == "__main__":
    main()
