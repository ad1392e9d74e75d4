"""What a fact's corroboration record and a dispute's two sides count: claims, sources, articles.

A fact (a claim first reported, and every claim that repeats it) counts its independent
sources (the speaker, else the outlet; 'the Observatory' is the 'Syrian Observatory for
Human Rights') and its articles (story clusters, so syndicated copies count once).  A
dispute is two positions on one event, each side counting the same way plus its claims.
Every list is capped, so a value stays a small changelog message whatever the input.
"""

from __future__ import annotations

from typing import Any

from ...models import MAX_SOURCES_LISTED, DisputeSide
from .facts import Facts

# Every list a store value holds is capped, so that a fact corroborated by thousands of
# articles or a dispute joined by thousands of claims stays a small changelog message and
# its update or alert stays far below the message cap: the first MAX_SOURCES_LISTED sources
# (models.py) and these many articles and claims are listed, and the counts stop there.
# The evaluation sets' largest: 6 sources, 4 articles, 3 claims on one side.
MAX_ARTICLES_COUNTED = 100
MAX_SIDE_CLAIMS = 500  # a claim past it still counts its source and article, but is not a member


def _source_key(f: Facts) -> str:
    """One independent source: the speaker if the claim is attributed, else the outlet."""
    return "speaker:" + " ".join(f.speaker) if f.speaker else "outlet:" + f.outlet.casefold()


def new_side() -> dict[str, list[str]]:
    return {"claims": [], "sources": [], "source_keys": [], "articles": []}


def copy_dispute(d: dict[str, Any]) -> dict[str, Any]:
    # a new value, never the stored one changed in place: staged writes may be rolled back
    return {**d, "sides": [{k: list(v) for k, v in side.items()} for side in d["sides"]]}


def join_side(side: dict[str, list[str]], claim_id: str, f: Facts, article: str) -> None:
    """Count a claim on one side of a dispute: itself, its source (if new) and its article."""
    if claim_id not in side["claims"] and len(side["claims"]) < MAX_SIDE_CLAIMS:
        side["claims"].append(claim_id)
    count_in(side, f, article)


def count_in(counts: dict[str, list[str]], f: Facts, article: str) -> None:
    """Count a claim's source (if new) and article (if new) in a fact or a dispute side,
    each list up to its cap (a source or article past it is not told apart from the others)."""
    src = _source_key(f)
    if len(counts["source_keys"]) < MAX_SOURCES_LISTED and not any(
            _same_source(src, k) for k in counts["source_keys"]):
        counts["source_keys"].append(src)
        counts["sources"].append(f.speaker_name)
    if len(counts["articles"]) < MAX_ARTICLES_COUNTED and article not in counts["articles"]:
        counts["articles"].append(article)


def side_model(side: dict[str, list[str]]) -> DisputeSide:
    return DisputeSide(sources=list(side["sources"]), num_claims=len(side["claims"]),
                       num_articles=len(side["articles"]))


def is_dispute(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("t"), float | int)
            and isinstance(value.get("sides"), list) and len(value["sides"]) == 2
            and all(isinstance(s, dict) and isinstance(s.get("claims"), list) for s in value["sides"]))


def _same_source(a: str, b: str) -> bool:
    """'speaker:observatory' is the same source as 'speaker:syrian observatory human rights'."""
    if a == b:
        return True
    ka, _, na = a.partition(":")
    kb, _, nb = b.partition(":")
    if ka != kb or ka != "speaker":
        return False
    sa, sb = set(na.split()), set(nb.split())
    return bool(sa and sb) and (sa <= sb or sb <= sa)
