"""A reproducible stream of wire-like RSS feeds for the pipeline benchmark.

    .venv/bin/python benchmarks/corpus.py OUTDIR [--stories N] [--seed S]

``build(n, seed)`` returns the items in publication order; ``write_feeds`` writes them
as RSS 2.0 files, one file per (outlet, snapshot) of at most ``per_file`` items, the
way a poller sees an outlet's feed change between polls.  Everything comes from
templates filled by one ``random.Random(seed)``, so the same arguments always give
byte-identical files.

The mix (see benchmarks/README.md for why it is realistic):

* originals, 38 %: about a third conflict reporting (several conflicts, places,
  parties, claims, denials, casualty figures in digits, words and ranges, hedges,
  "according to"), two thirds other news (business, sport, science) whose sentences
  mostly carry no event, with figurative war words ("price war", "attack" in sport);
* syndicated copies, 32 %: another outlet runs an earlier original with its own
  headline, a lead-in ("This story was first published by ..."), a photo caption, a
  newsletter footer, sometimes cut after a few paragraphs;
* updates, 15 %: the same outlet re-files an earlier story under a new URL with two to
  four new paragraphs (a revised toll, a new claim or denial) inserted near the top;
* re-polls, 15 %: the very same item (guid, link, text) again in a later snapshot.

Bodies are 400–900 words (wire copy), paragraphs of one to three sentences.
"""

from __future__ import annotations

import argparse
import html
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
KINDS = ("original", "syndicated", "update", "repoll")
KIND_WEIGHTS = (0.38, 0.32, 0.15, 0.15)
CONFLICT_SHARE = 0.35  # of originals

OUTLETS = (
    ("wire", "Continental Wire"), ("globe", "The Morning Globe"), ("ledger", "City Ledger"),
    ("courier", "Evening Courier"), ("herald", "Northern Herald"), ("bulletin", "World Bulletin"),
    ("tribune", "Coastal Tribune"), ("monitor", "Regional Monitor"), ("post", "Capital Post"),
    ("dispatch", "Field Dispatch"),
)

# ------------------------------------------------------------------ conflict vocabulary
CONFLICTS = (
    {"country": "Ukraine", "capital": "KYIV", "places": ("Pokrovsk", "Kupiansk", "Chasiv Yar", "Huliaipole",
                                                            "Kharkiv", "Zaporizhzhia", "Kostiantynivka"),
     "a": ("Russian forces", "Moscow's troops", "Russian troops"),
     "b": ("Ukrainian forces", "Ukraine's army", "Ukrainian troops"),
     "a_src": ("Russia's defence ministry", "a Kremlin spokesman"),
     "b_src": ("Ukraine's general staff", "the regional governor", "a Ukrainian military spokesman")},
    {"country": "Sudan", "capital": "KHARTOUM", "places": ("El Fasher", "Omdurman", "Wad Madani", "Babanusa",
                                                            "El Obeid", "Kadugli"),
     "a": ("the Rapid Support Forces", "RSF fighters", "the paramilitary RSF"),
     "b": ("the Sudanese army", "army troops", "the armed forces"),
     "a_src": ("an RSF spokesman", "the RSF in a statement"),
     "b_src": ("the army", "a military source", "the Sudanese foreign ministry")},
    {"country": "Myanmar", "capital": "YANGON", "places": ("Lashio", "Myawaddy", "Sittwe", "Bhamo", "Hpakant",
                                                            "Kyaukphyu"),
     "a": ("the junta's troops", "military forces", "regime soldiers"),
     "b": ("ethnic armed groups", "the Arakan Army", "resistance fighters"),
     "a_src": ("a junta spokesman", "state media"),
     "b_src": ("the Arakan Army", "a resistance commander", "local aid workers")},
    {"country": "Congo", "capital": "KINSHASA", "places": ("Goma", "Sake", "Bukavu", "Uvira", "Walikale",
                                                            "Masisi"),
     "a": ("M23 rebels", "the M23 movement", "rebel fighters"),
     "b": ("Congolese troops", "the Congolese army", "government forces"),
     "a_src": ("an M23 spokesman", "the rebel alliance"),
     "b_src": ("the Congolese army", "a government spokesman", "the provincial governor")},
)
NUM_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "a dozen", "dozens of",
             "scores of", "hundreds of")
