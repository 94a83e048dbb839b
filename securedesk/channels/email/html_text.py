"""The screenable text of an HTML document — visible text runs, attribute values, comments — and its rebuild.

``html.parser`` tokenizes (never regular expressions on HTML). Character references are decoded first, so
``&#52;111 …`` is screened as the digits it renders. Adjacent text nodes joined only by inline tags form one run
(``4111 <b>1111</b> …`` is screened as it reads); a changed run is written into its first node and the rest of the
run emptied, keeping every tag. Attribute values are screened one by one (URLs percent-decoded first); ``data:``
URLs are content that cannot be screened and are removed. The document is rebuilt only if something changed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, unquote

#: Tags that do not break a visible line of text: a number split across them still reads as one number.
_INLINE_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "ins",
        "kbd",
        "label",
        "mark",
        "nobr",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
        "wbr",
    }
)
#: Tags whose content is raw text (not HTML-escaped when written back).
_RAW_TEXT_TAGS = frozenset({"script", "style"})
_URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "cite", "background", "poster", "formaction", "longdesc", "usemap", "xlink:href"}
)
#: Characters ``quote`` keeps when an attribute URL is written back after redaction.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


@dataclass
class _Tag:
    raw: str
    tag: str
    attrs: list[tuple[str, str | None]]
    self_closing: bool
    #: attribute index → (segment index, value is a percent-decoded URL)
    screened_attrs: dict[int, tuple[int, bool]] = field(default_factory=dict)
    removed_attrs: set[int] = field(default_factory=set)


@dataclass
class _Text:
    text: str
    raw_text: bool  # inside <script>/<style>: written back unescaped
    segment: int  # the run's segment (visible text) or the node's own segment (raw text)
    first_in_run: bool


@dataclass
class _Literal:
    text: str  # end tags, declarations, processing instructions: written back as they were


@dataclass
class _Comment:
    text: str
    segment: int


_Token = _Tag | _Text | _Literal | _Comment


class HtmlText:
    """A tokenized HTML document: ``segments`` to screen, ``rebuild(screened)`` to write it back."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.segments: list[str] = []
        #: ``data:`` URLs removed from attributes (embedded content that cannot be screened).
        self.removed_data_urls = 0
        self._tokens: list[_Token] = []
        self._run: int | None = None
        self._raw_text_tag: str | None = None
        parser = _Tokenizer(self)
        parser.feed(source)
        parser.close()

    # --- building, called by the tokenizer -----------------------------------------------------------------

    def _segment(self, text: str) -> int:
        self.segments.append(text)
        return len(self.segments) - 1

    def _end_run(self) -> None:
        self._run = None

    def add_text(self, text: str) -> None:
        if not text:
            return
        if self._raw_text_tag is not None:
            self._tokens.append(_Text(text, True, self._segment(text), True))
            return
        first = self._run is None
        if self._run is None:
            self._run = self._segment(text)
        else:
            self.segments[self._run] += text
        self._tokens.append(_Text(text, False, self._run, first))

    def add_tag(self, raw: str, tag: str, attrs: list[tuple[str, str | None]], *, self_closing: bool) -> None:
        if tag not in _INLINE_TAGS:
            self._end_run()
        token = _Tag(raw, tag, attrs, self_closing)
        for index, (name, value) in enumerate(attrs):
            if not value:
                continue
            if name in _URL_ATTRIBUTES and value.strip().lower().startswith("data:"):
                token.removed_attrs.add(index)
                self.removed_data_urls += 1
                continue
            decoded = unquote(value) if name in _URL_ATTRIBUTES else value
            token.screened_attrs[index] = (self._segment(decoded), decoded != value)
        self._tokens.append(token)
        if tag in _RAW_TEXT_TAGS and not self_closing:
            self._raw_text_tag = tag

    def add_end_tag(self, raw: str, tag: str) -> None:
        if tag not in _INLINE_TAGS:
            self._end_run()
        if tag == self._raw_text_tag:
            self._raw_text_tag = None
        self._tokens.append(_Literal(raw))

    def add_literal(self, raw: str) -> None:
        self._end_run()
        self._tokens.append(_Literal(raw))

    def add_comment(self, text: str) -> None:
        # A comment is invisible: it does not break the run of text around it.
        self._tokens.append(_Comment(text, self._segment(text)))

    def visible_text(self) -> str:
        """The document's text as a reader sees it, one line per run (for the agent console)."""
        lines: list[str] = []
        for token in self._tokens:
            if isinstance(token, _Text) and not token.raw_text and token.first_in_run:
                line = " ".join(self.segments[token.segment].split())
                if line:
                    lines.append(line)
        return "\n".join(lines)

    # --- writing back --------------------------------------------------------------------------------------

    def rebuild(self, screened: list[str]) -> str:
        """The document with every segment replaced by its screened text (the source itself if nothing changed)."""
        if len(screened) != len(self.segments):
            raise ValueError("screened segments do not match the document")
        changed = [new != old for new, old in zip(screened, self.segments, strict=True)]
        if not any(changed) and self.removed_data_urls == 0:
            return self.source
        out: list[str] = []
        for token in self._tokens:
            if isinstance(token, _Text):
                if token.raw_text:
                    out.append(screened[token.segment])
                elif not changed[token.segment]:
                    out.append(html.escape(token.text, quote=False))
                elif token.first_in_run:
                    out.append(html.escape(screened[token.segment], quote=False))
            elif isinstance(token, _Tag):
                out.append(self._rebuild_tag(token, screened, changed))
            elif isinstance(token, _Comment):
                out.append(f"<!--{screened[token.segment].replace('--', '- -')}-->")
            else:
                out.append(token.text)
        return "".join(out)

    @staticmethod
    def _rebuild_tag(token: _Tag, screened: list[str], changed: list[bool]) -> str:
        touched = token.removed_attrs or any(changed[seg] for seg, _ in token.screened_attrs.values())
        if not touched:
            return token.raw
        parts = [token.tag]
        for index, (name, value) in enumerate(token.attrs):
            if index in token.removed_attrs:
                parts.append(f'{name}=""')
                continue
            if index in token.screened_attrs:
                segment, was_url_encoded = token.screened_attrs[index]
                value = screened[segment]
                if was_url_encoded and changed[segment]:
                    value = quote(value, safe=_URL_SAFE)
                elif was_url_encoded:
                    value = token.attrs[index][1]
            parts.append(name if value is None else f'{name}="{html.escape(value, quote=True)}"')
        return "<" + " ".join(parts) + (" />" if token.self_closing else ">")


class _Tokenizer(HTMLParser):
    def __init__(self, document: HtmlText) -> None:
        super().__init__(convert_charrefs=True)
        self._doc = document

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._doc.add_tag(self.get_starttag_text() or f"<{tag}>", tag, attrs, self_closing=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._doc.add_tag(self.get_starttag_text() or f"<{tag} />", tag, attrs, self_closing=True)

    def handle_endtag(self, tag: str) -> None:
        self._doc.add_end_tag(f"</{tag}>", tag)

    def handle_data(self, data: str) -> None:
        self._doc.add_text(data)

    def handle_comment(self, data: str) -> None:
        self._doc.add_comment(data)

    def handle_decl(self, decl: str) -> None:
        self._doc.add_literal(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self._doc.add_literal(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        # <![CDATA[...]]> and friends carry text too: screen it as text rather than pass it on unseen.
        self._doc.add_text(data)
