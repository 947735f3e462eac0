# The native reference for the whole-model prefill table: transformers' forward over a whole document
# of random ids (SDPA, causal), f32 and bf16 (or the --dtypes given), on the same GPU as `npm run bench`.
# Prints one JSON line per (layout, dtype, length): the median of 3 timed runs after a warm-up, or
# "out of memory" (f32 at 64K: SDPA's f32 path holds the whole score matrix).
# python3 bench/torch/prefill.py --lengths 4096,16384,65536 qwen2.5-0.5b llama-3.2-1b
# python3 bench/torch/prefill.py --lengths 65536,131072 --dtypes bf16 qwen2.5-0.5b llama-3.2-1b
import argparse, json, statistics, time
import torch
from layouts import build

parser = argparse.ArgumentParser()
DTYPES = {"f32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16}


def dtype_list(text):
    try:
        return [DTYPES[name.strip().lower()] for name in text.split(",")]
    except KeyError as error:
        raise argparse.ArgumentTypeError(f"unknown dtype {error}: use {', '.join(DTYPES)}") from None


parser = argparse.ArgumentParser()
parser.add_argument("--lengths", default="4096,16384,65536")
parser.add_argument("--dtypes", type=dtype_list, default="f32,bf16", help="comma-separated: f32 (float32), bf16 (bfloat16)")
parser.add_argument("layouts", nargs="+")
args = parser.parse_args()

for name in args.layouts:
    for dtype in args.dtypes:
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
