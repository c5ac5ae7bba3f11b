#!/usr/bin/env bash
# Side by side, one run, same machine: octavo-infer against PyTorch + transformers, CTranslate2
# (fp32, int8) and llama.cpp (f32, q8_0, q4_0) on random-weight checkpoints at the real shapes.
#   bash Benchmarks/run.sh                  # gpt2
#   MODELS="gpt2 gpt2-medium nllb-600m" RUNS=3 THREADS=2 bash Benchmarks/run.sh
#   OCTAVO=/path/to/octavo-infer bash Benchmarks/run.sh    # use that binary, skip swift build
#   ROUNDS=3 ...   every shape's engines run back to back that many times; report.py takes the
#                  median over rounds and of the per-round ratios (the machine's bandwidth drifts)
#   MODELS=nllb-600m NLLB_VMAP_ONLY=1 bash Benchmarks/run.sh   # only NLLB's vocabulary-map rows
# GPT-2 models: batch 1 (all engines) and batch 8 (octavo-infer, CTranslate2). nllb-600m:
# octavo-infer, PyTorch and CTranslate2 at batch 1 and 16, greedy and beam 4, NLLB_TOKENS
# target tokens per sentence (default 64). octavo-infer runs int8 both ways: quantizing the
# f32 folder at load, and from the folder `octavo-infer quantize` saved (its load time and RSS);
# GPT-2 int8 also with the opt-in f16 KV cache (`--kv-cache f16`), at batch 1 and 8. GPT-2 q4
# (octavo-infer's --dtype q4, at load and saved) against llama.cpp q4_0 (llama-quantize from the
# f32 GGUF), at batch 1, and the top-1 agreement of each with its own f32 on the same text
# (llama-perplexity --kl-divergence; octavo-infer bench --quality-text). NLLB also
# with a vocabulary map (make_vocabulary_map.py; only its candidates are scored at the output
# layer): octavo-infer --vocabulary-map against CTranslate2's use_vmap, f32 and int8, same shapes.
# GPT-2 batch 1 also f32-exact speculative decoding (`bench --draft`: int8 self-draft, n-grams,
# gpt2 for gpt2-medium), reported beside llama.cpp f32 with the draft's acceptance rate; NLLB
# greedy batch 1 the same (int8 and n-gram drafts) beside CTranslate2 fp32.
# LOAD=1 adds the server under load: `octavo-infer serve` (int8) with 1, 8, 32 and 64 concurrent
# clients (Benchmarks/load.py: aggregate tokens/s, p50/p95 latency), GPT-2 completions next to
# llama.cpp's own batched figure (llama-batched-bench, q8_0, same checkpoint) and, for nllb-*,
# translations; then serve --dtype f32 alone and with each of LOAD_DRAFTS (default "ngram int8")
# at LOAD_DRAFT_CLIENTS (default "1 8") clients: translations greedy, completions at each of
# LOAD_DRAFT_TEMPERATURES (default "0 0.8"; 0 is greedy). LOAD_DURATION (default 60 s per point), LOAD_CLIENTS, LOAD_MAX_BATCH
# (default: serve's own) change it; LOAD_ONLY=1 runs only those rows.
# Everything it downloads, builds or makes stays in Benchmarks/work/ (ignored by git).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
work="$here/work"
models="${MODELS:-gpt2}"
runs="${RUNS:-5}"
rounds="${ROUNDS:-1}"
threads="${THREADS:-2}"
nllb_tokens="${NLLB_TOKENS:-64}"
mkdir -p "$work"
phase() { echo "== $(date -u +%T) $*" >&2; }

# Peers in a throwaway virtualenv, pinned to the versions ../shared/MEASURED.md used.
if [ ! -x "$work/venv/bin/ct2-transformers-converter" ]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check \
        torch==2.15.0 transformers==5.24.0 ctranslate2==4.8.5 safetensors numpy sentencepiece protobuf