DAYS = ("on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "on Saturday", "on Sunday",
        "overnight", "early on Tuesday", "late on Friday", "at dawn on Sunday")
ATTRIB = ("{src} said", "{src} said in a statement", "according to {src}", "{src} told reporters",
          "{src} said on Telegram", "{src} claimed")
HEDGE = ("", "", "", "reportedly ", "apparently ", "")

CLAIM_TEMPLATES = (
    "{a} captured the village of {p2} near {p} {day}, {attrib}.",
    "{a} have taken full control of {p}, {attrib}, a claim that could not be independently verified.",
    "{b} {hedge}withdrew from positions on the eastern edge of {p} {day}, {attrib}.",
    "At least {n} civilians were killed and {m} wounded when shells hit a market in {p} {day}, {attrib}.",
    "{n} people, including {k} children, were killed in an air strike on a residential block in {p}, "
    "{attrib}.",
    "The death toll from the drone attack on {p} rose to {n}, {attrib}.",
    "Between {n} and {m} fighters were killed in clashes around {p} {day}, {attrib}.",
    "A drone strike hit a power station outside {p} {day}, cutting electricity to {n},000 homes, {attrib}.",
    "{a} shelled the outskirts of {p} for a third straight day, {attrib}.",
    "More than {n},000 people have fled {p} since the fighting began last week, {attrib}.",
    "{a} launched a fresh assault on {p} {day}, {attrib}.",
    "{b} said they had repelled an attack on {p} and killed {n} attackers.",
    "Roughly {nw} soldiers were killed in an ambush on a convoy near {p}, {attrib}.",
    "The two sides agreed to a 72-hour ceasefire around {p} to allow the evacuation of the wounded, "
    "{attrib}.",
    "The ceasefire in {p} collapsed within hours as shelling resumed {day}, {attrib}.",
    "{n} aid workers were abducted on the road to {p}, {attrib}.",
)
DENIAL_TEMPLATES = (
    "{b_src} denied that {a} had taken {p}, saying fighting was continuing in the town.",
    "{b_src} rejected the report as false and said its troops still held {p}.",
    "{a_src} denied targeting civilians in {p} and said it had struck only military sites.",
    "There was no immediate comment from {b_src} on the claim about {p}.",
    "{a_src} dismissed the casualty figures as exaggerated.",
)
CONFLICT_CONTEXT = (
    "The fighting around {p} has intensified since the start of the month, residents said.",
    "Diplomats in Geneva are due to meet next week to discuss humanitarian access to {country}.",
    "The United Nations has repeatedly called for a halt to attacks on civilian infrastructure in {country}.",
    "Aid agencies say roads into {p} have been cut for weeks, leaving shops short of flour and fuel.",
    "Satellite images published by independent analysts showed damage to several buildings in {p}.",
    "{p} lies on a main supply route and has changed hands several times during the war.",
    "Residents described long queues for water and bread as temperatures fell below freezing.",
    "The war has displaced millions of people and left large parts of {country} in need of aid.",
    "A local doctor said the hospital in {p} was running out of surgical supplies and blood.",
    "Reuters could not independently verify the battlefield accounts of either side.",
    "Talks brokered by regional mediators stalled last month over the question of prisoner exchanges.",
    "Humanitarian officials said convoys carrying medicine were waiting at the border for clearance.",
)

# ------------------------------------------------------------------ other news
COMPANIES = ("Northwind Foods", "Arcadia Telecom", "Helix Pharmaceuticals", "Brightwater Energy",
    "Corvid Motors",
             "Lumen Retail", "Sable Mining", "Tessera Software", "Orchard Bank", "Kestrel Airlines")
TEAMS = ("Rovers", "United", "City", "Athletic", "Wanderers", "Albion", "Rangers", "Harriers",
    "Dynamo", "Olympic")
TEAM_TOWNS = ("Ashford", "Belmont", "Carrow", "Denholm", "Eastleigh", "Fairhaven", "Glenmore", "Hartley")
PEOPLE = ("Maria Okafor", "James Lindqvist", "Priya Raman", "Tomasz Nowak", "Elena Duarte", "Kenji Sato",
          "Amira Haddad", "Lucas Moreau", "Grace Mwangi", "Daniel Weiss")
