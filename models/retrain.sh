#!/usr/bin/env bash
# The one command that retrains the fraud model (`npm run train`): regenerate the training data
# with the same feature code the streaming job runs (jobs/fraud/backfill.ts), then train, export
# and write the next version of the registry models/fraud/ (models/train.py; see TRAINING.md).
# Usage: bash models/retrain.sh [count] [seed] [train.py options, e.g. --version 7 --created 2026-12-01]
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-200000}"
SEED="${2:-7}"
shift $(( $# < 2 ? $# : 2 ))
npx tsx jobs/fraud/backfill.ts --count "$COUNT" --seed "$SEED" --out models/data/train.csv
# Debian's Python has python3-torch and python3-onnx; the python3 first on PATH may not.
/usr/bin/python3 models/train.py --data models/data/train.csv --seed "$SEED" --count "$COUNT" "$@"
