"""Classifier metrics for `curate classifier train`, the audit and benches/toxicity.py, through scikit-learn."""

from __future__ import annotations

import numpy as np


def auroc(labels, scores) -> float:
    """Area under the ROC curve (``sklearn.metrics.roc_auc_score``); NaN when only one class is present."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, np.asarray(scores, dtype=np.float64)))


def precision_recall(labels, predicted) -> dict[str, float]:
    """Precision, recall and F1 of boolean predictions (positive class = label 1), with the confusion counts."""
    from sklearn.metrics import confusion_matrix

    y = np.asarray(labels, dtype=bool)
    p = np.asarray(predicted, dtype=bool)
    _tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, p, labels=[False, True]).ravel())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn,
            "flagged": int(p.sum()), "n": len(y)}