OTHER_TEMPLATES = {
    "business": (
        "{co} reported a {n} percent rise in quarterly revenue, beating analysts' forecasts.",
        "Shares in {co} fell {k} percent in early trading after the company cut its full-year outlook.",
        "{co} said it would cut about {n}00 jobs as part of a cost-saving plan announced {day}.",
        "The price war among budget carriers has squeezed margins across the sector, analysts said.",
        "{co} is fighting a battle for market share against larger rivals in Asia.",
        "Chief executive {person} told investors the company expected demand to recover next year.",
        "The central bank left interest rates unchanged at {k}.{d} percent, in line with expectations.",
        "{co} agreed to buy a smaller rival for {n} million dollars in cash and shares.",
        "Inflation eased to {k}.{d} percent last month, the statistics office said.",
        "Investors will watch the retail sales figures due on Thursday for signs of a slowdown.",
        "The company said it had no plans to raise prices before the end of the year.",
        "Analysts at several brokers raised their price targets on the stock after the results.",
        "{co}'s board approved a dividend of {k} cents a share, payable next month.",
        "Trading volumes were thin ahead of the holiday weekend, dealers said.",
    ),
    "sport": (
        "{town} {team} captured the title with a {k}-{m} win over {town2} {team2} {day}.",
        "{person} scored twice as {town} {team} came from behind to beat {town2} {team2}.",
        "The visitors' relentless attack killed off the game before half-time.",
        "{town2} {team2} have now gone {n} matches without a win, their worst run in a decade.",
        "Manager {person} said his side had shown great character after a difficult week.",
        "The crowd of {n},000 was the largest at the stadium this season.",
        "{person} was taken off with a hamstring injury and will miss the next {k} games.",
        "The defending champions were bombarded with shots in the second half but held on.",
        "{town} {team} sit {k} points clear at the top of the table with {m} games to play.",
        "The club confirmed that {person} had signed a new three-year contract.",
        "Ticket prices for next season will rise by {k} percent, the club said.",
        "Rain delayed the start of play by more than an hour.",
    ),
    "science": (
        "Researchers at the University of {town} found that the treatment reduced symptoms in {n} percent of "
        "patients.",
        "The study, published in a peer-reviewed journal, followed {n},000 adults for {k} years.",
        "{person}, who led the research, said larger trials were needed before any firm conclusions.",
        "The telescope captured images of a galaxy more than {k} billion light years away.",
        "Scientists said the findings could help explain why some crops fail in drought years.",
        "The team used satellite data to map glacier loss across {n} mountain ranges.",
        "The space agency said the probe would enter orbit in {k} months.",
        "Funding for the project came from a consortium of universities and charities.",
        "The researchers cautioned that the sample was small and mostly drawn from one region.",
        "Engineers tested the new battery design through {n}00 charging cycles.",
        "The virus attacks the plant's roots, leaving it unable to absorb water, the authors wrote.",
        "Previous studies had produced mixed results on the effect of the diet.",
    ),
}
FILLER = (
    "Officials said further details would be released later in the week.",
    "The announcement followed weeks of speculation in local media.",
    "Critics said the decision had been taken without proper consultation.",
    "A spokesperson declined to comment further, citing ongoing discussions.",
    "Similar measures were introduced in neighbouring countries last year with mixed results.",
    "The figures are provisional and may be revised, the office said.",
    "Observers expect the issue to dominate the agenda at next month's meeting.",
    "The report was based on interviews with more than {n} people.",
    "It was the {ord} such announcement this year.",
    "Local newspapers carried the story on their front pages.",
    "The government has said it will publish a full review in the spring.",
    "Opposition politicians called for an inquiry into how the decision was reached.",
)
ORDINALS = ("second", "third", "fourth", "fifth", "sixth")
CONFLICT_HEADLINES = ("{a_cap} claim capture of {p}", "Shelling kills {n} in {p}, officials say",
                      "Fighting rages around {p} as {b} hold line", "{p}: dozens flee as assault intensifies",
                      "Ceasefire talks stall as {country} clashes spread to {p}")
OTHER_HEADLINES = {"business": ("{co} results beat forecasts", "{co} to cut jobs",
    "Markets steady ahead of data"),
                   "sport": ("{town} {team} clinch title", "{person} double sinks {town2}",
                       "{team2} slump goes on"),
                   "science": ("Study finds treatment helps {n} percent", "Telescope captures distant galaxy",
                               "Glacier loss mapped from space")}
CAPTIONS = ("Smoke rises over the town after shelling. (Photo: staff photographer)",
            "People queue for bread in the city centre. Photo: agency pool",
            "A file photo of the company's headquarters.")
