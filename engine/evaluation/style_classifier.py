"""A small style classifier (multinomial logistic regression on engine.evaluation.features), trained on
real training segments only. Its accuracy on held-out real pieces is the ceiling that generated
pieces of a requested style are compared against."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from engine.music import Piece
from engine.evaluation.features import N_FEATURES, piece_features

CLASSIFIER_VERSION = 1


@dataclass
class StyleClassifier:
    styles: list[str]
    mean: np.ndarray  # [F]
    scale: np.ndarray  # [F]
    weights: np.ndarray  # [F + 1, C] (last row: bias)
    fingerprint: str = ""  # of the cache it was trained on, so callers know when to retrain

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, styles: list[str], *, l2: float = 1e-3, max_iter: int = 300,
            fingerprint: str = "", seed: int = 0) -> "StyleClassifier":
        """Fit on features [N, F] and integer labels [N] (indices into `styles`); classes are weighted equally."""
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(labels, dtype=int)
        if len(x) == 0:
            raise ValueError("no training data for the style classifier")
        present = sorted(set(y.tolist()))
        mean = x.mean(axis=0)
        scale = x.std(axis=0) + 1e-6
        xs = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        n_classes = len(styles)
        counts = np.bincount(y, minlength=n_classes).astype(float)
        sample_w = (len(y) / (len(present) * np.maximum(counts, 1)))[y]
        onehot = np.zeros((len(y), n_classes))
        onehot[np.arange(len(y)), y] = 1.0
        absent = np.array([c not in present for c in range(n_classes)])

        def loss_grad(flat: np.ndarray) -> tuple[float, np.ndarray]:
            w = flat.reshape(xs.shape[1], n_classes)
            logits = xs @ w
            logits[:, absent] = -1e9  # never predict a style with no training data
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            loss = -np.sum(sample_w * np.log(np.sum(p * onehot, axis=1) + 1e-12)) / len(y) + l2 * np.sum(w[:-1] ** 2)
            grad = xs.T @ ((p - onehot) * sample_w[:, None]) / len(y)
            grad[:-1] += 2 * l2 * w[:-1]
            return loss, grad.ravel()

        rng = np.random.default_rng(seed)
        w0 = rng.normal(0, 0.01, size=(xs.shape[1] * n_classes))
        res = minimize(loss_grad, w0, jac=True, method="L-BFGS-B", options={"maxiter": max_iter})
        weights = res.x.reshape(xs.shape[1], n_classes)
        weights[-1, absent] = -1e4
        return cls(list(styles), mean.astype(np.float32), scale.astype(np.float32), weights.astype(np.float32), fingerprint)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(features, dtype=np.float32))
        logits = ((x - self.mean) / self.scale) @ self.weights[:-1] + self.weights[-1]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Style indices (into `styles`) for features [N, F]."""
        return np.argmax(self.probabilities(features), axis=1)

    def predict_piece(self, piece: Piece) -> str:
        return self.styles[int(self.predict(piece_features(piece)[None])[0])]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {"version": CLASSIFIER_VERSION, "styles": self.styles, "fingerprint": self.fingerprint, "features": N_FEATURES}
        with path.open("wb") as fh:
            np.savez_compressed(fh, header=np.frombuffer(json.dumps(header).encode(), np.uint8), mean=self.mean, scale=self.scale, weights=self.weights)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "StyleClassifier":
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                arrays = {k: data[k] for k in ("mean", "scale", "weights")}
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a style classifier file ({exc})") from exc
        if header.get("version") != CLASSIFIER_VERSION or header.get("features") != N_FEATURES:
            raise ValueError(f"{path}: style classifier from another version; retrain it")
        return cls(header["styles"], arrays["mean"], arrays["scale"], arrays["weights"], header.get("fingerprint", ""))
