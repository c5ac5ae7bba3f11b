#!/usr/bin/env python3
"""Load test for `octavo-infer serve`: N concurrent clients, each sending requests back to back
for a fixed duration (or request count), through the HTTP API. Python's standard library only.

    python3 Benchmarks/load.py --url http://127.0.0.1:8080 --kind translate --clients 8 --duration 60
    python3 Benchmarks/load.py --kind completions --clients 32 --max-tokens 64 --json out.json

Reports aggregate generated tokens per second (all clients, over the wall time of the run),
requests (and translated sentences) per second, and p50/p95 request latency, as one JSON object
on stdout (and in --json). Generated tokens are the server's own count, the change of
`octavo_generated_tokens_total` on /metrics over the run (servers before the executor rewrite
counted the decoder start too: one token more per sentence).
"""
import argparse
import json
import statistics
import threading
import time
import urllib.error
import urllib.request

# Sentences of 15 to 25 words, English, as a translation client sends them.
SENTENCES = [
    "The old lighthouse keeper climbed the stairs every evening to light the lamp for the ships at sea.",
    "Children in the village learned to read from a single book that passed from house to house.",
    "When the river flooded in spring, the farmers moved their animals to the hills and waited for the water to fall.",
    "She wrote letters to her brother every week, although she never knew whether they reached him.",
    "The train was late again, so the passengers shared bread and stories on the cold platform.",
    "A small cat followed the baker home each morning, hoping for the crumbs he always dropped.",
    "Scientists measured the temperature of the lake for ten years and found that it was slowly rising.",
    "The market opened before sunrise, and by noon every basket of fruit had been sold.",
]

PROMPTS = [
    "Once upon a time, in a small town by the sea,",
    "The history of the city begins with a river and a bridge.",
    "In the morning the scientists gathered around the strange machine and",
    "My grandmother always said that the best way to learn a language is",
]


def post(url, body, timeout):
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def generated_tokens_total(base, model):
    """The server's octavo_generated_tokens_total for `model` (all models when None)."""
    with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
        text = response.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("octavo_generated_tokens_total{"):
            if model is None or f'model="{model}"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


def report(path):
    """One line per row of run.sh's load.jsonl: this script's rows and llama-batched-bench's."""
    for line in open(path):
        r = json.loads(line)
        if "clients" in r:
            print(f"{r['model']:10} {r['engine']:46} {r['kind']:18} {r['clients']:3} clients "
                  f"{r['tokens_per_s']:9} tok/s  p50 {r['latency_p50_s']} s  p95 {r['latency_p95_s']} s")
        else:
            print(f"{r['model']:10} {r['engine']:46} {'decode':18} {r['pl']:3} seqs    {r['speed_tg']:9.1f} tok/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--kind", choices=["translate", "completions"])
    parser.add_argument("--report", default=None, help="print the rows of this JSON-lines file (run.sh LOAD=1) and exit")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (after the first request)")
    parser.add_argument("--requests", type=int, default=0, help="stop after this many requests in all (0: by duration)")
    parser.add_argument("--model", default=None, help="model name on the server (default: its first)")
    parser.add_argument("--target", default="fra_Latn", help="translation target language")
    parser.add_argument("--sentences", type=int, default=1, help="sentences per translation request")
    parser.add_argument("--max-tokens", type=int, default=64, help="new tokens per request")
    parser.add_argument("--temperature", type=float, default=0,
                        help="completions' sampling temperature (0: greedy)")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args()
    if args.report:
        report(args.report)
        return
    if not args.kind:
        parser.error("--kind is required")

    base = args.url.rstrip("/")
    lock = threading.Lock()
    latencies, tokens, errors = [], [0], []
    counter = [0]
    stop_at = [0.0]

    def body(i):
        if args.kind == "translate":
            text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(args.sentences))
            b = {"text": text, "target": args.target, "max_tokens": args.max_tokens}
        else:
            # A random-weight model rarely ends early, so max_tokens sets the length.
            b = {"prompt": PROMPTS[i % len(PROMPTS)], "max_tokens": args.max_tokens, "temperature": args.temperature}
        if args.model:
            b["model"] = args.model
        return b

    path = "/v1/translate" if args.kind == "translate" else "/v1/completions"

    def client(index):
        i = index
        while True:
            with lock:
                if args.requests and counter[0] >= args.requests:
                    return
                if not args.requests and time.monotonic() >= stop_at[0]:
                    return
                counter[0] += 1
            start = time.monotonic()
            try:
                reply = post(base + path, body(i), args.timeout)
            except (urllib.error.URLError, OSError, ValueError) as error:
                with lock:
                    errors.append(str(error))
                time.sleep(0.1)
                continue
            elapsed = time.monotonic() - start
            with lock:
                latencies.append(elapsed)
            i += args.clients

    # One request first, so that the first run's warm-up is not measured.
    post(base + path, body(0), args.timeout)
    before = generated_tokens_total(base, args.model)
    started = time.monotonic()
    stop_at[0] = started + args.duration
    threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    tokens[0] = generated_tokens_total(base, args.model) - before

    ordered = sorted(latencies)

    def percentile(p):
        if not ordered:
            return None
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    result = {
        "kind": args.kind if args.kind == "translate" or args.temperature == 0 else f"{args.kind} t={args.temperature:g}",
        "clients": args.clients,
        "requests": len(latencies),
        "errors": len(errors),
        "wall_s": round(wall, 3),
        "generated_tokens": int(tokens[0]),
        "tokens_per_s": round(tokens[0] / wall, 2) if wall > 0 else None,
        "requests_per_s": round(len(latencies) / wall, 3) if wall > 0 else None,
        "sentences_per_s": round(len(latencies) * args.sentences / wall, 3) if args.kind == "translate" else None,
        "latency_p50_s": round(percentile(50), 3) if ordered else None,
        "latency_p95_s": round(percentile(95), 3) if ordered else None,
        "latency_mean_s": round(statistics.mean(ordered), 3) if ordered else None,
        "max_tokens": args.max_tokens,
        "sentences_per_request": args.sentences if args.kind == "translate" else None,
        "first_error": errors[0] if errors else None,
    }
    text = json.dumps(result)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
