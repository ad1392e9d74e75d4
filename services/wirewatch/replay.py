"""`wirewatch replay`: the streaming pipeline's code over feed files, no broker.

Items of all feeds are taken together in publication order, as the stream
would have seen them, and the results are written as JSON lines (see the
evaluation FORMAT: stories.jsonl, claims.jsonl, alerts.jsonl, plus
claim_updates.jsonl).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from .errors import ConfigError, FeedError
from .models import ContradictionAlert, FeedRecord, RawStory, utcnow
from .poller.parse import parse_feed
from .processor.pipeline import Pipeline, ReplayResult
from .settings import Settings

log = logging.getLogger(__name__)


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


def load_feed_files(paths: Sequence[Path]) -> list[RawStory]:
    """Parse feed files into raw stories, in publication order."""
    stories: list[tuple[object, int, int, RawStory]] = []
    for fi, path in enumerate(paths):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"feed file not found: {path}") from None
        except IsADirectoryError:
            raise ConfigError(f"feed path is a directory, not a file: {path}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read feed file {path}: {exc.strerror}") from None
        feed = FeedRecord(feed_id=path.stem, url=path.resolve().as_uri(), outlet=path.stem, updated_at=utcnow())
        try:
            parsed = parse_feed(data, feed)
        except FeedError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        outlet = parsed.title or path.stem
        for ii, item in enumerate(parsed.items):
            stories.append((item.published, fi, ii, item.model_copy(update={"outlet": outlet})))
    stories.sort(key=lambda t: (t[0], t[1], t[2]))
    return [s for *_, s in stories]


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
) -> ReplaySummary:
    say = progress or (lambda _msg: None)
    if not paths:
        raise ConfigError("no feed files given")
    stories = load_feed_files(paths)
    say(f"read {len(stories)} items from {len(paths)} feed files")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create output directory {out_dir}: {exc.strerror}") from None
    pipeline = Pipeline(settings)
    say("processing (dedup → extraction → ledger)")
    result = pipeline.replay(stories)
    write_result(result, stories, out_dir)
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
    )
    return summary
