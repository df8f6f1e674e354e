"""The training report (TRAINING.md) written into each registry version by models/train.py."""


def training_report(m: dict, seconds: float, test_fraud: int, fixtures: int) -> str:
    """Markdown for one version, from its manifest `m` (so the report and the manifest agree)."""
    t, s, r = m["training"], m["training"]["split"], m["metrics"]
    label = f"{m['name']}@{m['version']}"
    return f"""# Training report: {label}

Made by `models/retrain.sh` (backfill, then `models/train.py`) on {m['created']}, {seconds:.0f} s on 2 CPU threads.

## Data

- {t['rows']} synthetic transactions from `TransactionGenerator` (seed {t['seed']}), fraud share {100 * t['fraudShare']:.2f}%;
  sha256 of the training table `{t['dataSha256']}`.
- Features: the ten of `jobs/fraud/features.ts`, computed by `jobs/fraud/backfill.ts` with the same
  `computeFeatures`/`updateHistory` the streaming job runs, so there is no training/serving skew.
  No scaling is learned: the features are already in [-5, 5] and the ONNX model takes them as is.
- Split by event time (the stream order): train = first {s['train']} rows, validation = next
  {s['validation']} (picks the epoch), test = last {s['test']} rows ({test_fraud} fraud).

## Model

The seed's `FraudDetectionModel`: Linear(10,64) → ReLU → Dropout(0.2) → Linear(64,32) → ReLU →
Linear(32,1) → Sigmoid. Adam (lr 1e-3), batch {t['batchSize']}, {t['epochs']} epochs, best epoch by
validation AUC ({t['bestEpoch']}), weighted BCE with fraud rows weighted {t['posWeight']:g}× (class imbalance;
kept moderate so that scores stay meaningful at the job's threshold {m['threshold']}). Exported to ONNX opset
{m['model']['opset']}: input `features` [batch,10] float32, output `score` [batch,1].

## Results on the held-out test rows

| scorer | ROC AUC | average precision | flags at | precision | recall |
| --- | --- | --- | --- | --- | --- |
| model `{label}` | **{r['auc']:.4f}** | {r['averagePrecision']:.4f} | score ≥ {m['threshold']} | {r['precision']:.3f} | {r['recall']:.3f} |
| rules baseline | {r['rulesBaselineAuc']:.4f} | {r['rulesBaselineAveragePrecision']:.4f} | ≥ 3 rules | {r['rulesBaselinePrecision']:.3f} | {r['rulesBaselineRecall']:.3f} |

Rules baseline: one point each for amount > 3× the user's running average, a country other than
the user's usual one, 2+ transactions in the previous hour, card not present, and a merchant
category with prior risk ≥ 0.7; the score is the number of points (0..5).

## Files

- `model.onnx`, `manifest.json` (tensors, metrics, reference histograms of the {m['reference']['rows']} training rows).
- `fixtures.json`: {fixtures} input vectors with PyTorch's outputs.
- `holdout.csv`: a labelled sample of the test rows, for the AUC check before a hot swap.

## Caveats

The data is synthetic: the fraud pattern is the one `jobs/fraud/transactions.ts` plants (bursts,
large amounts, foreign country, risky categories, card not present, night hours, each noisy), so
these figures show that the model learns that pattern through the shared feature code, not how it
would do on real fraud.
"""
