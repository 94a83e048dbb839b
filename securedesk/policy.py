"""Screening policies: load and validate ``policies/*.toml``, and answer what to do with each entity on each channel.

The file format is documented in ``docs/policies.md`` and by the commented ``policies/default.toml``.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import hashlib
import re
import tomllib
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, NoReturn

from stdnum import iban as stdnum_iban
from stdnum import luhn as stdnum_luhn
from stdnum.fr import nir as stdnum_nir

from securedesk.errors import PolicyError

#: The entity types a policy speaks about (the detector's ``Finding.entity_type`` values).
ENTITY_TYPES: Final = ("CREDIT_CARD", "US_SSN", "FR_NIR", "SE_PERSONNUMMER", "IBAN_CODE")
#: The channels content arrives through.
CHANNELS: Final = ("chat", "email", "form", "webhook", "api")
#: The staff roles that exist (``securedesk.identity`` owns the accounts; the names are the contract).
ROLES: Final = ("agent", "compliance", "admin")
#: The policy file format this code reads (``[policy] format``).
FORMAT_VERSION: Final = 1
#: Vaulted values are never kept longer than this, whatever a policy says (ten years).
MAX_RETENTION_DAYS: Final = 3650


class Action(StrEnum):
    """What happens to a finding: the string values are the ones written in policy files."""

    REDACT = "redact"  # mask it and drop the value
    VAULT = "vault"  # mask it and keep the value encrypted for staff with reveal rights
    BLOCK = "block"  # refuse the whole message and tell the sender why
    ALLOW = "allow"  # not sensitive here: leave it as it is


class AttachmentHandling(StrEnum):
    """What the email channel does with an attachment of a type class."""

    SCREEN = "screen"  # read its text and screen it like the body (text only)
    QUARANTINE = "quarantine"  # keep it encrypted aside for compliance review; a notice takes its place
    WITHHOLD = "withhold"  # drop it; a notice takes its place


#: Attachment type classes, from the email channel's point of view (see ``attachment_class``).
ATTACHMENT_CLASSES: Final = ("text", "document", "image", "archive", "other")

_RULE_KEYS: Final = ("action", "threshold", "retention_days", "reveal_roles", "nudge")
_SECTIONS: Final = ("policy", "defaults", "channels", "entities", "email")
_POLICY_KEYS: Final = ("name", "format", "description")
_EMAIL_KEYS: Final = ("auto_reply", "attachments")

_DOCUMENT_TYPES: Final = frozenset(
    {
        "application/pdf",
        "application/rtf",
        "text/rtf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
    }
)
_DOCUMENT_PREFIXES: Final = ("application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument.")
_ARCHIVE_TYPES: Final = frozenset(
    {
        "application/zip",
        "application/x-zip-compressed",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/x-bzip2",
        "application/x-xz",
    }
)
_TEXT_TYPES: Final = frozenset({"application/json", "application/xml", "message/rfc822", "message/global"})


# --- the policy values -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """What to do with one entity type on one channel, after defaults and overrides are applied."""

    action: Action
    threshold: float
    retention_days: int
    reveal_roles: frozenset[str]
    nudge: bool

    def may_reveal(self, role: str) -> bool:
        return role in self.reveal_roles


@dataclass(frozen=True)
class AttachmentPolicy:
    """Handling per attachment type class; a class the file does not name is withheld."""

    handling: Mapping[str, AttachmentHandling] = field(hash=False)

    def for_class(self, type_class: str) -> AttachmentHandling:
        return self.handling.get(type_class, AttachmentHandling.WITHHOLD)

    def for_content_type(self, content_type: str) -> AttachmentHandling:
        return self.for_class(attachment_class(content_type))


@dataclass(frozen=True)
class EmailPolicy:
    auto_reply: bool
    attachments: AttachmentPolicy


@dataclass(frozen=True)
class Policy:
    """A validated policy. Build it with ``load_policy``; it never changes (reload builds a new one)."""

    name: str
    source: Path
    digest: str  # SHA-256 (hex) of the file's bytes, recorded by the ``policy.load`` audit event
    rules: Mapping[tuple[str, str], Rule] = field(hash=False)
    allow_values: Mapping[str, frozenset[str]] = field(hash=False)
    email: EmailPolicy

    @property
    def rule_count(self) -> int:
        return len(self.rules)

    def rule(self, entity_type: str, channel: str) -> Rule:
        try:
            return self.rules[(entity_type, channel)]
        except KeyError:
            raise PolicyError(
                f"No rule for entity type {entity_type!r} on channel {channel!r}.",
                hint=f"entity types are {', '.join(ENTITY_TYPES)}; channels are {', '.join(CHANNELS)}",
            ) from None

    def rules_for(self, channel: str) -> dict[str, Rule]:
        """The rule of every entity type on ``channel``."""
        return {entity: self.rule(entity, channel) for entity in ENTITY_TYPES}

    def is_allowed_value(self, entity_type: str, normalized_value: str) -> bool:
        """Whether this value is on the entity type's allow-list (public values never treated as sensitive)."""
        allowed = self.allow_values.get(entity_type)
        if not allowed:
            return False
        return normalize_value(entity_type, normalized_value) in allowed


