"""The PostgreSQL test server (tests/helpers/postgres.py): CI must not skip the PostgreSQL tests by accident."""

from __future__ import annotations

import os

import pytest

from tests.helpers import postgres


def test_missing_binaries_fail_the_tests_unless_skipping_is_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "find_bindir", lambda: None)
    monkeypatch.delenv(postgres.SKIP_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match="apt-get install postgresql"):
        postgres.start_server()
    monkeypatch.setenv(postgres.SKIP_ENV, "1")
    with pytest.raises(pytest.skip.Exception):
        postgres.start_server()


def test_the_binaries_are_found_here() -> None:
    if os.environ.get(postgres.SKIP_ENV) == "1":
        pytest.skip("PostgreSQL tests skipped on request")
    bindir = postgres.find_bindir()
    assert bindir is not None and (bindir / "initdb").is_file()
