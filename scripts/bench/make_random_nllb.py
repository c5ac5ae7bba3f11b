#!/usr/bin/env python3
"""A random-weight checkpoint with facebook/nllb-200-distilled-600M's exact shapes
(and generation_config.json), for timing: the hub is not reachable from here.

    /root/venv/bin/python scripts/bench/make_random_nllb.py /tmp/nllb-600m-random

Writes ~2.5 GB (F32). Then, in release mode:

    NLLB_BENCH_MODEL=/tmp/nllb-600m-random swift test -c release -Xswiftc -enable-testing \
        --scratch-path .build-nllb --filter M2M100Benchmark
"""

import sys

import torch
from transformers import GenerationConfig, M2M100Config, M2M100ForConditionalGeneration

torch.manual_seed(0)
config = M2M100Config(
    vocab_size=256206, d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
    decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096, max_position_embeddings=1024,
    activation_function="relu", scale_embedding=True, pad_token_id=1, bos_token_id=0, eos_token_id=2,
    decoder_start_token_id=2,
)
model = M2M100ForConditionalGeneration(config)
model.generation_config = GenerationConfig(bos_token_id=0, decoder_start_token_id=2, eos_token_id=2, max_length=200, pad_token_id=1)
model.save_pretrained(sys.argv[1], safe_serialization=True)
