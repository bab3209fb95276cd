"""An independent check of a trainer checkpoint folder, as Hugging Face would read it.

usage: python3 eval_ref.py CHECKPOINT_DIR DATA_FILE [GREEDY_PROMPT GREEDY_TOKENS]

Reads config.json (LlamaConfig fields) and model.safetensors with its own parser (struct + json,
no fp4lab code), checks that the tensor names and shapes are exactly those of
transformers' LlamaForCausalLM state dict for that config, then computes in float64 the mean
next-byte cross-entropy over consecutive non-overlapping windows of max_position_embeddings
(remainder dropped; each window predicts its own next bytes, as model(ids, labels=ids) does).
With a prompt, also a greedy continuation (argmax, lowest id on ties, float32 like the trainer).
When `transformers` is importable the same loss is also computed by
LlamaForCausalLM.from_pretrained(CHECKPOINT_DIR) and reported as "hf_loss".
Prints one JSON object on stdout.
"""
import json
import math
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + b:base + end]), dtype=DTYPES[e["dtype"]])
        out[name] = t.reshape(e["shape"]) if e["shape"] else t.reshape(())
    return out, meta


def expected_shapes(cfg):
    """The state-dict names and shapes of transformers' LlamaForCausalLM for this config."""
    D, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, KV = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    hd = D // H
    shapes = {"model.embed_tokens.weight": [V, D], "model.norm.weight": [D]}
    if not cfg.get("tie_word_embeddings", True):
        shapes["lm_head.weight"] = [V, D]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "self_attn.q_proj.weight"] = [H * hd, D]
        shapes[p + "self_attn.k_proj.weight"] = [KV * hd, D]
        shapes[p + "self_attn.v_proj.weight"] = [KV * hd, D]
        shapes[p + "self_attn.o_proj.weight"] = [D, H * hd]
        shapes[p + "mlp.gate_proj.weight"] = [F, D]
        shapes[p + "mlp.up_proj.weight"] = [F, D]
        shapes[p + "mlp.down_proj.weight"] = [D, F]
        shapes[p + "input_layernorm.weight"] = [D]
        shapes[p + "post_attention_layernorm.weight"] = [D]
    return shapes


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def logits_of(W, cfg, tokens, dtype):
    B, T = tokens.shape
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    hd = D // H
    eps, theta = cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).to(dtype) / hd))
    freqs = torch.outer(torch.arange(T, dtype=dtype), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf"), dtype=dtype).triu(1)
    x = W["model.embed_tokens.weight"][tokens]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(B, T, H, hd).transpose(1, 2)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(B, T, H, hd).transpose(1, 2)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(B, T, H, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1) @ v
        x = x + att.transpose(1, 2).reshape(B, T, D) @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        gate = h @ W[p + "mlp.gate_proj.weight"].T
        up = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ W[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, W["model.norm.weight"], eps)
    return x @ W["lm_head.weight"].T


def main(folder, data_path, prompt=None, greedy_tokens=0):
    with open(f"{folder}/config.json") as f:
        cfg = json.load(f)
    tensors, meta = read_safetensors(f"{folder}/model.safetensors")
    want = expected_shapes(cfg)
    problems = []
    if cfg.get("architectures") != ["LlamaForCausalLM"] or cfg.get("model_type") != "llama":
        problems.append("config.json is not a LlamaForCausalLM config")
    if meta.get("format") != "pt":
        problems.append('safetensors metadata "format" is not "pt" (from_pretrained wants it)')
    for name, shape in want.items():
        if name not in tensors:
            problems.append(f"missing {name}")
        elif list(tensors[name].shape) != shape:
            problems.append(f"{name}: shape {list(tensors[name].shape)}, want {shape}")
    problems += [f"unexpected {n}" for n in tensors if n not in want]

    W = {k: v.to(torch.float64) for k, v in tensors.items()}
    T = cfg["max_position_embeddings"]
    data = open(data_path, "rb").read()
    windows = len(data) // T
    ids = torch.tensor(list(data[: windows * T]), dtype=torch.long).reshape(windows, T)
    total, count = 0.0, 0
    with torch.no_grad():
        for b in range(0, windows, 64):
            chunk = ids[b:b + 64]
            logits = logits_of(W, cfg, chunk[:, :-1], torch.float64)
            V = logits.shape[-1]
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, V), chunk[:, 1:].reshape(-1), reduction="sum")
            total += loss.item()
            count += chunk[:, 1:].numel()
    result = {"loss": total / count, "tokens": count, "problems": problems,
              "torch": torch.__version__}

    if prompt is not None:
        W32 = {k: v.to(torch.float32) for k, v in tensors.items()}
        seq = list(prompt.encode("utf-8"))
        with torch.no_grad():
            for _ in range(greedy_tokens):
                ctx = torch.tensor([seq[-T:]], dtype=torch.long)
                row = logits_of(W32, cfg, ctx, torch.float32)[0, -1]
                seq.append(int(torch.argmax(row).item()))
        result["greedy"] = seq[len(prompt.encode("utf-8")):]

    try:
        import transformers  # noqa: F401  (not in Debian bookworm; used when present)
        model = transformers.LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.float64)
        with torch.no_grad():
            hf_total = 0.0
            for b in range(0, windows, 64):
                chunk = ids[b:b + 64]
                out = model(chunk, labels=chunk)
                hf_total += out.loss.item() * chunk[:, 1:].numel()
        result["hf_loss"] = hf_total / count
    except ImportError:
        result["hf_loss"] = None
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 5:
        main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main(sys.argv[1], sys.argv[2])
