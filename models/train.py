#!/usr/bin/python3
"""Train the seed's FraudDetectionModel on a feature-store training set and export it to ONNX.

Run with Debian's Python (python3-torch, python3-onnx), normally through models/retrain.sh, on
the point-in-time training table of `sluice features training-set --out` (see read_table):

    /usr/bin/python3 models/train.py --data models/data/training.csv --seed 7 --count 200000

Writes the next version of the model registry models/fraud/ (see models/registry.py and
models/TRAINING.md): N/model.onnx (input `features` [batch,10] float32, output `score` [batch,1]),
then N/TRAINING.md (the report), N/fixtures.json (input vectors with PyTorch's outputs),
N/holdout.csv (labelled test rows), and last N/manifest.json (tensors, training data sha256,
metrics, reference histograms of every feature and of the score). Training is deterministic
(fixed seeds, 2 threads): the same data gives a byte-identical model.onnx and the same manifest
(`created` comes from --created or SOURCE_DATE_EPOCH when given).

The split is by event time: the first 70% of rows train, the next
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

from registry import BINS, MANIFEST_VERSION, next_version, reference_histogram, sha256_file, write_version
from report import training_report

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "fraud"
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


def read_table(path: str):
    """The training table: features in tensor column order and labels, rows in event-time order.

    Two layouts: the feature store's point-in-time training set (`sluice features training-set
    --out`: entity,event_time,<features>,label; rows are sorted by event_time, stably, so the
    split below is by event time whatever order the labels came in), or a plain
    <features>,label CSV in stream order (jobs/fraud/backfill.ts).
    """
    with open(path) as f:
        names = f.readline().strip().split(",")
    if names[-1] != "label":
        raise SystemExit(f"{path}: the last column must be `label` (header: {','.join(names)})")
    keyed = names[:2] == ["entity", "event_time"]
    first = 2 if keyed else 0
    feature_names = names[first:-1]
    if len(feature_names) != 10:
        raise SystemExit(f"{path}: expected the fraud model's 10 feature columns, got {feature_names}")
    columns = list(range(first, len(names)))
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, usecols=columns, ndmin=2)
    if keyed:
        times = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, usecols=[1], ndmin=1)
        data = data[np.argsort(times, kind="stable")]
    source = "sluice features training-set (point-in-time join of labels with the offline store)" if keyed else "feature CSV in stream order"
    return feature_names, data[:, :-1], data[:, -1].astype(np.int64), source


def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(x).numpy().reshape(-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(HERE, "data", "training.csv"), help="the training table (CSV, see read_table)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed the CSV was made with (recorded)")
    parser.add_argument("--count", type=int, default=200000, help="transactions the CSV was made from (recorded)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--pos-weight", type=float, default=4.0,
                        help="loss weight of fraud rows; moderate so scores stay usable at threshold 0.7")
    parser.add_argument("--torch-seed", type=int, default=0)
    parser.add_argument("--registry", default=os.path.join(HERE, NAME), help="registry directory to add a version to")
    parser.add_argument("--version", type=int, default=None, help="version number (default: the next free one)")
    parser.add_argument("--created", default=None, help="ISO date recorded as `created` (default: SOURCE_DATE_EPOCH or today)")
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(args.torch_seed)
    np.random.seed(args.torch_seed)
    started = time.time()

    feature_names, x_all, y_all, source = read_table(args.data)
    n = len(x_all)
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

    version = args.version if args.version is not None else next_version(args.registry)
    if os.path.exists(os.path.join(args.registry, str(version))):
        raise SystemExit(f"{args.registry}/{version} exists already: versions are immutable, pick another --version")
    label = f"{NAME}@{version}"

    # Fixtures: held-out rows of both classes plus edge vectors, scored by PyTorch.
    rng = np.random.default_rng(args.torch_seed)
    # (Fewer than 8 of a class only in a small table, e.g. the end-to-end test's.)
    fraud_rows = rng.choice(np.flatnonzero(y_test == 1), min(8, int((y_test == 1).sum())), replace=False)
    legit_rows = rng.choice(np.flatnonzero(y_test == 0), min(8, int((y_test == 0).sum())), replace=False)
    fixture_x = np.concatenate([
        x_test[np.sort(np.concatenate([fraud_rows, legit_rows]))],
        np.zeros((1, 10), np.float32), np.full((1, 10), 5, np.float32),
        np.full((1, 10), -5, np.float32), np.linspace(-5, 5, 10, dtype=np.float32)[None, :],
    ]).astype(np.float32)
    fixture_y = predict(model, torch.from_numpy(fixture_x))
    fixtures = {
        "model": label,
        "source": "PyTorch eval-mode outputs from models/train.py",
        "featureNames": feature_names,
        "cases": [{"features": [float(v) for v in row], "score": float(s)} for row, s in zip(fixture_x, fixture_y)],
    }

    # A labelled sample of the test rows (all classes kept, fraud over-sampled so AUC is stable on
    # 1000 rows) for the "held-out AUC not worse than the current model" check of a hot swap.
    holdout_rng = np.random.default_rng(args.torch_seed + 1)
    fraud_test, legit_test = np.flatnonzero(y_test == 1), np.flatnonzero(y_test == 0)
    n_fraud = min(300, len(fraud_test))
    holdout_rows = np.sort(np.concatenate([
        holdout_rng.choice(fraud_test, n_fraud, replace=False),
        holdout_rng.choice(legit_test, min(1000 - n_fraud, len(legit_test)), replace=False),
    ]))
    holdout = ",".join(feature_names + ["label"]) + "\n" + "".join(
        ",".join(f"{float(v):.9g}" for v in x_test[i]) + f",{int(y_test[i])}\n" for i in holdout_rows)

    # Reference distributions: the training rows as the model saw them, and its scores on them.
    train_scores = predict(model, xt)
    reference = {
        "rows": len(x_train),
        "bins": BINS,
        "features": {name: reference_histogram(x_train[:, i]) for i, name in enumerate(feature_names)},
        "score": reference_histogram(train_scores),
    }

    if args.created is not None:
        created = args.created
    elif "SOURCE_DATE_EPOCH" in os.environ:
        created = datetime.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), datetime.timezone.utc).date().isoformat()
    else:
        created = datetime.date.today().isoformat()
    fraud_share = float(y_all.mean())
    manifest = {
        "manifestVersion": MANIFEST_VERSION,
        "name": NAME,
        "version": version,
        "created": created,
        "model": {"opset": OPSET},
        "features": feature_names,
        "inputs": [{"name": "features", "dtype": "float32", "shape": ["batch", len(feature_names)]}],
        "outputs": [{"name": "score", "dtype": "float32", "shape": ["batch", 1]}],
        "threshold": THRESHOLD,
        "training": {
            "dataSha256": sha256_file(args.data),
            "data": source,
            "rows": n,
            "fraudShare": round(fraud_share, 5),
            "generator": "jobs/fraud/transactions.ts",
            "seed": args.seed,
            "count": args.count,
            "split": {"kind": "event-time order", "train": train_end, "validation": val_end - train_end, "test": n - val_end},
            "epochs": args.epochs,
            "bestEpoch": best_epoch,
            "batchSize": args.batch_size,
            "posWeight": args.pos_weight,
            "torchSeed": args.torch_seed,
            "torch": torch.__version__,
        },
        "metrics": {
            "auc": round(test_auc, 4),
            "averagePrecision": round(test_ap, 4),
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "rulesBaselineAuc": round(rules_auc, 4),
            "rulesBaselineAveragePrecision": round(rules_ap, 4),
            "rulesBaselinePrecision": round(rules_precision, 4),
            "rulesBaselineRecall": round(rules_recall, 4),
        },
        "reference": reference,
    }

    def export(path: str) -> None:
        torch.onnx.export(
            model, torch.zeros(1, len(feature_names)), path,
            input_names=["features"], output_names=["score"],
            dynamic_axes={"features": {0: "batch"}, "score": {0: "batch"}},
            opset_version=OPSET, do_constant_folding=True,
        )
        import onnx
        onnx.checker.check_model(onnx.load(path))

    report = training_report({**manifest, "model": {"opset": OPSET}}, seconds, int(y_test.sum()), len(fixture_y))
    directory = write_version(args.registry, version, export, manifest, {
        "TRAINING.md": report,
        "fixtures.json": json.dumps(fixtures, indent=1) + "\n",
        "holdout.csv": holdout,
    })
    print(f"wrote {label}: {directory}/model.onnx, manifest.json, TRAINING.md, fixtures.json, holdout.csv")


if __name__ == "__main__":
    main()
