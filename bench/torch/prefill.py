# The native reference for the whole-model prefill table: transformers' forward over a whole document
# of random ids (SDPA, causal), f32 and bf16, on the same GPU as `npm run bench`. Prints one JSON line
# per (layout, dtype, length): the median of 3 timed runs after a warm-up, or "out of memory".
# python3 bench/torch/prefill.py --lengths 4096,16384,65536 qwen2.5-0.5b llama-3.2-1b
import argparse, json, statistics, time
import torch
from layouts import build

parser = argparse.ArgumentParser()
parser.add_argument("--lengths", default="4096,16384,65536")
parser.add_argument("layouts", nargs="+")
args = parser.parse_args()

for name in args.layouts:
    for dtype in (torch.float32, torch.bfloat16):
        model = build(name, dtype).cuda().eval()
        for n in map(int, args.lengths.split(",")):
            row = {"layout": name, "dtype": str(dtype).removeprefix("torch."), "tokens": n, "device": torch.cuda.get_device_name()}
            try:
                ids = torch.randint(0, model.config.vocab_size, (1, n), device="cuda")
                times = []
                with torch.no_grad():
                    for run in range(4):
                        torch.cuda.synchronize()
                        started = time.perf_counter()
                        model(ids, use_cache=True, logits_to_keep=1)
                        torch.cuda.synchronize()
                        if run > 0:
                            times.append((time.perf_counter() - started) * 1000)
                row["ms"] = statistics.median(times)
            except torch.OutOfMemoryError:
                row["ms"] = None
                row["error"] = "out of memory"
            print(json.dumps(row), flush=True)
            torch.cuda.empty_cache()
        del model
        torch.cuda.empty_cache()