def normalize_value(entity_type: str, value: str) -> str:
    """The form allow-list values are compared in: ASCII digits and letters only, upper case.

    Full-width digits become ASCII (NFKC); spaces, dashes, dots and other separators are dropped. A Swedish
    personnummer is compared on its ten digits, so ``19811218-9876`` and ``811218-9876`` are the same value.
    """
    folded = unicodedata.normalize("NFKC", value)
    compact = "".join(ch for ch in folded if ch.isascii() and ch.isalnum()).upper()
    if entity_type == "SE_PERSONNUMMER" and len(compact) == 12 and compact.isdigit():
        return compact[2:]
    return compact


def attachment_class(content_type: str) -> str:
    """The type class (``ATTACHMENT_CLASSES``) of a MIME content type such as ``application/pdf; name=x.pdf``."""
    main = content_type.split(";", 1)[0].strip().lower()
    if main.startswith("text/") and main != "text/rtf":
        return "text"
    if main in _TEXT_TYPES:
        return "text"
    if main.startswith("image/"):
        return "image"
    if main in _DOCUMENT_TYPES or main.startswith(_DOCUMENT_PREFIXES):
        return "document"
    if main in _ARCHIVE_TYPES:
        return "archive"
    return "other"


# --- loading ---------------------------------------------------------------------------------------------------


