"""Generation: requests become plans (engine.plan), plans become pieces. The Composer writes each plan's
blocks with the model, chords forced to the plan, gives returning phrases their source's notes
(assemble), post-processes, decodes in the key and checks novelty; edits (variation, restyle, re-mood,
continuation, interpolation) live in edits; throughput measurements in bench.

    composer = Composer.load()                       # the shipped checkpoint, CUDA when present
    [c] = composer.generate([ComposeRequest(style="jazz", mood="calm", seed=7)])
    c.piece, c.plan (style, mood, key, tempo, form, harmony), c.latent, c.model_version
"""

from engine.composition import Composition
from engine.generate.composer import COPY_BARS, MAX_NOVELTY_ATTEMPTS, MOOD_SPREAD, Composer, NoveltyChecker, finish
from engine.plan import derive_seed, make_plan, resolve_request
from engine.plan.resolve import DEFAULT_KEYS, MOOD_MINOR_RATE, default_tempo

__all__ = ["COPY_BARS", "Composer", "Composition", "DEFAULT_KEYS", "MAX_NOVELTY_ATTEMPTS", "MOOD_MINOR_RATE", "MOOD_SPREAD",
           "NoveltyChecker", "default_tempo", "derive_seed", "finish", "make_plan", "resolve_request"]
