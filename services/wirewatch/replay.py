"""`wirewatch replay`: the streaming pipeline's code over feed files, no broker.

Items of all feeds are taken together in publication order, as the stream
would have seen them, and go through the service's stage runner with in-memory
ports (:func:`wirewatch.processor.stream.stages.replay_stories`).  The results are written
as JSON lines (see the evaluation FORMAT: stories.jsonl, claims.jsonl, alerts.jsonl,
plus claim_updates.jsonl).

A replay is a backfill: it reads every item of every file (the poller's per-poll
item cap does not apply unless asked for), says what it could not read -- items
not usable, fields cut, files that are no feed -- and what stories had past their
budgets (event sentences not parsed, claims not sent, alerts not raised), and, on a
long archive, how far it has got.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from .errors import ConfigError, FeedError
from .models import MAX_ID_CHARS, ContradictionAlert, FeedRecord, RawStory, utcnow
from .poller.parse import parse_feed
from .processor.stream.stages import ReplayResult, replay_stories
from .settings import Settings

log = logging.getLogger(__name__)

# Stories handed to the pipeline at a time: progress is reported between chunks.  The
# result is the same as in one go (dedup state carries over; the ledger sees claims in
# publication order either way; extraction is pure).
CHUNK = 200


@dataclass
class ReplaySummary:
    feeds: int
    stories: int
    unique: int
    duplicates: int
    updates: int
    claims: int
    new_claims: int
    contradictions: int
    disputes: int
    out_dir: Path
    not_read: str = ""  # what could not be read, one line ("" when everything was)
    over_budget: str = ""  # what stories had past their budgets, one line ("" when none did)


@dataclass
class FeedFiles:
    """What reading feed files gave: the stories, in publication order, and what was not read."""

    stories: list[RawStory] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)  # items not usable, by reason
    trimmed: Counter[str] = field(default_factory=Counter)  # fields cut, by field
    failed: list[tuple[Path, str]] = field(default_factory=list)  # files that are no feed, and why

    def not_read(self) -> str:
        """One line: what was not read, or "" when everything was."""
        parts = []
        if self.dropped:
            parts.append("items not read: " + ", ".join(f"{n} {k}" for k, n in self.dropped.most_common()))
        if self.trimmed:
            parts.append("fields cut: " + ", ".join(f"{n} {k}" for k, n in self.trimmed.most_common()))
        if self.failed:
            parts.append(f"{len(self.failed)} file(s) not read: "
                         + "; ".join(f"{p.name} ({why})" for p, why in self.failed[:5])
                         + (" ..." if len(self.failed) > 5 else ""))
        return "; ".join(parts)


def read_feed_files(paths: Sequence[Path], *, max_items: int | None = None,
                    progress: Callable[[str], None] | None = None) -> FeedFiles:
    """Parse feed files into raw stories, in publication order (every item unless ``max_items``).

    A path that cannot be read at all is a ConfigError (a mistake on the command line);
    a file that is no feed, or none that parses, is reported in ``failed`` and skipped.
    """
    out = FeedFiles()
    keyed: list[tuple[object, int, int, RawStory]] = []
    for fi, path in enumerate(paths):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"feed file not found: {path}") from None
        except IsADirectoryError:
            raise ConfigError(f"feed path is a directory, not a file: {path}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read feed file {path}: {exc.strerror}") from None
        if progress and len(paths) > 1:
            progress(f"reading {path.name} ({fi + 1}/{len(paths)})")
        feed = FeedRecord(feed_id=path.stem[:MAX_ID_CHARS] or "feed", url=path.resolve().as_uri(),
                          outlet=path.stem[:MAX_ID_CHARS] or "feed", updated_at=utcnow())
        try:
            parsed = parse_feed(data, feed, max_items=max_items)
        except FeedError as exc:
            out.failed.append((path, f"{exc.code}: {exc}"))
            continue
        out.dropped.update(parsed.dropped)
        out.trimmed.update(parsed.trimmed)
        outlet = parsed.title[:MAX_ID_CHARS] or feed.outlet
        for ii, item in enumerate(parsed.items):
            keyed.append((item.published, fi, ii, item.model_copy(update={"outlet": outlet})))
    keyed.sort(key=lambda t: (t[0], t[1], t[2]))
    out.stories = [s for *_, s in keyed]
    return out


def load_feed_files(paths: Sequence[Path]) -> list[RawStory]:
    """Every item of the feed files, in publication order; a file that is no feed is a ConfigError."""
    read = read_feed_files(paths)
    if read.failed:
        path, why = read.failed[0]
        raise ConfigError(f"{path}: {why}")
    return read.stories


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("wb") as f:
        for row in rows:
            f.write(orjson.dumps(row))
            f.write(b"\n")


def write_result(result: ReplayResult, stories: list[RawStory], out_dir: Path) -> None:
    by_id = {s.story_id: s for s in stories}
    story_rows: list[dict[str, object]] = []
    for v in result.verdicts:
        s = by_id.get(v.story_id)
        story_rows.append({
            "url": v.url,
            "story_id": v.story_id,
            "status": v.status,
            "kind": v.kind,
            "duplicate_of": v.duplicate_of if v.status != "unique" else None,
            "cluster_id": v.cluster_id,
            "similarity": v.similarity,
            "outlet": s.outlet if s else None,
            "title": s.title if s else None,
            "published": s.published.isoformat() if s else None,
        })
    _write_jsonl(out_dir / "stories.jsonl", story_rows)
    # claims.jsonl lists the claims the ledger acts on.  Hedged reports ('may have',
    # 'unconfirmed') stay on the claims topic with modality "hedged" for subscribers,
    # but are not claims in the evaluation's sense (FORMAT.md), and raise no alert.
    _write_jsonl(out_dir / "claims.jsonl",
                 [c.model_dump(mode="json") for c in result.claims if c.modality != "hedged"])
    _write_jsonl(out_dir / "claims_hedged.jsonl",
                 [c.model_dump(mode="json") for c in result.claims if c.modality == "hedged"])
    _write_jsonl(out_dir / "alerts.jsonl", [a.model_dump(mode="json") for a in result.alerts])
    _write_jsonl(out_dir / "claim_updates.jsonl", [u.model_dump(mode="json") for u in result.updates])


def replay(
    paths: Sequence[Path],
    out_dir: Path,
    settings: Settings,
    *,
    progress: Callable[[str], None] | None = None,
    max_items: int | None = None,
) -> ReplaySummary:
    say = progress or (lambda _msg: None)
    if not paths:
        raise ConfigError("no feed files given")
    read = read_feed_files(paths, max_items=max_items, progress=say)
    if read.failed and len(read.failed) == len(paths):
        path, why = read.failed[0]
        raise ConfigError(f"no feed file could be read ({path}: {why})")
    not_read = read.not_read()
    say(f"read {len(read.stories)} items from {len(paths) - len(read.failed)} feed file(s)"
        + (f"; {not_read}" if not_read else ""))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create output directory {out_dir}: {exc.strerror}") from None
    say("processing (dedup → extraction → ledger)")
    result = replay_stories(settings, read.stories, progress=say, progress_every=CHUNK)
    write_result(result, read.stories, out_dir)
    summary = ReplaySummary(
        feeds=len(paths),
        stories=len(result.verdicts),
        unique=sum(v.status == "unique" for v in result.verdicts),
        duplicates=sum(v.status == "duplicate" for v in result.verdicts),
        updates=sum(v.status == "update" for v in result.verdicts),
        claims=len(result.claims),
        new_claims=sum(a.type == "new_claim" for a in result.alerts),
        contradictions=sum(a.type == "contradiction" for a in result.alerts),
        disputes=len({a.dispute_id for a in result.alerts if isinstance(a, ContradictionAlert)}),
        out_dir=out_dir,
        not_read=not_read,
        over_budget=result.over_budget,
    )
    return summary
