"""Dedup benchmark: speed at 10k/100k stories in the window, accuracy on the dev set and
on synthetic copies, and the threshold sweep the defaults were chosen from.

    .venv/bin/python benchmarks/bench_dedup.py [--dev /work/shared/eval/dev] [--sizes 10000,100000]
        [--probes 2000] [--baseline-max 10000]

Baseline (same run, same shingles, same window size up to --baseline-max): datasketch
MinHash (128 perms, ``update_batch``) + MinHashLSH at threshold 0.5, the library the
research notes measured.  Latency is wall clock and process CPU time per story; the box
is shared, so the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import gc
import glob
import itertools
import json
import os
import random
import re
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from wirewatch.models import FeedRecord, RawStory
from wirewatch.poller.parse import parse_feed
from wirewatch.poller.urls import canonical_url
from wirewatch.processor.dedup import DEFAULT_NEAR_THRESHOLD, Deduplicator
from wirewatch.processor.dedup.boilerplate import content_paragraphs
from wirewatch.processor.dedup.shingles import words

T0 = datetime(2024, 1, 1, tzinfo=UTC)


# ------------------------------------------------------------------ helpers
def mk(sid: str, paras: Sequence[str], *, published: datetime = T0, url: str | None = None) -> RawStory:
    link = url or f"https://bench.example/{sid}"
    return RawStory(story_id=sid, feed_id="bench", outlet="bench", url=link,
                    canonical_url=canonical_url(link), guid=sid, title="", body="\n\n".join(paras),
                    published=published, fetched_at=published)


def shingles(toks: list[str]) -> list[str]:
    """Word 3-grams as strings, the way the research notes fed datasketch."""
    return [" ".join(toks[i:i + 3]) for i in range(max(1, len(toks) - 2))]


def load_dev(dev: str) -> tuple[list[RawStory], list[list[str]]]:
    items: list[RawStory] = []
    for path in sorted(glob.glob(os.path.join(dev, "feeds", "*.xml"))):
        name = os.path.basename(path)[:-4]
        feed = FeedRecord(feed_id=name, url="file://" + path, outlet=name, updated_at=T0)
        with open(path, "rb") as fh:
            items += parse_feed(fh.read(), feed).items
    items.sort(key=lambda s: s.published)
    with open(os.path.join(dev, "gold.json")) as fh:
        groups = json.load(fh)["duplicates"]
    return items, groups


def pairs_of(groups: list[list[str]]) -> set[frozenset[str]]:
    return {frozenset((a, b)) for g in groups for i, a in enumerate(g) for b in g[i + 1:]}


def prf(pred: set[frozenset[str]], gold: set[frozenset[str]]) -> tuple[float, float]:
    tp = len(pred & gold)
    return (tp / len(pred) if pred else 1.0), (tp / len(gold) if gold else 1.0)


def dev_pairs(items: list[RawStory], **kw: float) -> set[frozenset[str]]:
    d = Deduplicator(**kw)  # type: ignore[arg-type]
    groups: dict[str, list[str]] = {}
    for s in items:
        v = d.check(s)
        root = v.duplicate_of if v.status != "unique" and v.duplicate_of else s.url
        groups.setdefault(root, [root] if root != s.url else []).append(s.url)
    return pairs_of([sorted(set(g)) for g in groups.values()])


# ------------------------------------------------------------------ synthetic variants
_SPELL = {"centre": "center", "neighbourhood": "neighborhood", "defence": "defense", "favour": "favor",
          "labour": "labor", "organisation": "organization", "programme": "program"}


def variants(base: list[str], other: list[str], rng: random.Random, vocab: list[str]
             ) -> list[tuple[str, list[str], bool]]:
    """(name, body paragraphs, is a copy of base) for one base story."""
    n = len(base)

    def substitute(frac: float) -> list[str]:
        out = []
        for p in base:
            ws = p.split()
            for i in range(len(ws)):
                if rng.random() < frac:
                    ws[i] = rng.choice(vocab)
            out.append(" ".join(ws))
        return out

    def house_style() -> list[str]:
        out = []
        for p in base:
            for a, b in _SPELL.items():
                p = p.replace(a, b)
            p = re.sub(r"\b(on [MTWFS][a-z]+day)\b", r"\1 (Nov 8)", p)
            out.append(p.replace("U.S.", "US").replace("U.N.", "UN"))
        return out

    furniture = ["This report was republished from the Reuters news agency.", *base[:1],
                 "Fighters walk past damaged buildings on Sunday. PHOTO: AFP", *base[1:],
                 "Sign up for our morning newsletter to get the latest news.",
                 "(Reporting by the newsroom; Editing by the desk)"]
    reordered = [base[0], *rng.sample(base[1:], len(base) - 1)]
    update = [*base[: n // 2], *other[1:3], *base[n // 2:]]
    # a different story under the same dateline with two of the base's stock paragraphs
    dateline = re.match(r"^[A-Z][A-Z ]+(\([^)]*\))?\s*-\s*", base[0])
    stock = [((dateline.group(0) if dateline else "") + other[0]), *other[1:],
             *rng.sample(base[2:], min(2, max(0, n - 2)))]
    def with_background(share: float) -> list[str]:
        # another story padded with the base's background paragraphs (``share`` of the result)
        k = min(n - 1, max(1, round(len(other) * share / (1 - share))))
        return [*other, *base[n - k:]]

    rewritten_top = [other[1], *base[1:max(2, n - 2)], other[2]]
    out: list[tuple[str, list[str], bool]] = [
        ("exact copy", list(base), True),
        ("copy + furniture", furniture, True),
        ("house style", house_style(), True),
        ("update (+2 paras)", update, True),
        ("update (new top, tail cut)", rewritten_top, True),
        ("paras reordered", reordered, True),
        ("lead 60%", base[: max(1, round(n * 0.6))], True),
        ("lead 40%", base[: max(1, round(n * 0.4))], True),
        ("lead 25%", base[: max(1, round(n * 0.25))], True),
        ("2% words swapped", substitute(0.02), True),
        ("5% words swapped", substitute(0.05), True),
        ("10% words swapped", substitute(0.10), True),
        ("20% words swapped", substitute(0.20), True),
        ("other story", list(other), False),
        ("other + dateline + 2 stock paras", stock, False),
        ("other + 30% base background", with_background(0.3), False),
        ("other + 50% base background", with_background(0.5), False),
    ]
    return out


def synthetic_table(bases: list[list[str]], group: list[int], thresholds: Sequence[float], seed: int = 7
                    ) -> None:
    """``group[i]`` names the gold duplicate group of base i: "other" stories come from another."""
    rng = random.Random(seed)
    vocab = sorted({w for b in bases for p in b for w in p.split()})
    cases: list[tuple[str, list[str], list[str], bool]] = []
    for i, base in enumerate(bases):
        j = next(k % len(bases) for k in range(i + 1, i + len(bases)) if group[k % len(bases)] != group[i])
        other = bases[j]
        for name, body, dup in variants(base, other, rng, vocab):
            cases.append((name, base, body, dup))
    names = list(dict.fromkeys(c[0] for c in cases))
    hits: dict[tuple[str, float], list[bool]] = {}
    new_share: dict[str, list[float]] = {}
    for th in thresholds:
        for k, (name, base, body, _dup) in enumerate(cases):
            d = Deduplicator(near_threshold=th)
            d.check(mk(f"b{k}", base))
            s = mk(f"v{k}", body, published=T0 + timedelta(hours=1))
            v = d.check(s)
            hits.setdefault((name, th), []).append(v.status != "unique")
            if th == DEFAULT_NEAR_THRESHOLD and v.status != "unique":
                new = sum(b - a for a, b in v.changed_spans or [])
                new_share.setdefault(name, []).append(new / max(1, len(s.body)))
    print(f"\nSynthetic variants of {len(bases)} dev articles: share flagged as copies, by near_threshold")
    print("(new% = share of a flagged copy's text passed on to extraction as new, at the default)")
    print(f"{'variant':36s}{'copy?':>6s}" + "".join(f"{t:>7.2f}" for t in thresholds) + f"{'new%':>7s}")
    for name in names:
        dup = next(c[3] for c in cases if c[0] == name)
        row = "".join(f"{sum(hits[(name, t)]) / len(hits[(name, t)]):7.2f}" for t in thresholds)
        shares = new_share.get(name)
        row += f"{100 * statistics.fmean(shares):7.1f}" if shares else f"{'-':>7s}"
        print(f"{name:36s}{'yes' if dup else 'no':>6s}{row}")
    print(f"{'pairwise precision':42s}" + "".join(
        f"{_prec(cases, hits, t):7.2f}" for t in thresholds))
    print(f"{'pairwise recall':42s}" + "".join(
        f"{_rec(cases, hits, t):7.2f}" for t in thresholds))


def _prec(cases: list[tuple[str, list[str], list[str], bool]], hits: dict[tuple[str, float], list[bool]],
          t: float) -> float:
    tp = fp = 0
    for name in dict.fromkeys(c[0] for c in cases):
        dup = next(c[3] for c in cases if c[0] == name)
        n = sum(hits[(name, t)])
        tp, fp = (tp + n, fp) if dup else (tp, fp + n)
    return tp / (tp + fp) if tp + fp else 1.0


def _rec(cases: list[tuple[str, list[str], list[str], bool]], hits: dict[tuple[str, float], list[bool]],
         t: float) -> float:
    got = total = 0
    for name in dict.fromkeys(c[0] for c in cases):
        if next(c[3] for c in cases if c[0] == name):
            got += sum(hits[(name, t)])
            total += len(hits[(name, t)])
    return got / total if total else 1.0


# ------------------------------------------------------------------ speed
class Gen:
    """Distinct wire-like stories: Zipf-sampled words from a vocabulary, 12 paragraphs."""

    def __init__(self, vocab: list[str], seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.vocab = vocab
        self.cum = list(itertools.accumulate(1 / (r + 1) for r in range(len(vocab))))

    def paras(self, n_words: int = 600) -> list[str]:
        ws = self.rng.choices(self.vocab, cum_weights=self.cum, k=n_words)
        out, step = [], n_words // 12
        for i in range(0, n_words, step):
            chunk = ws[i:i + step]
            out.append(chunk[0].capitalize() + " " + " ".join(chunk[1:]) + ".")
        return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_ours(size: int, gen: Gen, probes: int) -> dict[str, float]:
    d = Deduplicator(window_seconds=10 * 365 * 86400)
    stored: list[list[str]] = []
    gc.collect()
    mem0 = rss_mb()
    t = time.perf_counter()
    for i in range(size):
        p = gen.paras()
        stored.append(p)
        d.check(mk(f"s{i}", p, published=T0 + timedelta(seconds=i)))
    fill = size / (time.perf_counter() - t)
    mem = rss_mb() - mem0
    store_bytes = sum(len(k) + len(json.dumps(v)) for k, v in d.store.items()) / size
    lat: list[float] = []
    cpu: list[float] = []
    for j in range(probes):
        r = j % 4
        if r < 2:
            s = mk(f"p{j}", gen.paras())  # new story
        elif r == 2:  # near copy of a stored story: a few words changed, a footer
            base = gen.rng.choice(stored)
            s = mk(f"p{j}", [*base[:-1], base[-1] + " extra words", "Read more: the latest news"])
        else:  # re-poll
            k = gen.rng.randrange(size)
            s = mk(f"s{k}", stored[k], published=T0 + timedelta(seconds=k))
        t, c = time.perf_counter(), time.process_time()
        d.check(s)
        lat.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return _summary(lat, cpu, fill, mem) | {"store_b": store_bytes} | time_burst(d, stored, gen, probes)


BURST_KINDS = ("re-sent", "new link", "new link + footer")


def time_burst(d: Deduplicator, stored: list[list[str]], gen: Gen, n: int) -> dict[str, float]:
    """A duplicate burst into the filled window, as bench_pipeline's phase 3 makes it: copies
    of stored stories re-sent as they are (guid), under a new link (same body), and under a
    new link with a new footer (near).  CPU ms per story, by kind."""
    cpu = {k: 0.0 for k in BURST_KINDS}
    count = dict.fromkeys(BURST_KINDS, 0)
    for j in range(n):
        kind = BURST_KINDS[j % 3]
        k = gen.rng.randrange(len(stored))
        paras = stored[k] if kind != "new link + footer" else [*stored[k], "Sign up for our newsletter."]
        s = mk(f"s{k}" if kind == "re-sent" else f"b{j}", paras, published=T0 + timedelta(seconds=k))
        c = time.process_time()
        v = d.check(s)
        cpu[kind] += time.process_time() - c
        count[kind] += v.status == "duplicate"
    per = {f"burst_ms_{k}": 1000 * cpu[k] / max(1, -(-n // 3)) for k in BURST_KINDS}
    per["burst_per_cpu_s"] = n / max(sum(cpu.values()), 1e-9)
    per["burst_flagged"] = sum(count.values()) / n
    return per


def time_datasketch(size: int, gen: Gen, probes: int) -> dict[str, float] | None:
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        return None
    lsh = MinHashLSH(threshold=DEFAULT_NEAR_THRESHOLD, num_perm=128)
    seen: dict[str, str] = {}

    def one(key: str, paras: list[str]) -> None:
        toks = words(" ".join(p.text for p in content_paragraphs("\n\n".join(paras))))
        h = " ".join(toks)
        if h in seen:
            return
        m = MinHash(num_perm=128)
        m.update_batch([g.encode() for g in shingles(toks)])
        lsh.query(m)
        lsh.insert(key, m)
        seen[h] = key

    gc.collect()
    mem0 = rss_mb()
    t = time.perf_counter()
    stored = []
    for i in range(size):
        p = gen.paras()
        stored.append(p)
        one(f"s{i}", p)
    fill = size / (time.perf_counter() - t)
    mem = rss_mb() - mem0
    lat: list[float] = []
    cpu: list[float] = []
    for j in range(probes):
        p = gen.paras() if j % 2 else [*gen.rng.choice(stored)[:-1], "Read more: the latest news"]
        t, c = time.perf_counter(), time.process_time()
        one(f"p{j}", p)
        lat.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return _summary(lat, cpu, fill, mem)


def _summary(lat: list[float], cpu: list[float], fill: float, mem: float) -> dict[str, float]:
    lat.sort()
    return {"fill_per_s": fill, "per_s": len(lat) / sum(lat), "mean_ms": statistics.fmean(lat) * 1e3,
            "cpu_ms": statistics.fmean(cpu) * 1e3,
            "p50_ms": lat[len(lat) // 2] * 1e3, "p99_ms": lat[int(len(lat) * 0.99)] * 1e3, "mem_mb": mem}


def speed_table(sizes: list[int], vocab: list[str], probes: int, baseline_max: int) -> None:
    load = os.getloadavg()[0]
    print(f"\nSpeed, wall clock (probes: 1/2 new stories, 1/4 near copies, 1/4 re-polls); "
          f"load average {load:.1f} on {os.cpu_count()} cores: compare rows, not absolute numbers")
    print(f"{'impl':28s}{'window':>8s}{'fill/s':>9s}{'probe/s':>9s}{'mean ms':>9s}{'cpu ms':>8s}"
          f"{'p50 ms':>8s}{'p99 ms':>8s}{'+RSS MB':>9s}{'store B/story':>14s}")
    runs: list[tuple[str, Callable[[int, Gen, int], dict[str, float] | None]]] = [
        ("wirewatch (rensa)", time_ours), ("baseline datasketch", time_datasketch)]
    bursts: list[tuple[int, dict[str, float]]] = []
    for size in sizes:
        for name, fn in runs:
            if fn is time_datasketch and size > baseline_max:
                print(f"{name:28s}{size:8d}  (skipped above --baseline-max {baseline_max}: its fill is slow)")
                continue
            r = fn(size, Gen(vocab, seed=size), probes)
            if r is None:
                print(f"{name:28s}{size:8d}  (not installed)")
                continue
            print(f"{name:28s}{size:8d}{r['fill_per_s']:9.0f}{r['per_s']:9.0f}{r['mean_ms']:9.3f}"
                  f"{r['cpu_ms']:8.3f}"
                  f"{r['p50_ms']:8.3f}{r['p99_ms']:8.3f}{r['mem_mb']:9.0f}"
                  + (f"{r['store_b']:14.0f}" if "store_b" in r else f"{'-':>14s}"))
            if "burst_per_cpu_s" in r:
                bursts.append((size, r))
    burst_table(bursts)


# ------------------------------------------------------------------ main
def burst_table(rows: list[tuple[int, dict[str, float]]]) -> None:
    print("\nDuplicate burst into the filled window (in-process; 1/3 each kind): CPU ms per story")
    print(f"{'window':>8s}" + "".join(f"{k:>20s}" for k in BURST_KINDS) + f"{'all, per CPU-s':>16s}{'flagged':>9s}")
    for size, r in rows:
        print(f"{size:8d}" + "".join(f"{r['burst_ms_' + k]:20.3f}" for k in BURST_KINDS)
              + f"{r['burst_per_cpu_s']:16.0f}{r['burst_flagged']:9.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", default="/work/shared/eval/dev")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--probes", type=int, default=2000)
    ap.add_argument("--baseline-max", type=int, default=10000, help="largest window for the baseline")
    args = ap.parse_args()
    thresholds = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    items, groups = load_dev(args.dev)
    gold = pairs_of(groups)
    print(f"Dev set {args.dev}: {len(items)} stories, {len(gold)} gold duplicate pairs")
    print(f"{'near_threshold':16s}{'precision':>10s}{'recall':>8s}")
    for th in thresholds:
        p, r = prf(dev_pairs(items, near_threshold=th), gold)
        mark = "  <- default" if th == DEFAULT_NEAR_THRESHOLD else ""
        print(f"{th:<16.2f}{p:10.3f}{r:8.3f}{mark}")
    group_of = {u: gi for gi, g in enumerate(groups) for u in g}
    kept = [s for s in items if len([p for p in s.body.split("\n\n") if p.strip()]) >= 4]
    bases = [[p.strip() for p in s.body.split("\n\n") if p.strip()] for s in kept]
    group = [group_of.get(s.url, len(groups) + i) for i, s in enumerate(kept)]
    synthetic_table(bases, group, thresholds)
    vocab = sorted({w for b in bases for p in b for w in p.split()})
    speed_table([int(x) for x in args.sizes.split(",") if x], vocab, args.probes, args.baseline_max)


if __name__ == "__main__":
    main()