def load_policy(path: Path | str) -> Policy:
    """Read and validate a policy file; raise ``PolicyError`` listing every problem (file:line: what; fix)."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        problem = f"{source}: cannot read the file ({reason}); check the path (setting policy_path)"
        raise PolicyError(f"Policy file {source} cannot be read ({reason}).", problems=[problem]) from exc
    return parse_policy(data, source=source)


def parse_policy(data: bytes, *, source: Path) -> Policy:
    """Validate the bytes of a policy file; ``source`` names it in problems and in ``Policy.source``."""
    label = str(source)
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        _fail(label, [f"{label}:{line}: the file is not valid UTF-8 (byte {exc.start}); save it as UTF-8"])
    text = text.removeprefix("\ufeff")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        _fail(label, [_syntax_problem(label, text, exc)])
    checker = _Checker(label, _KeyLines(text))
    policy = checker.build(document, source=source, digest=digest)
    if policy is None:
        _fail(label, checker.problems())
    return policy


def _fail(label: str, problems: list[str]) -> NoReturn:
    count = len(problems)
    raise PolicyError(
        f"Policy {label} is invalid ({count} problem{'s' if count != 1 else ''}); first: {problems[0]}",
        problems=problems,
        hint=f"run `securedesk policy check {label}` to list them all",
    )


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def _syntax_problem(label: str, text: str, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    position = _TOML_POSITION.search(message)
    if position is not None:
        line, column = int(position.group(1)), int(position.group(2))
        what = message[: position.start()]
    else:
        line, column = text.count("\n") + 1, 1
        what = _TOML_AT_END.sub("", message)
    return f"{label}:{line}:{column}: invalid TOML: {what}; fix the syntax at line {line}, column {column}"


# --- holding the current policy --------------------------------------------------------------------------------

#: Called with (old, new) after a new policy validated and before it takes effect; raising refuses the change.
OnPolicyChange = Callable[[Policy, Policy], Awaitable[None]]


class PolicyHolder:
    """Holds the policy in force. ``reload`` parses fully, then swaps one reference; an invalid file changes nothing.

    ``on_change`` is where the caller records the ``policy.load`` audit event: it runs before the swap, and if it
    raises (the audit event could not be written), the old policy stays in force and the error propagates.
    """

    def __init__(self, policy: Policy, *, on_change: OnPolicyChange | None = None) -> None:
        self._policy = policy
        self._on_change = on_change
        self._lock = asyncio.Lock()

    @classmethod
    def load(cls, path: Path | str, *, on_change: OnPolicyChange | None = None) -> PolicyHolder:
        return cls(load_policy(path), on_change=on_change)

    @property
    def current(self) -> Policy:
        return self._policy

    async def reload(self, path: Path | str | None = None) -> Policy:
        """Load ``path`` (default: the current policy's file) and put it in force; raise ``PolicyError`` if invalid."""
        async with self._lock:
            old = self._policy
            new = await asyncio.to_thread(load_policy, old.source if path is None else Path(path))
            if self._on_change is not None:
                await self._on_change(old, new)
            self._policy = new
            return new


# --- where keys are in the source ------------------------------------------------------------------------------

KeyPath = tuple[str | int, ...]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]}\r\n#]*")


