"""The build manifest as Markdown (docs/CORPUS.md is made from it) and as a short console summary."""

from __future__ import annotations

from collections import Counter

from engine.data.cache import SPLITS
from engine.vocab import STYLE_DERIVATION

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
        "| source | default style | files | failed files | pieces read | pieces kept | segments | duplicate segments removed | cap / note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    notes = m.get("source_notes", {})
    for name, c in m["sources"].items():
        n = notes.get(name, {})
        cap = f"first {n['limit']} files; " if n.get("limit") else ""
        out.append(f"| {name} | {n.get('style', '')} | {c.get('items', 0)} | {c.get('items_failed', 0)} | {c.get('pieces_read', 0)} | "
                   f"{c.get('pieces', 0)} | {c.get('segments', 0)} | {c.get('duplicate_segments', 0)} | {cap}{n.get('note', '')} |")
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
            out.append(f"- `{d['source']}` {d['item'].split('/shared/data/')[-1]}: {d['reason'].split('/shared/data/')[-1]}")
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
