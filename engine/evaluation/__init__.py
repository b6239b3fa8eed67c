"""Evaluation of generators against the real corpus: style, mood, objective metrics and novelty."""

from engine.evaluation.evaluate import EvaluationReport, StyleRow, evaluate, train_style_classifier
from engine.evaluation.generators import HeldOutGenerator, RandomGenerator
from engine.evaluation.novelty import COPY_THRESHOLD_BARS, NoveltyIndex
from engine.evaluation.style_classifier import StyleClassifier

__all__ = [
    "COPY_THRESHOLD_BARS", "EvaluationReport", "HeldOutGenerator", "NoveltyIndex", "RandomGenerator", "StyleClassifier",
    "StyleRow", "evaluate", "train_style_classifier",
]