LEADINS = ("This story was first published by {src}.", "{src} — Republished with permission.",
           "Editor's note: this report comes from our partner {src}.")
FOOTERS = ("Sign up for our daily briefing to get the day's top stories in your inbox every morning.",
           "Get the latest headlines delivered to your inbox. Subscribe to our newsletter today.",
           "Reporting by staff; editing by the news desk. Follow us for more updates.")

# A small grammar for the event-free sentences that make up most of any story: enough
# combinations that two unrelated stories share few word 3-grams (so dedup sees them as
# different stories, as it would real ones), while templates above carry the events.
SUBJECTS = {
    "business": ("the company", "{co}", "analysts at several banks", "the finance ministry", "shareholders",
                 "the regulator", "{person}, the chief financial officer,", "the trade union", "suppliers"),
    "sport": ("the coach", "{person}", "the home side", "the league", "supporters", "the club's owners",
              "the governing body", "the captain", "the visiting manager"),
    "science": ("the researchers", "{person}", "the journal's editors", "the space agency", "the authors",
                "independent experts", "the university", "the funding council", "the lead engineer"),
    "conflict": ("residents", "aid agencies", "the UN envoy", "local officials", "the mayor of {p}",
                 "doctors in {p}", "teachers", "the Red Cross", "families who fled {p}"),
}
VERBS = ("warned about", "pointed to", "raised concerns over", "discussed", "played down", "welcomed",
         "called for a review of", "asked for details of", "praised", "questioned", "complained about",
         "focused on", "looked again at", "defended", "said little about", "was briefed on")
OBJECTS = {
    "business": ("higher borrowing costs", "the pace of hiring", "a slowdown in consumer spending",
                 "the new factory in {town}", "supply chain delays", "the pension scheme", "energy prices",
                 "the planned share buyback", "online sales", "the cost of raw materials", "the merger talks",
                 "export orders"),
    "sport": ("the new stadium", "the transfer window", "the fixture list", "the youth academy",
              "the referee's decisions", "ticket prices", "the injury list", "the training ground",
              "the club's finances", "the pitch at {town}", "the cup draw", "the broadcasting deal"),
    "science": ("the next phase of trials", "funding for the lab", "the data from the pilot study",
                "the launch schedule", "the sensor design", "the sampling method", "the climate models",
                "the patient records", "the new microscope", "the field station in {town}",
                "the peer review process", "the open data rules"),
    "conflict": ("access for aid convoys", "the state of the roads", "the water supply", "winter shelters",
                 "fuel shortages", "the school timetable", "the reopening of the clinic",
                     "the price of bread",
                 "the registration of displaced families", "the bus service to {p}", "mobile phone coverage",
                 "the return of electricity"),
}
TAILS = ("", "", " this year", " in the coming months", " after the meeting {day}",
    " before the end of the quarter",
         " in {town}", " for the second time", " despite the weather", " since the summer")
ENDINGS = ("", "", "", ", {person} said", ", according to a statement", ", a spokesperson said",
           ", people familiar with the matter said", ", the local paper reported")


@dataclass
class Item:
    """One feed item as it appears in a snapshot."""

    index: int
    kind: str
    topic: str  # conflict / business / sport / science
    outlet: str
    guid: str
    link: str
    title: str
    paragraphs: list[str]
    published: datetime
    of: int | None = None  # the original this copies, updates or repeats
    caption: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


