#!/usr/bin/env python3
"""llama.cpp's own HF-to-GGUF converter, run on our random-weight GPT-2 folders.

    convert_gguf.py LLAMA_CPP_DIR MODEL_DIR --outtype f32|q8_0 --outfile OUT.gguf

LLAMA_CPP_DIR is the vendored tree of the llama-cpp-python sdist (vendor/llama.cpp); the
other arguments go to its convert_hf_to_gguf.py unchanged. Two things in our checkpoints
differ from a hub download, and only those are patched:
- the converter names the BPE pre-tokenizer by hashing how the tokenizer splits a test
  string; our synthetic tokenizer matches no known hash, so we say "gpt-2" (what the real
  GPT-2 tokenizer hashes to; it only affects text tokenization, which llama-bench skips);
- transformers 5 no longer writes GPT-2's `n_ctx` into config.json, which the converter
  reads for the context length; it is `n_positions`.
"""

import sys
from pathlib import Path


def main():
    llama_cpp = Path(sys.argv[1]).resolve()
    sys.argv = [str(llama_cpp / "convert_hf_to_gguf.py")] + sys.argv[2:]
    sys.path.insert(0, str(llama_cpp))  # the converter imports its `conversion` package and gguf-py from here

    import convert_hf_to_gguf
    from conversion.base import ModelBase, TextModel

    TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"

    load_hparams = ModelBase.load_hparams

    def load_hparams_with_n_ctx(dir_model, is_mistral_format):
        hparams = load_hparams(dir_model, is_mistral_format)
        if "n_positions" in hparams:
            hparams.setdefault("n_ctx", hparams["n_positions"])
        return hparams

    ModelBase.load_hparams = staticmethod(load_hparams_with_n_ctx)
    convert_hf_to_gguf.main()


if __name__ == "__main__":
    main()
