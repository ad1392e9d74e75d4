"""Main text of an article page, for feeds that carry only a summary (per-feed ``full_text``).

trafilatura finds the article; its HTML output then goes through the same
``html_to_text`` as feed content, so figures and captions are dropped and
paragraphs kept the same way.  Runs inside a parse worker (CPU/memory limits).
"""

from __future__ import annotations

from ..errors import NotAFeed
from ..limits import MAX_BODY_CHARS
from .html import clean_text, html_to_text

MAX_ARTICLE = MAX_BODY_CHARS
# Below this the feed's own text is taken to be a summary worth replacing.
SUMMARY_CHARS = 600


def extract_article(data: bytes, url: str, title: str | None = None) -> str:
    if not data.strip():
        raise NotAFeed("empty article page")
    import trafilatura  # heavy; only feeds that opted in to full text need it

    html = trafilatura.extract(data, url=url or None, output_format="html", include_comments=False,
                               include_tables=False, include_images=False, favor_precision=True)
    if not html:
        return ""
    text = html_to_text(html)[:MAX_ARTICLE]
    if title:
        first, _, rest = text.partition("\n\n")
        if clean_text(first).casefold() == clean_text(title).casefold():
            text = rest  # the page's headline repeated as the first paragraph
    return text
