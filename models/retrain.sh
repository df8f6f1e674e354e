#!/usr/bin/env bash
# The one command that retrains the fraud model (`npm run train`), from the feature store:
#   1. events -> `sluice features backfill`: the fraud job's feature view (the code the streaming
#      job runs) over its generator's history, into the offline store (Parquet, DATA/features);
#   2. labels: the generator's ground truth per transaction, JSONL {entity, eventTime, label};
#   3. `sluice features training-set`: each label joined with its user's features as of its event
#      time, never later (DuckDB ASOF JOIN), into DATA/training.csv;
#   4. models/train.py trains, exports and writes the next version of the registry models/fraud/.
# See models/TRAINING.md and docs/feature-store.md.
# Usage: bash models/retrain.sh [count] [seed] [train.py options, e.g. --version 7 --created 2026-12-01]
# SLUICE_TRAIN_DATA=dir puts the offline store, labels and table elsewhere (default models/data).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-200000}"
SEED="${2:-7}"
shift $(( $# < 2 ? $# : 2 ))
DATA="${SLUICE_TRAIN_DATA:-models/data}"
JOB=jobs/fraud-detection.ts
SETTINGS=(--set "count=$COUNT" --set "seed=$SEED")
# A fresh offline store: backfilling the same history into an old one would append it twice.
rm -rf "$DATA/features"
node bin/sluice.mjs features backfill --job "$JOB" "${SETTINGS[@]}" --dir "$DATA/features"
npx tsx jobs/fraud/labels.ts "${SETTINGS[@]}" --out "$DATA/labels.jsonl"
node bin/sluice.mjs features training-set --job "$JOB" "${SETTINGS[@]}" --dir "$DATA/features" --labels "$DATA/labels.jsonl" --out "$DATA/training.csv"
# Debian's Python has python3-torch and python3-onnx; the python3 first on PATH may not.
/usr/bin/python3 models/train.py --data "$DATA/training.csv" --seed "$SEED" --count "$COUNT" "$@"
