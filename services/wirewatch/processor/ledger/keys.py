"""Ledger keys and place names: which claims meet, and which of them are about one place.

Every claim about one place meets every other claim about that place under one ledger
key (`ledger_key`), which is also the Kafka key of the claims topic, so one worker sees
them all.  The key is the first word of the place's name, not category + place: a denial
of fighting in a village conflicts with a report of the army advancing into it (two
categories), and 'South Kivu', 'North and South Kivu' or a name cut short ('Abu' for 'Abu
Shouk') must meet too.  Within a key, `places_meet` keeps claims about different places
apart, and `named_in` says whether a sentence is about the place itself.
"""

from __future__ import annotations

import re
import unicodedata

from ... import lexicon
from ...models import MAX_LEDGER_KEY_CHARS, Claim

# 'the', or the Arabic article joined by a hyphen ('al-Sakhour', 'ash-Shaddadi')
_ARTICLE = re.compile(rf"(?:^|(?<=[\s-]))(?:the\s+|{lexicon.pattern('arabic_articles')}-)", re.I)
# The Arabic article written as a word of its own ('El Fasher', 'Al Bab'): without it, every
# such place met under one ledger key ('place:el') and spellings with and without it apart.
_ARTICLE_WORDS = lexicon.words("arabic_articles")
_OF = re.compile(rf"^{lexicon.pattern('place_kind_nouns')}\s+of\s+", re.I)
_GENERIC = re.compile(rf"\s+{lexicon.pattern('place_head_nouns')}$", re.I)
_LIST_SPLIT = re.compile(r",|;|/|\||\+|\s+and\s+|\s+&\s+", re.I)
# 'eastern Aleppo' is written 'aleppo east', as the extractor's place keys write it ('aleppo:east'),
# and a bare direction too: 'South Kivu' is written 'kivu south', like 'southern Kivu'.
_DIRECTION = lexicon.mapping("directions")
_DIRECTION_KEYS = frozenset(_DIRECTION.values())
# A name that extends another by one of these is a different, smaller place ('Goma airport' is
# not 'Goma'); by anything else it is the same place written in full ('Abu' for 'Abu Shouk').
_SUBPLACE = lexicon.words("subplace_nouns")
# 'Aleppo province' is not the city of Aleppo (the extractor keeps the area's noun only where a
# city shares its name): like a part, a name extended by one is a place of its own.
_OTHER_PLACE = _SUBPLACE | (lexicon.words("admin_area_nouns") - {"district"})


def _clean(text: str) -> str:
    s = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in s if not unicodedata.combining(ch)).replace("\u2019", "'").casefold()


def _one_place(part: str) -> str:
    prev = None
    while prev != part:
        prev = part
        part = _ARTICLE.sub("", part)
        part = _OF.sub("", part)
        part = _GENERIC.sub("", part).strip()
    words = [w.replace("'", "") for w in re.findall(r"[\w']+", part.replace(":", " ").replace("-", " "))]
    words = [w for w in words if w]
    if len(words) > 1 and words[0] in _DIRECTION:
        words = [*words[1:], _DIRECTION[words[0]]]
    while len(words) > 1 and words[0] in _ARTICLE_WORDS:
        words = words[1:]
    if len(words) > 2 and words[0] in _SUBPLACE and words[1] == "of":
        words = [*words[2:], words[0]]  # 'the airport of Hodeidah' is 'Hodeidah airport'
    return " ".join(words)


def place_names(text: str) -> list[str]:
    """Every place a location names, normalised: 'North and South Kivu' -> ['kivu north', 'kivu south'].

    A list member that is only a direction shares the name of the member after it.
    """
    parts = [p.strip() for p in _LIST_SPLIT.split(_clean(text)) if p.strip()]
    names: list[str] = []
    for i, part in enumerate(parts):
        if part in _DIRECTION and i + 1 < len(parts):
            tail = _one_place(parts[i + 1]).split()
            core = [w for w in tail if w not in _DIRECTION_KEYS]
            part = " ".join([part, *core]) if core else part
        name = _one_place(part)
        if name and name not in names:
            names.append(name)
    return names


def normalise_place(text: str) -> str:
    """'al-Sakhour neighbourhood' -> 'sakhour'; the first of several places ('A, B and C' -> 'a').

    Spelling variants that differ only by the Arabic article, a generic head noun,
    accents or hyphens meet; directions are kept ('eastern Aleppo' -> 'aleppo east'),
    since eastern and western Aleppo are different places for a toll.
    """
    names = place_names(text)
    return names[0] if names else ""


