"""Recipes: how a track was made, so it can be made again identically.

Every track-making action (a /compose, the Variation, Extend, Restyle and Re-mood buttons, /restyle and
/continue on an uploaded file) is described by a Recipe before anything runs, and the engine job is built from
that recipe. The recipe travels in the job record (so a restart can resume the job) and is stored with the
track, its seed resolved (so Regenerate, and a re-render of pruned media, replays the very same job). Since the
first run and every replay go through `engine_job`, they hand the engine the same inputs; the engine is
deterministic per seed, so they give the same notes.

A recipe holds no prompt: the prompt is text the user wrote, kept in the job's request and the track's own
column, which /forget-me clears. The replay takes the prompt from there.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from engine.music import Key, Meter, Piece
from engine.request import ComposeRequest, EngineInputError
from engine.service import EngineJob
from engine.tokens import piece_from_arrays, piece_to_arrays
from storage import Track
from storage.codec import decode_tokens, encode_tokens

VARIATION_STRENGTH = 0.35  # how far a Variation moves from its source
EXTEND_BARS = 8  # what Extend adds
TRACK_EDITS = ("variation", "extend", "restyle", "remood")  # made from a stored track
UPLOAD_EDITS = ("restyle_upload", "continue_upload")  # made from an uploaded file
OPERATIONS = ("compose", *TRACK_EDITS, *UPLOAD_EDITS)


class SourceGone(LookupError):
    """The track a recipe starts from no longer exists; the message is for the user."""

    def __init__(self, track_id: int, made: str = "made") -> None:
        super().__init__(f"Track #{track_id}, which this one was {made} from, no longer exists (it was deleted), so it cannot be made again identically.")
        self.track_id = track_id


@dataclass(frozen=True)
class Upload:
    """An uploaded piece as the engine gets it: its notes as token arrays (engine.tokens), key and tempo."""

    tokens: bytes  # engine.tokens arrays as one .npz blob (storage.codec)
    key: str
    tempo: float

    @classmethod
    def of(cls, piece: Piece) -> "Upload":
        if piece.meter != Meter(4, 4):  # what the engine would refuse; the token arrays are 4/4 only
            raise EngineInputError(f"Fragments must be in 4/4; this one is in {piece.meter.numerator}/{piece.meter.denominator}.")
        tokens = encode_tokens(piece_to_arrays(piece))
        assert tokens is not None
        return cls(tokens, piece.key.name, float(piece.tempo))

    def piece(self) -> Piece:
        arrays = decode_tokens(self.tokens)
        assert arrays is not None
        return piece_from_arrays(arrays, key=Key.parse(self.key), tempo=self.tempo)

    def to_json(self) -> dict[str, Any]:
        return {"tokens": base64.b64encode(self.tokens).decode("ascii"), "key": self.key, "tempo": self.tempo}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Upload":
        return cls(base64.b64decode(data["tokens"]), str(data["key"]), float(data["tempo"]))


@dataclass(frozen=True)
class Recipe:
    op: str  # one of OPERATIONS
    request: Mapping[str, Any]  # ComposeRequest fields but the prompt
    source_track_id: int | None = None  # TRACK_EDITS: the track edited
    strength: float | None = None  # variation
    target: str | None = None  # restyle: the new style; remood: the new mood
    bars: int | None = None  # extend, continue_upload: the bars added
    upload: Upload | None = None  # UPLOAD_EDITS

    def __post_init__(self) -> None:
        if self.op not in OPERATIONS:
            raise ValueError(f"Unknown recipe operation {self.op!r}")

    @classmethod
    def of(cls, op: str, request: ComposeRequest, **parameters: Any) -> "Recipe":
        fields = asdict(request)
        fields.pop("prompt")
        return cls(op, fields, **parameters)

    def compose_request(self, prompt: str | None) -> ComposeRequest:
        return ComposeRequest(**dict(self.request), prompt=prompt)

    def with_seed(self, seed: int | None) -> "Recipe":
        """The recipe as stored with its track: the seed the engine drew (when the request left it open)."""
        return self if seed is None else replace(self, request={**self.request, "seed": int(seed)})

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"op": self.op, "request": dict(self.request)}
        for name in ("source_track_id", "strength", "target", "bars"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.upload is not None:
            data["upload"] = self.upload.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Recipe":
        upload = data.get("upload")
        return cls(
            op=str(data["op"]),
            request=dict(data["request"]),
            source_track_id=data.get("source_track_id"),
            strength=data.get("strength"),
            target=data.get("target"),
            bars=data.get("bars"),
            upload=None if upload is None else Upload.from_json(upload),
        )


def from_track(source: Track, **changes: Any) -> ComposeRequest:
    """A request for an edit of `source`: its parameters, with `changes`."""
    fields: dict[str, Any] = dict(style=source.style, mood=source.mood, key=source.key, tempo=round(source.tempo), bars=source.bars,
                                  seed=source.seed, sampler=source.sampler)
    fields.update(changes)
    return ComposeRequest(**fields)


def source_piece(source: Track) -> Piece:
    if source.tokens is None:
        raise EngineInputError(f"Track #{source.id} has no stored notes to work from.")
    return piece_from_arrays(dict(source.tokens), key=Key.parse(source.key), tempo=source.tempo)


def recipe_of(track: Track) -> Recipe:
    """How `track` was made: its stored recipe, or, for a track made before recipes were stored, the recipe
    the bot of that time followed (an edit of its parent with the track's own seed; anything else, including an
    uploaded file's restyle, as a /compose of its parameters)."""
    if track.recipe:
        return Recipe.from_json(track.recipe)
    if track.relation in TRACK_EDITS and track.parent_id is not None:
        return Recipe(track.relation, {"seed": track.seed}, source_track_id=track.parent_id, strength=VARIATION_STRENGTH if track.relation == "variation" else None,
                      target=track.style if track.relation == "restyle" else track.mood if track.relation == "remood" else None,
                      bars=EXTEND_BARS if track.relation == "extend" else None)
    return Recipe.of("compose", from_track(track))


LoadTrack = Callable[[int], Awaitable[Track | None]]


async def engine_job(recipe: Recipe, *, prompt: str | None, user_key: str, load_track: LoadTrack, regenerate: bool = False) -> EngineJob:
    """The engine job a recipe describes (`regenerate`: a compose is submitted as a Regenerate). Raises SourceGone when the source track was deleted, EngineInputError (a ValueError) for input the engine
    cannot use."""
    request = recipe.compose_request(prompt)
    if recipe.op == "compose":
        return EngineJob.regenerate(request, user_key) if regenerate and request.seed is not None else EngineJob.compose(request, user_key)
    if recipe.op in UPLOAD_EDITS:
        assert recipe.upload is not None
        piece = recipe.upload.piece()
        if recipe.op == "restyle_upload":
            return EngineJob.restyle(piece, str(recipe.target), request, user_key)
        return EngineJob.continue_piece(piece, int(recipe.bars or EXTEND_BARS), request, user_key)
    assert recipe.source_track_id is not None
    source = await load_track(recipe.source_track_id)
    if source is None:
        raise SourceGone(recipe.source_track_id)
    if set(recipe.request) <= {"seed"}:  # a legacy recipe: the request the bot of that time built from the source
        request = replace(legacy_request(recipe, source), seed=recipe.request.get("seed"))
    if recipe.op == "variation":
        if source.latent is None:
            raise EngineInputError(f"Track #{source.id} has no latent code to vary.")
        return EngineJob.variation(source.latent, request, float(recipe.strength if recipe.strength is not None else VARIATION_STRENGTH), user_key)
    if recipe.op == "extend":
        return EngineJob.extend(source_piece(source), int(recipe.bars or EXTEND_BARS), request, user_key)
    if recipe.op == "restyle":
        return EngineJob.restyle(source_piece(source), str(recipe.target), request, user_key)
    return EngineJob.remood(source_piece(source), str(recipe.target), request, user_key)


def legacy_request(recipe: Recipe, source: Track) -> ComposeRequest:
    if recipe.op == "variation":
        return from_track(source, seed=None)
    if recipe.op == "extend":
        return from_track(source, bars=source.bars + int(recipe.bars or EXTEND_BARS))
    if recipe.op == "restyle":
        return from_track(source, style=recipe.target)
    return from_track(source, mood=recipe.target)


__all__ = ["EXTEND_BARS", "VARIATION_STRENGTH", "Recipe", "SourceGone", "Upload", "engine_job", "from_track", "recipe_of", "source_piece"]
