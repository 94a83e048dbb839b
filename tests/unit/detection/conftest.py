"""One real detector for the whole session (building it takes a fraction of a second), and a way to state the
exact findings a text must produce."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from securedesk.detection import Detector

#: (entity type, start, end) in the original text.
Expected = list[tuple[str, int, int]]
FindSpans = Callable[..., Expected]


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector.create(languages=("en", "fr", "sv"))


def located(text: str, *expected: tuple[str, str]) -> Expected:
    """(entity, value) pairs → (entity, start, end) of each value's first occurrence in ``text``, ordered."""
    spans = [(entity, text.index(value), text.index(value) + len(value)) for entity, value in expected]
    return sorted(spans, key=lambda span: span[1])


@pytest.fixture(scope="session")
def locate() -> Callable[..., Expected]:
    return located


@pytest.fixture(scope="session")
def spans(detector: Detector) -> FindSpans:
    """``spans(text, lang="en", **kwargs)`` → the findings as (type, start, end), ordered by start."""

    def find(text: str, lang: str = "en", **kwargs: object) -> Expected:
        return [(f.entity_type, f.start, f.end) for f in detector.analyze(text, lang, **kwargs)]  # type: ignore[arg-type]

    return find
