"""Signed checkpoints: an Ed25519 signature over (first sequence, sequence, head hash, time, key id); their JSON form.

The signed payload is the canonical JSON (see ``securedesk.audit.chain``) of
``{first_sequence, head_hash, key_id, sequence, time, type: "securedesk.audit.checkpoint", v: 1}``.
The JSON file form is ``{sequence, head_hash, time, key_id, first_sequence, algorithm: "ed25519", signature}``
(signature in hex).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from securedesk.audit.chain import canonical_json
from securedesk.errors import InvalidInput
from securedesk.storage.audit_events import Checkpoint
from securedesk.vault.signing import SigningKey, VerifyKey

CHECKPOINT_TYPE: Final = "securedesk.audit.checkpoint"
ALGORITHM: Final = "ed25519"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")


def checkpoint_payload(*, sequence: int, head_hash: str, time: str, key_id: str, first_sequence: int) -> bytes:
    return canonical_json(
        {
            "first_sequence": first_sequence,
            "head_hash": head_hash,
            "key_id": key_id,
            "sequence": sequence,
            "time": time,
            "type": CHECKPOINT_TYPE,
            "v": 1,
        }
    )


def sign_checkpoint(
    key: SigningKey, *, sequence: int, head_hash: str, time: str, first_sequence: int = 1
) -> Checkpoint:
    payload = checkpoint_payload(
        sequence=sequence, head_hash=head_hash, time=time, key_id=key.key_id, first_sequence=first_sequence
    )
    return Checkpoint(sequence, head_hash, time, key.key_id, key.sign(payload).hex(), first_sequence)


def checkpoint_is_valid(checkpoint: Checkpoint, key: VerifyKey) -> bool:
    """True only if the checkpoint names ``key`` and its signature verifies over its fields."""
    if checkpoint.key_id != key.key_id or not _HEX.fullmatch(checkpoint.signature):
        return False
    payload = checkpoint_payload(
        sequence=checkpoint.sequence,
        head_hash=checkpoint.head_hash,
        time=checkpoint.time,
        key_id=checkpoint.key_id,
        first_sequence=checkpoint.first_sequence,
    )
    return key.verify(payload, bytes.fromhex(checkpoint.signature))


def checkpoint_to_dict(checkpoint: Checkpoint) -> dict[str, Any]:
    return {
        "sequence": checkpoint.sequence,
        "head_hash": checkpoint.head_hash,
        "time": checkpoint.time,
        "key_id": checkpoint.key_id,
        "first_sequence": checkpoint.first_sequence,
        "algorithm": ALGORITHM,
        "signature": checkpoint.signature,
    }


def checkpoint_to_json(checkpoint: Checkpoint) -> str:
    return json.dumps(checkpoint_to_dict(checkpoint), indent=2) + "\n"


def checkpoint_from_dict(value: object, *, source: str = "checkpoint") -> Checkpoint:
    """Parse the JSON form; malformed input raises ``InvalidInput`` (a forged signature is the verifier's call)."""
    if not isinstance(value, dict):
        raise InvalidInput(f"The {source} is not a JSON object.")
    numbers: dict[str, int] = {}
    for name, default in (("sequence", None), ("first_sequence", 1)):
        number = value.get(name, default)
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise InvalidInput(f"The {source} has no valid {name!r} (a non-negative integer).")
        numbers[name] = number
    strings: dict[str, str] = {}
    for name in ("head_hash", "time", "key_id", "signature"):
        item = value.get(name)
        if not isinstance(item, str) or not item:
            raise InvalidInput(f"The {source} has no valid {name!r}.")
        strings[name] = item
    if not _HEX64.fullmatch(strings["head_hash"]):
        raise InvalidInput(f"The {source}'s head_hash is not 64 lowercase hex digits.")
    if value.get("algorithm", ALGORITHM) != ALGORITHM:
        raise InvalidInput(f"The {source} uses an unsupported algorithm (only {ALGORITHM}).")
    return Checkpoint(
        numbers["sequence"],
        strings["head_hash"],
        strings["time"],
        strings["key_id"],
        strings["signature"],
        numbers["first_sequence"],
    )


def parse_checkpoint(text: str, *, source: str = "checkpoint") -> Checkpoint:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"The {source} is not valid JSON (line {exc.lineno}).") from exc
    return checkpoint_from_dict(value, source=source)
