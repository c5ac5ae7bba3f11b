#!/usr/bin/env python3
"""llama.cpp's own llama-bench on GGUF files made by convert_gguf.py.

    llama_bench.py gpt2 GGUF --llama-bench BIN --dtype f32|q8_0 --prompt-tokens 32 --new-tokens 128 --runs 5 --threads 2

llama-bench times its two tests itself, each after its own warm-up: pp (one batch over a
--prompt-tokens prompt: our prefill) and tg (--new-tokens single-token steps over the KV
cache: our decode; it starts from an empty cache rather than after the prompt, which
changes little at 128 + 32 tokens). Its JSON has every run's time in samples_ns, from which
we take min / median / max like the other engines. It does not report load time (llama.cpp
memory-maps the file), so load_ms is left out; peak RSS is the llama-bench process's, read
from getrusage(RUSAGE_CHILDREN) once it has exited.
"""

import json
import os
import resource
import subprocess
import sys

from common import arguments, log, peak_rss_mib, report, summary


def main():
    args = arguments([("--llama-bench", {"required": True}), ("--dtype", {"required": True})])
    if args.kind != "gpt2" or args.batch != 1:
        sys.exit("llama_bench.py measures GPT-2 at batch 1 only")
    command = [args.llama_bench, "-m", args.dir, "-p", str(args.prompt_tokens), "-n", str(args.new_tokens),
               "-t", str(args.threads), "-r", str(args.runs), "-o", "json"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    tests = json.loads(done.stdout)
    prefill = next(t for t in tests if t["n_prompt"] > 0 and t["n_gen"] == 0)
    decode = next(t for t in tests if t["n_gen"] > 0 and t["n_prompt"] == 0)
    prefill_ms = [ns / 1e6 for ns in prefill["samples_ns"]]
    decode_speeds = [decode["n_gen"] / (ns / 1e9) for ns in decode["samples_ns"]]
    for run, (ms, speed) in enumerate(zip(prefill_ms, decode_speeds), 1):
        log(f"llama.cpp {args.dtype} gpt2 run {run}: prefill {ms:.0f} ms, {speed:.1f} tok/s")
    model = os.path.basename(args.dir).removesuffix(".gguf").removesuffix(f"-{args.dtype}")
    report(engine="llama.cpp", dtype=args.dtype, model=model, task="generate", batch=1,
           prefill_ms=summary(prefill_ms), decode_tokens_per_s=summary(decode_speeds),
           peak_rss_mib=round(peak_rss_mib(resource.RUSAGE_CHILDREN), 1))


if __name__ == "__main__":
    main()
