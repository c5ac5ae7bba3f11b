#!/usr/bin/env python3
"""A synthetic CTranslate2 vocabulary map (vmap.txt) for the random-weight NLLB-600M.

    python Benchmarks/make_vocabulary_map.py OUT_FILE

Format, as CTranslate2 reads it: `<source n-gram>\\t<target tokens>` per line, tokens separated
by spaces; the line with an empty source side lists the tokens that are always candidates.
The token strings are the benchmark folder's ("piece4".."piece256000", make_checkpoints.py).

Real maps come from word-alignment lexical tables and leave a few thousand candidates per
batch. This one gives every piece 8 pseudo-random target pieces (seeded, so every run and
both engines read the same file) and 1000 always-candidate pieces plus the target language
spa_Latn: a 40-token source then leaves about 1300 candidates of 256206, a batch of 16 about
5800. Values do not matter for speed on random weights; the candidate counts do.
"""

import os
import random
import sys

PIECES = range(4, 256001)
TARGETS_PER_PIECE = 8
ALWAYS = [f"piece{i}" for i in range(4, 1004)] + ["spa_Latn"]


def main():
    path = sys.argv[1]
    rng = random.Random(0)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # Written whole or not at all: run.sh skips the file once it exists.
    with open(path + ".tmp", "w") as f:
        f.write("\t" + " ".join(ALWAYS) + "\n")
        for i in PIECES:
            f.write(f"piece{i}\t" + " ".join(f"piece{j}" for j in rng.sample(PIECES, TARGETS_PER_PIECE)) + "\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
