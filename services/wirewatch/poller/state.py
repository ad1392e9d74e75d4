"""Per-feed poller state, kept in a small local JSON file.

What is kept: HTTP validators (ETag, Last-Modified, byte for byte), the last
success and error, consecutive failures and the error class, the next poll,
the items polls dropped and the fields they cut (counts by reason),
and a bounded "high-water" set of the stories already published with a content
fingerprint, so a restart does not re-publish every item of every feed (and an
item whose content changed is published again, as an update).

Ordering rule: the poller updates this state only after every story of a poll
was accepted by the sink, so a crash can re-publish (dedup catches it) but
never lose a story.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from ..models import RawStory

log = logging.getLogger(__name__)

SEEN_MAX = 2000  # story ids remembered per feed (a feed shows at most a few hundred)
TIMES_MAX = 100  # publication times kept for the posting-rate estimate


def fingerprint(story: RawStory) -> str:
    """Changes when the item's visible content changes (an update worth re-publishing)."""
    h = hashlib.blake2b(digest_size=8)
    for part in (story.title, story.summary, story.body, story.url):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


@dataclass
class FeedState:
    etag: str | None = None
    last_modified: str | None = None
    last_success: float | None = None  # unix seconds
    last_attempt: float | None = None
    last_unconditional: float | None = None
    last_error: str | None = None
    error_class: str | None = None
    consecutive_failures: int = 0
    next_poll: float = 0.0
    interval: float | None = None
    url: str | None = None  # the URL the validators belong to
    moved_to: str | None = None  # target of a permanent redirect, reported once
    seen: dict[str, str] = field(default_factory=dict)  # story_id -> fingerprint, oldest first
    item_times: list[float] = field(default_factory=list)
    # What polls did not publish or cut (see service.Poller._account): totals by reason and
    # by field, the last poll's drops, when items were last dropped; and the last failure,
    # which a success does not erase (``last_error`` is the current one only).
    dropped: dict[str, int] = field(default_factory=dict)
    trimmed: dict[str, int] = field(default_factory=dict)
    last_dropped: dict[str, int] = field(default_factory=dict)
    last_drop_at: float | None = None
    last_failure: str | None = None
    last_failure_at: float | None = None

    def is_new(self, story: RawStory, fp: str | None = None) -> bool:
        return self.seen.get(story.story_id) != (fp or fingerprint(story))

    def remember(self, stories: list[RawStory], fps: dict[str, str] | None = None) -> None:
        fps = fps or {}
        done: set[str] = set()
        for s in stories:
            if s.story_id in done:  # a repeated guid: the first copy is the one published
                continue
            done.add(s.story_id)
            self.seen.pop(s.story_id, None)  # re-insert at the young end
            self.seen[s.story_id] = fps.get(s.story_id) or fingerprint(s)
            if not s.published_inferred:
                self.item_times.append(s.published.timestamp())
        if len(self.seen) > SEEN_MAX:
            for k in list(self.seen)[: len(self.seen) - SEEN_MAX]:
                del self.seen[k]
        if len(self.item_times) > TIMES_MAX:
            self.item_times = sorted(set(self.item_times))[-TIMES_MAX:]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeedState:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class StateStore:
    """The whole poller state in one JSON file, replaced atomically."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def load(self) -> dict[str, FeedState]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            raw = orjson.loads(self.path.read_bytes())
            return {str(k): FeedState.from_dict(v) for k, v in raw.get("feeds", {}).items()}
        except (OSError, orjson.JSONDecodeError, TypeError, AttributeError) as exc:
            # A corrupt state file costs re-publishing (dedup catches it), never a crash.
            log.warning("poller state %s unreadable (%s); starting fresh", self.path, exc)
            return {}

    def save(self, states: dict[str, FeedState]) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = orjson.dumps({"version": 1, "feeds": {k: v.to_dict() for k, v in states.items()}})
        fd, tmp = tempfile.mkstemp(prefix=".poller-state.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
