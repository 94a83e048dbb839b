from __future__ import annotations

import logging
import pickle

import pytest

from securedesk.sensitive import Sensitive

PAN = "4111111111111111"


def test_never_printed(caplog: pytest.LogCaptureFixture) -> None:
    value = Sensitive(PAN)
    logging.getLogger("t").warning("value=%s repr=%r fmt=%s", value, value, f"{value}")
    assert PAN not in caplog.text
    assert PAN not in repr([value])
    assert value.reveal() == PAN


def test_equality_without_exposure() -> None:
    assert Sensitive(PAN) == Sensitive(PAN)
    assert Sensitive(PAN) != Sensitive("5555555555554444")


def test_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Sensitive(PAN))