class _KeyLines:
    """Line numbers of the tables, keys and array items of a TOML document that tomllib has accepted.

    tomllib returns values without positions, so the source is scanned once more here: table headers, dotted keys,
    inline tables, arrays and every string form are understood, so a key inside a multi-line string or array is
    never mistaken for a real one. If the scan meets something it does not expect it stops, and lookups fall back
    to the nearest enclosing table that was found (or line 1).
    """

    def __init__(self, source: str) -> None:
        self._src = source
        self._pos = 0
        self._line = 1
        self._lines: dict[KeyPath, int] = {}
        self._explicit: set[KeyPath] = set()
        self._table_arrays: dict[KeyPath, int] = {}
        # On anything unexpected keep what was found: lookups degrade to the enclosing table.
        with contextlib.suppress(IndexError, ValueError, tomllib.TOMLDecodeError):
            self._scan_document()

    def line_of(self, path: Iterable[str | int]) -> int:
        """Line of ``path``, else of its nearest enclosing table or array that was found, else 1."""
        steps = tuple(path)
        for end in range(len(steps), 0, -1):
            line = self._lines.get(steps[:end])
            if line is not None:
                return line
        return 1

    def _record(self, path: KeyPath, line: int) -> None:
        for end in range(1, len(path)):
            self._lines.setdefault(path[:end], line)
        if path not in self._explicit:
            # An explicit [a.b] header wins over the line where a deeper header [a.b.c] implied the table.
            self._lines[path] = line
            self._explicit.add(path)

    def _advance(self, count: int) -> None:
        end = self._pos + count
        if end > len(self._src):
            raise IndexError("unexpected end of document")
        self._line += self._src.count("\n", self._pos, end)
        self._pos = end

    def _at(self) -> str:
        return self._src[self._pos]  # IndexError at the end: the scan stops

    def _skip_blank(self, *, newlines: bool) -> None:
        while self._pos < len(self._src):
            char = self._src[self._pos]
            if char in " \t" or (newlines and char in "\r\n"):
                self._advance(1)
            elif char == "#":
                end = self._src.find("\n", self._pos)
                self._advance((len(self._src) if end < 0 else end) - self._pos)
            else:
                return

    def _expect(self, token: str) -> None:
        if not self._src.startswith(token, self._pos):
            raise ValueError(f"expected {token!r}")
        self._advance(len(token))

    def _scan_document(self) -> None:
        table: KeyPath = ()
        while True:
            self._skip_blank(newlines=True)
            if self._pos >= len(self._src):
                return
            line = self._line
            if self._src.startswith("[[", self._pos):
                self._advance(2)
                keys = self._read_key()
                self._skip_blank(newlines=False)
                self._expect("]]")
                index = self._table_arrays.get(keys, 0)
                self._table_arrays[keys] = index + 1
                self._record(keys, line)
                table = (*keys, index)
                self._record(table, line)
            elif self._at() == "[":
                self._advance(1)
                keys = self._read_key()
                self._skip_blank(newlines=False)
                self._expect("]")
                table = keys
                self._record(table, line)
            else:
                path = table + self._read_key()
                self._record(path, line)
                self._skip_blank(newlines=False)
                self._expect("=")
                self._skip_blank(newlines=False)
                self._read_value(path)

    def _read_key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self._skip_blank(newlines=False)
            char = self._at()
            if char == '"':
                end = self._basic_string_end(self._pos + 1)
                parts.append(tomllib.loads("k = " + self._src[self._pos : end])["k"])
                self._advance(end - self._pos)
            elif char == "'":
                end = self._src.index("'", self._pos + 1) + 1
                parts.append(self._src[self._pos + 1 : end - 1])
                self._advance(end - self._pos)
            else:
                match = _BARE_KEY.match(self._src, self._pos)
                if match is None:
                    raise ValueError("expected a key")
                parts.append(match.group())
                self._advance(len(match.group()))
            self._skip_blank(newlines=False)
            if self._pos < len(self._src) and self._src[self._pos] == ".":
                self._advance(1)
                continue
            return tuple(parts)

    def _basic_string_end(self, start: int) -> int:
        """Index just past the closing quote of a one-line basic string whose content starts at ``start``."""
        index = start
        while True:
            char = self._src[index]
            if char == "\\":
                index += 2
            elif char == '"':
                return index + 1
            elif char == "\n":
                raise ValueError("unterminated string")
            else:
                index += 1

    def _multiline_end(self, delimiter: str) -> int:
        index = self._pos + 3
        while True:
            if delimiter == '"""' and self._src[index] == "\\":
                index += 2
                continue
            if self._src.startswith(delimiter, index):
                end = index + 3
                # Up to two quotes may sit right before the closing delimiter (""""" ends with a quote inside).
                while end < len(self._src) and self._src[end] == delimiter[0] and end - index < 5:
                    end += 1
                return end
            index += 1

    def _read_value(self, path: KeyPath) -> None:
        char = self._at()
        if self._src.startswith('"""', self._pos) or self._src.startswith("'''", self._pos):
            self._advance(self._multiline_end(self._src[self._pos : self._pos + 3]) - self._pos)
        elif char == '"':
            self._advance(self._basic_string_end(self._pos + 1) - self._pos)
        elif char == "'":
            self._advance(self._src.index("'", self._pos + 1) + 1 - self._pos)
        elif char == "[":
            self._read_array(path)
        elif char == "{":
            self._read_inline_table(path)
        else:
            match = _SCALAR.match(self._src, self._pos)
            if match is None or not match.group().strip():
                raise ValueError("expected a value")
            self._advance(len(match.group()))

    def _read_array(self, path: KeyPath) -> None:
        self._advance(1)
        index = 0
        while True:
            self._skip_blank(newlines=True)
            if self._at() == "]":
                self._advance(1)
                return
            item = (*path, index)
            self._record(item, self._line)
            self._read_value(item)
            self._skip_blank(newlines=True)
            if self._at() == ",":
                self._advance(1)
                index += 1
            elif self._at() != "]":
                raise ValueError("expected ',' or ']'")

    def _read_inline_table(self, path: KeyPath) -> None:
        self._advance(1)
        while True:
            self._skip_blank(newlines=True)
            if self._at() == "}":
                self._advance(1)
                return
            line = self._line
            keys = path + self._read_key()
            self._record(keys, line)
            self._skip_blank(newlines=False)
            self._expect("=")
            self._skip_blank(newlines=False)
            self._read_value(keys)
            self._skip_blank(newlines=True)
            if self._at() == ",":
                self._advance(1)
            elif self._at() != "}":
                raise ValueError("expected ',' or '}'")


