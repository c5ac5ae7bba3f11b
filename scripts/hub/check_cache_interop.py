#!/usr/bin/env python3
"""Checks, once by hand, that octavo-infer and huggingface_hub read each other's cache.

Runs scripts/hub/fake_hub.py on a loopback port, serving the tiny GPT-2 and NLLB fixtures and
a PyTorch-only GPT-2 (Tests/Fixtures/Torch/gpt2-f16-zip with GPT2/tiny-f16's config and tokenizer),
then:
  1. huggingface_hub.snapshot_download writes cache A; octavo-infer (HF_HUB_OFFLINE=1) runs
     the models from it, with the ids it gives for the fixture folders, and leaves A unchanged;
  2. octavo-infer download writes cache B; huggingface_hub (local_files_only) finds every file,
     scan_cache_dir reports it with no warnings, and transformers loads the GPT-2 from it
     offline and generates the ids octavo-infer generates;
  3. for the files both fetched, A and B hold the same refs, blob names, contents and symlinks.

Usage (development time, from the repository root, after swift build):
  /work/venv-ref/bin/python scripts/hub/check_cache_interop.py [--binary .build/debug/octavo-infer]
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPOS = {"octavo/tiny": "Tests/Fixtures/GPT2/tiny", "octavo/nllb-tiny": "Tests/Fixtures/NLLB/tiny",
         "octavo/gpt2-bin": None}  # assembled in a temporary folder


def torch_repository(folder):
    """GPT2/tiny-f16 without its safetensors, plus the same weights as a zip-format pytorch_model.bin."""
    base = os.path.join(ROOT, "Tests/Fixtures/GPT2/tiny-f16")
    os.makedirs(folder)
    for name in os.listdir(base):
        if not name.endswith(".safetensors"):
            shutil.copy(os.path.join(base, name), folder)
    shutil.copy(os.path.join(ROOT, "Tests/Fixtures/Torch/gpt2-f16-zip/pytorch_model.bin"), folder)
    return folder


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(command, env, check=True):
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(command)}\n{result.stderr}")
    return result


def python(code, env):
    return json.loads(run([sys.executable, "-c", code], env).stdout)


def tree(cache):
    """Every path under the cache: symlink targets, file sizes, ref contents."""
    out = {}
    for folder, _, files in os.walk(cache):
        for name in files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, cache)
            if os.path.islink(path):
                out[rel] = "-> " + os.readlink(path)
            elif "/refs/" in path:
                out[rel] = "ref " + open(path).read()
            else:
                out[rel] = os.path.getsize(path)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/octavo-infer"))
    args = parser.parse_args()
    port = free_port()
    work = tempfile.mkdtemp(prefix="hub-interop-")
    folders = {repo: os.path.join(ROOT, folder) if folder else torch_repository(os.path.join(work, "gpt2-bin"))
               for repo, folder in REPOS.items()}
    hub = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts/hub/fake_hub.py"), str(port)]
                           + [f"{repo}={folder}" for repo, folder in folders.items()])
    try:
        time.sleep(1)
        cache_a, cache_b = os.path.join(work, "a"), os.path.join(work, "b")
        base = dict(os.environ, HF_ENDPOINT=f"http://127.0.0.1:{port}", HF_HUB_DISABLE_TELEMETRY="1",
                    HF_TOKEN_PATH=os.path.join(work, "no-token"), OPENBLAS_NUM_THREADS="1")
        online_a, offline_a = dict(base, HF_HUB_CACHE=cache_a), dict(base, HF_HUB_CACHE=cache_a, HF_HUB_OFFLINE="1")
        online_b, offline_b = dict(base, HF_HUB_CACHE=cache_b), dict(base, HF_HUB_CACHE=cache_b, HF_HUB_OFFLINE="1")
        generate = ["generate", "--prompt", "Once upon a time", "--greedy", "--max-new-tokens", "5", "--json"]
        translate = ["translate", "--source", "eng_Latn", "--target", "fra_Latn", "--text", "Hello world", "--json"]

        def ids(command, model, env):
            return json.loads(run([args.binary] + command[:1] + ["--model", model] + command[1:], env).stdout)

        expected_gpt2 = ids(generate, folders["octavo/tiny"], base)["generated_ids"]
        expected_nllb = ids(translate, folders["octavo/nllb-tiny"], base)
        expected_bin = ids(generate, os.path.join(ROOT, "Tests/Fixtures/GPT2/tiny-f16"), base)["generated_ids"]

        # 1. huggingface_hub writes, octavo-infer reads.
        for repo in REPOS:
            python(f"import json, huggingface_hub as h; print(json.dumps(h.snapshot_download({repo!r})))", online_a)
        before = tree(cache_a)
        assert ids(generate, "octavo/tiny", offline_a)["generated_ids"] == expected_gpt2
        got = ids(translate, "octavo/nllb-tiny", offline_a)
        assert got["output_ids"] == expected_nllb["output_ids"] and got["text"] == expected_nllb["text"], (got, expected_nllb)
        assert ids(generate, "octavo/gpt2-bin", offline_a)["generated_ids"] == expected_bin
        listed = json.loads(run([args.binary, "list", "--json"], offline_a).stdout)["models"]
        assert [m["repository"] for m in listed] == sorted(REPOS), listed
        assert tree(cache_a) == before, "octavo-infer changed huggingface_hub's cache"
        print(f"1. octavo-infer ran the three models from huggingface_hub's cache offline: {len(before)} paths, unchanged")

        # 2. octavo-infer writes, huggingface_hub and transformers read.
        for repo in REPOS:
            run([args.binary, "download", repo, "--quiet"], online_b)
        report = python("""
