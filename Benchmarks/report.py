#!/usr/bin/env python3
"""Tables from the JSON lines of a run: medians, and each row's ratio octavo-infer / engine.

    python Benchmarks/report.py Benchmarks/work/results.jsonl

A row is compared with octavo-infer's row of the same model, batch (and beams for NLLB)
and dtype class: llama.cpp's q8_0 counts as int8, since both store 8-bit weights with a
float scale (q8_0 per block of 32, octavo-infer and CTranslate2 per row). A field an
engine does not report (llama.cpp's load time) shows as "–".

NLLB rows run with a vocabulary map (engines named "... (vocabulary map)": only the map's
candidates are scored at the output layer) get their own table, with the candidate count of
the batch (output_vocabulary), and their ratios divide octavo-infer's vocabulary-map row by
CTranslate2's (use_vmap), never by a full-vocabulary row.

With ROUNDS > 1 (run.sh repeats every shape's engines back to back that many times), the
rows of one engine and shape are merged: each figure is the median over the rounds, and the
ratio is the median of the per-round ratios, so that a swing of the machine's memory
bandwidth between rounds (±20% here) moves both sides of a ratio together.
"""

import json
import re
import sys

DTYPE_CLASS = {"q8_0": "int8", "q4_0": "q4", "q4_0-pure": "q4"}
VOCABULARY_MAP = " (vocabulary map)"


def median(row, key):
    value = (row or {}).get(key)
    return value["median"] if isinstance(value, dict) else value


def cell(value, digits=0):
    return "–" if value is None else f"{value:.{digits}f}"


def ratio(ours, row, key):
    if ours is None or row["engine"].startswith("octavo-infer"):
        return ""
    pairs = list(zip(ours["rounds"], row["rounds"]))
    return f"{middle([median(a, key) / median(b, key) for a, b in pairs]):.2f}x"


