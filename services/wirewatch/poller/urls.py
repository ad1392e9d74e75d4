"""Canonical URLs: one spelling per article, so the same link is one story."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from url_normalize import url_normalize

# Query parameters that track the reader, not the article.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "hsa_", "oly_", "__hs", "_hs", "vero_")
_TRACKING = {"fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mkt_tok",
             "ref", "ref_src", "referrer", "cmpid", "cmp", "ncid", "ito", "icid", "smid", "sr_share",
             "feedtype", "feedname", "rss", "ocid", "s_cid", "at_medium", "at_campaign", "share",
             "outputtype", "amp", "_ga", "spm", "src", "taid", "guccounter"}


_ALIAS_LABELS = {"www", "www1", "www2", "m", "mobile", "amp"}


def canonical_url(url: str) -> str:
    """Normalised URL without tracking parameters, fragment, ``www.`` or AMP variants."""
    try:
        norm = url_normalize(url.strip()) or url.strip()
    except Exception:  # url_normalize raises assorted errors on garbage; keep the input
        norm = url.strip()
    try:
        parts = urlsplit(norm)
    except ValueError:
        return norm
    host = (parts.hostname or "").lower()
    # "www.", mobile and AMP hosts serve the same article as the bare host.
    while True:
        label, _, rest = host.partition(".")
        if label not in _ALIAS_LABELS or rest.count(".") < 1:
            break
        host = rest
    netloc = host + (f":{parts.port}" if parts.port else "") if host else parts.netloc
    path = parts.path or "/"
    for suffix in ("/amp/", "/amp"):
        if path.endswith(suffix) and len(path) > len(suffix):
            path = path[: -len(suffix)] or "/"
    if path.endswith(".amp"):
        path = path[:-4]
    if path.startswith("/amp/"):
        path = path[4:]
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING]
    query.sort()
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))
