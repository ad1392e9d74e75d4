"""A bounded soak: many rounds of polling leave the poller's memory flat.

30 feeds on 127.0.0.1, 18 rounds; each round a fifth of the feeds gain an item
(and drop their oldest, like a real feed's window), the rest answer 304.
What wirewatch's code allocated after the warm-up rounds and still holds at the
end may not exceed the legitimately remembered story ids.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from wirewatch.models import FeedRecord, RawStory
from wirewatch.poller.service import Poller
from wirewatch.settings import Settings

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "poller"))
from feedserver import FeedServer, rss

FEEDS, ROUNDS, WARMUP, WINDOW = 30, 18, 5, 20


class CountingSink:
    def __init__(self) -> None:
        self.n = 0

    async def publish(self, story: RawStory) -> None:
        self.n += 1


async def test_memory_stays_flat_over_many_rounds(tmp_path: Path) -> None:
    server = await FeedServer().start()
    start = dict.fromkeys(range(FEEDS), 0)
    for i in range(FEEDS):
        server.feeds[f"/s{i}.xml"] = rss(f"s{i}", WINDOW)
    sink = CountingSink()
    settings = Settings(allow_hosts=["127.0.0.1"], parse_workers=0, data_dir=tmp_path, poll_per_host=8)
    poller = Poller(settings, sink, state_path=tmp_path / "s.json")
    for i in range(FEEDS):
        poller.upsert(FeedRecord(feed_id=f"s{i}", url=server.url(f"/s{i}.xml"), outlet="soak",
                                 updated_at=datetime.now(UTC)))
    try:
        grown = 0
        for rnd in range(ROUNDS):
            for i in range(rnd % 5, FEEDS, 5) if rnd else ():
                start[i] += 1
                server.feeds[f"/s{i}.xml"] = rss(f"s{i}", WINDOW, start=start[i])
            server.hits.clear()  # the test server's own log must not count
            results = await poller.poll_all()
            assert all(r.outcome != "error" for r in results)
            poller.save()
            if rnd == WARMUP:
                gc.collect()
                tracemalloc.start()  # from here on, whatever stays allocated is growth
        gc.collect()
        # Allocations made by wirewatch's code and still alive (interpreter-wide caches such
        # as the interned-string table resize at their own pace and are not the poller's).
        snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*/wirewatch/*")])
        grown = sum(stat.size for stat in snap.statistics("filename"))
    finally:
        tracemalloc.stop()
        await poller.aclose()
        await server.stop()
    new_ids = sum(start.values())
    assert sink.n == FEEDS * WINDOW + new_ids  # every new item published once
    # What may legitimately grow: one remembered id (+ fingerprint, + a time) per new item.
    allowance = 512 * 1024 + new_ids * 400
    assert grown < allowance, (grown, allowance)
