from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from tests.helpers.data_pieces import scale_piece

from engine.data.build import build_corpus, split_of
from engine.data.cache import CorpusCache
from engine.data.manifest import manifest_markdown
from engine.data.midi import write_midi
from engine.data.readers.registry import folder_source
from engine.data.segments import piece_segments
from engine.music import Key, Meter


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "songs"
    root.mkdir()
    for i in range(6):
        write_midi(scale_piece(bars=16, key=Key(i * 2 % 12, "major"), offset=i * 3), root / f"song{i}.mid")
    shutil.copy(root / "song0.mid", root / "copy_of_song0.mid")
    write_midi(scale_piece(bars=8, meter=Meter(3, 4)), root / "waltz.mid")
    (root / "broken.mid").write_bytes(b"MThd garbage")
    return root


def test_build_writes_cache_and_manifest_and_reports_every_drop(folder, tmp_path):
    out = tmp_path / "corpus" / "corpus.npz"
    result = build_corpus([folder_source(folder, "latin")], out, workers=1, item_cache_dir=tmp_path / "parsed")
    cache = CorpusCache.load(out)
    assert len(cache) == result.manifest["segments"] > 0
    assert set(cache.style.tolist()) == {cache.styles.index("latin")}
    assert result.manifest["styles"]["latin"]["pieces"] == 6  # the copy adds nothing
    reasons = {d["item"].split("/")[-1]: d["reason"] for d in result.manifest["dropped"]}
    assert "not a MIDI file" in reasons["broken.mid"] or "unreadable MIDI" in reasons["broken.mid"]
    assert "3/4 is not in the model cache" in reasons["waltz"]
    assert "duplicates" in reasons["song0"]  # the copy sorts first and is kept; the second reading is the duplicate
    assert result.manifest["not_in_cache_meters"] == {"3/4": 1}
    manifest = json.loads(result.manifest_path.read_text())
    assert manifest["cache_bytes"] == out.stat().st_size
    text = manifest_markdown(manifest)
    assert "| latin | 6 |" in text and "lofi" in text and "broken.mid" in text


def test_segments_of_a_piece_share_its_split_and_moods_are_estimated(folder, tmp_path):
    result = build_corpus([folder_source(folder, "jazz")], tmp_path / "c.npz", workers=1)
    cache = result.cache
    for p in np.unique(cache.piece):
        assert len(set(cache.split[cache.piece == p].tolist())) == 1
    assert not cache.mood_labelled.any() and np.all(np.abs(cache.valence) <= 1)
    assert cache.meta["segment_bars"] == 8 and cache.meta["key_normalised"]


def test_rerun_reads_from_the_item_cache_and_gives_the_same_corpus(folder, tmp_path):
    first = build_corpus([folder_source(folder, "pop")], tmp_path / "a.npz", workers=2, item_cache_dir=tmp_path / "parsed")
    second = build_corpus([folder_source(folder, "pop")], tmp_path / "b.npz", workers=2, item_cache_dir=tmp_path / "parsed")
    assert first.manifest["parsed_items"] == 9 and second.manifest["parsed_items"] == 0
    assert np.array_equal(first.cache.melody, second.cache.melody) and np.array_equal(first.cache.split, second.cache.split)


def test_split_is_stable_and_roughly_80_10_10():
    splits = [split_of(f"src:{i}") for i in range(2000)]
    assert split_of("src:7") == split_of("src:7")
    counts = np.bincount(splits, minlength=3) / len(splits)
    assert 0.75 < counts[0] < 0.85 and 0.07 < counts[1] < 0.13 and 0.07 < counts[2] < 0.13


def test_segments_are_key_normalised_and_near_empty_windows_dropped():
    piece = scale_piece(bars=12, key=Key(7, "major"))
    segments, dropped = piece_segments(piece)
    assert [s.first_bar for s in segments] == [0, 4] and dropped == 0
    same, _ = piece_segments(scale_piece(bars=12, key=Key(0, "major")))
    assert np.array_equal(segments[0].encoded.chords, same[0].encoded.chords)  # G major normalised to C
    sparse = scale_piece(bars=8)
    sparse.melody = sparse.melody[:5]
    assert piece_segments(sparse) == ([], 1)
    with pytest.raises(ValueError, match="3/4"):
        piece_segments(scale_piece(meter=Meter(3, 4)))


def test_mood_agreement_is_measured_on_the_labelled_records():
    from engine.data.build import PieceRecord, mood_agreement_from_records
    from engine.data.mood import FEATURE_NAMES

    rng = np.random.default_rng(1)
    records = []
    for i in range(40):
        f = np.append(rng.uniform(-1, 1, len(FEATURE_NAMES) - 1), 1.0)
        v, a = (0.6 if f[0] > 0 else -0.6), (0.6 if f[2] > 0 else -0.6)  # valence follows mode, arousal follows tempo
        records.append(PieceRecord("emopia", f"Q_{i}", f"emopia:{i}", "pop", "", v, a, True, 120.0, "4/4", 8, "C", mood_features=list(f)))
    records.append(PieceRecord("pop909", "x", "pop909:x", "pop", "", 0.1, 0.1, False, 120.0, "4/4", 8, "C", mood_features=[0.0] * 7))
    check = mood_agreement_from_records(records)
    rows = {(r["set"], r["weights"]): r for r in check["rows"]}
    assert set(s for s, _ in rows) == {"emopia"}
    assert rows[("emopia", "2-fold cross-validation by song")]["valence_sign"] > 0.8
    assert len(check["refitted_weights"]["valence"]) == len(FEATURE_NAMES)
    assert mood_agreement_from_records(records[-1:]) == {}


def test_estimated_moods_are_spread_by_percentile():
    from engine.data.build import EstimatedMoodScale

    scale = EstimatedMoodScale(np.linspace(-0.2, 0.2, 41), np.linspace(-0.1, 0.3, 41))
    assert scale.apply(0.0, 0.1) == (0.0, 0.0)
    assert scale.apply(1.0, -1.0) == (0.9, -0.9)
    assert scale.apply(-0.1, 0.2)[0] < 0 < scale.apply(-0.1, 0.2)[1]
    assert EstimatedMoodScale(np.array([]), np.array([])).apply(0.3, -0.2) == (0.3, -0.2)


def test_pieces_sharing_a_tune_share_a_split(tmp_path):
    from engine.data.build import _tune_families, process_item
    from engine.data.readers.folder import FolderReader

    root = tmp_path / "tunes"
    write_midi(scale_piece(bars=16, key=Key(0, "major")), root / "tune_in_c.mid")
    write_midi(scale_piece(bars=16, key=Key(5, "major")), root / "same_tune_in_f.mid")
    other = scale_piece(bars=16)
    rng = np.random.default_rng(3)
    other.melody = [replace(n, pitch=int(rng.integers(55, 80))) for n in other.melody]  # a different tune, same rhythm
    write_midi(other, root / "other.mid")
    reader = FolderReader(style="folk", source="t")
    records = [r for item in reader.items(root) for r in process_item(("t", reader, item, "folk")).records]
    families = _tune_families(records)
    by_name = {r.name: families.find(r.group) for r in records}
    assert by_name["tune_in_c"] == by_name["same_tune_in_f"] != by_name["other"]
