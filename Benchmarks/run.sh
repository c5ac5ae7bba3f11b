#!/usr/bin/env bash
# Side by side, one run, same machine: octavo-infer against PyTorch + transformers and
# CTranslate2 (fp32 and int8) on random-weight GPT-2 checkpoints at the real shapes.
#   bash Benchmarks/run.sh            # gpt2; MODELS="gpt2 gpt2-medium" for more, RUNS=5, THREADS=2
# Everything it downloads or makes stays in Benchmarks/work/ (ignored by git).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
work="$here/work"
models="${MODELS:-gpt2}"
runs="${RUNS:-5}"
threads="${THREADS:-2}"
mkdir -p "$work"

# Peers in a throwaway virtualenv, pinned to the versions ../shared/MEASURED.md used.
if [ ! -x "$work/venv/bin/ct2-transformers-converter" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check \
        torch==2.15.0 transformers==5.24.0 ctranslate2==4.8.5 safetensors numpy
fi
python="$work/venv/bin/python"
swift build -c release --product octavo-infer
octavo="$(swift build -c release --show-bin-path)/octavo-infer"

results="$work/results.jsonl"
: > "$results"
for model in $models; do
    "$python" "$here/make_checkpoints.py" "$work/models" "$model"
    for quantization in float32 int8; do
        out="$work/ct2/$model-${quantization/float32/f32}"
        [ -f "$out/model.bin" ] || "$work/venv/bin/ct2-transformers-converter" --model "$work/models/$model" \
            --output_dir "$out" --quantization "$quantization" --force
    done
    for dtype in f32 int8; do
        "$octavo" bench --model "$work/models/$model" --runs "$runs" --threads "$threads" --dtype "$dtype" --json |
            "$python" -c 'import json,sys; r=json.load(sys.stdin); r["engine"]="octavo-infer"; print(json.dumps(r))' >> "$results"
    done
    (cd "$here/peers" && "$python" torch_bench.py gpt2 "$work/models/$model" --runs "$runs" --threads "$threads") >> "$results"
    (cd "$here/peers" && "$python" ct2_bench.py gpt2 "$work/ct2/$model-f32" --compute-type float32 --runs "$runs" --threads "$threads") >> "$results"
    (cd "$here/peers" && "$python" ct2_bench.py gpt2 "$work/ct2/$model-int8" --compute-type int8 --runs "$runs" --threads "$threads") >> "$results"
done
echo
echo "$(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads threads, runs=$runs (medians)"
"$python" "$here/report.py" "$results"
