#!/usr/bin/env python3
"""PyTorch + transformers, fp32, the way the Flask services ran the models.

    torch_bench.py gpt2 DIR --prompt-tokens 32 --new-tokens 128 --runs 5 --threads 2
    torch_bench.py nllb DIR --source-tokens 40 --new-tokens 64 --batch 16 --beams 1 --runs 3 --threads 2

GPT-2: prefill is one forward pass over the prompt; decode tokens/s is a loop of
single-token greedy steps over the KV cache (transformers' own cache), EOS ignored.
NLLB: generate() forced to exactly --new-tokens target tokens; target tokens/s is
batch x new tokens over the generate() time.
"""

import os

import torch

from common import arguments, benchmark_ids, log, now, report, summary


def gpt2(args):
    from transformers import GPT2LMHeadModel
    start = now()
    model = GPT2LMHeadModel.from_pretrained(args.dir, torch_dtype=torch.float32).eval()
    load_s = now() - start
    prompt = torch.tensor([benchmark_ids(args.prompt_tokens, model.config.vocab_size, 1)])
    prefill, decode = [], []
    with torch.inference_mode():
        for run in range(args.runs + 1):
            start = now()
            out = model(prompt, use_cache=True)
            prefill_s = now() - start
            past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
            start = now()
            for _ in range(args.new_tokens):
                out = model(token, past_key_values=past, use_cache=True)
                past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
            decode_s = now() - start
            if run > 0:
                prefill.append(prefill_s * 1000)
                decode.append(args.new_tokens / decode_s)
            log(f"pytorch gpt2 run {run}: prefill {prefill_s * 1000:.0f} ms, {args.new_tokens / decode_s:.1f} tok/s")
    report(engine="pytorch", dtype="f32", model=os.path.basename(args.dir), task="generate", batch=1,
           load_ms=load_s * 1000, prefill_ms=summary(prefill), decode_tokens_per_s=summary(decode))


def nllb(args):
    from transformers import M2M100ForConditionalGeneration
    start = now()
    model = M2M100ForConditionalGeneration.from_pretrained(args.dir, torch_dtype=torch.float32).eval()
    load_s = now() - start
    eng_latn, spa_latn = 256047, 256161
    sources = [[eng_latn] + benchmark_ids(args.source_tokens - 2, 256000, seed) + [2] for seed in range(1, args.batch + 1)]
    input_ids = torch.tensor(sources)
    speeds = []
    with torch.inference_mode():
        for run in range(args.runs + 1):
            start = now()
            out = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), num_beams=args.beams,
                                 do_sample=False, forced_bos_token_id=spa_latn, min_new_tokens=args.new_tokens,
                                 max_new_tokens=args.new_tokens, early_stopping=False, length_penalty=1.0)
            seconds = now() - start
            assert out.shape == (args.batch, 1 + args.new_tokens), out.shape  # decoder start + the target tokens
            if run > 0:
                speeds.append(args.batch * args.new_tokens / seconds)
            log(f"pytorch nllb batch {args.batch} beams {args.beams} run {run}: {args.batch * args.new_tokens / seconds:.1f} tok/s")
    report(engine="pytorch", dtype="f32", model=os.path.basename(args.dir), task="translate", batch=args.batch,
           beams=args.beams, source_tokens=args.source_tokens, new_tokens=args.new_tokens, load_ms=load_s * 1000,
           target_tokens_per_s=summary(speeds))


def main():
    args = arguments()
    torch.set_num_threads(args.threads)
    gpt2(args) if args.kind == "gpt2" else nllb(args)


if __name__ == "__main__":
    main()
