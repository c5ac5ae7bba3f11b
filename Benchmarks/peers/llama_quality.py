#!/usr/bin/env python3
"""llama.cpp's own measure of what a quantized GGUF costs against its f32 GGUF, on a text.

    llama_quality.py F32_GGUF MODEL-DTYPE.gguf --dtype DTYPE --text FILE --llama-perplexity BIN --threads 2

llama-perplexity --kl-divergence-base saves the f32 model's log-probabilities over FILE (chunks
of 128 tokens, each from an empty cache, the second half of each chunk scored), then
--kl-divergence runs the quantized model over the same chunks and reports "Same top p": how
often both models' most likely token agree, our top-1 agreement. octavo-infer bench
--quality-text FILE counts the same positions of the same text.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

from common import log, report

CONTEXT = 128


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr[-4000:]}")
    return done.stdout + done.stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("quantized")
    parser.add_argument("--text", required=True)
    parser.add_argument("--llama-perplexity", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", required=True, help="the label of the quantized file, which ends in -DTYPE.gguf")
    args = parser.parse_args()
    common = ["-f", args.text, "-c", str(CONTEXT), "-b", str(CONTEXT), "-t", str(args.threads)]
    with tempfile.TemporaryDirectory() as work:
        base = os.path.join(work, "f32.kld")
        run([args.llama_perplexity, "-m", args.reference, "--kl-divergence-base", base] + common)
        out = run([args.llama_perplexity, "-m", args.quantized, "--kl-divergence-base", base, "--kl-divergence"] + common)
    same = re.search(r"Same top p:\s*([\d.]+)", out)
    kld = re.search(r"Mean\s+KLD:\s*([-\d.]+)", out)
    chunks = re.search(r"computing over (\d+) chunks", out)
    if not same:
        sys.exit(f"no 'Same top p' in llama-perplexity's output:\n{out[-4000:]}")
    dtype = args.dtype
    model = os.path.basename(args.quantized).removesuffix(".gguf").removesuffix(f"-{dtype}")
    log(f"llama.cpp {dtype} {model}: same top p {same.group(1)}%")
    report(engine="llama.cpp", model=model, dtype=dtype, task="quality",
           quality={"top1_agreement": float(same.group(1)) / 100, "mean_kl_divergence": float(kld.group(1)) if kld else None,
                    "positions": int(chunks.group(1)) * (CONTEXT - 1 - CONTEXT // 2) if chunks else None})


if __name__ == "__main__":
    main()
