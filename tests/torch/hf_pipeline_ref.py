"""Loads an fp4lab checkpoint folder the way a Hugging Face user would: AutoTokenizer and
pipeline("text-generation"), with nothing but the folder. Prints JSON on stdout:
  {"encoded": [...], "roundtrip": str, "text": str, "ids": [...], "max_new": int}
usage: hf_pipeline_ref.py FOLDER PROMPT PROBE
"""
import json
import sys

import torch
from transformers import AutoTokenizer, pipeline


def main(folder: str, prompt: str, probe: str) -> None:
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(folder)
    encoded = tok(probe)["input_ids"]
    roundtrip = tok.decode(encoded)
    # Nothing but the folder: the pipeline finds the tokenizer and generation_config.json
    # (greedy, up to the context length) there.
    generate = pipeline("text-generation", model=folder, device="cpu")
    context = generate.model.config.max_position_embeddings
    max_new = context - len(tok(prompt)["input_ids"])
    out = generate(prompt)
    ids = generate(prompt, return_tensors=True)
    print(json.dumps({
        "encoded": encoded,
        "roundtrip": roundtrip,
        "text": out[0]["generated_text"],
        "ids": [int(i) for i in ids[0]["generated_token_ids"]],
        "max_new": max_new,
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
