"""The musical plan: a request resolved once into one frozen MusicalPlan (style, mood, key as spelled,
tempo, meter, form with its sections and phrases, which phrases return or vary, the harmony per beat,
energy and instrumentation per section). The model's condition, post-processing, the arranger, the
renderer, the track's title and the stored track all read it; forms and progressions per style live here.
"""

from engine.plan.plan import MusicalPlan, Phrase, Section
from engine.plan.resolve import default_tempo, make_plan, plan_for_piece, resolve_request
from engine.plan.seeds import derive_seed

__all__ = ["MusicalPlan", "Phrase", "Section", "default_tempo", "derive_seed", "make_plan", "plan_for_piece", "resolve_request"]
