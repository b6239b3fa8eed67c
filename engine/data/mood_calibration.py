"""Fit and check the mood estimator against the two labelled sets (EMOPIA quadrants, VGMIDI signs).

Agreement is always measured on pieces the weights were not fitted on: EMOPIA by song-grouped
2-fold cross-validation, VGMIDI with weights fitted on EMOPIA only (a different music domain), and
both with the shipped weights (engine.data.mood.FITTED_WEIGHTS).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.data.mood import FITTED_WEIGHTS, Agreement, MoodWeights, agreement, fit_weights, mood_features
from engine.data.readers.base import ReaderError
from engine.data.readers.emopia import EmopiaReader, song_id
from engine.data.readers.vgmidi import VgmidiReader


@dataclass
class LabelledSet:
    name: str
    features: np.ndarray  # [N, F]
    labels: np.ndarray  # [N, 2] valence, arousal
    groups: list[str]


def load_labelled(shared_dir: Path, limit: int | None = None) -> list[LabelledSet]:
    """Mood features and labels of EMOPIA and VGMIDI pieces (unreadable files skipped)."""
    warnings.filterwarnings("ignore")
    sets = []
    for reader, folder in ((EmopiaReader(), "emopia"), (VgmidiReader(), "vgmidi")):
        root = shared_dir / folder
        if not root.is_dir():
            continue
        feats, labels, groups = [], [], []
        for item in reader.items(root)[:limit]:
            try:
                piece, given = reader.read(item)[0]
            except ReaderError:
                continue
            if not given.has_mood:
                continue
            feats.append(mood_features(piece))
            labels.append((given.valence, given.arousal))
            groups.append(song_id(piece.name) if folder == "emopia" else piece.name)
        sets.append(LabelledSet(folder, np.array(feats), np.array(labels), groups))
    return sets


def _predict(weights: MoodWeights, features: np.ndarray) -> np.ndarray:
    return np.stack([np.tanh(features @ np.array(weights.valence)), np.tanh(features @ np.array(weights.arousal))], axis=1)


def cross_validated(s: LabelledSet, folds: int = 2) -> Agreement:
    """Agreement on `s` with weights fitted on the other folds (folds group pieces of one song)."""
    fold = np.array([int(hashlib.sha1(g.encode()).hexdigest()[:6], 16) % folds for g in s.groups])
    predictions = np.zeros_like(s.labels)
    for k in range(folds):
        train, test = fold != k, fold == k
        w = fit_weights(s.features[train], s.labels[train, 0], s.labels[train, 1])
        predictions[test] = _predict(w, s.features[test])
    return agreement(predictions, s.labels)


@dataclass
class CalibrationReport:
    fitted: MoodWeights  # on every labelled piece: what FITTED_WEIGHTS should hold
    rows: list[tuple[str, str, Agreement]]  # (labelled set, how the weights were obtained, agreement)


def calibrate(sets: list[LabelledSet]) -> CalibrationReport:
    rows = []
    by_name = {s.name: s for s in sets}
    for s in sets:
        rows.append((s.name, "shipped weights (fitted on both sets)", agreement(_predict(FITTED_WEIGHTS, s.features), s.labels)))
        rows.append((s.name, "2-fold cross-validation by song", cross_validated(s)))
    if "emopia" in by_name and "vgmidi" in by_name:
        e, v = by_name["emopia"], by_name["vgmidi"]
        w = fit_weights(e.features, e.labels[:, 0], e.labels[:, 1])
        rows.append(("vgmidi", "fitted on EMOPIA only", agreement(_predict(w, v.features), v.labels)))
    all_f = np.concatenate([s.features for s in sets])
    all_l = np.concatenate([s.labels for s in sets])
    return CalibrationReport(fit_weights(all_f, all_l[:, 0], all_l[:, 1]), rows)
