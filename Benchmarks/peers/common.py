"""What every peer script shares: the inputs, the clock, the report line."""

import json
import random
import resource
import statistics
import sys
import time


def benchmark_ids(count, vocabulary_size, seed):
    """Token ids for a prompt or source sentence: the same for every engine of one run."""
    rng = random.Random(seed)
    return [rng.randrange(3, vocabulary_size - 300) for _ in range(count)]


def now():
    return time.perf_counter()


def summary(values):
    """min / median / max, the form octavo-infer bench reports."""
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def peak_rss_mib(who=resource.RUSAGE_SELF):
    """Peak resident memory of this process, or (RUSAGE_CHILDREN) of its largest finished child."""
    return resource.getrusage(who).ru_maxrss / 1024


def report(**fields):
    """One JSON line on stdout; Benchmarks/report.py reads them. Peak RSS is this process's unless given."""
    fields.setdefault("peak_rss_mib", round(peak_rss_mib(), 1))
    print(json.dumps(fields), flush=True)


def log(message):
    print(message, file=sys.stderr, flush=True)


def arguments(extra=()):
    """The command line every peer script takes; `extra` adds (flag, kwargs) pairs."""
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["gpt2", "nllb"])
    parser.add_argument("dir")
    for flag, options in extra:
        parser.add_argument(flag, **options)
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--source-tokens", type=int, default=40)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--beams", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    return parser.parse_args()
