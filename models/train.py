#!/usr/bin/python3
"""Train the seed's FraudDetectionModel on backfilled features and export it to ONNX.

Run with Debian's Python (python3-torch, python3-onnx), normally through models/retrain.sh:

    /usr/bin/python3 models/train.py --data models/data/train.csv --seed 7 --count 200000

Writes, next to this file: fraud-v1.onnx (input `features` [batch,10] float32, output `score`
[batch,1]), fraud-v1.json (metadata), TRAINING.md (the report) and fixtures/fraud-v1.json (input
vectors with PyTorch's outputs, which the TypeScript test replays through onnxruntime-node).

The split is by event time (the CSV is in stream order): the first 70% of rows train, the next
15% pick the epoch (validation AUC), the last 15% are the held-out test set. A rules baseline is
scored on the same test rows.
"""
import argparse
import datetime
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = "fraud-v1"
THRESHOLD = 0.7
OPSET = 13


class FraudDetectionModel(nn.Module):
    """The seed's model: 10 -> 64 -> 32 -> 1 with a sigmoid, so the output is a fraud probability."""

    def __init__(self, input_dim: int = 10):
        super().__init__()
        self.network = nn.Sequential(
            nn.Linear(input_dim, 64),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, 1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.network(x)


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney U statistic, ties counted as half."""
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average_rank = ends - (counts - 1) / 2.0  # 1-based mean rank of each distinct score
    ranks = average_rank[inverse]
    positives = labels == 1
    n_pos = int(positives.sum())
    n_neg = len(labels) - n_pos
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    order = np.argsort(-scores, kind="mergesort")
    hits = labels[order] == 1
    precision_at_k = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at_k[hits].mean())


def precision_recall(labels: np.ndarray, flagged: np.ndarray):
    tp = int(((labels == 1) & flagged).sum())
    precision = tp / max(int(flagged.sum()), 1)
    recall = tp / max(int((labels == 1).sum()), 1)
    return precision, recall


def rules_score(x: np.ndarray, names) -> np.ndarray:
    """A hand-written baseline: one point per rule that fires, 0..5."""
    col = {name: x[:, i] for i, name in enumerate(names)}
    return (
        (col["amount_vs_user_avg"] > np.log(3.0)).astype(np.float64)  # 3x the user's average
        + (col["foreign_country"] == 1.0)  # not the user's usual country
        + (col["tx_count_1h"] >= np.log1p(2.0) - 1e-6)  # 2+ transactions in the previous hour
        + (col["card_not_present"] == 1.0)
        + (col["merchant_category_risk"] >= 0.7)  # electronics, jewelry, gift cards, crypto...
    )


def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(x).numpy().reshape(-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(HERE, "data", "train.csv"))
    parser.add_argument("--seed", type=int, default=7, help="generator seed the CSV was made with (recorded)")
    parser.add_argument("--count", type=int, default=200000, help="transactions the CSV was made from (recorded)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--pos-weight", type=float, default=4.0,
                        help="loss weight of fraud rows; moderate so scores stay usable at threshold 0.7")
    parser.add_argument("--torch-seed", type=int, default=0)
    parser.add_argument("--out-dir", default=HERE)
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(args.torch_seed)
    np.random.seed(args.torch_seed)
    started = time.time()

    with open(args.data) as f:
        names = f.readline().strip().split(",")
    feature_names = names[:-1]
    assert names[-1] == "label" and len(feature_names) == 10, f"unexpected header: {names}"
    data = np.loadtxt(args.data, delimiter=",", skiprows=1, dtype=np.float32)
    x_all, y_all = data[:, :-1], data[:, -1].astype(np.int64)
    n = len(data)
    train_end, val_end = int(n * 0.70), int(n * 0.85)
    x_train, y_train = x_all[:train_end], y_all[:train_end]
    x_val, y_val = x_all[train_end:val_end], y_all[train_end:val_end]
    x_test, y_test = x_all[val_end:], y_all[val_end:]

    model = FraudDetectionModel(len(feature_names))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    loss_fn = nn.BCELoss(reduction="none")
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train.astype(np.float32)).unsqueeze(1)
    weights = torch.where(yt == 1, torch.tensor(args.pos_weight), torch.tensor(1.0))
    xv, xtest = torch.from_numpy(x_val), torch.from_numpy(x_test)
    generator = torch.Generator().manual_seed(args.torch_seed)

    best_auc, best_state, best_epoch = -1.0, None, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(xt), generator=generator)
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            idx = order[start:start + args.batch_size]
            optimizer.zero_grad()
            loss = (loss_fn(model(xt[idx]), yt[idx]) * weights[idx]).mean()
            loss.backward()
            optimizer.step()
            total += float(loss) * len(idx)
        val_auc = auc(y_val, predict(model, xv))
        print(f"epoch {epoch:2d}  loss {total / len(xt):.4f}  val AUC {val_auc:.4f}")
        if val_auc > best_auc:
            best_auc, best_epoch = val_auc, epoch
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()

    test_scores = predict(model, xtest)
    test_auc = auc(y_test, test_scores)
    test_ap = average_precision(y_test, test_scores)
    precision, recall = precision_recall(y_test, test_scores >= THRESHOLD)
    rules = rules_score(x_test, feature_names)
    rules_auc = auc(y_test, rules)
    rules_ap = average_precision(y_test, rules + 1e-9 * np.arange(len(rules))[::-1])  # ties in stream order
    rule_flags = rules >= 3
    rules_precision, rules_recall = precision_recall(y_test, rule_flags)
    seconds = time.time() - started
    print(f"test AUC {test_auc:.4f} (rules {rules_auc:.4f}); best epoch {best_epoch}; {seconds:.0f} s")

    out_dir = args.out_dir
    os.makedirs(os.path.join(out_dir, "fixtures"), exist_ok=True)
    onnx_path = os.path.join(out_dir, f"{VERSION}.onnx")
    torch.onnx.export(
        model, torch.zeros(1, len(feature_names)), onnx_path,
        input_names=["features"], output_names=["score"],
        dynamic_axes={"features": {0: "batch"}, "score": {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True,
    )
    import onnx
    onnx.checker.check_model(onnx.load(onnx_path))

    # Fixtures: held-out rows of both classes plus edge vectors, scored by PyTorch.
    rng = np.random.default_rng(args.torch_seed)
    fraud_rows = rng.choice(np.flatnonzero(y_test == 1), 8, replace=False)
    legit_rows = rng.choice(np.flatnonzero(y_test == 0), 8, replace=False)
    fixture_x = np.concatenate([
        x_test[np.sort(np.concatenate([fraud_rows, legit_rows]))],
        np.zeros((1, 10), np.float32), np.full((1, 10), 5, np.float32),
        np.full((1, 10), -5, np.float32), np.linspace(-5, 5, 10, dtype=np.float32)[None, :],
    ]).astype(np.float32)
    fixture_y = predict(model, torch.from_numpy(fixture_x))
    fixtures = {
        "model": VERSION,
        "source": "PyTorch eval-mode outputs from models/train.py",
        "featureNames": feature_names,
        "cases": [{"features": [float(v) for v in row], "score": float(s)} for row, s in zip(fixture_x, fixture_y)],
    }
    with open(os.path.join(out_dir, "fixtures", f"{VERSION}.json"), "w") as f:
        json.dump(fixtures, f, indent=1)
        f.write("\n")

    created = datetime.date.today().isoformat()
    fraud_share = float(y_all.mean())
    metadata = {
        "version": VERSION,
        "file": f"{VERSION}.onnx",
        "featureNames": feature_names,
        "input": {"name": "features", "type": "float32", "shape": ["batch", len(feature_names)]},
        "output": {"name": "score", "type": "float32", "shape": ["batch", 1]},
        "threshold": THRESHOLD,
        "trainedOn": {"generator": "jobs/fraud/transactions.ts", "seed": args.seed, "count": args.count,
                      "rows": n, "fraudShare": round(fraud_share, 5)},
        "split": {"kind": "event-time order", "train": train_end, "validation": val_end - train_end, "test": n - val_end},
        "testAuc": round(test_auc, 4),
        "rulesBaselineAuc": round(rules_auc, 4),
        "testAveragePrecision": round(test_ap, 4),
        "opset": OPSET,
        "torch": torch.__version__,
        "created": created,
    }
    with open(os.path.join(out_dir, f"{VERSION}.json"), "w") as f:
        json.dump(metadata, f, indent=2)
        f.write("\n")

    report = f"""# Training report: {VERSION}

Made by `models/retrain.sh` (backfill, then `models/train.py`) on {created}, {seconds:.0f} s on 2 CPU threads.

## Data

- {n} synthetic transactions from `TransactionGenerator` (seed {args.seed}), fraud share {100 * fraud_share:.2f}%.
- Features: the ten of `jobs/fraud/features.ts`, computed by `jobs/fraud/backfill.ts` with the same
  `computeFeatures`/`updateHistory` the streaming job runs, so there is no training/serving skew.
  No scaling is learned: the features are already in [-5, 5] and the ONNX model takes them as is.
- Split by event time (the stream order): train = first {train_end} rows, validation = next
  {val_end - train_end} (picks the epoch), test = last {n - val_end} rows ({int(y_test.sum())} fraud).

## Model

The seed's `FraudDetectionModel`: Linear(10,64) → ReLU → Dropout(0.2) → Linear(64,32) → ReLU →
Linear(32,1) → Sigmoid. Adam (lr 1e-3), batch {args.batch_size}, {args.epochs} epochs, best epoch by
validation AUC ({best_epoch}), weighted BCE with fraud rows weighted {args.pos_weight:g}× (class imbalance;
kept moderate so that scores stay meaningful at the job's threshold {THRESHOLD}). Exported to ONNX opset
{OPSET}: input `features` [batch,10] float32, output `score` [batch,1].

## Results on the held-out test rows

| scorer | ROC AUC | average precision | flags at | precision | recall |
| --- | --- | --- | --- | --- | --- |
| model `{VERSION}` | **{test_auc:.4f}** | {test_ap:.4f} | score ≥ {THRESHOLD} | {precision:.3f} | {recall:.3f} |
| rules baseline | {rules_auc:.4f} | {rules_ap:.4f} | ≥ 3 rules | {rules_precision:.3f} | {rules_recall:.3f} |

Rules baseline: one point each for amount > 3× the user's running average, a country other than
the user's usual one, 2+ transactions in the previous hour, card not present, and a merchant
category with prior risk ≥ 0.7; the score is the number of points (0..5).

## Caveats

The data is synthetic: the fraud pattern is the one `jobs/fraud/transactions.ts` plants (bursts,
large amounts, foreign country, risky categories, card not present, night hours, each noisy), so
these figures show that the model learns that pattern through the shared feature code, not how it
would do on real fraud.

## Reproduce

    bash models/retrain.sh          # backfill (seed {args.seed}, {args.count} transactions) + train

`models/fixtures/{VERSION}.json` pins {len(fixture_y)} input vectors with PyTorch's outputs;
`test/models/fraudModel.test.ts` checks the committed ONNX file reproduces them within 1e-4.
"""
    with open(os.path.join(out_dir, "TRAINING.md"), "w") as f:
        f.write(report)
    print(f"wrote {onnx_path}, {VERSION}.json, TRAINING.md, fixtures/{VERSION}.json")


if __name__ == "__main__":
    main()
