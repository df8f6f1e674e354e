#!/usr/bin/env bash
# The one command that retrains fraud-v1: regenerate the training data with the same feature code
# the streaming job runs (jobs/fraud/backfill.ts), then train and export (models/train.py).
# Usage: bash models/retrain.sh [count] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-200000}"
SEED="${2:-7}"
npx tsx jobs/fraud/backfill.ts --count "$COUNT" --seed "$SEED" --out models/data/train.csv
# Debian's Python has python3-torch and python3-onnx; the python3 first on PATH may not.
/usr/bin/python3 models/train.py --data models/data/train.csv --seed "$SEED" --count "$COUNT"
