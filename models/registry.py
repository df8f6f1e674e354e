"""The on-disk model registry that training writes and Sluice reads (runtime/models/registry.ts).

A registry is a directory of versions: models/fraud/1/, models/fraud/2/, ... Each version holds
model.onnx and manifest.json (the schema is runtime/models/manifest.ts). Write order matters:
the model first, the manifest last and by rename, so a reader that sees a manifest sees a
complete version, and the manifest's sha256 of the model proves the two belong together.
"""
import hashlib
import json
import os

import numpy as np

MANIFEST_VERSION = 1
BINS = 10


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def next_version(registry: str) -> int:
    """One more than the highest numbered version directory (complete or not), 1 for a new registry."""
    if not os.path.isdir(registry):
        return 1
    versions = [int(name) for name in os.listdir(registry) if name.isdigit()]
    return max(versions, default=0) + 1


def reference_histogram(values: np.ndarray, bins: int = BINS) -> dict:
    """Histogram bins of one column, in the form core/drift/histogram.ts reads.

    `edges` are interior cut points; a value v falls in bin searchsorted(edges, v, 'right'), which
    is binIndex in TypeScript: (-inf, e0), [e0, e1), ..., [e_last, +inf).
    - A column with at most `bins` distinct values (a flag, a category risk) gets one bin per
      value: edges at the midpoints between consecutive values.
    - Otherwise the cut points are the 1/bins .. (bins-1)/bins quantiles (method "lower": actual
      data values, so the same data gives the same edges on any machine), duplicates dropped, and
      each one moves down to the midpoint between it and the distinct value below it (the
      minimum: up, to the midpoint with the value above). The training rows fall in the same
      bins, no edge sits on a value that occurs (ties at an edge cannot flip between bins), and
      a point mass (60% zeros) gets a bin of its own instead of an empty bin beside it.
    """
    column = np.asarray(values, dtype=np.float64)
    unique = np.unique(column)
    if len(unique) <= bins:
        edges = (unique[:-1] + unique[1:]) / 2.0
    else:
        cuts = np.unique(np.quantile(column, [i / bins for i in range(1, bins)], method="lower"))
        at = np.searchsorted(unique, cuts)  # position of each cut among the distinct values
        below = np.where(at > 0, unique[np.maximum(at - 1, 0)], unique[1])
        edges = np.unique((below + cuts) / 2.0)
    counts = np.bincount(np.searchsorted(edges, column, side="right"), minlength=len(edges) + 1)
    proportions = counts / len(column)
    return {
        "edges": [float(e) for e in edges],
        "proportions": [round(float(p), 6) for p in proportions],
    }


def write_version(registry: str, version: int, write_model, manifest: dict, extra_files: dict) -> str:
    """Creates registry/version/ and writes, in this order: the model (by `write_model(path)`),
    `extra_files` (name -> text), then manifest.json with the model's sha256 and size, by rename."""
    directory = os.path.join(registry, str(version))
    os.makedirs(directory, exist_ok=False)
    model_path = os.path.join(directory, "model.onnx")
    write_model(model_path)
    for name, text in extra_files.items():
        with open(os.path.join(directory, name), "w") as f:
            f.write(text)
    manifest = dict(manifest)
    manifest["model"] = {
        "file": "model.onnx",
        "sha256": sha256_file(model_path),
        "bytes": os.path.getsize(model_path),
        **manifest.get("model", {}),
    }
    temporary = os.path.join(directory, ".manifest.json.tmp")
    with open(temporary, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.rename(temporary, os.path.join(directory, "manifest.json"))
    return directory
