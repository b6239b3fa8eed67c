import os

import pytest

from engine.service.memory import resident_bytes


def test_resident_memory_grows_with_what_the_process_holds():
    before = resident_bytes()
    block = bytearray(64 * 1024 * 1024)  # zero pages are only resident once touched
    block[:: 4096] = b"x" * len(block[:: 4096])
    assert resident_bytes() - before >= 48 * 1024 * 1024
    assert resident_bytes(os.getpid()) > 0
    del block


def test_a_missing_process_is_reported():
    with pytest.raises(ProcessLookupError):
        resident_bytes(2**22 + 12345)  # above Linux's default pid_max
