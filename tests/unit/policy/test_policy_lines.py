"""Problems point at the right line whatever TOML syntax the file uses (tomllib gives no positions; we scan)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from securedesk.errors import PolicyError
from securedesk.policy import load_policy

WritePolicy = Callable[..., Path]
MASK = "unknown action 'mask' for {scope}; use one of redact, vault, block, allow"


def only_problem(path: Path) -> str:
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    (problem,) = caught.value.problems
    return problem


CASES = [
    (
        "a multi-line basic string that looks like keys and headers",
        '[policy]\ndescription = """\n[entities.CREDIT_CARD]\naction = "mask"\n"""\n'
        '[entities.CREDIT_CARD]\naction = "mask"\n',
        14,
        "[entities.CREDIT_CARD]",
    ),
    (
        "a multi-line literal string, and an escaped quote in a basic one",
        "[policy]\ndescription = '''\naction = \"mask\"\n'''\nname = \"a \\\"quoted\\\" # ] name\"\n"
        '[channels.chat]\naction = "mask"\n',
        14,
        "[channels.chat]",
    ),
    (
        "a multi-line string ending in quotes",
        '[policy]\ndescription = """ends with two quotes"""""\n[channels.chat]\naction = "mask"\n',
        11,
        "[channels.chat]",
    ),
    (
        "comments that look like headers",
        '# [channels.chat]\n[channels.chat] # [channels.email]\n# action = "x"\naction = "mask" # trailing\n',
        11,
        "[channels.chat]",
    ),
    (
        "an inline table",
        '[entities.CREDIT_CARD]\nchannels = { email = { nudge = false }, chat = { action = "mask" } }\n',
        9,
        "CREDIT_CARD/chat",
    ),
    (
        "an inline table spread over an array's lines",
        '[entities.CREDIT_CARD]\nreveal_roles = [\n  "admin",\n]\nchannels.chat = { action = "mask" }\n',
        12,
        "CREDIT_CARD/chat",
    ),
    (
        "dotted keys",
        '[entities]\nCREDIT_CARD.threshold = 0.7\nCREDIT_CARD.channels.email.action = "mask"\n',
        10,
        "CREDIT_CARD/email",
    ),
    (
        "quoted keys and spaces in a header",
        '[ entities . "US_SSN" . channels . \'form\' ]\naction = "mask"\n',
        9,
        "US_SSN/form",
    ),
    (
        "a table named after a deeper one was declared",
        '[entities.FR_NIR.channels.chat]\nnudge = false\n\n[entities.FR_NIR]\nthreshold = 0.7\naction = "mask"\n',
        13,
        "[entities.FR_NIR]",
    ),
    (
        "arrays with comments and trailing commas before the key",
        '[entities.IBAN_CODE]\nallow_values = [ # none yet\n  # "x",\n]\nreveal_roles = [\n  "agent", # a\n'
        '  "admin",\n]\naction = "mask"\n',
        16,
        "[entities.IBAN_CODE]",
    ),
    (
        "dates, numbers with underscores and special floats before the key",
        "[policy]\ndescription = 'x'\n[channels.form]\nthreshold = 5e-1\nretention_days = 1_0\naction = \"mask\"\n",
        13,
        "[channels.form]",
    ),
]


@pytest.mark.parametrize(("extra", "line", "scope"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_problem_line(write_policy: WritePolicy, minimal: str, extra: str, line: int, scope: str) -> None:
    path = write_policy(minimal + "\n" + extra)
    assert only_problem(path) == f"{path}:{line}: " + MASK.format(scope=scope)


def test_windows_line_endings(tmp_path: Path, minimal: str) -> None:
    path = tmp_path / "crlf.toml"
    text = minimal + '\n[channels.webhook]\n\n# why\naction = "mask"\n'
    path.write_bytes(text.replace("\n", "\r\n").encode())
    assert only_problem(path) == f"{path}:11: " + MASK.format(scope="[channels.webhook]")


def test_non_ascii_text_before_the_problem(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy(
        '[policy]\ndescription = "Kortnummer maskeras — numéro masqué ✓"\n' + minimal + 'action = "x"\n'
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    # A duplicate key is a TOML error: tomllib's own line and column are used.
    assert caught.value.problems[0].startswith(f"{path}:9:")
