"""Every kind of policy problem is reported with its exact file:line text and a fix; all problems at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from securedesk.errors import PolicyError
from securedesk.policy import load_policy

WritePolicy = Callable[..., Path]
ROLES = "roles are agent, compliance, admin"
ACTIONS = "use one of redact, vault, block, allow"
ENTITIES = "use one of CREDIT_CARD, US_SSN, FR_NIR, SE_PERSONNUMMER, IBAN_CODE"
CHANNELS = "use one of chat, email, form, webhook, api"
RULE_KEYS = "action, threshold, retention_days, reveal_roles, nudge"


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    return caught.value.problems


# (extra text appended after the minimal policy and a blank line, so its first line is line 8; expected problems)
AFTER_MINIMAL: list[tuple[str, str, list[tuple[int, str]]]] = [
    (
        "unknown action (the issue's example)",
        '[entities.CREDIT_CARD.channels.chat]\naction = "mask"\n',
        [(9, f"unknown action 'mask' for CREDIT_CARD/chat; {ACTIONS}")],
    ),
    (
        "misspelt action",
        '[channels.chat]\naction = "vaul"\n',
        [(9, f"unknown action 'vaul' for [channels.chat]; did you mean 'vault'? {ACTIONS}")],
    ),
    (
        "action of the wrong type",
        "[channels.email]\naction = 1\n",
        [(9, f"action for [channels.email] must be a string, not an integer; {ACTIONS}, quoted")],
    ),
    (
        "threshold above 1",
        "[entities.US_SSN]\nthreshold = 1.5\n",
        [(9, "threshold 1.5 for [entities.US_SSN] is out of range; use a number from 0 to 1")],
    ),
    (
        "threshold below 0",
        "[entities.US_SSN.channels.form]\nthreshold = -0.1\n",
        [(9, "threshold -0.1 for US_SSN/form is out of range; use a number from 0 to 1")],
    ),
    (
        "threshold as a string",
        '[channels.form]\nthreshold = "0.5"\n',
        [(9, "threshold for [channels.form] must be a number, not a string; write threshold = 0.5")],
    ),
    (
        "threshold as a boolean",
        "[channels.form]\nthreshold = true\n",
        [(9, "threshold for [channels.form] must be a number, not true/false; write threshold = 0.5")],
    ),
    (
        "retention of zero days",
        "[entities.IBAN_CODE]\nretention_days = 0\n",
        [(9, "retention_days 0 for [entities.IBAN_CODE] is out of range; use a whole number of days from 1 to 3650")],
    ),
    (
        "retention over ten years",
        "[entities.IBAN_CODE]\nretention_days = 3651\n",
        [
            (
                9,
                "retention_days 3651 for [entities.IBAN_CODE] is out of range; "
                "use a whole number of days from 1 to 3650",
            )
        ],
    ),
    (
        "retention as a fraction",
        "[channels.chat]\nretention_days = 7.5\n",
        [
            (
                9,
                "retention_days for [channels.chat] must be a whole number of days, not a number; "
                "write retention_days = 30",
            )
        ],
    ),
    (
        "role that does not exist",
        '[entities.FR_NIR]\nreveal_roles = ["agent", "supervisor"]\n',
        [(9, f"unknown role 'supervisor' in reveal_roles for [entities.FR_NIR]; {ROLES}")],
    ),
    (
        "misspelt role on its own line of a multi-line array",
        '[entities.FR_NIR]\nreveal_roles = [\n    "agent",\n    "admn",  # typo\n]\n',
        [(11, f"unknown role 'admn' in reveal_roles for [entities.FR_NIR]; did you mean 'admin'? {ROLES}")],
    ),
    (
        "role that is not a string",
        "[channels.chat]\nreveal_roles = [1]\n",
        [(9, f"unknown role an integer in reveal_roles for [channels.chat]; {ROLES}")],
    ),
    (
        "reveal_roles not an array",
        '[channels.chat]\nreveal_roles = "admin"\n',
        [
            (
                9,
                "reveal_roles for [channels.chat] must be an array, not a string; "
                'write reveal_roles = ["agent"] (or [] for nobody)',
            )
        ],
    ),
    (
        "nudge not a boolean",
        '[entities.SE_PERSONNUMMER.channels.chat]\nnudge = "yes"\n',
        [(9, "nudge for SE_PERSONNUMMER/chat must be true or false, not a string; write nudge = true")],
    ),
    (
        "unknown entity type",
        '[entities.PASSPORT]\naction = "block"\n',
        [(8, f"unknown entity type 'PASSPORT'; {ENTITIES}")],
    ),
    (
        "entity type in the wrong case",
        '[entities.credit_card]\naction = "block"\n',
        [(8, f"unknown entity type 'credit_card'; did you mean 'CREDIT_CARD'? {ENTITIES}")],
    ),
    (
        "unknown channel",
        '[channels.sms]\naction = "block"\n',
        [(8, f"unknown channel 'sms' in [channels]; {CHANNELS}")],
    ),
    (
        "unknown channel under an entity",
        '[entities.IBAN_CODE.channels.fax]\naction = "block"\n',
        [(8, f"unknown channel 'fax' for IBAN_CODE; {CHANNELS}")],
    ),
    (
        "misspelt channel under an entity",
        '[entities.IBAN_CODE.channels.emial]\naction = "block"\n',
        [(8, f"unknown channel 'emial' for IBAN_CODE; did you mean 'email'? {CHANNELS}")],
    ),
    (
        "unknown key in a channel table",
        "[channels.chat]\ntreshold = 0.3\n",
        [(9, f"unknown key 'treshold' in [channels.chat]; did you mean 'threshold'? keys allowed here: {RULE_KEYS}")],
    ),
    (
        "unknown key in an entity table",
        "[entities.CREDIT_CARD]\nallowlist = []\n",
        [
            (
                9,
                "unknown key 'allowlist' in [entities.CREDIT_CARD]; did you mean 'allow_values'? "
                f"keys allowed here: {RULE_KEYS}, allow_values, channels",
            )
        ],
    ),
    (
        "unknown section",
        "[rules]\nx = 1\n",
        [(8, "unknown section 'rules'; sections are policy, defaults, channels, entities, email")],
    ),
    (
        "allow_values outside an entity table",
        "[channels.chat]\nallow_values = []\n",
        [
            (
                9,
                "allow_values is not allowed in [channels.chat]; allow-lists are per entity type: "
                "put it under [entities.<TYPE>]",
            )
        ],
    ),
    (
        "allow_values in an entity-channel table",
        "[entities.IBAN_CODE.channels.email]\nallow_values = []\n",
        [
            (
                9,
                "allow_values is not allowed in IBAN_CODE/email; allow-lists are per entity type: "
                "put it under [entities.<TYPE>]",
            )
        ],
    ),
    (
        "allow_values not an array",
        '[entities.IBAN_CODE]\nallow_values = "SE45 5000 0000 0583 9825 7466"\n',
        [
            (
                9,
                'allow_values for IBAN_CODE must be an array of strings, not a string; write allow_values = ["..."]',
            )
        ],
    ),
    (
        "allow-listed number written without quotes",
        "[entities.CREDIT_CARD]\nallow_values = [\n  4111111111111111,\n]\n",
        [(10, "allow_values[0] for CREDIT_CARD must be a string, not an integer; put the value in quotes")],
    ),
    (
        "channels nested in an entity-channel table",
        '[entities.CREDIT_CARD.channels.chat.channels.email]\naction = "block"\n',
        [(8, "channels is not allowed in CREDIT_CARD/chat; per-channel overrides go in [entities.<TYPE>]")],
    ),
    (
        "entity given as a value instead of a table",
        '[entities]\nCREDIT_CARD = "vault"\n',
        [(9, "entities.CREDIT_CARD must be a table, not a string; write it as [entities.CREDIT_CARD]")],
    ),
    (
        "auto_reply not a boolean",
        '[email]\nauto_reply = "yes"\n',
        [(9, "auto_reply must be true or false, not a string; write auto_reply = true")],
    ),
    (
        "unknown key in [email]",
        "[email]\nautoreply = true\n",
        [
            (
                9,
                "unknown key 'autoreply' in [email]; did you mean 'auto_reply'? "
                "keys allowed here: auto_reply, attachments",
            )
        ],
    ),
    (
        "unknown attachment class",
        '[email.attachments]\npdf = "withhold"\n',
        [(9, "unknown attachment type class 'pdf'; use one of text, document, image, archive, other")],
    ),
    (
        "unknown attachment handling",
        '[email.attachments]\narchive = "withold"\n',
        [
            (
                9,
                "unknown attachment handling 'withold' for archive; did you mean 'withhold'? "
                "use one of screen, quarantine, withhold",
            )
        ],
    ),
    (
        "attachment handling not a string",
        "[email.attachments]\nimage = false\n",
        [
            (
                9,
                "attachment handling for image must be a string, not true/false; "
                "use one of screen, quarantine, withhold, quoted",
            )
        ],
    ),
    (
        "screening a class that cannot be read",
        '[email.attachments]\nimage = "screen"\n',
        [(9, "image attachments cannot be screened (SecureDesk reads text only); use withhold or quarantine")],
    ),
    (
        "unsupported format version",
        "[policy]\nformat = 2\n",
        [(9, "policy format 2 is not supported; this SecureDesk reads format 1")],
    ),
    (
        "format not an integer",
        '[policy]\nformat = "1"\n',
        [(9, "format must be an integer, not a string; write format = 1")],
    ),
    (
        "empty policy name",
        '[policy]\nname = "  "\n',
        [(9, 'policy name must be a non-empty string; write name = "default"')],
    ),
    (
        "description not a string",
        "[policy]\ndescription = 3\n",
        [(9, "description must be a string, not an integer; quote it")],
    ),
    (
        "unknown key in [policy]",
        '[policy]\nauthor = "me"\n',
        [(9, "unknown key 'author' in [policy]; keys allowed here: name, format, description")],
    ),
]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [(extra, expected) for _, extra, expected in AFTER_MINIMAL],
    ids=[c[0] for c in AFTER_MINIMAL],
)
def test_each_problem_kind(
    write_policy: WritePolicy, minimal: str, extra: str, expected: list[tuple[int, str]]
) -> None:
    path = write_policy(minimal + "\n" + extra)
    assert problems_of(path) == [f"{path}:{line}: {message}" for line, message in expected]


INVALID_ALLOW_VALUES = [
    ("CREDIT_CARD", "4111 1111 1111 1112", "fails the card number check digit (Luhn)"),
    ("CREDIT_CARD", "1234 5678", "is not a card number (12 to 19 digits)"),
    ("CREDIT_CARD", "4111-1111-1111-111X", "is not a card number (12 to 19 digits)"),
    ("US_SSN", "078-05-112", "is not a US SSN (9 digits)"),
    ("FR_NIR", "1 84 12 75 108 045 29", "fails the NIR key check"),
    ("FR_NIR", "1 84 12 75 108 045", "is not a French NIR (15 characters with its key)"),
    ("SE_PERSONNUMMER", "811218-9875", "fails the personnummer check digit"),
    ("SE_PERSONNUMMER", "811218-987", "is not a Swedish personnummer (10 or 12 digits)"),
    ("IBAN_CODE", "GB82 WEST 1234 5698 7654 33", "is not a valid IBAN (country, length or check digits)"),
    ("IBAN_CODE", "GB82", "is not a valid IBAN (country, length or check digits)"),
]


@pytest.mark.parametrize(("entity", "value", "reason"), INVALID_ALLOW_VALUES)
def test_allow_value_that_could_never_match(
    write_policy: WritePolicy, minimal: str, entity: str, value: str, reason: str
) -> None:
    path = write_policy(minimal + f'\n[entities.{entity}]\nallow_values = [\n  "{value}",\n]\n')
    problems = problems_of(path)
    assert problems == [
        f"{path}:10: allow_values[0] for {entity} {reason}, so it could never match a finding; "
        "fix the typo or remove it"
    ]
    # The value itself is never echoed, even in part.
    compact = "".join(ch for ch in value if ch.isalnum())
    assert not any(compact[-6:] in problem for problem in problems)


def test_defaults_missing(write_policy: WritePolicy) -> None:
    path = write_policy('[channels.chat]\naction = "block"\n')
    assert problems_of(path) == [
        f"{path}:1: the [defaults] table is missing; add [defaults] with {RULE_KEYS} (every rule starts from it)"
    ]


def test_defaults_lacking_keys_are_reported_at_its_header(write_policy: WritePolicy) -> None:
    path = write_policy('# policy\n\n[defaults]\naction = "redact"\nthreshold = 0.5\n')
    assert problems_of(path) == [
        f"{path}:3: [defaults] lacks 'retention_days'; add retention_days = 30 (every rule starts from [defaults])",
        f"{path}:3: [defaults] lacks 'reveal_roles'; add reveal_roles = [\"agent\"] "
        "(every rule starts from [defaults])",
        f"{path}:3: [defaults] lacks 'nudge'; add nudge = true (every rule starts from [defaults])",
    ]


def test_defaults_not_a_table(write_policy: WritePolicy) -> None:
    path = write_policy("defaults = 1\n")
    assert problems_of(path) == [f"{path}:1: defaults must be a table, not an integer; write it as [defaults]"]


def test_section_given_as_a_value(write_policy: WritePolicy, minimal: str) -> None:
    path = write_policy('channels = "chat"\n' + minimal)
    assert problems_of(path) == [f"{path}:1: channels must be a table, not a string; write it as [channels.chat]"]


def test_every_problem_in_one_file_is_reported_in_line_order(write_policy: WritePolicy) -> None:
    path = write_policy(
        """\
        [policy]
        format = 2

        [defaults]
        action = "mask"
        threshold = 1.5
        retention_days = 0
        reveal_roles = ["agent", "supervisor"]

        [channels.sms]
        action = "redact"

        [channels.chat]
        treshold = 0.3

        [entities.CREDIT_CARDS]
        action = "vault"

        [entities.CREDIT_CARD]
        allow_values = [
          "4111 1111 1111 1111",
          "4111 1111 1111 1112",
        ]

        [entities.CREDIT_CARD.channels.chat]
        action = "vaul"
        nudge = "yes"

        [email.attachments]
        image = "screen"
        """
    )
    problems = problems_of(path)
    assert problems == [
        f"{path}:2: policy format 2 is not supported; this SecureDesk reads format 1",
        f"{path}:4: [defaults] lacks 'nudge'; add nudge = true (every rule starts from [defaults])",
        f"{path}:5: unknown action 'mask' for [defaults]; {ACTIONS}",
        f"{path}:6: threshold 1.5 for [defaults] is out of range; use a number from 0 to 1",
        f"{path}:7: retention_days 0 for [defaults] is out of range; use a whole number of days from 1 to 3650",
        f"{path}:8: unknown role 'supervisor' in reveal_roles for [defaults]; {ROLES}",
        f"{path}:10: unknown channel 'sms' in [channels]; {CHANNELS}",
        f"{path}:14: unknown key 'treshold' in [channels.chat]; did you mean 'threshold'? "
        f"keys allowed here: {RULE_KEYS}",
        f"{path}:16: unknown entity type 'CREDIT_CARDS'; did you mean 'CREDIT_CARD'? {ENTITIES}",
        f"{path}:22: allow_values[1] for CREDIT_CARD fails the card number check digit (Luhn), "
        "so it could never match a finding; fix the typo or remove it",
        f"{path}:26: unknown action 'vaul' for CREDIT_CARD/chat; did you mean 'vault'? {ACTIONS}",
        f"{path}:27: nudge for CREDIT_CARD/chat must be true or false, not a string; write nudge = true",
        f"{path}:30: image attachments cannot be screened (SecureDesk reads text only); use withhold or quarantine",
    ]
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value) == (
        f"Policy {path} is invalid (13 problems); first: {problems[0]} "
        f"(run `securedesk policy check {path}` to list them all)"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[defaults]\naction = [1,\nnudge = true\n", 3),
        ('[defaults]\naction = "redact"\naction = "block"\n', 3),
        ("[defaults]\n[defaults]\n", 2),
        ("[defaults\n", 1),
        ('[policy]\nname = "unterminated\n', 2),
    ],
)
def test_toml_syntax_error_gives_line_and_column(write_policy: WritePolicy, text: str, line: int) -> None:
    path = write_policy(text)
    (problem,) = problems_of(path)
    match = re.fullmatch(
        rf"{re.escape(str(path))}:{line}:(\d+): invalid TOML: (.+); fix the syntax at line {line}, column (\d+)",
        problem,
    )
    assert match is not None, problem
    assert match.group(1) == match.group(3)
    assert "(at line" not in match.group(2)


def test_syntax_error_at_end_of_document_points_at_the_last_line(write_policy: WritePolicy) -> None:
    path = write_policy('[policy]\nname = "x"\ndescription = """never closed\n\n')
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:5:1: invalid TOML: Unterminated string; ")


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert problems_of(missing) == [
        f"{missing}: cannot read the file (No such file or directory); check the path (setting policy_path)"
    ]
    assert problems_of(tmp_path) == [
        f"{tmp_path}: cannot read the file (Is a directory); check the path (setting policy_path)"
    ]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[defaults]\n# caf\xe9\n")
    assert problems_of(path) == [f"{path}:2: the file is not valid UTF-8 (byte 16); save it as UTF-8"]


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path, minimal: str) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + minimal.encode())
    assert load_policy(path).rule_count == 25
