"""The engine's error hierarchy: a worker's exception crosses the process boundary as its kind, and one table
(FAULTS) turns each kind into the error class and message the user sees."""

from __future__ import annotations

import pickle

import pytest

from engine.errors import EngineError
from engine.render.mp3 import UploadTooLargeError
from engine.request import EngineInputError
from engine.service.errors import (
    FAULTS, EngineBusy, EngineFailure, EngineOutOfMemory, FaultKind, TrackTooLarge, WorkerFault, fault_kind, portable, user_facing,
)


def crossed(exc: BaseException) -> BaseException:
    """What the bot receives when a worker sends `exc` back: pickled and unpickled."""
    return pickle.loads(pickle.dumps(portable(exc)))


@pytest.mark.parametrize(
    ("raised", "kind"),
    [(MemoryError(), FaultKind.OUT_OF_MEMORY), (UploadTooLargeError("over the upload cap"), FaultKind.TOO_LARGE),
     (RuntimeError("a bug"), FaultKind.INTERNAL)],
)
def test_a_worker_classifies_its_exception_by_type(raised: BaseException, kind: FaultKind) -> None:
    assert fault_kind(raised) is kind
    fault = crossed(raised)
    assert isinstance(fault, WorkerFault) and fault.kind is kind and fault.type_name == type(raised).__name__


def test_every_fault_kind_has_one_rule() -> None:
    assert set(FAULTS) == set(FaultKind)


def test_each_kind_becomes_its_error_class_with_the_message_the_user_sees() -> None:
    oom = user_facing(crossed(MemoryError()), stage="rendering")
    assert isinstance(oom, EngineOutOfMemory)
    assert str(oom) == "The composer ran out of memory while rendering your piece. Please try again in a moment."
    too_large = user_facing(crossed(UploadTooLargeError("The track is over the upload cap; ask for fewer bars.")))
    assert isinstance(too_large, TrackTooLarge) and str(too_large) == "The track is over the upload cap; ask for fewer bars."
    internal = user_facing(crossed(KeyError("x")))
    assert type(internal) is EngineFailure
    assert internal.user_message == "Something went wrong while writing your piece (KeyError). Please try again."


def test_the_engines_own_errors_cross_as_themselves() -> None:
    refused = EngineInputError("Pick a style.")
    assert portable(refused) is refused and user_facing(refused) is refused
    assert isinstance(refused, EngineError) and refused.user_message == "Pick a style."
    failure = pickle.loads(pickle.dumps(EngineFailure("The composer crashed.")))
    assert user_facing(failure).user_message == "The composer crashed."


def test_busy_tells_the_user_when_to_try_again() -> None:
    busy = EngineBusy(2.2, "The composer is busy right now.")
    assert busy.user_message == "The composer is busy right now. Try again in 3 s."
    assert str(busy) == "The composer is busy right now. Please try again in 3 seconds."
