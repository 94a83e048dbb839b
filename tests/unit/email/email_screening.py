"""The real screening stack for the email tests: the real Detector, a Vault on the test's SQLite file with a real key
file, the real AuditLog (reasons screened by the same detector) and ``Screener.build`` on a real policy file.

``RaisingScreener`` is the one test double: the real Screener made to raise, for the tests that need a screener
failing in a way the Screener itself would never report (it turns its own faults into ``Decision.HOLD``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securedesk.audit import AuditLog
from securedesk.audit.reasons import ReasonScreen
from securedesk.clock import Clock
from securedesk.config import Settings
from securedesk.detection import Detector
from securedesk.policy import PolicyHolder
from securedesk.screening import Links, Screened, Screener
from securedesk.screening.result import ScreenedParts
from securedesk.storage.database import Database
from securedesk.vault import LocalKeyFile, Vault

PROJECT = Path(__file__).resolve().parents[3]
DEFAULT_POLICY = PROJECT / "policies" / "default.toml"
#: Blocks every card and national ID on chat and email (the sender gets a localized notice, the message a 550).
STRICT_POLICY = PROJECT / "policies" / "strict.toml"


def policy_without_auto_reply(folder: Path) -> Path:
    """The default policy with ``[email] auto_reply = false``, written into ``folder``: one outbox entry per email."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    if "auto_reply = true" not in text:
        raise ValueError("policies/default.toml no longer switches auto_reply on: update this helper")
    path = folder / "no-auto-reply.toml"
    path.write_text(text.replace("auto_reply = true", "auto_reply = false"), encoding="utf-8")
    return path


class RaisingScreener(Screener):
    """The real Screener, with a fault injected: while ``error`` is set, ``screen`` and ``screen_many`` raise it
    instead of screening."""

    error: BaseException | None = None

    async def screen(
        self,
        text: str,
        *,
        channel: str,
        lang: str | None,
        case_id: str | None,
        sender: str | None,
        customer_id: str | None = None,
        links: Links | None = None,
    ) -> Screened:
        if self.error is not None:
            raise self.error
        return await super().screen(
            text, channel=channel, lang=lang, case_id=case_id, sender=sender, customer_id=customer_id, links=links
        )

    async def screen_many(self, texts: Sequence[str], **kwargs: Any) -> ScreenedParts:
        if self.error is not None:
            raise self.error
        return await super().screen_many(texts, **kwargs)


@dataclass
class Screening:
    """The real parts one gateway screens with."""

    vault: Vault
    audit: AuditLog
    screener: Screener
    policy: PolicyHolder


async def open_screening(
    settings: Settings,
    db: Database,
    clock: Clock,
    *,
    detector: Detector,
    policy_path: Path = DEFAULT_POLICY,
    screener_class: type[Screener] = Screener,
) -> Screening:
    """Vault (creating the key file on first use), audit log, policy holder and a Screener built from ``settings``.
    The caller closes the Screener (``screening.screener.close()``)."""
    if not (settings.key_dir.exists() and any(settings.key_dir.iterdir())):
        LocalKeyFile(settings.key_dir).add_version()
    vault = await Vault.load(settings, db, clock)
    audit = AuditLog(db, clock, ReasonScreen(detector=detector))
    policy = PolicyHolder.load(policy_path)
    screener = screener_class.build(
        settings, vault=vault, audit=audit, policy_holder=policy, detector=detector, clock=clock
    )
    return Screening(vault, audit, screener, policy)
