#!/usr/bin/env python3
"""CTranslate2 on folders made by convert_ct2.py.

    ct2_bench.py gpt2 CT2_DIR --compute-type float32|int8 --prompt-tokens 32 --new-tokens 128 [--batch 8] --runs 5 --threads 2
    ct2_bench.py nllb CT2_DIR --compute-type float32|int8 --source-tokens 40 --new-tokens 64 --batch 16 --beams 4

GPT-2: generate_tokens() streams greedy steps; the first token's time is prefill (plus one
step), decode tokens/s is the remaining tokens over their time. With --batch B (B different
prompts decoding together) it cannot stream, so generate_batch() is timed once for 1 token
(prefill, plus one step) and once for --new-tokens; decode tokens/s is B x (new tokens - 1)
over the difference, their sum over the streams, as octavo-infer bench --batch counts. NLLB: translate_batch()
with the target language as prefix, forced to exactly --new-tokens target tokens; target
tokens/s is the target tokens CTranslate2 returns over the call's time.
"""

import json
import os

import ctranslate2

from common import arguments, benchmark_ids, log, now, report, summary


def gpt2(args):
    start = now()
    generator = ctranslate2.Generator(args.dir, device="cpu", compute_type=args.compute_type,
                                      intra_threads=args.threads, inter_threads=1)
    load_s = now() - start
    with open(os.path.join(args.dir, "vocabulary.json")) as f:
        vocabulary = json.load(f)
    prompts = [[vocabulary[i] for i in benchmark_ids(args.prompt_tokens, len(vocabulary), seed)]
               for seed in range(1, args.batch + 1)]
    first, decode = [], []
    for run in range(args.runs + 1):
        ttft_ms, speed = (stream if args.batch == 1 else batch)(generator, prompts, args.new_tokens)
        if run > 0:
            first.append(ttft_ms)
            decode.append(speed)
        log(f"ct2 {args.compute_type} gpt2 batch {args.batch} run {run}: first token {ttft_ms:.0f} ms, {speed:.1f} tok/s")
    dtype = "f32" if args.compute_type == "float32" else args.compute_type
    report(engine="ctranslate2", dtype=dtype, model=os.path.basename(args.dir.rstrip("/")), task="generate",
           batch=args.batch, load_ms=load_s * 1000, prefill_ms=summary(first), decode_tokens_per_s=summary(decode))


def stream(generator, prompts, new_tokens):
    """One prompt, streamed: (first token ms, decode tokens/s)."""
    start = now()
    times = []
    for _ in generator.generate_tokens(prompts[0], max_length=new_tokens, min_length=new_tokens, sampling_topk=1):
        times.append(now())
    assert len(times) == new_tokens, len(times)
    return (times[0] - start) * 1000, (len(times) - 1) / (times[-1] - times[0])


def batch(generator, prompts, new_tokens):
    """Several prompts in one call: (first token ms, decode tokens/s summed over the prompts)."""
    def seconds(length):
        start = now()
        results = generator.generate_batch(prompts, max_length=length, min_length=length, sampling_topk=1,
                                           include_prompt_in_result=False)
        assert all(len(r.sequences_ids[0]) == length for r in results), [len(r.sequences_ids[0]) for r in results]
        return now() - start
    first_s = seconds(1)
    return first_s * 1000, len(prompts) * (new_tokens - 1) / (seconds(new_tokens) - first_s)


def nllb(args):
    start = now()
    translator = ctranslate2.Translator(args.dir, device="cpu", compute_type=args.compute_type,
                                        intra_threads=args.threads, inter_threads=1)
    load_s = now() - start
    with open(os.path.join(args.dir, "shared_vocabulary.json")) as f:
        vocabulary = json.load(f)
    sources = [["eng_Latn"] + [vocabulary[i] for i in benchmark_ids(args.source_tokens - 2, 256000, seed)] + ["</s>"]
               for seed in range(1, args.batch + 1)]
    speeds = []
    for run in range(args.runs + 1):
        start = now()
        results = translator.translate_batch(sources, target_prefix=[["spa_Latn"]] * args.batch, beam_size=args.beams,
                                             min_decoding_length=args.new_tokens, max_decoding_length=args.new_tokens,
                                             max_batch_size=0, return_scores=False)
        seconds = now() - start
        tokens = sum(len(r.hypotheses[0]) for r in results)
        if run > 0:
            speeds.append(tokens / seconds)
        log(f"ct2 {args.compute_type} nllb batch {args.batch} beams {args.beams} run {run}: {tokens} tokens, {tokens / seconds:.1f} tok/s")
    dtype = "f32" if args.compute_type == "float32" else args.compute_type
    report(engine="ctranslate2", dtype=dtype, model=os.path.basename(args.dir.rstrip("/")), task="translate",
           batch=args.batch, beams=args.beams, source_tokens=args.source_tokens, new_tokens=args.new_tokens,
           load_ms=load_s * 1000, target_tokens_per_s=summary(speeds))


def main():
    args = arguments([("--compute-type", {"default": "float32"})])
    gpt2(args) if args.kind == "gpt2" else nllb(args)


if __name__ == "__main__":
    main()
