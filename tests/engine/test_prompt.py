import pytest

from engine.prompt import read_prompt


@pytest.mark.parametrize(
    "text,style,mood",
    [
        ("rainy night in Tokyo", "lofi", "dreamy"),
        ("boss battle in a haunted dungeon", "game", "dark"),
        ("a jig for the tavern", "celtic", "happy"),
        ("sad jazz for a smoky bar", "jazz", "sad"),
        ("Bossa nova on the beach", "latin", "happy"),
        ("music to study to", "lofi", "calm"),
        ("funeral", "classical", "sad"),
    ],
)
def test_prompts_map_to_style_and_mood(text, style, mood):
    r = read_prompt(text)
    assert (r.style, r.mood) == (style, mood)


def test_unknown_words_say_nothing():
    r = read_prompt("xyzzy plugh quux")
    assert (r.style, r.mood, r.tempo, r.tempo_factor, r.matched) == (None, None, None, 1.0, [])
    assert read_prompt(None).style is None and read_prompt("").mood is None


def test_tempo_words_and_explicit_bpm():
    assert read_prompt("a slow sad ballad").tempo_factor < 0.7
    assert read_prompt("fast rock").tempo_factor > 1.2
    assert read_prompt("folk at 150 bpm").tempo == 150


def test_direct_names_beat_associations():
    r = read_prompt("happy rainy night, rock")  # rain and night suggest lofi/dreamy; the names win
    assert (r.style, r.mood) == ("rock", "happy")


@pytest.mark.parametrize(
    "text,asked",
    [
        ("a lively jig", "a jig (6/8)"),
        ("slip jig for the pub", "a slip jig (9/8)"),  # the longer dance name, not "jig"
        ("Waltz in 3/4", "a waltz (3/4)"),
        ("something in 6/8", "6/8"),
        ("a 7 / 8 groove", "7/8"),
        ("rock in 4/4", None),
        ("24/7 party", None),
        ("1/2 speed", None),
        ("rainy night", None),
    ],
)
def test_meters_other_than_4_4_are_heard_in_the_text(text, asked):
    assert read_prompt(text).meter_asked == asked
