"""A real detector for the redaction tests: redaction is applied to what the detector finds."""

from __future__ import annotations

import pytest

from securedesk.detection import Detector


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector.create(languages=("en", "fr", "sv"))
