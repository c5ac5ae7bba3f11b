#!/usr/bin/env python3
"""CTranslate2's own converter (ct2-transformers-converter), run on our checkpoint folders.

    convert_ct2.py --model DIR --output_dir OUT --quantization float32|int8 [--force]

The arguments are ct2-transformers-converter's. GPT-2 folders carry a synthetic tokenizer
and convert unchanged. The NLLB folder has none (the real one is a SentencePiece model that
cannot be downloaded here), and the converter reads only a few things from the tokenizer:
the token strings in id order, and the special tokens. So for a folder without a tokenizer
we hand it NLLB's vocabulary layout instead: the four fairseq specials, SentencePiece pieces
at ids 4..256000 (named by id; their text does not matter for speed), the 202 FLORES-200
language codes at their real ids (eng_Latn = 256047, spa_Latn = 256161; the benchmark feeds
them as the source prefix and target prefix) and <mask>. The converter then pads to the
model's 256206 rows with madeupword0/1, as it does for the real NLLB.
"""

import os
import sys

from ctranslate2.converters import transformers as ct2_transformers


class NllbVocabulary:
    """The part of NllbTokenizer that CTranslate2's M2M100 loader uses."""

    bos_token, pad_token, eos_token, unk_token = "<s>", "<pad>", "</s>", "<unk>"
    unk_token_id = 3
    special_tokens_map = {}

    def __init__(self):
        from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES
        self.tokens = ([self.bos_token, self.pad_token, self.eos_token, self.unk_token]
                       + [f"piece{i}" for i in range(4, 256001)] + FAIRSEQ_LANGUAGE_CODES + ["<mask>"])
        assert self.tokens.index("eng_Latn") == 256047 and self.tokens.index("spa_Latn") == 256161

    def get_vocab(self):
        return {token: i for i, token in enumerate(self.tokens)}

    def convert_ids_to_tokens(self, token_id):
        return self.tokens[token_id]


def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
    if os.path.exists(os.path.join(model_name_or_path, "tokenizer_config.json")):
        return tokenizer_class.from_pretrained(model_name_or_path, **kwargs)
    with open(os.path.join(model_name_or_path, "config.json")) as f:
        assert '"m2m_100"' in f.read(), "only the NLLB (M2M100) folder may come without a tokenizer"
    return NllbVocabulary()


if __name__ == "__main__":
    ct2_transformers.TransformersConverter.load_tokenizer = load_tokenizer
    sys.argv[0] = "ct2-transformers-converter"
    ct2_transformers.main()
