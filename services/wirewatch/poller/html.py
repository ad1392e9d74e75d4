"""HTML to clean text, keeping paragraphs.

Figures and their captions, scripts, styles and navigation are dropped here,
once, so neither dedup nor extraction ever sees a photo caption as article text.
"""

from __future__ import annotations

import re
import unicodedata

import lxml.html
from lxml import etree

_DROP = ("script", "style", "noscript", "figure", "figcaption", "nav", "aside", "form",
         "iframe", "object", "embed", "svg", "button", "footer", "header")
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt", "td", "th",
           "div", "section", "article", "br", "tr", "ul", "ol", "table"}
_WS = re.compile(r"[ \t\r\f\v\u00a0]+")
# C0/C1 control characters other than tab and newline never belong in text.
# Lone surrogates (from &#55296;) break UTF-8 encoders downstream; bidi overrides and
# zero-width spaces let a title spoof an alert.  ZWJ/ZWNJ stay: scripts need them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u200b\u202a-\u202e"
                      r"\u2060\u2066-\u2069\ufeff]")


def clean_text(s: str) -> str:
    s = unicodedata.normalize("NFC", _CONTROL.sub("", s))
    return _WS.sub(" ", s).strip()


def html_to_text(html: str) -> str:
    """Paragraphs of ``html`` as plain text, separated by a blank line."""
    if not html or not html.strip():
        return ""
    if "<" not in html:
        return "\n\n".join(p for p in (clean_text(x) for x in re.split(r"\n\s*\n", html)) if p)
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_text(re.sub(r"<[^>]*>", " ", html))
    for el in list(root.iter(*_DROP)):  # a list: dropping while iterating skips nodes
        if el.getparent() is not None:
            el.drop_tree()
    paragraphs: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        text = clean_text("".join(buf))
        if text:
            paragraphs.append(text)
        buf.clear()

    def walk(el: etree._Element) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        block = tag.lower() in _BLOCKS
        if block:
            flush()
        if el.text and isinstance(el.tag, str):
            buf.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                buf.append(child.tail)
        if block:
            flush()

    walk(root)
    flush()
    return "\n\n".join(paragraphs)
