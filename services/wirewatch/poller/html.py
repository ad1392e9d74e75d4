"""HTML to clean text, keeping paragraphs.

Figures and their captions, scripts, styles and navigation are dropped here,
once, so neither dedup nor extraction ever sees a photo caption as article text.

Nothing else is lost, however the markup is nested: lxml (libxml2) stops
building its tree at 2,048 levels and drops whatever lies deeper, so a
document that reaches that limit is read again by the standard library's
event parser, which keeps no tree and has no depth limit.
"""

from __future__ import annotations

import re
import unicodedata
from html import unescape
from html.parser import HTMLParser

import lxml.html
from lxml import etree

_DROP = ("script", "style", "noscript", "figure", "figcaption", "nav", "aside", "form",
         "iframe", "object", "embed", "svg", "button", "footer", "header")
_DROP_SET = frozenset(_DROP)
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt", "td", "th",
           "div", "section", "article", "br", "tr", "ul", "ol", "table"}
# Elements that never have content or an end tag (the event parser sees no end for them).
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                   "source", "track", "wbr"})
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")
# C0/C1 control characters other than tab and newline never belong in text.
# Lone surrogates (from &#55296;) break UTF-8 encoders downstream; bidi overrides and
# zero-width spaces let a title spoof an alert.  ZWJ/ZWNJ stay: scripts need them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u200b\u202a-\u202e"
                      r"\u2060\u2066-\u2069\ufeff]")


def clean_text(s: str) -> str:
    s = unicodedata.normalize("NFC", _CONTROL.sub("", s))
    return _WS.sub(" ", s).strip()


def text_paragraphs(text: str) -> str:
    """Plain text with its paragraphs (blank-line separated) cleaned, one blank line between."""
    return "\n\n".join(p for p in (clean_text(x) for x in re.split(r"\n\s*\n", text)) if p)


def html_to_line(html: str) -> str:
    """``html`` as one line of text (a title): tags gone, entities decoded, paragraphs joined."""
    return clean_text(html_to_text(html).replace("\n\n", " "))


class _Paragraphs:
    """Collects text into paragraphs, a block boundary closing the current one."""

    def __init__(self) -> None:
        self.paragraphs: list[str] = []
        self.buf: list[str] = []

    def add(self, text: str | None) -> None:
        if text:
            self.buf.append(text)

    def flush(self) -> None:
        text = clean_text("".join(self.buf))
        if text:
            self.paragraphs.append(text)
        self.buf.clear()

    def text(self) -> str:
        self.flush()
        return "\n\n".join(self.paragraphs)


def html_to_text(html: str) -> str:
    """Paragraphs of ``html`` as plain text, separated by a blank line."""
    if not html or not html.strip():
        return ""
    if "<" not in html:
        return text_paragraphs(unescape(html) if "&" in html else html)
    parser = lxml.html.HTMLParser(huge_tree=True)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div", parser=parser)
    except (etree.ParserError, ValueError):
        return _stream_text(html)
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        return _stream_text(html)  # nested past libxml2's depth limit: the tree lost text
    for el in list(root.iter(*_DROP)):  # a list: dropping while iterating skips nodes
        if el.getparent() is not None:
            el.drop_tree()
    out = _Paragraphs()
    # Iterative, not recursive: the tree may be 2,048 levels deep.
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        el, closing = stack.pop()
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if closing:
            if tag in _BLOCKS:
                out.flush()
            if el is not root:
                out.add(el.tail)
            continue
        if tag in _BLOCKS:
            out.flush()
        if isinstance(el.tag, str):
            out.add(el.text)
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
    return out.text()


class _StreamText(HTMLParser):
    """The same paragraphs as the tree walk, from parser events (no tree, no depth limit)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = _Paragraphs()
        self.dropping: list[str] = []  # open elements whose content is dropped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.dropping or tag in _DROP_SET:
            if tag not in _VOID:
                self.dropping.append(tag)
            return
        if tag in _BLOCKS:
            self.out.flush()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.dropping and tag in _BLOCKS:
            self.out.flush()

    def handle_endtag(self, tag: str) -> None:
        if self.dropping:
            if tag in self.dropping:
                while self.dropping.pop() != tag:
                    pass
            return
        if tag in _BLOCKS:
            self.out.flush()

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.add(data)


def _stream_text(html: str) -> str:
    parser = _StreamText()
    parser.feed(html)
    parser.close()
    return parser.out.text()
