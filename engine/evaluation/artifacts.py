"""The evaluation's trained artefacts (style classifier, novelty index), saved beside the cache and
rebuilt only when the cache changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.data.cache import CorpusCache
from engine.evaluation.evaluate import cache_fingerprint, train_style_classifier
from engine.evaluation.novelty import NoveltyIndex
from engine.evaluation.style_classifier import StyleClassifier

CLASSIFIER_FILE = "style_classifier.npz"
NOVELTY_FILE = "novelty_index.npz"


def load_or_build_artifacts(cache: CorpusCache, folder: Path, *, retrain: bool = False,
                            log: Callable[[str], None] = lambda _msg: None) -> tuple[StyleClassifier, NoveltyIndex]:
    """The classifier and novelty index for `cache`, loaded from `folder` when they match it, else built and saved there."""
    fingerprint = cache_fingerprint(cache)
    classifier_path, novelty_path = folder / CLASSIFIER_FILE, folder / NOVELTY_FILE
    classifier = None
    if not retrain and classifier_path.is_file():
        try:
            loaded = StyleClassifier.load(classifier_path)
            classifier = loaded if loaded.fingerprint == fingerprint else None
        except ValueError:
            classifier = None
    if classifier is None:
        log("Training the style classifier on the training split...")
        classifier = train_style_classifier(cache)
        classifier.save(classifier_path)
    novelty = None
    stamp = folder / (NOVELTY_FILE + ".fingerprint")
    if not retrain and novelty_path.is_file() and stamp.is_file() and stamp.read_text() == fingerprint:
        try:
            novelty = NoveltyIndex.load(novelty_path)
        except ValueError:
            novelty = None
    if novelty is None:
        log("Building the novelty index from the training melodies...")
        novelty = save_novelty_index(cache, folder)
    return classifier, novelty


def save_novelty_index(cache: CorpusCache, folder: Path) -> NoveltyIndex:
    """Build the index of `cache`'s training melodies into `folder`, stamped with the cache's fingerprint
    (so load_or_build_artifacts reuses it, and Composer.load finds it beside a checkpoint there)."""
    novelty = NoveltyIndex.from_cache(cache, "train")
    novelty.save(folder / NOVELTY_FILE)
    (folder / (NOVELTY_FILE + ".fingerprint")).write_text(cache_fingerprint(cache))
    return novelty


SECOND_JUDGE_FILE = "second_judge.npz"


def load_or_build_second_judge(cache: CorpusCache, folder: Path, *, retrain: bool = False,
                               log: Callable[[str], None] = lambda _msg: None):
    """The second style judge for `cache`: the shipped one when it was trained on this cache, else one saved
    in `folder` for it, else trained on the cache's training split and saved there."""
    from engine.evaluation.second_judge import SHIPPED_FILE, SecondJudge, train_second_judge

    fingerprint = cache_fingerprint(cache)
    if not retrain:
        for path in (SHIPPED_FILE, folder / SECOND_JUDGE_FILE):
            if path.is_file():
                try:
                    judge = SecondJudge.load(path)
                except ValueError:
                    continue
                if judge.fingerprint == fingerprint:
                    return judge
    log("Training the second style judge on the training split...")
    judge = train_second_judge(cache, fingerprint=fingerprint, log=log)
    judge.save(folder / SECOND_JUDGE_FILE)
    return judge
