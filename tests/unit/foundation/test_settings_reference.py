"""The README's settings table is generated from the code: every setting is described, and the table is current."""

from __future__ import annotations

import re
from pathlib import Path

from securedesk.settings_reference import render_markdown, undocumented

README = Path(__file__).resolve().parents[3] / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"


def test_every_setting_is_described() -> None:
    assert undocumented() == []


def test_readme_table_is_the_generated_one() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, flags=re.S)
    assert match is not None, f"README.md has no {BEGIN} … {END} block"
    assert match.group(1) == render_markdown(), "run `securedesk config reference` and paste it into README.md"
