#!/usr/bin/env bash
# Trains, evaluates and scores the SAE shipped with the default model (models/fashion-mnist-bcos/saes/layer3/),
# with the project's own CLI (no Python). Run from the repository root after `npm ci`.
#   features: the first 18,000 images of the shipped training subset, all 49 locations of layer3 (⌊72·512/128⌋ = 288
#             is capped at 7·7), float16, in an ignored folder;
#   training: k = 8, 1,024 concepts (8× the 128 channels), 10 epochs of 4,096-vector batches, validated on the
#             last 2,000 training-subset images (held out from collection), the latest epoch within one standard
#             error of the best validation accuracy kept; all cores (cfg.json records the thread count: with the
#             same count the weights are byte-identical);
#   evaluation: the 10,000 test images; C² with the shipped reference feature model.
set -euo pipefail
M=models/fashion-mnist-bcos/model.onnx
STORE=models/.bench/fashion-mnist-bcos-layer3-features
OUT=models/fashion-mnist-bcos/saes/layer3
node bin/fact.js collect "$M" --layer layer3 --split train --limit 18000 --out "$STORE" --dtype float16
node bin/fact.js train "$M" --features "$STORE" --out "$OUT" --k 8 --dict-size 1024 --epochs 10 --batch 4096 --seed 0 \
  --validate-split train --validate-from 18000 --validate-count 2000
node bin/fact.js evaluate "$M" --sae "$OUT"
node bin/fact.js concepts "$M" --sae "$OUT"
node bin/fact.js consistency "$M" --sae "$OUT"
