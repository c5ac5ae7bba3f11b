#!/usr/bin/env python3
"""CTranslate2 on folders made by convert_ct2.py.

    ct2_bench.py gpt2 CT2_DIR --compute-type float32|int8 --prompt-tokens 32 --new-tokens 128 [--batch 8] --runs 5 --threads 2
    ct2_bench.py nllb CT2_DIR --compute-type float32|int8 --source-tokens 40 --new-tokens 64 --batch 16 --beams 4 [--use-vmap]

GPT-2: generate_tokens() streams greedy steps; the first token's time is prefill (plus one
step), decode tokens/s is the remaining tokens over their time. With --batch B (B different
prompts decoding together) it cannot stream, so generate_batch() is timed once for 1 token
(prefill, plus one step) and once for --new-tokens; decode tokens/s is B x (new tokens - 1)
over the difference, their sum over the streams, as octavo-infer bench --batch counts. NLLB: translate_batch()
with the target language as prefix, forced to exactly --new-tokens target tokens; target
tokens/s is the target tokens CTranslate2 returns over the call's time.

--use-vmap (NLLB): translate_batch(use_vmap=True), which scores only the candidates of the
folder's vmap.txt at the output layer. CTranslate2 loads vmap.txt with the model whenever the
file is there (and ignores use_vmap without it), so run.sh gives it its own folder,
work/ct2-vmap/MODEL-DTYPE, linking the converted files and the map. The row reports the
candidate count of the batch (output_vocabulary), computed by CTranslate2's rule and checked
against the width of the logits CTranslate2 returns, untimed.
"""

import json
import os

import ctranslate2

from common import arguments, benchmark_ids, log, now, peak_rss_mib, report, summary


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


def vmap_candidates(path, ids, sources, target_prefix):
    """CTranslate2's VocabularyMap::get_candidates (ids: token -> id): <unk>, <s>, </s>, the
    empty-key line, the target prefixes, and the targets of every source n-gram in the map."""
    rules = {}
    with open(path) as f:
        for line in f:
            key, _, targets = line.rstrip("\n").partition("\t")
            rules[key] = [ids.get(t, ids["<unk>"]) for t in targets.split(" ") if t]
    longest = max(key.count(" ") + 1 for key in rules)
    candidates = {ids["<unk>"], ids["<s>"], ids["</s>"]} | set(rules.get("", []))
    candidates |= {ids[t] for prefix in target_prefix for t in prefix}
    for tokens in sources:
        for i in range(len(tokens)):
            for n in range(1, min(longest, len(tokens) - i) + 1):
                candidates |= set(rules.get(" ".join(tokens[i:i + n]), []))
    return candidates


def nllb(args):
    start = now()
    translator = ctranslate2.Translator(args.dir, device="cpu", compute_type=args.compute_type,
                                        intra_threads=args.threads, inter_threads=1)
    load_s = now() - start
    with open(os.path.join(args.dir, "shared_vocabulary.json")) as f:
        vocabulary = json.load(f)
    sources = [["eng_Latn"] + [vocabulary[i] for i in benchmark_ids(args.source_tokens - 2, 256000, seed)] + ["</s>"]
               for seed in range(1, args.batch + 1)]
    target_prefix = [["spa_Latn"]] * args.batch
    options = dict(target_prefix=target_prefix, beam_size=args.beams, max_batch_size=0, use_vmap=args.use_vmap)
    speeds = []
    for run in range(args.runs + 1):
        start = now()
        results = translator.translate_batch(sources, min_decoding_length=args.new_tokens, max_decoding_length=args.new_tokens,
                                             return_scores=False, **options)
        seconds = now() - start
        tokens = sum(len(r.hypotheses[0]) for r in results)
        if run > 0:
            speeds.append(tokens / seconds)
        log(f"ct2 {args.compute_type} nllb batch {args.batch} beams {args.beams} run {run}: {tokens} tokens, {tokens / seconds:.1f} tok/s")
    # Before the map is parsed here in Python: the row's peak RSS is CTranslate2's.
    fields = {"peak_rss_mib": round(peak_rss_mib(), 1)}
    if args.use_vmap:
        path = os.path.join(args.dir, "vmap.txt")
        assert os.path.exists(path), f"{path}: CTranslate2 would ignore use_vmap and score the whole vocabulary"
        ids = {token: i for i, token in enumerate(vocabulary)}
        candidates = vmap_candidates(path, ids, sources, target_prefix)
        assert all(ids[t] in candidates for r in results for t in r.hypotheses[0])
        # Beam search returns no logits; the candidates are the batch's whatever the beam.
        check = translator.translate_batch(sources, max_decoding_length=2, return_logits_vocab=True, **dict(options, beam_size=1))
        assert check[0].logits[0][0].shape == [len(candidates)], (check[0].logits[0][0].shape, len(candidates))
        fields.update(vocabulary_map=os.path.basename(os.path.realpath(path)), output_vocabulary=len(candidates))
    dtype = "f32" if args.compute_type == "float32" else args.compute_type
    report(engine="ctranslate2 (vocabulary map)" if args.use_vmap else "ctranslate2", dtype=dtype,
           model=os.path.basename(args.dir.rstrip("/")), task="translate", batch=args.batch, beams=args.beams,
           source_tokens=args.source_tokens, new_tokens=args.new_tokens, **fields, load_ms=load_s * 1000,
           target_tokens_per_s=summary(speeds))


def main():
    args = arguments([("--compute-type", {"default": "float32"}), ("--use-vmap", {"action": "store_true"})])
    assert not (args.use_vmap and args.kind == "gpt2"), "--use-vmap applies to nllb"
    gpt2(args) if args.kind == "gpt2" else nllb(args)


if __name__ == "__main__":
    main()