class _Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def fill(self, template: str, ctx: dict[str, str]) -> str:
        r = self.r
        n, m = r.randint(3, 60), r.randint(61, 140)
        vals = {
            "n": str(n), "m": str(m), "k": str(r.randint(2, 9)), "d": str(r.randint(1, 9)),
            "nw": r.choice(NUM_WORDS),
            "day": r.choice(DAYS), "hedge": r.choice(HEDGE), "ord": r.choice(ORDINALS),
            "co": r.choice(COMPANIES), "person": r.choice(PEOPLE), "team": r.choice(TEAMS),
            "team2": r.choice(TEAMS), "town": r.choice(TEAM_TOWNS), "town2": r.choice(TEAM_TOWNS),
        }
        vals.update(ctx)
        if "{attrib}" in template:
            vals["attrib"] = r.choice(ATTRIB).format(src=r.choice((ctx["a_src"], ctx["b_src"])))
        out = template.format(**vals)
        return out[0].upper() + out[1:]

    def conflict_ctx(self) -> dict[str, str]:
        c = self.r.choice(CONFLICTS)
        p, p2 = self.r.sample(c["places"], 2)
        a, b = self.r.choice(c["a"]), self.r.choice(c["b"])
        return {"country": str(c["country"]), "capital": str(c["capital"]), "p": p, "p2": p2, "a": a, "b": b,
                "a_cap": a[0].upper() + a[1:], "a_src": self.r.choice(c["a_src"]),
                "b_src": self.r.choice(c["b_src"])}

    def other_ctx(self) -> dict[str, str]:
        return {"co": self.r.choice(COMPANIES), "person": self.r.choice(PEOPLE),
                "town": self.r.choice(TEAM_TOWNS), "team": self.r.choice(TEAMS),
                "town2": self.r.choice(TEAM_TOWNS), "team2": self.r.choice(TEAMS)}

    def plain(self, topic: str, ctx: dict[str, str]) -> str:
        r = self.r
        text = (f"{r.choice(SUBJECTS[topic])} {r.choice(VERBS)} {r.choice(OBJECTS[topic])}"
                f"{r.choice(TAILS)}{r.choice(ENDINGS)}.")
        return self.fill(text, ctx)

    def sentence(self, topic: str, ctx: dict[str, str], event_share: float, used: set[str]) -> str:
        r = self.r
        roll = r.random()
        if topic == "conflict":
            if roll < event_share:
                pool: tuple[str, ...] = CLAIM_TEMPLATES
            elif roll < event_share + 0.06:
                pool = DENIAL_TEMPLATES
            elif roll < event_share + 0.25:
                pool = CONFLICT_CONTEXT
            else:
                return self.plain(topic, ctx)
        elif roll < 0.3:
            pool = OTHER_TEMPLATES[topic]
        elif roll < 0.4:
            pool = FILLER
        else:
            return self.plain(topic, ctx)
        fresh = [t for t in pool if t not in used]  # a story does not repeat itself
        if not fresh:
            return self.plain(topic, ctx)
        t = r.choice(fresh)
        used.add(t)
        return self.fill(t, ctx)

    def body(self, topic: str, ctx: dict[str, str], outlet_name: str) -> list[str]:
        r = self.r
        target = r.randint(400, 900)
        paras: list[str] = []
        used: set[str] = set()
        words = 0
        if topic == "conflict":
            lead = f"{ctx['capital']} ({outlet_name}) - " + self.fill(r.choice(CLAIM_TEMPLATES), ctx)
        else:
            lead = self.sentence(topic, ctx, 0.0, used)
        paras.append(lead)
        words += len(lead.split())
        while words < target:
            para = " ".join(self.sentence(topic, ctx, 0.2, used) for _ in range(r.randint(1, 3)))
            paras.append(para)
            words += len(para.split())
        return paras

    def headline(self, topic: str, ctx: dict[str, str]) -> str:
        pool = CONFLICT_HEADLINES if topic == "conflict" else OTHER_HEADLINES[topic]
        return self.fill(self.r.choice(pool), ctx)


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:60]


