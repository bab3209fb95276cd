"""transformers' view of fp4lab's tokenizers (tests/tokenizer_transformers_test.ts).

Usage: tokenizer_ref.py VOCAB_JSON MERGES_TXT CHECKPOINT_DIR TEXT_FILE

Prints JSON: the ids of the text under transformers' GPT2Tokenizer built from GPT-2's own
vocab.json / merges.txt (copied into a temporary folder, as the Hub's openai-community/gpt2 holds
them), under AutoTokenizer.from_pretrained(CHECKPOINT_DIR) (the tokenizer.json fp4lab writes),
that tokenizer's decoding of them, and a greedy continuation from pipeline("text-generation").
"""
import json
import os
import shutil
import sys
import tempfile

from transformers import AutoTokenizer, GPT2Tokenizer, pipeline

vocab_json, merges_txt, ckpt, text_file = sys.argv[1:5]
with open(text_file, encoding="utf-8", newline="") as f:
    text = f.read()
tmp = tempfile.mkdtemp()
try:
    shutil.copy(vocab_json, os.path.join(tmp, "vocab.json"))
    shutil.copy(merges_txt, os.path.join(tmp, "merges.txt"))
    gpt2 = GPT2Tokenizer.from_pretrained(tmp)
    gpt2_ids = gpt2.encode(text)
finally:
    shutil.rmtree(tmp)
auto = AutoTokenizer.from_pretrained(ckpt)
auto_ids = auto.encode(text, add_special_tokens=False)
generator = pipeline("text-generation", model=ckpt, tokenizer=auto, device="cpu")
out = generator("The jury", max_new_tokens=5, do_sample=False)
print(json.dumps({
    "gpt2": gpt2_ids,
    "auto": auto_ids,
    "auto_class": type(auto).__name__,
    "decoded": auto.decode(auto_ids),
    "generated": out[0]["generated_text"],
}))