def middle(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def merge_rounds(rows):
    """One row per engine and shape, in first-seen order; its figures the medians over the
    rounds, its per-round rows kept under "rounds"."""
    merged = {}
    for r in rows:
        identity = (r["engine"], r["model"], r["dtype"], r.get("batch", 1), r.get("beams", 1), r.get("task"))
        merged.setdefault(identity, []).append(r)
    out = []
    for group in merged.values():
        row = dict(group[0])
        for field, value in group[0].items():
            if isinstance(value, dict) and "median" in value:
                row[field] = {"median": middle([median(g, field) for g in group])}
            elif isinstance(value, (int, float)) and not isinstance(value, bool) and field not in ("batch", "beams"):
                row[field] = middle([g.get(field) for g in group])
        row["rounds"] = group
        out.append(row)
    return out


def model_name(row):
    """Peer scripts name the model by their converted folder (gpt2-int8, nllb-600m-f32)."""
    return re.sub(r"-(f32|f16|int8|q8_0|q4_0|q4_0-pure)$", "", row["model"])


def key(row, *fields):
    return (model_name(row), DTYPE_CLASS.get(row["dtype"], row["dtype"])) + tuple(row.get(f, 1) for f in fields)


def gpt2_table(rows):
    octavo = {key(r, "batch"): r for r in rows if r["engine"] == "octavo-infer"}
    print("| model | engine | dtype | batch | decode tok/s | octavo / engine | prefill ms | load ms | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {model_name(r)} | {r['engine']} | {r['dtype']} | {r.get('batch', 1)} | "
              f"{cell(median(r, 'decode_tokens_per_s'), 1)} | {ratio(octavo.get(key(r, 'batch')), r, 'decode_tokens_per_s')} | "
              f"{cell(median(r, 'prefill_ms'))} | {cell(r.get('load_ms'))} | {cell(r.get('peak_rss_mib'))} |")


def kv_cache_lines(rows):
    """octavo-infer's q4 with the f16 KV cache against llama.cpp q4_0, whose cache is f16 by
    default: the like-for-like ratio, median of the per-round ratios."""
    variants = [r for r in rows if r["engine"] == "octavo-infer (f16 KV cache)" and r["dtype"] == "q4"]
    for ours in variants:
        for peer in rows:
            if peer["engine"] == "llama.cpp" and key(peer, "batch") == key(ours, "batch"):
                print(f"- {model_name(ours)} q4 with the f16 KV cache / llama.cpp {peer['dtype']} (f16 KV cache): "
                      f"{ratio(ours, peer, 'decode_tokens_per_s')}")


def speculative_table(rows, peers):
    """f32-exact speculative rows (bench --draft): the speculative tok/s against the same
    run's plain f32 loop and against the f32 peer on the same model (median of per-round
    ratios): llama.cpp for GPT-2 decode, CTranslate2 greedy batch 1 for NLLB translation
    (target tokens/s), with the draft's acceptance and whether the ids matched the plain run's."""
    llama = {model_name(r): r for r in peers if r["engine"] == "llama.cpp" and r["dtype"] == "f32"}
    ct2 = {model_name(r): r for r in peers if r["engine"] == "ctranslate2" and r["dtype"] == "f32"
           and r.get("task") == "translate" and r.get("batch", 1) == 1 and r.get("beams", 1) == 1}
    print("| model | engine | tok/s | plain f32 tok/s | speedup | vs llama.cpp / CTranslate2 f32 | acceptance | "
          "tokens per pass | ids equal plain |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        translation = r.get("task") == "translate"
        peer = (ct2 if translation else llama).get(model_name(r))
        field = "target_tokens_per_s" if translation else "decode_tokens_per_s"
        versus = ""
        if peer is not None:
            pairs = zip(r["rounds"], peer["rounds"])
            versus = f"{middle([median(a, field) / median(b, field) for a, b in pairs]):.2f}x"
            versus += " CTranslate2" if translation else " llama.cpp"
        same = all(g.get("ids_equal_plain") for g in r["rounds"])
        print(f"| {model_name(r)} | {r['engine']} | {cell(median(r, 'decode_tokens_per_s'), 1)} | "
              f"{cell(median(r, 'plain_decode_tokens_per_s'), 1)} | {cell(r.get('speedup'), 2)}x | {versus} | "
              f"{r.get('acceptance_rate', 0) * 100:.1f}% | {cell(r.get('tokens_per_round'), 2)} | {'yes' if same else 'NO'} |")


def nllb_table(rows, reference):
    """reference: the octavo-infer engine the ratios are taken against."""
    octavo = {key(r, "batch", "beams"): r for r in rows if r["engine"] == reference}
    restricted = reference.endswith(VOCABULARY_MAP)
    columns = ["engine", "dtype", "batch", "beams", "target tok/s", "octavo / engine", "load ms", "peak RSS MiB"]
    if restricted:
        columns.insert(6, "output vocabulary")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for r in rows:
        cells = [r["engine"], r["dtype"], r["batch"], r.get("beams", 1), cell(median(r, "target_tokens_per_s"), 1),
                 ratio(octavo.get(key(r, "batch", "beams")), r, "target_tokens_per_s"),
                 cell(r.get("load_ms")), cell(r.get("peak_rss_mib"))]
        if restricted:
            cells.insert(6, cell(r.get("output_vocabulary")))
        print("| " + " | ".join(map(str, cells)) + " |")


def quality(rows):
    """octavo-infer's own measure of what int8 / f16 / q4 cost against f32 over the benchmark's
    tokens, then (task "quality") octavo-infer's and llama.cpp's over the same text."""
    for r in rows:
        q = r.get("quality")
        if r["engine"] == "octavo-infer" and q and r.get("task") != "quality":
            print(f"- {model_name(r)} {r['dtype']} batch {r.get('batch', 1)}: top-1 agreement "
                  f"{q['top1_agreement'] * 100:.1f}%, mean |logit error| {q['mean_abs_logit_error']:.4f}")
    for r in rows:
        q = r.get("quality")
        if r.get("task") == "quality" and q:
            extra = (f", mean |logit error| {q['mean_abs_logit_error']:.4f}" if "mean_abs_logit_error" in q
                     else f", mean KL divergence {q['mean_kl_divergence']:.4f}" if q.get("mean_kl_divergence") is not None else "")
            print(f"- {model_name(r)} {r['engine']} {r['dtype']}, same text as llama-perplexity: top-1 agreement "
                  f"{q['top1_agreement'] * 100:.1f}%{extra}")


def main():
    rows = merge_rounds([json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")])
    generate = [r for r in rows if "decode_tokens_per_s" in r and "draft" not in r]
    speculative = [r for r in rows if "draft" in r]
    translate = [r for r in rows if "target_tokens_per_s" in r]
    if generate:
        gpt2_table(generate)
        kv_cache_lines(generate)
    if speculative:
        print("\nf32-exact speculative decoding, batch 1 (greedy ids checked against the plain f32 loop; "
              "NLLB: target tokens/s of whole translations):")
        speculative_table(speculative, rows)
    for model in dict.fromkeys(model_name(r) for r in translate):
        same = [r for r in translate if model_name(r) == model]
        full = [r for r in same if not r["engine"].endswith(VOCABULARY_MAP)]
        restricted = [r for r in same if r["engine"].endswith(VOCABULARY_MAP)]
        shape = (f"{same[0].get('source_tokens', '?')}-token sources, {same[0].get('new_tokens', '?')} target tokens "
                 "each, target tokens/s over the whole translation")
        if full:
            print(f"\n{model}: {shape}")
            nllb_table(full, "octavo-infer")
        if restricted:
            maps = ", ".join(sorted({str(r.get("vocabulary_map")) for r in restricted}))
            print(f"\n{model} with the vocabulary map {maps} (only its candidates scored; CTranslate2: use_vmap): {shape}")
            nllb_table(restricted, "octavo-infer" + VOCABULARY_MAP)
    print()
    quality(rows)


if __name__ == "__main__":
    main()
