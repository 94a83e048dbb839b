"""Segment batching for one screening call, and the HTML tokenizer/rebuilder."""

from __future__ import annotations

import pytest

from securedesk.channels.email.html_text import HtmlText
from securedesk.errors import DetectionError
from securedesk.language import LanguageDetector
from securedesk.screening.batch import SegmentBatch


def test_segments_round_trip_unchanged() -> None:
    texts = ["a", "", "b c", "ddd\n"] * 10
    batch = SegmentBatch(texts)
    assert batch.split(batch.joined) == texts


def test_markers_hold_no_digit_nor_letter_and_differ_per_batch() -> None:
    first, second = SegmentBatch(["x", "y"]), SegmentBatch(["x", "y"])
    assert first.joined != second.joined
    marker = first.joined[1:-1]
    assert not any(ch.isalnum() for ch in marker)
    many = SegmentBatch([""] * 200)
    assert not any(ch.isalnum() for ch in many.joined)
    assert many.split(many.joined) == [""] * 200


@pytest.mark.parametrize(
    ("segments", "lang"),
    [
        (
            [
                "Jane Customer",
                "jane@example.com",
                "Ma carte",
                "<c@example.com>",
                "Bonjour, ma carte est bloquée.\n",
                "c.png",
            ],
            "fr",
        ),
        (["Åsa Löfgren", "asa@example.se", "Mitt kort", "Hej! Mitt kort är spärrat, tack.\n"], "sv"),
        (["Jane Customer", "jane@example.com", "My card", "Hello, my card is blocked.\n"], "en"),
    ],
)
def test_markers_do_not_sway_the_language_of_the_message(segments: list[str], lang: str) -> None:
    # One marker per header and part: letter markers made every short French or Swedish email "English".
    assert LanguageDetector.load().detect(SegmentBatch(segments).joined)[0] == lang


def test_a_finding_across_a_marker_merges_into_the_first_segment() -> None:
    batch = SegmentBatch(["card 4111 1111", "1111 1111 end", "after"])
    start = batch.joined.index("4111")
    end = batch.joined.index(" end")
    screened = batch.joined[:start] + "[CARD •••• 1111]" + batch.joined[end:]
    assert batch.split(screened) == ["card [CARD •••• 1111] end", "", "after"]


def test_markers_out_of_order_hold_the_message() -> None:
    batch = SegmentBatch(["a", "b", "c"])
    first_marker_end = batch.joined.index("b")
    second_marker_start = batch.joined.index("c")
    swapped = "a" + batch.joined[first_marker_end + 1 : second_marker_start] + "b" + batch.joined[1:first_marker_end]
    with pytest.raises(DetectionError):
        batch.split(swapped + "c")


@pytest.mark.parametrize(
    ("source", "segments"),
    [
        ("<p>Hello <b>you</b></p><p>Two</p>", ["Hello you", "Two"]),
        ('<a href="x%20y" title="T">link</a>', ["x y", "T", "link"]),
        ("<p>&#52;1 &amp; &lt;</p>", ["41 & <"]),
        ("<script>var a = '1 < 2';</script><p>x</p>", ["var a = '1 < 2';", "x"]),
        ("<p>a<!-- hidden -->b</p>", ["ab", " hidden "]),
    ],
)
def test_html_segments(source: str, segments: list[str]) -> None:
    assert HtmlText(source).segments == segments


def test_unchanged_html_is_returned_byte_for_byte() -> None:
    source = "<P CLASS=x>Caf&eacute; <BR/>ok</P>"
    document = HtmlText(source)
    assert document.rebuild(list(document.segments)) == source


def test_changed_html_keeps_every_tag() -> None:
    document = HtmlText('<p>Card <b>4111</b> 1111</p><img alt="secret" src="a.png">')
    assert document.segments == ["Card 4111 1111", "secret", "a.png"]
    rebuilt = document.rebuild(["Card [CARD •••• 1111]", '[x] & "y"', "a.png"])
    assert rebuilt == '<p>Card [CARD •••• 1111]<b></b></p><img alt="[x] &amp; &quot;y&quot;" src="a.png">'


def test_data_urls_are_removed() -> None:
    document = HtmlText('<img src="data:image/png;base64,AAAA">')
    assert document.removed_data_urls == 1
    assert document.rebuild(list(document.segments)) == '<img src="">'