def build(n: int = 600, seed: int = 20260302, start: datetime = T0, step: float = 20.0) -> list[Item]:
    """``n`` items in publication order, one every ``step`` seconds from ``start``.

    The text depends only on ``n`` and ``seed``; ``start`` moves dates and links only.
    """
    g = _Gen(seed)
    r = g.r
    items: list[Item] = []
    originals: list[tuple[Item, dict[str, str]]] = []
    for i in range(n):
        kind = "original" if len(originals) < 3 else r.choices(KINDS, KIND_WEIGHTS)[0]
        published = start + timedelta(seconds=step * i)
        if kind == "original":
            topic = "conflict" if r.random() < CONFLICT_SHARE else r.choice(("business", "sport", "science"))
            ctx = g.conflict_ctx() if topic == "conflict" else g.other_ctx()
            oid, oname = r.choice(OUTLETS)
            title = g.headline(topic, ctx)
            link = f"https://{oid}.example/news/{published:%Y/%m/%d}/{_slug(title)}-{i}"
            item = Item(i, kind, topic, oid, f"{oid}-{i}", link, title, g.body(topic, ctx, oname), published)
            originals.append((item, ctx))
            items.append(item)
            continue
        # Copies favour recent stories, as syndication and re-polls do.
        base, ctx = originals[max(0, len(originals) - 1 - int(r.expovariate(1 / 8)))]
        if kind == "repoll":
            items.append(replace(base, index=i, kind=kind, of=base.index, paragraphs=list(base.paragraphs)))
        elif kind == "syndicated":
            oid, oname = r.choice([o for o in OUTLETS if o[0] != base.outlet])
            src = dict(OUTLETS)[base.outlet]
            paras = list(base.paragraphs)
            if r.random() < 0.3:
                paras = paras[:r.randint(4, max(4, len(paras) - 2))]  # cut to fit the page
            paras = [g.fill(r.choice(LEADINS), {"src": src}), *paras, r.choice(FOOTERS)]
            title = g.headline(base.topic, ctx)
            link = f"https://{oid}.example/world/{published:%Y/%m/%d}/{_slug(title)}-{i}"
            items.append(Item(i, kind, base.topic, oid, f"{oid}-{i}", link, title, paras, published,
                              of=base.index, caption=r.choice(CAPTIONS)))
        else:  # update: new paragraphs near the top, new URL, same outlet
            paras = list(base.paragraphs)
            for _ in range(r.randint(2, 4)):
                paras.insert(r.randint(1, min(4, len(paras))), g.sentence(base.topic, ctx, 0.7, set()))
            title = "UPDATE: " + base.title
            link = base.link + f"-update-{i}"
            items.append(Item(i, kind, base.topic, base.outlet, f"{base.outlet}-{i}", link, title, paras,
                              published, of=base.index))
    return items


def rss(items: list[Item], outlet: str) -> bytes:
    name = dict(OUTLETS).get(outlet, outlet)
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
             f"<channel><title>{html.escape(name)}</title><link>https://{outlet}.example/</link>"
             f"<description>{html.escape(name)} news</description><language>en</language>"]
    for it in sorted(items, key=lambda x: x.published, reverse=True):  # newest first, as feeds are
        body = "".join(f"<p>{html.escape(p)}</p>" for p in it.paragraphs)
        if it.caption:  # captions sit in <figure>, which the parser drops
            body = (f"<figure><img src=\"https://{outlet}.example/i/{it.index}.jpg\"/>"
                    f"<figcaption>{html.escape(it.caption)}</figcaption></figure>" + body)
        parts.append(
            f"<item><title>{html.escape(it.title)}</title><link>{html.escape(it.link)}</link>"
            f"<guid isPermaLink=\"false\">{html.escape(it.guid)}</guid>"
            f"<pubDate>{format_datetime(it.published)}</pubDate>"
            f"<description>{html.escape(it.paragraphs[0][:300])}</description>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode()


def write_feeds(items: list[Item], out: Path, per_file: int = 25, prefix: str = "") -> list[Path]:
    """One RSS file per (outlet, snapshot); a re-poll lands in a later snapshot than its original."""
    out.mkdir(parents=True, exist_ok=True)
    by_outlet: dict[str, list[Item]] = {}
    for it in items:
        by_outlet.setdefault(it.outlet, []).append(it)
    paths: list[Path] = []
    for outlet, its in sorted(by_outlet.items()):
        chunks: list[list[Item]] = [[]]
        for it in its:
            # A feed never lists one guid twice: a re-poll starts the next snapshot.
            if len(chunks[-1]) >= per_file or any(x.guid == it.guid for x in chunks[-1]):
                chunks.append([])
            chunks[-1].append(it)
        for k, chunk in enumerate(chunks):
            path = out / f"{prefix}{outlet}-{k:03d}.xml"
            path.write_bytes(rss(chunk, outlet))
            paths.append(path)
    return paths


def mix(items: list[Item]) -> dict[str, int]:
    counts = {k: 0 for k in KINDS}
    for it in items:
        counts[it.kind] += 1
    counts["conflict_originals"] = sum(1 for it in items if it.kind == "original" and it.topic == "conflict")
    counts["words"] = sum(it.words for it in items)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--stories", type=int, default=600)
    ap.add_argument("--seed", type=int, default=20260302)
    a = ap.parse_args()
    items = build(a.stories, a.seed)
    paths = write_feeds(items, a.out)
    print(f"{len(items)} items in {len(paths)} feed files under {a.out}: {mix(items)}")


if __name__ == "__main__":
    main()
