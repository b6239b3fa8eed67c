"""Weimar Jazz Database solos: `mcsv_melody/<Performer>_<Tune>_FINAL.csv` (one row per note) with
`mcsv_beat/<same name>` (one row per beat: chord symbol and bass pitch)."""

from __future__ import annotations

import csv
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from engine.data.chords import merge_chords, try_parse_chord_symbol
from engine.data.key_estimation import estimate_key
from engine.data.labelled import Labels, LabelledPiece
from engine.data.readers.base import Reader, ReaderError
from engine.music import STEPS_PER_BEAT, Chord, Meter, Note, Piece

_MELODY_COLUMNS = {"onset", "duration", "division", "bar", "beat", "tatum", "beat_duration", "signature", "pitch"}
_BEAT_COLUMNS = {"onset", "bar", "beat", "signature", "chord"}


def _rows(path: Path, required: set[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = required - set(reader.fieldnames or ())
            if missing:
                raise ReaderError(f"{path}: not a WJD CSV, missing columns {sorted(missing)}")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReaderError(f"{path}: unreadable CSV ({exc})") from exc


def _signature(text: str) -> tuple[int, int]:
    cleaned = text.strip().strip("\"'")
    num, _, den = cleaned.partition("/")
    return int(num), int(den)


@dataclass
class WjdReader(Reader):
    source: str = "wjd-solos"

    def items(self, root: Path) -> list[str]:
        return sorted(str(p) for p in (Path(root) / "mcsv_melody").glob("*.csv"))

    def read(self, item: str) -> list[LabelledPiece]:
        melody_path = Path(item)
        beat_path = melody_path.parent.parent / "mcsv_beat" / f"{melody_path.stem}_beattrack.csv"
        notes_rows = _rows(melody_path, _MELODY_COLUMNS)
        beat_rows = _rows(beat_path, _BEAT_COLUMNS) if beat_path.is_file() else []
        if not notes_rows:
            raise ReaderError(f"{melody_path}: no notes")
        try:
            signatures = Counter(_signature(r["signature"]) for r in (beat_rows or notes_rows) if r["signature"].strip("\"' "))
            (num, den), _ = signatures.most_common(1)[0]
            if len(signatures) > 1:
                raise ReaderError(f"{melody_path}: changes meter ({', '.join(f'{a}/{b}' for a, b in signatures)})")
            meter = Meter(num, den)
            spb = meter.steps_per_bar
            first_bar = min(int(r["bar"]) for r in (beat_rows or notes_rows))
            melody: list[Note] = []
            beat_durations = []
            for r in notes_rows:
                beat_dur = float(r["beat_duration"])
                beat_durations.append(beat_dur)
                division = max(1, int(r["division"]))
                sub = round((int(r["tatum"]) - 1) * STEPS_PER_BEAT / division)
                start = (int(r["bar"]) - first_bar) * spb + (int(r["beat"]) - 1) * STEPS_PER_BEAT + sub
                dur = max(1, round(float(r["duration"]) / beat_dur * STEPS_PER_BEAT)) if beat_dur > 0 else 1
                loud = float(r.get("loud_median") or 65.0)
                velocity = int(min(127, max(30, 40 + (loud - 55.0) * 3)))
                melody.append(Note(int(float(r["pitch"])), start, dur, velocity))
        except ReaderError:
            raise
        except (KeyError, ValueError, IndexError) as exc:
            raise ReaderError(f"{melody_path}: malformed row ({type(exc).__name__}: {exc})") from exc
        melody.sort(key=lambda n: n.start)
        melody = [n for n in melody if n.start >= 0]
        mono = []
        for i, n in enumerate(melody):
            if mono and mono[-1].start == n.start:
                continue
            nxt = melody[i + 1].start if i + 1 < len(melody) else n.end
            mono.append(Note(n.pitch, n.start, max(1, min(n.duration, nxt - n.start) if nxt > n.start else n.duration), n.velocity))
        chords: list[Chord] = []
        bass: list[Note] = []
        current: Chord | None = None
        for r in beat_rows:
            try:
                start = (int(r["bar"]) - first_bar) * spb + (int(r["beat"]) - 1) * STEPS_PER_BEAT
            except ValueError:
                continue
            symbol = r["chord"].strip()
            if symbol:
                parsed = try_parse_chord_symbol(symbol)
                current = parsed if parsed is not None else current
            if current is not None and start >= 0:
                chords.append(Chord(current.root, current.quality, start, STEPS_PER_BEAT, current.bass))
            bass_text = (r.get("bass") or "").strip()
            if bass_text and start >= 0:
                try:
                    bass.append(Note(int(float(bass_text)), start, STEPS_PER_BEAT, 80))
                except ValueError:
                    pass
        harmony = merge_chords(chords)
        last = max([n.end for n in mono] + [c.end for c in harmony] + [1])
        bars = -(-last // spb)
        tempo = 60.0 / statistics.median(beat_durations) if beat_durations and statistics.median(beat_durations) > 0 else 120.0
        performer, _, rest = melody_path.stem.partition("_")
        tune = rest.removesuffix("_FINAL")
        style = "blues" if "blues" in tune.lower() else "jazz"
        piece = Piece(bars=bars, key=estimate_key(mono, harmony), meter=meter, tempo=round(tempo, 1), melody=mono,
                      harmony=harmony, bass=bass, source=self.source, name=f"{performer}_{tune}")
        return [LabelledPiece(piece, Labels(style=style))]
