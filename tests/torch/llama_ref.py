"""An independent LLaMA in PyTorch (the math of Hugging Face's LlamaForCausalLM, written out),
used by tests/trainer_torch_test.ts to check the trainer's loss and every parameter gradient.

usage: python3 llama_ref.py DIR
  DIR/meta.json    {"config": {...}, "params": [{"name", "shape", "offset", "size"}], "B", "T",
                    "tokens": [...], "targets": [...]}
  DIR/params.bin   all parameters, f32 little-endian, in the order of "params"
writes DIR/grads.bin (f64 gradients, same order) and DIR/result.json {"loss": float}
Computed in float64 so the reference's own rounding is negligible next to the trainer's f32.
"""
import json
import math
import sys

import torch

DTYPE = torch.float64


def rms_norm(x, w, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def main(folder):
    with open(f"{folder}/meta.json") as f:
        meta = json.load(f)
    cfg = meta["config"]
    raw = torch.frombuffer(bytearray(open(f"{folder}/params.bin", "rb").read()), dtype=torch.float32)
    params = {}
    for p in meta["params"]:
        t = raw[p["offset"]:p["offset"] + p["size"]].to(DTYPE).reshape(p["shape"]).clone()
        t.requires_grad_(True)
        params[p["name"]] = t
    B, T = meta["B"], meta["T"]
    D, H, V = cfg["hiddenSize"], cfg["numHeads"], cfg["vocabSize"]
    hd = D // H
    eps, theta = cfg["rmsNormEps"], cfg["ropeTheta"]
    tokens = torch.tensor(meta["tokens"], dtype=torch.long).reshape(B, T)
    targets = torch.tensor(meta["targets"], dtype=torch.long).reshape(B, T)

    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).to(DTYPE) / hd))
    freqs = torch.outer(torch.arange(T, dtype=DTYPE), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf"), dtype=DTYPE).triu(1)

    x = params["model.embed_tokens.weight"][tokens]
    for i in range(cfg["numLayers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, params[p + "input_layernorm.weight"], eps)
        q = (h @ params[p + "self_attn.q_proj.weight"].T).view(B, T, H, hd).transpose(1, 2)
        k = (h @ params[p + "self_attn.k_proj.weight"].T).view(B, T, H, hd).transpose(1, 2)
        v = (h @ params[p + "self_attn.v_proj.weight"].T).view(B, T, H, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        scores = q @ k.transpose(-1, -2) / math.sqrt(hd) + mask
        att = torch.softmax(scores, dim=-1) @ v
        att = att.transpose(1, 2).reshape(B, T, D)
        x = x + att @ params[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, params[p + "post_attention_layernorm.weight"], eps)
        gate = h @ params[p + "mlp.gate_proj.weight"].T
        up = h @ params[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ params[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, params["model.norm.weight"], eps)
    logits = x @ params["lm_head.weight"].T
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
    loss.backward()
    grads = torch.cat([params[p["name"]].grad.reshape(-1) for p in meta["params"]])
    with open(f"{folder}/grads.bin", "wb") as f:
        f.write(grads.numpy().astype("<f8").tobytes())
    with open(f"{folder}/result.json", "w") as f:
        json.dump({"loss": loss.item(), "torch": torch.__version__}, f)


if __name__ == "__main__":
    main(sys.argv[1])