def _split(name: str) -> tuple[list[str], frozenset[str]]:
    words = name.split()
    return [w for w in words if w not in _DIRECTION_KEYS], frozenset(w for w in words if w in _DIRECTION_KEYS)


def head(name: str) -> str:
    """The first word of a place's name without directions: the ledger key ('kivu south' -> 'kivu')."""
    core, _dirs = _split(name)
    return core[0] if core else name.split()[0] if name else ""


def same_place(a: str, b: str) -> bool:
    """'abu shouk' ~ 'abu' (a name cut short), 'kivu south' !~ 'kivu north', 'goma' !~ 'goma airport'."""
    if a == b:
        return True
    (ca, da), (cb, db) = _split(a), _split(b)
    if da != db or not ca or not cb:
        return False
    short, long_ = (ca, cb) if len(ca) <= len(cb) else (cb, ca)
    return long_[: len(short)] == short and not (set(long_[len(short):]) & _OTHER_PLACE)


def places_meet(a: list[str], b: list[str]) -> bool:
    """Two claims are about one place when any of their places is the same (unknown: assume so)."""
    if not a or not b:
        return True
    return any(same_place(x, y) for x in a for y in b)


# 'it', 'there', 'the town': a reference back to a place named earlier
_BACK_REFERENCE = re.compile(
    rf"\b(?:{lexicon.pattern('place_pronouns')}|the\s+{lexicon.pattern('place_anaphor_nouns')})\b", re.I)


def named_in(sentence: str, places: list[str]) -> bool:
    """The sentence is about the place itself: names it, or refers back to it ('it', 'the town').

    Not when it names the place only as a part ('held out at X airport'), nor when it names
    neither the place nor anything that refers back (a place carried over from another
    sentence, while this one is about some other place).
    """
    words = [w.replace("'", "") for w in re.findall(r"[\w']+", _ARTICLE.sub(" ", _clean(sentence)).replace("-", " "))]
    words = [w[:-1] if w.endswith("s") and w[:-1] in _SUBPLACE else w for w in words]
    seen = False
    for name in places:
        core, _dirs = _split(name)
        n = len(core)
        for i in range(len(words) - n + 1):
            if words[i:i + n] == core:
                if i + n == len(words) or words[i + n] not in _SUBPLACE:
                    return True
                seen = True
        if n > 1 and core[-1] in _SUBPLACE:
            # a part named as such: 'the airport of Hodeidah', or 'the airport' of the story's city
            part = [core[-1], "of", *core[:-1]]
            if any(words[i:i + n + 1] == part for i in range(len(words) - n)) or core[-1] in words:
                return True
    return not seen and bool(_BACK_REFERENCE.search(sentence))


def claim_places(claim: Claim) -> list[str]:
    """The places a claim is about, the one it is filed under first."""
    names: list[str] = []
    first = place_of(claim)
    key = (claim.location_key or "").replace("-", " ").replace("+", ",")
    for n in [first, *place_names(claim.location or ""), *place_names(key)]:
        if n and n not in names:
            names.append(n)
    return names


def place_of(claim: Claim) -> str:
    """The one place a claim is filed under.

    The extractor's key (aliases resolved) when it names one place; for a list of
    places the first one *named*, since its key lists them sorted.
    """
    # the extractor's keys join words with '-' and list members with '+'
    key = (claim.location_key or "").replace("-", " ").replace("+", ",")
    if key and not _LIST_SPLIT.search(key):
        return normalise_place(key)
    if claim.location:
        return normalise_place(claim.location)
    return normalise_place(key) if key else ""


def ledger_key(claim: Claim) -> str:
    """The Kafka key of the claims topic and the store key: 'place:<head word of the place>'.

    Deliberately coarser than the place: 'North Kivu', 'South Kivu' and 'North and South
    Kivu' all file under 'place:kivu', 'Abu' (a name cut short) and 'Abu Shouk' under
    'place:abu', so that claims which may contradict always meet on one partition; within
    the key, `places_meet` decides which claims are really about the same place.

    A claim that names no place cannot conflict with anything in a place, so it gets a
    key of its own category ('noplace:attack') and only meets its own kind.
    """
    place = head(place_of(claim))
    # (cut: a place's name is a phrase of the story, and folding can lengthen it)
    return f"place:{place}"[:MAX_LEDGER_KEY_CHARS] if place else f"noplace:{claim.category}"


