"""Claim ledger throughput, and memory staying flat as claims age out of the window.

    .venv/bin/python benchmarks/bench_ledger.py [--days 42] [--per-day 400] [--places 150]

A synthetic stream of claims (many places, all five categories, some denials, rival
holders and tolls, so the conflict tests run) is fed in publication order with
hourly `evict` calls, as the streaming service's timer would.  The claims carry their
facts, read before the timed run as the extractor reads them.  Two tables:

1. throughput: the ledger against a baseline measured in the same run, the least
   any durable ledger must do per claim (serialise it and store it under its key), and
   the ledger given the same claims without their facts (it reads them itself);
2. memory by simulated week: claims held, store size as JSON (what the faust
   changelog and RocksDB hold) and Python heap (tracemalloc), for the ledger with
   its window and, as a baseline, the same ledger with eviction never run.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from wirewatch.models import Claim, Quantity
from wirewatch.processor.ledger import ClaimLedger, ledger_key
from wirewatch.processor.ledger.facts import story_facts

START = datetime(2020, 1, 1, tzinfo=UTC)
CATS = ("territory_control", "attack", "casualties", "displacement", "ceasefire")
SPEAKERS = ("the monitoring group", "state television", "a rebel commander", "rescue workers",
            "a military source", None, "the United Nations", "local residents")
ACTORS = ("the army", "rebels", "government forces", "insurgents", None)


def stream(days: int, per_day: int, places: int, seed: int = 7) -> Iterator[Claim]:
    rnd = random.Random(seed)
    step = 86400 / per_day
    for i in range(days * per_day):
        at = START + timedelta(seconds=i * step)
        # One word per place: the ledger keys by a place's first word ('Abu Shouk' -> 'abu'),
        # so 'Place 12' and 'Place 13' would all share one key.
        place = f"Placeton{rnd.randrange(places)}"
        cat = rnd.choice(CATS)
        story = f"st{i // 4}"  # four claims per story
        start = (i % 4) * 200
        sentence = f"Sentence {i} about {cat} in {place}."
        trig = {"territory_control": "took", "attack": "shelled", "casualties": "killed",
                "displacement": "fled", "ceasefire": "truce"}[cat]
        # Mostly agreement, as in a real stream: one holder per place and week, one toll per
        # place and day; now and then a rival holder, another figure or a denial.
        pid, day = int(place.removeprefix("Placeton")), i // per_day
        holder = ("the army", "rebels")[(pid + day // 7) % 2]
        actor = holder if rnd.random() < 0.9 else rnd.choice(ACTORS)
        n = (5, 9, 12, 21, 40, 45)[(pid + day) % 6] if rnd.random() < 0.9 else rnd.choice((5, 9, 12, 40))
        yield Claim(
            claim_id=Claim.make_id(story, start, start + len(sentence), cat, trig),
            story_id=story, story_url=f"https://bench.example/{story}", source=f"Outlet {rnd.randrange(12)}",
            feed_id="bench", published=at, sentence=sentence, sentence_start=start,
            sentence_end=start + len(sentence), category=cat,
            trigger=trig, actor=actor if cat == "territory_control" else None, location=place,
            quantity=Quantity(text=str(n), low=n, high=n) if cat == "casualties" else None,
            polarity="denied" if rnd.random() < 0.03 else "asserted",
            attributed_to=rnd.choice(SPEAKERS), extracted_at=at,
        )


def run_ledger(
    claims: list[Claim], *, evict: bool, window_days: float, checkpoint: timedelta | None = None,
    trace: bool = False,
) -> tuple[float, int, list[dict[str, Any]]]:
    store: dict[str, Any] = {}
    ledger = ClaimLedger(store, window_seconds=window_days * 86400)
    next_evict = START + timedelta(hours=1)
    next_cp = START + checkpoint if checkpoint else None
    rows: list[dict[str, Any]] = []
    alerts = 0
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    for c in claims:
        if evict and c.published >= next_evict:
            ledger.evict(c.published)
            next_evict += timedelta(hours=1)
        if next_cp is not None and checkpoint is not None and c.published >= next_cp:
            heap = tracemalloc.get_traced_memory()[0] if trace else 0
            rows.append({"day": (next_cp - START).days, "held": len(ledger),
                         "store_kb": len(json.dumps(store)) / 1024, "heap_mb": heap / 2**20})
            next_cp += checkpoint
        alerts += len(ledger.add(c).alerts)
    elapsed = time.perf_counter() - t0
    if trace:
        tracemalloc.stop()
    return elapsed, alerts, rows


def run_baseline(claims: list[Claim]) -> float:
    store: dict[str, Any] = {}
    t0 = time.perf_counter()
    for c in claims:
        store.setdefault(ledger_key(c), {})[c.claim_id] = c.model_dump(mode="json")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=35)
    ap.add_argument("--per-day", type=int, default=300)
    ap.add_argument("--places", type=int, default=150)
    ap.add_argument("--window-days", type=float, default=14.0)
    args = ap.parse_args()
    bare = list(stream(args.days, args.per_day, args.places))
    n = len(bare)
    claims = [c for i in range(0, n, 4) for c in story_facts(bare[i:i + 4])]  # four claims a story

    base = run_baseline(claims)
    led, alerts, _ = run_ledger(claims, evict=True, window_days=args.window_days)
    led_bare, alerts_bare, _ = run_ledger(bare, evict=True, window_days=args.window_days)
    assert alerts_bare == alerts
    print(f"claims: {n} over {args.days} days, {args.places} places, window {args.window_days:g} days")
    print()
    print(f"{'run':<40}{'seconds':>10}{'claims/s':>12}{'us/claim':>10}")
    print(f"{'baseline: serialise + store by key':<40}{base:>10.2f}{n / base:>12.0f}{1e6 * base / n:>10.1f}")
    print(f"{'ledger (add + hourly evict)':<40}{led:>10.2f}{n / led:>12.0f}{1e6 * led / n:>10.1f}")
    print(f"{'ledger, claims without facts':<40}{led_bare:>10.2f}{n / led_bare:>12.0f}{1e6 * led_bare / n:>10.1f}")
    print(f"alerts raised: {alerts}")
    print()

    week = timedelta(days=7)
    _, _, with_window = run_ledger(claims, evict=True, window_days=args.window_days, checkpoint=week,
                                   trace=True)
    _, _, no_evict = run_ledger(claims, evict=False, window_days=10_000, checkpoint=week, trace=True)
    print(f"{'':<6}{'ledger with window':^36}{'baseline: never evicted':^36}")
    print(f"{'day':>6}{'held':>10}{'store KB':>12}{'heap MB':>12}{'held':>12}{'store KB':>12}{'heap MB':>12}")
    for a, b in zip(with_window, no_evict, strict=True):
        print(f"{a['day']:>6}{a['held']:>10}{a['store_kb']:>12.0f}{a['heap_mb']:>12.1f}"
              f"{b['held']:>12}{b['store_kb']:>12.0f}{b['heap_mb']:>12.1f}")


if __name__ == "__main__":
    main()
