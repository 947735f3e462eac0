# The native reference for `npm run bench:decode`: transformers' decode on the same GPU, bf16, SDPA,
# a DynamicCache, greedy, one token per forward (what generate() does per step), after a prefill of
# random ids to each context length. Prints one JSON line per (layout, context).
# python3 bench/torch/decode.py --contexts 1024,16384,65536 --tokens 64 qwen2.5-0.5b llama-3.2-1b
import argparse, json, time
import torch
from transformers import DynamicCache
from layouts import build

parser = argparse.ArgumentParser()
parser.add_argument("--contexts", default="1024,16384,65536")
parser.add_argument("--tokens", type=int, default=64)
parser.add_argument("layouts", nargs="+")
args = parser.parse_args()

for name in args.layouts:
    model = build(name, torch.bfloat16).cuda().eval()
    for context in map(int, args.contexts.split(",")):
        ids = torch.randint(0, model.config.vocab_size, (1, context), device="cuda")
        with torch.no_grad():
            cache = DynamicCache()
            out = model(ids, past_key_values=cache, use_cache=True)
            token = out.logits[:, -1:].argmax(-1)
            for step in range(4 + args.tokens):
                if step == 4:
                    torch.cuda.synchronize()
                    started = time.perf_counter()
                out = model(token, past_key_values=cache, use_cache=True)
                token = out.logits[:, -1:].argmax(-1)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - started
        print(json.dumps({"layout": name, "engine": "transformers bf16 sdpa", "context": context,
                          "tokensPerSecond": args.tokens / seconds, "device": torch.cuda.get_device_name()}), flush=True)
        del cache, out
        torch.cuda.empty_cache()
    del model
    torch.cuda.empty_cache()
