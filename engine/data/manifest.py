"""The build manifest as Markdown (docs/CORPUS.md is made from it) and as a short console summary."""

from __future__ import annotations

from collections import Counter

from engine.data.cache import SPLITS
from engine.labels import STYLE_DERIVATION

_MAX_DROPPED_LISTED = 40


def _count_table(title: str, rows: dict[str, dict]) -> list[str]:
    lines = [f"| {title} | pieces | segments | " + " | ".join(SPLITS) + " |", "|---|---:|---:|" + "---:|" * len(SPLITS)]
    for name, c in rows.items():
        lines.append(f"| {name} | {c['pieces']} | {c['segments']} | " + " | ".join(str(c[s]) for s in SPLITS) + " |")
    return lines


def manifest_markdown(manifest: dict) -> str:
    """A readable manifest: totals, counts per style / mood / source, derived styles and dropped pieces."""
    m = manifest
    out = [
        "# Corpus manifest",
        "",
        f"{m['segments']} segments of 8 bars (4/4, 16th grid, key-normalised to C) from {m['pieces']} pieces; "
        f"split by piece: " + ", ".join(f"{k} {v}" for k, v in m["splits"].items()) + ".",
        f"Cache: `{m.get('cache_path', '')}` ({m.get('cache_bytes', 0) / 1e6:.1f} MB), built in {m.get('build_seconds', 0)} s "
        f"({m.get('parsed_items', 0)} items parsed, {m.get('cached_items', 0)} from the parsed-item cache).",
        "",
        "## Styles",
        "",
        *_count_table("style", m["styles"]),
        "",
        "Styles the bot offers without data of their own are made from another style's material:",
        "",
        *[f"- **{s}** = {base} material: {note}" for s, base, note in _derivations()],
    ]
    if m.get("styles_without_data"):
        out += ["", "Styles with no segments in this build: " + ", ".join(m["styles_without_data"]) + "."]
    out += [
        "",
        "## Moods",
        "",
        f"{m['mood_labelled_segments']} segments carry a data set's mood label (EMOPIA, VGMIDI); the others' valence and arousal "
        "are estimated from the music (engine/data/mood.py). The mood is the named mood nearest to (valence, arousal).",
        "",
        *_count_table("mood", m["moods"]),
        *_mood_agreement(m.get("mood_agreement") or {}),
        "",
        "## Sources",
        "",
        "| source | default style | items | failed items | pieces read | pieces kept | segments | duplicate segments removed | parse s | cap / note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    notes = m.get("source_notes", {})
    for name, c in m["sources"].items():
        n = notes.get(name, {})
        cap = f"first {n['limit']} items; " if n.get("limit") else ""
        out.append(f"| {name} | {n.get('style', '')} | {c.get('items', 0)} | {c.get('items_failed', 0)} | {c.get('pieces_read', 0)} | "
                   f"{c.get('pieces', 0)} | {c.get('segments', 0)} | {c.get('duplicate_segments', 0)} | {c.get('parse_seconds', 0)} | {cap}{n.get('note', '')} |")
    meters = m.get("not_in_cache_meters", {})
    out += ["", "## Dropped", ""]
    if meters:
        out.append("Pieces in other meters are read (the representation and readers keep 3/4, 6/8, ...) but not in the "
                   "model cache yet, which is 4/4 only: " + ", ".join(f"{k}: {v}" for k, v in sorted(meters.items(), key=lambda kv: -kv[1])) + ".")
        out.append("")
    out += ["| reason | pieces or files |", "|---|---:|"]
    out += [f"| {reason} | {count} |" for reason, count in m["dropped_summary"].items()]
    errors = [d for d in m["dropped"] if "not in the model cache" not in d["reason"] and "too short" not in d["reason"]]
    if errors:
        out += ["", f"Files that failed or gave nothing usable (first {_MAX_DROPPED_LISTED} of {len(errors)}; every one is in the JSON manifest):", ""]
        by_source = Counter(d["source"] for d in errors)
        out.append("Per source: " + ", ".join(f"{k} {v}" for k, v in by_source.most_common()) + ".")
        out.append("")
        for d in errors[:_MAX_DROPPED_LISTED]:
            item = d["item"].split("/shared/data/")[-1]
            reason = d["reason"].split("/shared/data/")[-1]
            reason = reason[len(item) + 2:] if reason.startswith(item + ": ") else reason  # readers name the file first
            out.append(f"- `{d['source']}` {item}: {reason}")
    return "\n".join(out) + "\n"


def _mood_agreement(check: dict) -> list[str]:
    if not check:
        return []
    lines = ["", "### Mood estimator agreement with the labelled sets", "",
             "Sign accuracy of the estimated valence and arousal, and quadrant accuracy (both signs right):", "",
             "| labelled set | weights | pieces | valence sign | arousal sign | quadrant |", "|---|---|---:|---:|---:|---:|"]
    for r in check["rows"]:
        lines.append(f"| {r['set']} | {r['weights']} | {r['pieces']} | {r['valence_sign']:.1%} | {r['arousal_sign']:.1%} | {r['quadrant']:.1%} |")
    return lines


def _derivations() -> list[tuple[str, str, str]]:
    notes = {
        "lofi": "jazz harmony (sevenths, ii-V-I) at a slow tempo with a lofi arrangement (soft keys, dusty swung drums, muted bass)",
        "ambient": "slow classical/chorale material with sustained pads and no drums",
    }
    return [(s, base, notes.get(s, "")) for s, base in STYLE_DERIVATION.items()]


def summary_lines(manifest: dict) -> list[str]:
    m = manifest
    lines = [f"{m['segments']} segments from {m['pieces']} pieces ({', '.join(f'{k} {v}' for k, v in m['splits'].items())}) in {m.get('build_seconds', 0)} s"]
    lines.append("Styles: " + ", ".join(f"{k} {v['segments']}" for k, v in m["styles"].items()))
    lines.append("Moods: " + ", ".join(f"{k} {v['segments']}" for k, v in m["moods"].items()))
    lines.append(f"Dropped: {sum(m['dropped_summary'].values())} (" + ", ".join(f"{k} {v}" for k, v in m["dropped_summary"].items()) + ")")
    return lines


_DOC_INTRO = """# The training corpus

`tunesmith data build` reads the data sets in `../shared/data` (when present), music21's bundled corpus
(always) and any folder a host names (`--source DIR:STYLE`), and writes one compact cache,
`var/corpus/corpus.npz` (engine/data/cache.py), with a JSON manifest beside it. This page is the
manifest of the full build on the project's machine, written by
`tunesmith data build --doc docs/CORPUS.md`; the time a build from scratch takes is in
docs/bench/corpus.md (10 minutes on two shared cores).

## How the corpus is made

- **Readers** (engine/data/readers/, one per format) turn files into `Piece`s on a 16th-note grid, each
  with the labels its source gives it (`engine.data.labelled.Labels`: style, mood, valence/arousal):
  Weimar Jazz Database CSVs (notes + beat track with chords and bass), MusicXML / compressed MusicXML
  and ABC through music21 (chord-melody, OpenEWLD, Nottingham, music21's corpus), CoCoPops Humdrum
  (`**kern` + `**harte`, read directly because music21's Humdrum parser fails on these files), Impro-Visor
  `.ls` lead sheets, POP909 (MIDI + chord, key and downbeat annotations), EMOPIA and VGMIDI MIDI with
  their mood labels, and any MIDI through engine/data/midi.py. LilyPond lead sheets are not read (optional
  in the issue; the files depend on custom include macros). Groove MIDI (drums only, no melody or
  harmony) is read by engine/data/readers/groove.py (style from its info.csv) but is not in the build: the
  cache's segments need a melody. The four JJazzLab walking-bass/drum files have no reader yet.
- **Styles** come from the source and its metadata: WJD titles with "blues" are blues; Impro-Visor sheets
  use their style (latin, bossa, samba -> latin; shuffle or a blues title -> blues; rock -> rock);
  OpenEWLD uses its database's Discogs genres and styles (Bossa Nova -> latin, Pop Rock -> rock, ...);
  CoCoPops' Rolling Stone 200 is rock and its Billboard set pop.
- **Segments**: every 4/4 piece is key-normalised to C major / C minor (`Piece.normalised`) and cut into
  8-bar windows with a 4-bar hop (plus the final window), encoded with `engine.tokens.encode`.
  Windows with fewer than 8 melody onsets or a melody sounding under 25% of the time are dropped.
  Transposition augmentation happens in training (shift the normalised tokens); generation transposes
  back to the requested key.
- **Duplicates**: identical segments (hash of melody, chord and bass tokens and mode) are kept once; a
  piece whose every segment is a duplicate is dropped and listed.
- **Splits** are by piece (clips of one EMOPIA song stay together): a stable hash of the piece's group
  gives about 80/10/10 train/valid/test, so adding a source never moves another piece's split.
- **Moods**: EMOPIA quadrants and VGMIDI signs become valence/arousal of +-0.6; every other piece gets
  `engine.data.mood.estimate_valence_arousal`: mode, share of major vs minor chords, tempo, note density,
  dynamics and register, with weights fitted on both labelled sets. The agreement table below is
  measured in the build itself from the labelled pieces (cross-validated by song, and EMOPIA -> VGMIDI).
  Estimated values are then replaced by their percentile among the corpus's unlabelled pieces (spread
  over -0.9..0.9; the quantiles are in the cache's meta), because raw estimates crowd the middle of the
  plane where "dreamy" is always nearest. The mood of a segment is the named mood nearest its
  (valence, arousal).
- **Meters**: 3/4, 6/8 and other meters stay in the representation and the readers, but the model cache
  is 4/4 only for now; the table under "Dropped" counts them.
- **Items** are files, or single tunes of multi-tune ABC files ("parse s" below is the summed time of
  that source's items, from the run that parsed them, as measured inside the two worker processes).
- **Re-runs**: each file's parse is cached under `var/corpus/parsed/` (keyed by file size and time and
  the reader's version), so a second build takes seconds; `--fresh` re-parses everything.

"""


def corpus_doc(manifest: dict) -> str:
    """docs/CORPUS.md: how the corpus is made, then the manifest of this build."""
    body = manifest_markdown(manifest).split("\n", 1)[1]  # drop the manifest's own title
    return _DOC_INTRO + "## Manifest of this build\n" + body
