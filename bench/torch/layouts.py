# Model layouts of the benchmarks (real configurations, random weights), shared by the PyTorch
# reference scripts. `python3 bench/torch/layouts.py DIR NAME...` writes each as a Hub-layout model
# folder DIR/NAME (bf16 safetensors via save_pretrained) for Star Reader's own benchmarks to load.
#
# One departure: max_position_embeddings is 262144 in both. Star Reader refuses a document that
# leaves its window no position for the question, so a 131,072-token phase 1 (run-prefill-long.sh)
# needs a window past 131,072. Neither layout's RoPE reads it (Qwen2.5 has no scaling; Llama 3's
# scaling reads original_max_position_embeddings), so every computed value is the real model's.
import sys

LAYOUTS = {
    "qwen2.5-0.5b": dict(
        model_type="qwen2", hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, vocab_size=151936, max_position_embeddings=262144,
        rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu",
    ),
    "llama-3.2-1b": dict(
        model_type="llama", hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
        num_attention_heads=32, num_key_value_heads=8, head_dim=64, vocab_size=128256,
        max_position_embeddings=262144, rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
        hidden_act="silu",
        rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                          original_max_position_embeddings=8192),
    ),
}


def build(name, dtype):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    spec = dict(LAYOUTS[name])
    config = AutoConfig.for_model(spec.pop("model_type"), **spec)
    torch.manual_seed(0)
    # Made on the GPU where there is one: random initialisation of a billion weights takes a minute on
    # the CPU, out of a device call's ten.
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = AutoModelForCausalLM.from_config(config, torch_dtype=dtype, attn_implementation="sdpa")
    return model


def written(out, name):
    """Whether DIR/NAME holds this layout as written by this file: weights saved (they go last) and a
    config.json that agrees with every setting of it that it records (transformers versions move a few
    elsewhere). Device scripts in one call share /tmp/models, and a layout whose settings changed since
    (a longer window) is written again."""
    import json
    import os

    folder = f"{out}/{name}"
    weights = os.path.exists(f"{folder}/model.safetensors") or os.path.exists(f"{folder}/model.safetensors.index.json")
    if not weights:
        return False
    with open(f"{folder}/config.json") as f:
        saved = json.load(f)
    return all(saved[key] == value for key, value in LAYOUTS[name].items() if key in saved)


if __name__ == "__main__":
    import torch

    out = sys.argv[1]
    for name in sys.argv[2:]:
        if written(out, name):
            print(f"kept {out}/{name}", flush=True)
            continue
        build(name, torch.bfloat16).save_pretrained(f"{out}/{name}", safe_serialization=True)
        print(f"wrote {out}/{name}", flush=True)