# --- validation ------------------------------------------------------------------------------------------------


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _shown(word: str) -> str:
    """A user-written name (never a value) as shown in a problem: quoted, and cut if very long."""
    return repr(word if len(word) <= 40 else word[:37] + "...")


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    choices = list(options)
    lowered = {option.lower(): option for option in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"did you mean {lowered[close[0]]!r}? " if close else ""


def _one_of(options: Iterable[str]) -> str:
    return ", ".join(options)


class _Checker:
    """Walks a parsed policy document, collecting every problem with its line, and builds the Policy if none."""

    def __init__(self, label: str, lines: _KeyLines) -> None:
        self._label = label
        self._lines = lines
        self._found: list[tuple[int, int, str]] = []

    def problems(self) -> list[str]:
        return [message for _, _, message in sorted(self._found)]

    def _problem(self, path: KeyPath, message: str) -> None:
        line = self._lines.line_of(path)
        self._found.append((line, len(self._found), f"{self._label}:{line}: {message}"))

    def _table(self, document: Mapping[str, Any], path: KeyPath, example: str) -> dict[str, Any]:
        """The table at ``path`` (empty if absent); a non-table value there is a problem."""
        value: Any = document
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            return {}
        if not isinstance(value, dict):
            dotted = ".".join(str(step) for step in path)
            self._problem(path, f"{dotted} must be a table, not {_type_name(value)}; write it as {example}")
            return {}
        return value

    def build(self, document: dict[str, Any], *, source: Path, digest: str) -> Policy | None:
        for key in document:
            if key not in _SECTIONS:
                self._problem(
                    (key,),
                    f"unknown section {_shown(key)}; {_did_you_mean(key, _SECTIONS)}sections are {_one_of(_SECTIONS)}",
                )
        name = self._policy_section(document, default_name=source.stem)
        defaults = self._defaults(document)
        channel_layers = self._channels(document)
        entity_layers, entity_channel_layers, allow_values = self._entities(document)
        email = self._email(document)
        if self._found or defaults is None:
            return None
        rules: dict[tuple[str, str], Rule] = {}
        for entity in ENTITY_TYPES:
            for channel in CHANNELS:
                merged = {
                    **defaults,
                    **channel_layers.get(channel, {}),
                    **entity_layers.get(entity, {}),
                    **entity_channel_layers.get((entity, channel), {}),
                }
                rules[(entity, channel)] = Rule(**merged)
        return Policy(
            name=name,
            source=source,
            digest=digest,
            rules=MappingProxyType(rules),
            allow_values=MappingProxyType(allow_values),
            email=email,
        )

    # --- sections ---

    def _policy_section(self, document: dict[str, Any], *, default_name: str) -> str:
        section = self._table(document, ("policy",), '[policy] with name = "..."')
        name = default_name
        for key, value in section.items():
            path: KeyPath = ("policy", key)
            if key == "name":
                if isinstance(value, str) and value.strip():
                    name = value.strip()
                else:
                    self._problem(path, 'policy name must be a non-empty string; write name = "default"')
            elif key == "description":
                if not isinstance(value, str):
                    self._problem(path, f"description must be a string, not {_type_name(value)}; quote it")
            elif key == "format":
                if isinstance(value, bool) or not isinstance(value, int):
                    self._problem(path, f"format must be an integer, not {_type_name(value)}; write format = 1")
                elif value != FORMAT_VERSION:
                    self._problem(
                        path,
                        f"policy format {value} is not supported; this SecureDesk reads format {FORMAT_VERSION}",
                    )
            else:
                self._unknown_key(path, key, "[policy]", _POLICY_KEYS)
        return name

    def _defaults(self, document: dict[str, Any]) -> dict[str, Any] | None:
        if "defaults" not in document:
            self._problem(
                ("defaults",),
                "the [defaults] table is missing; add [defaults] with "
                f"{', '.join(_RULE_KEYS)} (every rule starts from it)",
            )
            return None
        if not isinstance(document["defaults"], dict):
            self._table(document, ("defaults",), "[defaults]")
            return None
        table: dict[str, Any] = document["defaults"]
        fields_ = self._rule_fields(table, ("defaults",), "[defaults]")
        examples = {
            "action": 'action = "redact"',
            "threshold": "threshold = 0.5",
            "retention_days": "retention_days = 30",
            "reveal_roles": 'reveal_roles = ["agent"]',
            "nudge": "nudge = true",
        }
        missing = [key for key in _RULE_KEYS if key not in table]
        for key in missing:
            self._problem(
                ("defaults",), f"[defaults] lacks {key!r}; add {examples[key]} (every rule starts from [defaults])"
            )
        return None if missing or len(fields_) != len(_RULE_KEYS) else fields_

    def _channels(self, document: dict[str, Any]) -> dict[str, dict[str, Any]]:
        layers: dict[str, dict[str, Any]] = {}
        for channel, value in self._table(document, ("channels",), "[channels.chat]").items():
            path: KeyPath = ("channels", channel)
            if channel not in CHANNELS:
                self._problem(
                    path,
                    f"unknown channel {_shown(channel)} in [channels]; "
                    f"{_did_you_mean(channel, CHANNELS)}use one of {_one_of(CHANNELS)}",
                )
                continue
            table = self._table(document, path, f"[channels.{channel}]")
            if isinstance(value, dict):
                layers[channel] = self._rule_fields(table, path, f"[channels.{channel}]")
        return layers

    def _entities(
        self, document: dict[str, Any]
    ) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]], dict[str, frozenset[str]]]:
        entity_layers: dict[str, dict[str, Any]] = {}
        entity_channel_layers: dict[tuple[str, str], dict[str, Any]] = {}
        allow_values: dict[str, frozenset[str]] = {}
        for entity, value in self._table(document, ("entities",), "[entities.CREDIT_CARD]").items():
            path: KeyPath = ("entities", entity)
            if entity not in ENTITY_TYPES:
                self._problem(
                    path,
                    f"unknown entity type {_shown(entity)}; "
                    f"{_did_you_mean(entity, ENTITY_TYPES)}use one of {_one_of(ENTITY_TYPES)}",
                )
                continue
            if not isinstance(value, dict):
                self._table(document, path, f"[entities.{entity}]")
                continue
            scope = f"[entities.{entity}]"
            entity_layers[entity] = self._rule_fields(value, path, scope, extra=("allow_values", "channels"))
            if "allow_values" in value:
                allow_values[entity] = self._allow_values(value["allow_values"], (*path, "allow_values"), entity)
            for channel, channel_value in self._table(
                document, (*path, "channels"), f"[entities.{entity}.channels.chat]"
            ).items():
                channel_path: KeyPath = (*path, "channels", channel)
                if channel not in CHANNELS:
                    self._problem(
                        channel_path,
                        f"unknown channel {_shown(channel)} for {entity}; "
                        f"{_did_you_mean(channel, CHANNELS)}use one of {_one_of(CHANNELS)}",
                    )
                    continue
                table = self._table(document, channel_path, f"[entities.{entity}.channels.{channel}]")
                if isinstance(channel_value, dict):
                    entity_channel_layers[(entity, channel)] = self._rule_fields(
                        table, channel_path, f"{entity}/{channel}"
                    )
        return entity_layers, entity_channel_layers, allow_values

    def _email(self, document: dict[str, Any]) -> EmailPolicy:
        section = self._table(document, ("email",), "[email]")
        auto_reply = False
        for key, value in section.items():
            if key == "auto_reply":
                if isinstance(value, bool):
                    auto_reply = value
                else:
                    self._problem(
                        ("email", key),
                        f"auto_reply must be true or false, not {_type_name(value)}; write auto_reply = true",
                    )
            elif key != "attachments":
                self._unknown_key(("email", key), key, "[email]", _EMAIL_KEYS)
        handling: dict[str, AttachmentHandling] = {}
        options = [h.value for h in AttachmentHandling]
        for type_class, value in self._table(document, ("email", "attachments"), "[email.attachments]").items():
            path: KeyPath = ("email", "attachments", type_class)
            if type_class not in ATTACHMENT_CLASSES:
                self._problem(
                    path,
                    f"unknown attachment type class {_shown(type_class)}; "
                    f"{_did_you_mean(type_class, ATTACHMENT_CLASSES)}use one of {_one_of(ATTACHMENT_CLASSES)}",
                )
            elif not isinstance(value, str):
                self._problem(
                    path,
                    f"attachment handling for {type_class} must be a string, not {_type_name(value)}; "
                    f"use one of {_one_of(options)}, quoted",
                )
            elif value not in options:
                self._problem(
                    path,
                    f"unknown attachment handling {_shown(value)} for {type_class}; "
                    f"{_did_you_mean(value, options)}use one of {_one_of(options)}",
                )
            elif value == AttachmentHandling.SCREEN and type_class != "text":
                self._problem(
                    path,
                    f"{type_class} attachments cannot be screened (SecureDesk reads text only); "
                    "use withhold or quarantine",
                )
            else:
                handling[type_class] = AttachmentHandling(value)
        return EmailPolicy(auto_reply=auto_reply, attachments=AttachmentPolicy(MappingProxyType(handling)))

    # --- rule fields ---

    def _unknown_key(self, path: KeyPath, key: str, scope: str, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        self._problem(
            path,
            f"unknown key {_shown(key)} in {scope}; {_did_you_mean(key, allowed)}keys allowed here: {_one_of(allowed)}",
        )

    def _rule_fields(
        self, table: Mapping[str, Any], path: KeyPath, scope: str, *, extra: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The valid rule settings of one table; every invalid one is reported."""
        out: dict[str, Any] = {}
        for key, value in table.items():
            key_path: KeyPath = (*path, key)
            if key in extra:
                continue
            if key == "action":
                actions = [a.value for a in Action]
                if isinstance(value, str) and value in actions:
                    out[key] = Action(value)
                elif isinstance(value, str):
                    self._problem(
                        key_path,
                        f"unknown action {_shown(value)} for {scope}; "
                        f"{_did_you_mean(value, actions)}use one of {_one_of(actions)}",
                    )
                else:
                    self._problem(
                        key_path,
                        f"action for {scope} must be a string, not {_type_name(value)}; "
                        f"use one of {_one_of(actions)}, quoted",
                    )
            elif key == "threshold":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    self._problem(
                        key_path,
                        f"threshold for {scope} must be a number, not {_type_name(value)}; write threshold = 0.5",
                    )
                elif not 0.0 <= value <= 1.0:
                    self._problem(key_path, f"threshold {value} for {scope} is out of range; use a number from 0 to 1")
                else:
                    out[key] = float(value)
            elif key == "retention_days":
                if isinstance(value, bool) or not isinstance(value, int):
                    self._problem(
                        key_path,
                        f"retention_days for {scope} must be a whole number of days, not {_type_name(value)}; "
                        "write retention_days = 30",
                    )
                elif not 1 <= value <= MAX_RETENTION_DAYS:
                    self._problem(
                        key_path,
                        f"retention_days {value} for {scope} is out of range; "
                        f"use a whole number of days from 1 to {MAX_RETENTION_DAYS}",
                    )
                else:
                    out[key] = value
            elif key == "reveal_roles":
                roles = self._roles(value, key_path, scope)
                if roles is not None:
                    out[key] = roles
            elif key == "nudge":
                if isinstance(value, bool):
                    out[key] = value
                else:
                    self._problem(
                        key_path,
                        f"nudge for {scope} must be true or false, not {_type_name(value)}; write nudge = true",
                    )
            elif key == "allow_values":
                self._problem(
                    key_path,
                    f"allow_values is not allowed in {scope}; allow-lists are per entity type: "
                    "put it under [entities.<TYPE>]",
                )
            elif key == "channels" and path[0] == "entities":
                self._problem(
                    key_path, f"channels is not allowed in {scope}; per-channel overrides go in [entities.<TYPE>]"
                )
            else:
                self._unknown_key(key_path, key, scope, (*_RULE_KEYS, *extra))
        return out

    def _roles(self, value: object, path: KeyPath, scope: str) -> frozenset[str] | None:
        if not isinstance(value, list):
            self._problem(
                path,
                f"reveal_roles for {scope} must be an array, not {_type_name(value)}; "
                'write reveal_roles = ["agent"] (or [] for nobody)',
            )
            return None
        roles: set[str] = set()
        valid = True
        for index, role in enumerate(value):
            if isinstance(role, str) and role in ROLES:
                roles.add(role)
                continue
            valid = False
            shown = _shown(role) if isinstance(role, str) else _type_name(role)
            hint = _did_you_mean(role, ROLES) if isinstance(role, str) else ""
            self._problem(
                (*path, index),
                f"unknown role {shown} in reveal_roles for {scope}; {hint}roles are {_one_of(ROLES)}",
            )
        return frozenset(roles) if valid else None

    def _allow_values(self, value: object, path: KeyPath, entity: str) -> frozenset[str]:
        if not isinstance(value, list):
            self._problem(
                path,
                f"allow_values for {entity} must be an array of strings, not {_type_name(value)}; "
                'write allow_values = ["..."]',
            )
            return frozenset()
        normalized: set[str] = set()
        for index, item in enumerate(value):
            item_path: KeyPath = (*path, index)
            # Values are public, but problems still name them by position only: a value is never echoed.
            if not isinstance(item, str):
                self._problem(
                    item_path,
                    f"allow_values[{index}] for {entity} must be a string, not {_type_name(item)}; "
                    "put the value in quotes",
                )
                continue
            compact = normalize_value(entity, item)
            reason = _allow_value_defect(entity, compact)
            if reason is not None:
                self._problem(
                    item_path,
                    f"allow_values[{index}] for {entity} {reason}, so it could never match a finding; "
                    "fix the typo or remove it",
                )
                continue
            normalized.add(compact)
        return frozenset(normalized)


def _allow_value_defect(entity: str, compact: str) -> str | None:
    """Why a normalized allow-list value can never be a real finding of ``entity`` (None if it can)."""
    if entity == "CREDIT_CARD":
        if not (compact.isdigit() and 12 <= len(compact) <= 19):
            return "is not a card number (12 to 19 digits)"
        if not stdnum_luhn.is_valid(compact):
            return "fails the card number check digit (Luhn)"
    elif entity == "US_SSN":
        if not (compact.isdigit() and len(compact) == 9):
            return "is not a US SSN (9 digits)"
    elif entity == "FR_NIR":
        if len(compact) != 15:
            return "is not a French NIR (15 characters with its key)"
        if not stdnum_nir.is_valid(compact):
            return "fails the NIR key check"
    elif entity == "SE_PERSONNUMMER":
        if not (compact.isdigit() and len(compact) == 10):
            return "is not a Swedish personnummer (10 or 12 digits)"
        if not stdnum_luhn.is_valid(compact):
            return "fails the personnummer check digit"
    elif entity == "IBAN_CODE" and not stdnum_iban.is_valid(compact):
        return "is not a valid IBAN (country, length or check digits)"
    return None