fi
python="$work/venv/bin/python"

if [ -n "${OCTAVO:-}" ]; then
    octavo="$OCTAVO"
else
    swift build -c release --product octavo-infer
    octavo="$(swift build -c release --show-bin-path)/octavo-infer"
fi

# llama.cpp: llama-bench and the GGUF converter from the tree vendored in llama-cpp-python's
# source distribution, built once for this CPU (GGML_NATIVE) and kept in work/llama.cpp.
llama_version=0.3.36
llama_sdist_url=https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/llama_cpp_python-0.3.36.tar.gz
llama_sdist_sha256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
llama_src="$work/src/llama_cpp_python-$llama_version/vendor/llama.cpp"
llama_bin="$work/llama.cpp/build/bin"
llama_bench="$llama_bin/llama-bench"
llama_batched_bench="$llama_bin/llama-batched-bench"
llama_tools=(llama-bench llama-batched-bench llama-quantize llama-perplexity)
build_llama_cpp() {
    local tool missing=()
    for tool in "${llama_tools[@]}"; do [ -x "$llama_bin/$tool" ] || missing+=("$tool"); done
    [ ${#missing[@]} -eq 0 ] && return
    phase "building llama-bench (about 10 minutes on 2 cores)"
    mkdir -p "$work/src" "$work/llama.cpp"
    if [ ! -d "$llama_src" ]; then
        # Straight from PyPI's file host: `pip download --no-binary` would first build the
        # package's metadata, compiling cmake from source on the way.
        local sdist="$work/src/llama_cpp_python-$llama_version.tar.gz"
        [ -f "$sdist" ] || curl -sSfLo "$sdist" "$llama_sdist_url"
        echo "$llama_sdist_sha256  $sdist" | sha256sum --check --quiet
        tar -xzf "$sdist" -C "$work/src"
    fi
    cmake="$(command -v cmake || true)"
    if [ -z "$cmake" ]; then
        "$work/venv/bin/pip" install --quiet --disable-pip-version-check cmake==4.4.4
        cmake="$work/venv/bin/cmake"
    fi
    "$cmake" -S "$llama_src" -B "$work/llama.cpp/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
        -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
        -DLLAMA_BUILD_SERVER=OFF > "$work/llama.cpp/build.log" 2>&1
    "$cmake" --build "$work/llama.cpp/build" --target "${missing[@]}" -j2 >> "$work/llama.cpp/build.log" 2>&1
}

# Every engine reads its model files as the kernel reads a file from disk: written files sit
# in the page cache in the small folios of the writes, which map on 4 KiB pages, where files
# read in by readahead come in large folios that map on 2 MiB pages (llama.cpp q4_0 decodes
# gpt2-medium about 6% faster from those). Dropped after writing, and at the start of each
# model's rows, the first engine to map a file reads it in.
drop_from_page_cache() {  # FILE...
    "$python" -c 'import os,sys
for path in sys.argv[1:]:
    f = os.open(path, os.O_RDONLY); os.fsync(f); os.posix_fadvise(f, 0, 0, os.POSIX_FADV_DONTNEED); os.close(f)' "$@"
}

results="$work/results.jsonl"
: > "$results"
octavo_row() {  # octavo-infer bench ARGS..., one JSON line tagged with the engine ($ENGINE)
    "$octavo" bench --runs "$runs" --threads "$threads" --json "$@" |
        ENGINE="${ENGINE:-octavo-infer}" "$python" -c \
            'import json,os,sys; r=json.load(sys.stdin); r["engine"]=os.environ["ENGINE"]; print(json.dumps(r))' >> "$results"
}
saved_int8() {  # MODEL: the folder `octavo-infer quantize` writes, named like the model for the report
    local out="$work/saved-int8/$1"
    if [ ! -f "$out/model.safetensors" ]; then
        "$octavo" quantize --model "$work/models/$1" --output "$out" --dtype int8 > /dev/null
        # A file just written sits in the page cache in large folios, and mapping those maps
        # untouched neighbours too: NLLB's saved int8 peaked at 717 MiB that way, 646 once
        # the pages came back from disk. Written out and dropped, it loads as any folder does.
        drop_from_page_cache "$out/model.safetensors"
    fi
    echo "$out"
}
saved_q4() {  # MODEL: the folder `octavo-infer quantize --dtype q4` writes
    local out="$work/saved-q4/$1"
    if [ ! -f "$out/model.safetensors" ]; then
        "$octavo" quantize --model "$work/models/$1" --output "$out" --dtype q4 > /dev/null
        drop_from_page_cache "$out/model.safetensors"
    fi
    echo "$out"
}
quality_text() {  # the story, four times over: enough tokens for llama-perplexity's chunks of 128
    local out="$work/quality-text.txt"
    [ -f "$out" ] || for _ in 1 2 3 4; do cat "$here/story.txt"; done > "$out"
    echo "$out"
}
peer_row() {  # peers/SCRIPT ARGS..., run from peers/ so they find common.py
    (cd "$here/peers" && "$python" "$@" --runs "$runs" --threads "$threads") >> "$results"
}
convert_ct2() {  # MODEL: CTranslate2 folders work/ct2/MODEL-f32 and -int8
    for quantization in float32 int8; do
        out="$work/ct2/$1-${quantization/float32/f32}"
        [ -f "$out/model.bin" ] || "$python" "$here/peers/convert_ct2.py" --model "$work/models/$1" \
            --output_dir "$out" --quantization "$quantization" --force > /dev/null
    done
}

gpt2() {
    local model="$1" dir="$work/models/$1" ct2="$work/ct2/$1"
    build_llama_cpp
    phase "$model: converting for CTranslate2 and llama.cpp"
    convert_ct2 "$model"
    mkdir -p "$work/gguf"
    for outtype in f32 q8_0; do
        out="$work/gguf/$model-$outtype.gguf"
        [ -f "$out" ] || "$python" "$here/peers/convert_gguf.py" "$llama_src" "$dir" --outtype "$outtype" \
            --outfile "$out" 2> "$work/gguf/$model-$outtype.log"
    done
    # q4_0 as llama.cpp users make it (llama-quantize's defaults: the tied output layer stays
    # q6_K), and --pure (every matrix q4_0, as octavo-infer's q4 quantizes its output layer too).
    [ -f "$work/gguf/$model-q4_0.gguf" ] || "$llama_bin/llama-quantize" "$work/gguf/$model-f32.gguf" \
        "$work/gguf/$model-q4_0.gguf" q4_0 > "$work/gguf/$model-q4_0.log" 2>&1
    [ -f "$work/gguf/$model-q4_0-pure.gguf" ] || "$llama_bin/llama-quantize" --pure "$work/gguf/$model-f32.gguf" \
        "$work/gguf/$model-q4_0-pure.gguf" q4_0 > "$work/gguf/$model-q4_0-pure.log" 2>&1
    drop_from_page_cache "$dir/model.safetensors" "$work/gguf/$model"-*.gguf "$ct2"-*/model.bin \
        $(ls "$work"/saved-{int8,q4}/"$model"/model.safetensors 2> /dev/null)
    for round in $(seq "$rounds"); do
        phase "$model: batch 1, round $round of $rounds"
        octavo_row --model "$dir" --dtype f32
        octavo_row --model "$dir" --dtype int8
        ENGINE="octavo-infer (saved int8)" octavo_row --model "$(saved_int8 "$model")"
        ENGINE="octavo-infer (f16 KV cache)" octavo_row --model "$dir" --dtype int8 --kv-cache f16
        # f32-exact: the f32 model's own greedy ids, drafted by its int8 copy, by n-grams, and
        # (gpt2-medium) by gpt2; each row times the plain f32 loop too and compares the ids.
        ENGINE="octavo-infer (f32-exact, draft int8)" octavo_row --model "$dir" --dtype f32 --draft int8
        ENGINE="octavo-infer (f32-exact, draft ngram)" octavo_row --model "$dir" --dtype f32 --draft ngram
        ENGINE="octavo-infer (f32-exact, draft ngram+int8)" octavo_row --model "$dir" --dtype f32 --draft ngram+int8
        if [ "$model" = gpt2-medium ]; then
            "$python" "$here/make_checkpoints.py" "$work/models" gpt2
            ENGINE="octavo-infer (f32-exact, draft gpt2 int8)" octavo_row --model "$dir" --dtype f32 \
                --draft "$work/models/gpt2" --draft-dtype int8
        fi
        peer_row torch_bench.py gpt2 "$dir"
        peer_row ct2_bench.py gpt2 "$ct2-f32" --compute-type float32
        peer_row ct2_bench.py gpt2 "$ct2-int8" --compute-type int8
        peer_row llama_bench.py gpt2 "$work/gguf/$model-f32.gguf" --llama-bench "$llama_bench" --dtype f32
        peer_row llama_bench.py gpt2 "$work/gguf/$model-q8_0.gguf" --llama-bench "$llama_bench" --dtype q8_0
        octavo_row --model "$dir" --dtype q4
        ENGINE="octavo-infer (saved q4)" octavo_row --model "$(saved_q4 "$model")"
        # llama.cpp keeps its KV cache in f16 by default: this row compares like with like.
        ENGINE="octavo-infer (f16 KV cache)" octavo_row --model "$dir" --dtype q4 --kv-cache f16
        peer_row llama_bench.py gpt2 "$work/gguf/$model-q4_0.gguf" --llama-bench "$llama_bench" --dtype q4_0
        peer_row llama_bench.py gpt2 "$work/gguf/$model-q4_0-pure.gguf" --llama-bench "$llama_bench" --dtype q4_0-pure
    done
    phase "$model: q4 top-1 agreement with f32 on the same text"
    "$octavo" bench --model "$dir" --dtype q4 --quality-text "$(quality_text)" --prompt-tokens 8 --new-tokens 2 --runs 1 \
        --threads "$threads" --json | "$python" -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({
            "engine": "octavo-infer", "model": r["model"], "dtype": r["dtype"], "task": "quality", "quality": r["quality"]}))' \
        >> "$results"
    for dtype in q4_0 q4_0-pure; do
        (cd "$here/peers" && "$python" llama_quality.py "$work/gguf/$model-f32.gguf" "$work/gguf/$model-$dtype.gguf" \
            --dtype "$dtype" --text "$(quality_text)" --llama-perplexity "$llama_bin/llama-perplexity" \
            --threads "$threads") >> "$results"
    done
    for round in $(seq "$rounds"); do
        phase "$model: batch 8, round $round of $rounds"
        octavo_row --model "$dir" --dtype f32 --batch 8
        octavo_row --model "$dir" --dtype int8 --batch 8
        ENGINE="octavo-infer (f16 KV cache)" octavo_row --model "$dir" --dtype int8 --batch 8 --kv-cache f16
        peer_row ct2_bench.py gpt2 "$ct2-f32" --compute-type float32 --batch 8
        peer_row ct2_bench.py gpt2 "$ct2-int8" --compute-type int8 --batch 8
    done
}

nllb() {
    local model="$1" dir="$work/models/$1" ct2="$work/ct2/$1"
    local tokens=(--source-tokens 40 --new-tokens "$nllb_tokens")
    local vmap="$work/vmap/$1.txt" ct2_vmap="$work/ct2-vmap/$1"
    phase "$model: converting for CTranslate2"
    convert_ct2 "$model"
    [ -f "$vmap" ] || "$python" "$here/make_vocabulary_map.py" "$vmap"
    # CTranslate2 loads a folder's vmap.txt with the model whenever it is there, so the map
    # gets folders of its own (links to the converted files): the full-vocabulary rows load none.
    for dtype in f32 int8; do
        mkdir -p "$ct2_vmap-$dtype"
        for file in model.bin config.json shared_vocabulary.json; do
            ln -sfn "$ct2-$dtype/$file" "$ct2_vmap-$dtype/$file"
        done
        ln -sfn "$vmap" "$ct2_vmap-$dtype/vmap.txt"
    done
    drop_from_page_cache "$dir/model.safetensors" "$ct2"-*/model.bin \
        $(ls "$work"/saved-int8/"$model"/model.safetensors 2> /dev/null)
    for batch in 1 16; do
        for beams in 1 4; do
            local shape=(--batch "$batch" --beams "$beams")
            for round in $(seq "$rounds"); do
                phase "$model: batch $batch, beams $beams, round $round of $rounds"
                if [ "${NLLB_VMAP_ONLY:-0}" != 1 ]; then
                    octavo_row --model "$dir" --dtype f32 --prompt-tokens 40 --new-tokens "$nllb_tokens" "${shape[@]}"
                    octavo_row --model "$dir" --dtype int8 --prompt-tokens 40 --new-tokens "$nllb_tokens" "${shape[@]}"
                    if [ "$batch$beams" = 11 ]; then
                        ENGINE="octavo-infer (saved int8)" octavo_row --model "$(saved_int8 "$model")" \
                            --prompt-tokens 40 --new-tokens "$nllb_tokens" "${shape[@]}"
                        # f32-exact: the f32 model's own greedy ids, drafted by its int8 copy and by
                        # n-grams; each row times the plain f32 translation too and compares the ids.
                        for draft in int8 ngram; do
                            ENGINE="octavo-infer (f32-exact, draft $draft)" octavo_row --model "$dir" --dtype f32 \
                                --prompt-tokens 40 --new-tokens "$nllb_tokens" --draft "$draft"
                        done
                    fi
                    peer_row torch_bench.py nllb "$dir" "${tokens[@]}" "${shape[@]}"
                    peer_row ct2_bench.py nllb "$ct2-f32" --compute-type float32 "${tokens[@]}" "${shape[@]}"
                    peer_row ct2_bench.py nllb "$ct2-int8" --compute-type int8 "${tokens[@]}" "${shape[@]}"
                fi
                for dtype in f32 int8; do
                    ENGINE="octavo-infer (vocabulary map)" octavo_row --model "$dir" --dtype "$dtype" --prompt-tokens 40 \
                        --new-tokens "$nllb_tokens" "${shape[@]}" --vocabulary-map "$vmap"
                done
                peer_row ct2_bench.py nllb "$ct2_vmap-f32" --compute-type float32 "${tokens[@]}" "${shape[@]}" --use-vmap
                peer_row ct2_bench.py nllb "$ct2_vmap-int8" --compute-type int8 "${tokens[@]}" "${shape[@]}" --use-vmap
            done
        done
    done
}

load_results="$work/load.jsonl"
serve_under_load() {  # MODEL KIND NEW_TOKENS CLIENTS...: one server, load.py at each client count
    # SERVE_ARGS (default --dtype int8) and TEMPERATURE (completions, default 0) shape the server
    # and the requests; the engine column names both.
    local model="$1" kind="$2" new_tokens="$3" port=18231 clients
    shift 3
    local serve_args=(${SERVE_ARGS:---dtype int8}) batch=()
    [ -n "${LOAD_MAX_BATCH:-}" ] && batch=(--max-batch "$LOAD_MAX_BATCH")
    "$octavo" serve --model "$model=$work/models/$model" --threads "$threads" --port "$port" \
        --log-format off "${serve_args[@]}" "${batch[@]}" > "$work/serve-load.log" 2>&1 &
    local server=$!
    until curl -sf "http://127.0.0.1:$port/health" > /dev/null; do
        kill -0 "$server" 2> /dev/null || { cat "$work/serve-load.log" >&2; return 1; }
        sleep 1
    done
    for clients in "$@"; do
        phase "$model: serve ${serve_args[*]} under load, $kind, $clients clients, temperature ${TEMPERATURE:-0}"
        "$python" "$here/load.py" --url "http://127.0.0.1:$port" --kind "$kind" --clients "$clients" \
            --duration "${LOAD_DURATION:-60}" --max-tokens "$new_tokens" --temperature "${TEMPERATURE:-0}" |
            MODEL="$model" ENGINE="octavo-infer serve ${serve_args[*]}" "$python" -c \
                'import json,os,sys; r=json.load(sys.stdin); r["engine"]=os.environ["ENGINE"]; r["model"]=os.environ["MODEL"]; print(json.dumps(r))' \
            >> "$load_results"
    done
    kill "$server"
    wait "$server" 2> /dev/null || true
}
draft_load_rows() {  # MODEL KIND NEW_TOKENS TEMPERATURES: serve f32 alone, then with each of LOAD_DRAFTS
    local model="$1" kind="$2" new_tokens="$3" temperatures="$4" draft temperature
    for temperature in $temperatures; do
        for draft in none ${LOAD_DRAFTS:-ngram int8}; do
            local args="--dtype f32"
            [ "$draft" != none ] && args="$args --draft $draft"
            SERVE_ARGS="$args" TEMPERATURE="$temperature" \
                serve_under_load "$model" "$kind" "$new_tokens" ${LOAD_DRAFT_CLIENTS:-1 8}
        done
    done
}
load_rows() {  # MODEL
    local model="$1" clients="${LOAD_CLIENTS:-1 8 32 64}"
    case "$model" in
        nllb-*)
            serve_under_load "$model" translate "$nllb_tokens" ${LOAD_CLIENTS:-1 8 32}
            # f32-exact speculative translation in serve (greedy: the model's default, one beam).
            draft_load_rows "$model" translate "$nllb_tokens" 0
            ;;
        *)
            serve_under_load "$model" completions 128 $clients
            # llama.cpp's batched decode of the same checkpoint: 32 prompt + 128 new tokens per sequence.
            phase "$model: llama-batched-bench"
            local parallel
            parallel="$(echo $clients | tr ' ' ',')"
            "$llama_batched_bench" -m "$work/gguf/$model-q8_0.gguf" -c $((64 * 160)) -b 2048 -ub 512 -npp 32 -ntg 128 \
                -npl "$parallel" -t "$threads" --output-format jsonl 2> "$work/llama-batched-bench.log" |
                MODEL="$model" "$python" -c 'import json,os,sys
for line in sys.stdin:
    if line.startswith("{"):
        r=json.loads(line); r["engine"]="llama.cpp batched-bench q8_0"; r["model"]=os.environ["MODEL"]; print(json.dumps(r))' \
                >> "$load_results"
            # f32-exact speculative decoding in serve, greedy and sampled.
            draft_load_rows "$model" completions 128 "${LOAD_DRAFT_TEMPERATURES:-0 0.8}"
            ;;
    esac
}

[ "${LOAD:-0}" = 1 ] && : > "$load_results"
for model in $models; do
    "$python" "$here/make_checkpoints.py" "$work/models" "$model"
    if [ "${LOAD_ONLY:-0}" != 1 ]; then
        case "$model" in
            nllb-*) nllb "$model" ;;
            *) gpt2 "$model" ;;
        esac
    fi
    [ "${LOAD:-0}" = 1 ] && load_rows "$model"
done
phase "done"
echo
echo "$(date -u +%F), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads threads, runs=$runs, rounds=$rounds (medians)"
"$python" "$here/report.py" "$results"
if [ "${LOAD:-0}" = 1 ]; then
    echo
    echo "Under load (aggregate tokens/s; p50/p95 request latency):"
    "$python" "$here/load.py" --report "$load_results"
fi
