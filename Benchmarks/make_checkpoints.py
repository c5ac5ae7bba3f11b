#!/usr/bin/env python3
"""Random-weight checkpoints at the real shapes, saved as Hugging Face folders.

    python Benchmarks/make_checkpoints.py OUT_DIR [gpt2 gpt2-medium nllb-600m]

The hub is not reachable here, so every engine reads these same folders: octavo-infer
directly, PyTorch through from_pretrained, CTranslate2 through its converter, llama.cpp
through its GGUF converter. Decode speed depends on shapes, not on weight values.

The GPT-2 folders get a synthetic byte-level BPE tokenizer with GPT-2's 50257-entry
vocabulary size (256 byte symbols, 50000 merges of byte pairs, <|endoftext|>), because the
converters want a tokenizer and the real one cannot be downloaded. The NLLB folder gets a
synthetic sentencepiece.bpe.model with the token strings peers/convert_ct2.py gives CTranslate2
("piece4".."piece256000" at NLLB ids 4..256000), so that octavo-infer resolves the tokens of a
vocabulary map (make_vocabulary_map.py) to the same ids CTranslate2 does. It has no
tokenizer_config.json: with one, convert_ct2.py would switch to transformers' tokenizer.
"""

import json
import os
import sys

import torch
from transformers import (GenerationConfig, GPT2Config, GPT2LMHeadModel, M2M100Config,
                          M2M100ForConditionalGeneration)

GPT2_SHAPES = {
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768),
    "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024),
}


def bytes_to_unicode():
    """GPT-2's printable stand-ins for the 256 byte values."""
    visible = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = visible[:]
    extra = 0
    for byte in range(256):
        if byte not in visible:
            visible.append(byte)
            codes.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(visible, codes)}


def write_gpt2_tokenizer(out):
    symbols = list(bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols)}
    merges = []
    for first in symbols:
        for second in symbols:
            if len(merges) == 50000:
                break
            merges.append(f"{first} {second}")
            vocab[first + second] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    assert len(vocab) == 50257
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024, "bos_token": "<|endoftext|>",
                   "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}, f)


def make_gpt2(name, out):
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=50257, n_positions=1024, **GPT2_SHAPES[name])
    model = GPT2LMHeadModel(config).eval()
    model.generation_config = GenerationConfig(bos_token_id=50256, eos_token_id=50256)
    model.save_pretrained(out, safe_serialization=True)
    write_gpt2_tokenizer(out)


def make_nllb(out):
    """facebook/nllb-200-distilled-600M's config, random weights."""
    torch.manual_seed(0)
    config = M2M100Config(
        vocab_size=256206, d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
        decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, max_position_embeddings=1024,
        activation_function="relu", scale_embedding=True, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        decoder_start_token_id=2, tie_word_embeddings=True)
    model = M2M100ForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(bos_token_id=0, decoder_start_token_id=2, eos_token_id=2,
                                               max_length=200, pad_token_id=1)
    model.save_pretrained(out, safe_serialization=True)


def write_nllb_tokenizer(out):
    """NLLB's SentencePiece layout: ids 0 <unk>, 1 <s>, 2 </s>, then the pieces; NLLB id =
    SentencePiece id + 1 (fairseq's offset), so "piece{i}" is SentencePiece id i - 1. No
    tokenizer_config.json: octavo-infer then places the 202 FLORES-200 codes and <mask> at
    256001.. as the published checkpoints do (eng_Latn 256047, spa_Latn 256161), like
    convert_ct2.py. The pieces spell no text; they only name ids."""
    from sentencepiece import sentencepiece_model_pb2 as spm

    model = spm.ModelProto()
    Piece = spm.ModelProto.SentencePiece
    for piece, kind in [("<unk>", Piece.UNKNOWN), ("<s>", Piece.CONTROL), ("</s>", Piece.CONTROL)]:
        model.pieces.add(piece=piece, score=0, type=kind)
    for i in range(4, 256001):
        model.pieces.add(piece=f"piece{i}", score=-i, type=Piece.NORMAL)
    model.trainer_spec.model_type = spm.TrainerSpec.BPE
    model.trainer_spec.vocab_size = len(model.pieces)
    model.trainer_spec.unk_id, model.trainer_spec.bos_id, model.trainer_spec.eos_id, model.trainer_spec.pad_id = 0, 1, 2, -1
    model.normalizer_spec.name = "identity"
    path = os.path.join(out, "sentencepiece.bpe.model")
    # Written whole or not at all: main() writes it only while the file is missing.
    with open(path + ".tmp", "wb") as f:
        f.write(model.SerializeToString())
    os.replace(path + ".tmp", path)


def main():
    root = sys.argv[1]
    names = sys.argv[2:] or ["gpt2", "gpt2-medium", "nllb-600m"]
    for name in names:
        out = os.path.join(root, name)
        if os.path.exists(os.path.join(out, "config.json")):
            print(f"{out}: exists, kept")
        else:
            os.makedirs(out, exist_ok=True)
            if name == "nllb-600m":
                make_nllb(out)
            else:
                make_gpt2(name, out)
            print(f"{out}: written")
        # Added after the weights existed: a folder made before gets it without being rebuilt.
        if name == "nllb-600m" and not os.path.exists(os.path.join(out, "sentencepiece.bpe.model")):
            write_nllb_tokenizer(out)
            print(f"{out}: sentencepiece.bpe.model written")


if __name__ == "__main__":
    main()
