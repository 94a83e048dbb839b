"""``ReasonScreen``: the ``redact_reason`` every ``AuditLog`` is built with — card numbers and national IDs in free text
(reveal reasons, search terms) are masked by the real detector and redaction before the text is stored.

Detection is imported and built on first need (importing presidio costs about 1.5 s): every entity we detect contains
digits, so text without any is returned as it is, and a command that never screens a digit never pays. The server
passes the detector its screener uses (``detector=``), built in a thread at start-up.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from securedesk.config import Settings

if TYPE_CHECKING:  # imported lazily at run time (see the module docstring)
    from securedesk.detection import Detector


class ReasonScreen:
    """Callable ``text -> text`` with every finding replaced by its mask (``[CARD •••• 1111]``). Thread-safe."""

    def __init__(self, settings: Settings | None = None, *, detector: Detector | None = None) -> None:
        self._settings = settings
        self._detector = detector
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """Whether the detector is built (so a call will not block to build it)."""
        return self._detector is not None

    def __call__(self, text: str) -> str:
        if not any(char.isdigit() for char in text):
            return text
        from securedesk.redaction import redact_text

        detector = self._detector_now()
        # One pass per language: context words differ (a French "numéro de sécurité sociale" scores a NIR higher).
        # Masks show at most four digits, which no recognizer matches, so a later pass never re-masks a mask.
        for lang in detector.languages:
            text = redact_text(text, detector.analyze(text, lang)).text
        return text

    def _detector_now(self) -> Detector:
        detector = self._detector
        if detector is not None:
            return detector
        with self._lock:
            if self._detector is None:
                from securedesk.detection import Detector

                self._detector = (
                    Detector.from_settings(self._settings) if self._settings is not None else Detector.create()
                )
            return self._detector
