"""Load the feed list from a YAML or TOML file.

Either format holds a ``feeds`` list (YAML may also be a bare list)::

    feeds:
      - url: https://example.org/world.rss      # http, https or file; a bare path is a file
        outlet: Example News                    # default: the host name
        id: example-world                       # default: derived from outlet and URL
        paused: false
        full_text: false
        source: rss                             # a wirewatch.sources plug-in
        interval_seconds: 600                   # fixed interval; omit for adaptive

    # TOML:  [[feeds]]  url = "..."  outlet = "..."

Relative paths are relative to the file.  Every problem is one ``ConfigError``
line naming the file and the feed.
"""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import ValidationError

from ..errors import ConfigError
from ..models import FeedRecord, stable_id

SCHEMES = ("http", "https", "file")
_KEYS = {"id": "feed_id", "feed_id": "feed_id", "url": "url", "outlet": "outlet", "paused": "paused",
         "full_text": "full_text", "source": "source", "interval_seconds": "interval_seconds"}


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")[:40] or "feed"


def feed_url(raw: str, base_dir: Path) -> str:
    """Normalise a URL from a feeds file: a bare path becomes an absolute ``file://`` URL."""
    raw = raw.strip()
    scheme = urlsplit(raw).scheme.lower()
    if not scheme or (len(scheme) == 1 and raw[1:3] in (":\\", ":/")):  # a path (or a Windows drive)
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = (base_dir / path).resolve()
        return path.as_uri()
    if scheme not in SCHEMES:
        raise ValueError(f"unsupported scheme {scheme!r} (use http, https or file)")
    return raw


def make_feed(entry: dict[str, Any], base_dir: Path, updated_at: datetime) -> FeedRecord:
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}")
    data = {_KEYS[k]: v for k, v in entry.items()}
    if not isinstance(data.get("url"), str) or not data["url"].strip():
        raise ValueError("missing 'url'")
    url = feed_url(data["url"], base_dir)
    data["url"] = url
    parts = urlsplit(url)
    data.setdefault("outlet", parts.hostname or Path(parts.path).stem or "feed")
    data.setdefault("feed_id", f"{_slug(str(data['outlet']))}-{stable_id(url, size=4)}")
    data["updated_at"] = updated_at
    return FeedRecord.model_validate(data)


def load_feeds(path: Path | str) -> list[FeedRecord]:
    """The feeds in ``path`` (``.yaml``/``.yml``/``.toml``; ``.json`` is read as YAML)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise ConfigError(f"feeds file {path}: cannot read ({why})") from None
    try:
        if path.suffix.lower() == ".toml":
            doc: Any = tomllib.loads(text)
        else:
            doc = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = " ".join(str(exc).split())[:200]
        kind = "TOML" if path.suffix.lower() == ".toml" else "YAML"
        raise ConfigError(f"feeds file {path}: not valid {kind} ({first})") from None
    if isinstance(doc, dict):
        doc = doc.get("feeds")
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise ConfigError(f"feeds file {path}: 'feeds' must be a list")
    feeds: list[FeedRecord] = []
    seen: set[str] = set()
    for i, entry in enumerate(doc, 1):
        where = f"feeds file {path}: feed #{i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: must be a table/mapping with a 'url'")
        label = entry.get("id") or entry.get("feed_id") or entry.get("url")
        if label:
            where += f" ({str(label)[:80]})"
        try:
            feed = make_feed(entry, path.parent, mtime)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(x) for x in err.get("loc", ()))
            raise ConfigError(f"{where}: {field}: {err.get('msg', 'invalid')}") from None
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if feed.feed_id in seen:
            raise ConfigError(f"{where}: duplicate id {feed.feed_id!r}")
        seen.add(feed.feed_id)
        feeds.append(feed)
    return feeds
