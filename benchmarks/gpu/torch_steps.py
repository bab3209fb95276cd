"""PyTorch CUDA peer of benchmarks/gpu/steps.ts: the same LLaMA and batch as the trainer's, one
optimizer step (forward, backward, clipping, AdamW) timed on the GPU, for
  "bf16": f32 weights under torch.autocast(bfloat16), the usual mixed precision;
  "fp4":  the FP4 paper's simulation as its code runs it (fake quantization to E2M1 per token
          and per channel, OCC, DGE, E5M2 output gradients), from ../train_step_torch.py.
Eager mode (no torch.compile), as the issue's target names.

usage: python3 torch_steps.py PRESET_JSON RECIPE BATCH STEPS
prints one JSON line: {"recipe", "tokens_per_s", "step_s", "torch", "gpu"}
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import train_step_torch as peer  # noqa: E402


def main():
    cfg = json.loads(sys.argv[1])
    recipe, B, steps = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    dev = torch.device("cuda")
    torch.set_default_device(dev)
    for name in ("E2M1_GRID", "E2M1_MID", "DGE_GRID"):
        setattr(peer, name, getattr(peer, name).to(dev))
    torch.manual_seed(0)
    P, lin = peer.build(cfg, "fp4" if recipe == "fp4" else "fp32")
    opt = torch.optim.AdamW(P.values(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    T = cfg["contextLength"]
    tokens = torch.randint(0, 256, (B, T))
    targets = torch.randint(0, 256, (B, T))

    def one():
        opt.zero_grad(set_to_none=True)
        if recipe == "bf16":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = peer.step_fn(cfg, P, lin, tokens, targets)
        else:
            loss = peer.step_fn(cfg, P, lin, tokens, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(P.values(), 1.0)
        opt.step()
        return loss

    for _ in range(2):
        one()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        loss = one()
    loss.item()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / steps
    print(json.dumps({"recipe": recipe, "tokens_per_s": B * T / dt, "step_s": dt,
                      "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}))


if __name__ == "__main__":
    main()
