"""Free-text prompts ("rainy night in Tokyo") to a style, a mood and a tempo, by keywords and synonyms.

The tables are data: each keyword or phrase votes for a style and/or a mood, and may push the tempo.
Words the tables do not know are ignored, so an unknown prompt changes nothing rather than guessing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.labels import MOOD_ALIASES, MOODS, STYLE_ALIASES, STYLES

# keyword or phrase -> (style, mood); None abstains. Plural/-y forms are listed where people use them.
PROMPT_KEYWORDS: dict[str, tuple[str | None, str | None]] = {
    # places and times
    "rain": ("lofi", "dreamy"), "rainy": ("lofi", "dreamy"), "night": (None, "dreamy"), "midnight": ("jazz", "dreamy"),
    "tokyo": ("lofi", None), "city": ("lofi", None), "neon": ("lofi", "dreamy"), "cafe": ("lofi", "calm"),
    "coffee": ("lofi", "calm"), "study": ("lofi", "calm"), "studying": ("lofi", "calm"), "focus": ("lofi", "calm"),
    "homework": ("lofi", "calm"), "sunday": (None, "calm"), "morning": (None, "happy"), "sunrise": (None, "happy"),
    "sunset": (None, "dreamy"), "beach": ("latin", "happy"), "summer": ("pop", "happy"), "sunny": (None, "happy"),
    "tropical": ("latin", "happy"), "carnival": ("latin", "energetic"), "rio": ("latin", None),
    "forest": ("folk", "calm"), "village": ("folk", "happy"), "countryside": ("folk", "calm"), "campfire": ("folk", "calm"),
    "harvest": ("folk", "happy"), "tavern": ("celtic", "happy"), "pub": ("celtic", "happy"), "highlands": ("celtic", None),
    "ireland": ("celtic", None), "sea": ("celtic", None), "sailor": ("celtic", "energetic"), "jig": ("celtic", "energetic"),
    "reel": ("celtic", "energetic"), "castle": ("classical", None), "palace": ("classical", None), "church": ("classical", "calm"),
    "ballroom": ("classical", "happy"), "waltz": ("classical", "dreamy"), "wedding": ("classical", "happy"),
    "funeral": ("classical", "sad"), "space": ("ambient", "dreamy"), "stars": ("ambient", "dreamy"), "ocean": ("ambient", "calm"),
    "underwater": ("ambient", "dreamy"), "meditation": ("ambient", "calm"), "sleep": ("ambient", "calm"),
    "lullaby": ("ambient", "calm"), "clouds": ("ambient", "dreamy"), "bar": ("jazz", None), "club": ("jazz", None),
    "speakeasy": ("jazz", None), "smoky": ("jazz", "dreamy"), "lounge": ("jazz", "calm"), "new orleans": ("jazz", "happy"),
    "crossroads": ("blues", "sad"), "delta": ("blues", None), "whiskey": ("blues", "sad"), "highway": ("rock", "energetic"),
    "road trip": ("rock", "happy"), "driving": ("rock", "energetic"), "stadium": ("rock", "energetic"),
    "garage": ("rock", "energetic"), "party": ("pop", "energetic"), "dance": ("pop", "energetic"), "dancing": ("pop", "energetic"),
    "radio": ("pop", None), "boss": ("game", "dark"), "battle": ("game", "energetic"), "dungeon": ("game", "dark"),
    "level": ("game", None), "arcade": ("game", "energetic"), "8-bit": ("game", "happy"), "quest": ("game", None),
    "adventure": ("game", "energetic"), "retro": ("game", None), "pixel": ("game", None),
    # feelings
    "love": (None, "dreamy"), "romance": (None, "dreamy"), "nostalgia": (None, "dreamy"), "nostalgic": (None, "dreamy"),
    "memories": (None, "dreamy"), "lonely": (None, "sad"), "loneliness": (None, "sad"), "heartbreak": ("blues", "sad"),
    "tears": (None, "sad"), "goodbye": (None, "sad"), "grief": (None, "sad"), "rainy day": (None, "sad"),
    "storm": (None, "dark"), "thunder": (None, "dark"), "haunted": (None, "dark"), "horror": (None, "dark"),
    "spooky": (None, "dark"), "mystery": (None, "dark"), "villain": (None, "dark"), "chase": (None, "energetic"),
    "workout": ("rock", "energetic"), "run": (None, "energetic"), "victory": (None, "happy"), "celebration": (None, "happy"),
    "birthday": ("pop", "happy"), "cheerful": (None, "happy"), "sunshine": (None, "happy"), "chill": ("lofi", "calm"),
    "relaxing": (None, "calm"), "gentle": (None, "calm"), "quiet": (None, "calm"), "soft": (None, "calm"),
    "hopeful": (None, "happy"), "epic": (None, "energetic"), "intense": (None, "dark"), "gloomy": (None, "sad"),
}

# Words that move the tempo (a factor on the style/mood default) without voting for style or mood.
TEMPO_WORDS: dict[str, float] = {
    "slow": 0.8, "slowly": 0.8, "ballad": 0.75, "lazy": 0.8, "sleepy": 0.75, "relaxing": 0.9,
    "fast": 1.25, "quick": 1.2, "rapid": 1.3, "upbeat": 1.15, "driving": 1.1, "frantic": 1.35, "chase": 1.2,
}

_BPM = re.compile(r"\b(\d{2,3})\s*bpm\b")

# Dances and time signatures that are not 4/4. The model writes 4/4 only, so a prompt that names one is told
# so with its track (MusicalPlan.unmet) rather than given 4/4 notes under another meter's name.
METER_WORDS: dict[str, tuple[str, str]] = {  # word -> (the dance, its meter)
    "slip jig": ("slip jig", "9/8"), "jig": ("jig", "6/8"), "jigs": ("jig", "6/8"), "waltz": ("waltz", "3/4"),
    "waltzes": ("waltz", "3/4"), "minuet": ("minuet", "3/4"), "mazurka": ("mazurka", "3/4"), "polonaise": ("polonaise", "3/4"),
    "sarabande": ("sarabande", "3/4"), "barcarolle": ("barcarolle", "6/8"), "tarantella": ("tarantella", "6/8"),
    "siciliana": ("siciliana", "6/8"),
}
_TIME_SIGNATURE = re.compile(r"(?<![\d/])(\d{1,2})\s*/\s*(\d{1,2})(?![\d/])")


@dataclass
class PromptReading:
    style: str | None = None
    mood: str | None = None
    tempo: int | None = None  # explicit "NNN bpm" in the text
    tempo_factor: float = 1.0  # from words like "slow" or "fast"
    meter_asked: str | None = None  # a meter other than 4/4 the text asks for: "6/8", or "a jig (6/8)"
    matched: list[str] = field(default_factory=list)  # the keywords that decided, for explanations


def read_prompt(text: str | None) -> PromptReading:
    """What a prompt says about style, mood and tempo. Direct names ("jazz", "sad") win over associations."""
    reading = PromptReading()
    if not text:
        return reading
    lowered = " " + re.sub(r"[^a-z0-9\- ]+", " ", text.lower()) + " "
    words = lowered.split()
    style_votes: Counter[str] = Counter()
    mood_votes: Counter[str] = Counter()

    def has(term: str) -> bool:
        return f" {term} " in lowered

    # Names and their aliases are direct mentions: each weighs 10, more than any association.
    for votes, names in ((style_votes, {**{s: s for s in STYLES}, **STYLE_ALIASES}), (mood_votes, {**{m: m for m in MOODS}, **MOOD_ALIASES})):
        for term, target in names.items():
            if has(term):
                votes[target] += 10
                reading.matched.append(term)
    for term, (style, mood) in PROMPT_KEYWORDS.items():
        if has(term):
            reading.matched.append(term)
            if style:
                style_votes[style] += 1
            if mood:
                mood_votes[mood] += 1
    # Ties go to the first keyword in the text order of `matched`, via Counter's insertion order.
    reading.style = style_votes.most_common(1)[0][0] if style_votes else None
    reading.mood = mood_votes.most_common(1)[0][0] if mood_votes else None
    for word in words:
        if word in TEMPO_WORDS:
            reading.tempo_factor *= TEMPO_WORDS[word]
    bpm = _BPM.search(lowered)
    if bpm:
        reading.tempo = int(bpm.group(1))
    reading.meter_asked = _meter_asked(text, has)
    return reading


def _meter_asked(text: str, has: Callable[[str], bool]) -> str | None:
    for word, (dance, meter) in METER_WORDS.items():  # "slip jig" before "jig": the longer name is the dance asked for
        if has(word):
            return f"a {dance} ({meter})"
    signature = _TIME_SIGNATURE.search(text)
    if signature is None:
        return None
    beats, unit = int(signature.group(1)), int(signature.group(2))
    return f"{beats}/{unit}" if 2 <= beats <= 15 and unit in (2, 4, 8, 16) and (beats, unit) != (4, 4) else None
