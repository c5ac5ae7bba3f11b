#!/usr/bin/env python3
"""One table from the JSON lines of a run: medians, and each row's ratio to octavo-infer at the same dtype.

    python Benchmarks/report.py Benchmarks/work/results.jsonl
"""

import json
import sys


def median(row, key):
    value = row.get(key)
    return value["median"] if isinstance(value, dict) else value


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
    octavo = {(r["model"], r["dtype"]): r for r in rows if r["engine"] == "octavo-infer"}
    print("| model | engine | dtype | decode tok/s | octavo / engine | prefill ms | load ms | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        base = r["model"].split("-f32")[0].split("-int8")[0]
        ours = octavo.get((base, r["dtype"]))
        speed = median(r, "decode_tokens_per_s")
        ratio = f"{median(ours, 'decode_tokens_per_s') / speed:.2f}x" if ours and ours is not r else ""
        print(f"| {base} | {r['engine']} | {r['dtype']} | {speed:.1f} | {ratio} | {median(r, 'prefill_ms'):.0f} | "
              f"{r['load_ms']:.0f} | {r['peak_rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