import json, os, huggingface_hub as h
out = {}
for repo in %r:
    path = h.snapshot_download(repo, local_files_only=True)
    files = sorted(os.listdir(path))
    contents = {f: open(h.hf_hub_download(repo, f, local_files_only=True), 'rb').read().hex()[:64] for f in files}
    out[repo] = {"path": path, "files": files, "contents": contents}
info = h.scan_cache_dir()
out["scan"] = {"repos": sorted(r.repo_id for r in info.repos), "warnings": [str(w) for w in info.warnings],
               "refs": sorted(sorted(r.refs) for repo in info.repos for r in repo.revisions)}
print(json.dumps(out))
""" % list(REPOS), offline_b)
        assert report["scan"] == {"repos": sorted(REPOS), "warnings": [], "refs": [["main"]] * len(REPOS)}, report["scan"]
        assert "pytorch_model.bin" in report["octavo/gpt2-bin"]["files"], report["octavo/gpt2-bin"]["files"]
        for repo, folder in folders.items():
            for name, head in report[repo]["contents"].items():
                assert open(os.path.join(folder, name), "rb").read().hex()[:64] == head, (repo, name)
        def transformers_generate(repo):
            return python("""
import json, torch, transformers as t
model = t.GPT2LMHeadModel.from_pretrained(%r)
tok = t.AutoTokenizer.from_pretrained(%r)
ids = tok("Once upon a time", return_tensors="pt").input_ids
out = model.generate(ids, max_new_tokens=5, do_sample=False, pad_token_id=tok.eos_token_id)
print(json.dumps(out[0, ids.shape[1]:].tolist()))
""" % (repo, repo), offline_b)
        transformers_ids = transformers_generate("octavo/tiny")
        assert transformers_ids == expected_gpt2, (transformers_ids, expected_gpt2)
        transformers_bin = transformers_generate("octavo/gpt2-bin")
        assert transformers_bin == expected_bin, (transformers_bin, expected_bin)
        print(f"2. huggingface_hub found every file octavo-infer downloaded ({sum(len(report[r]['files']) for r in REPOS)} files), "
              f"scan_cache_dir reports no warnings, transformers generated {transformers_ids} from it offline "
              f"(octavo-infer: {expected_gpt2}), and {transformers_bin} from the .bin GPT-2, as octavo-infer does")

        # 3. Same layout for the files both fetched.
        a, b = tree(cache_a), tree(cache_b)
        common = {path: b[path] for path in b if not path.startswith(".locks")}
        differing = {path: (a.get(path), b[path]) for path in common if a.get(path) != b[path]}
        assert not differing, differing
        locks_b = {p for p in b if p.startswith(".locks")}
        assert locks_b <= set(a), locks_b - set(a)
        only_a = sorted(p for p in a if p not in b)
        print(f"3. the {len(common)} refs, blobs and symlinks octavo-infer wrote are identical in huggingface_hub's cache; "
              f"huggingface_hub also fetched {len(only_a)} paths octavo-infer skips: {only_a}")
    finally:
        hub.terminate()
        hub.wait()


if __name__ == "__main__":
    main()
