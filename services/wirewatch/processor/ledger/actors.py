"""Who a phrase names: the camp of an armed conflict it belongs to, and its name words.

A camp is "insurgent", "state", or "state:<nation>" when the text names whose state forces
('Russian troops' -> "state:russian"), so that two states at war are two camps.  Named
groups are in no camp: which camp a named group is in is knowledge about one conflict, and
guessing it wrong would raise false control alerts.  A speaker's or an actor's name words
(`speaker_tokens`) tell two named sources apart.
"""

from __future__ import annotations

import re

from ... import lexicon

# A camp: "insurgent", "state", or "state:<nation>".
Side = str


def _capitalised(name: str) -> str:
    """A list's words as alternatives that match them capitalised ('national liberation' ->
    'National\\s+Liberation'), for a rule on proper names."""
    return "|".join(r"\s+".join(re.escape(w[:1].upper() + w[1:]) for w in entry.split())
                    for entry in sorted(lexicon.words(name), key=lambda e: (-len(e), e)))


# --------------------------------------------------------------------------- sides
_STATE = re.compile(rf"\b{lexicon.pattern('state_forces')}\b", re.I)
_INSURGENT = re.compile(rf"\b{lexicon.pattern('insurgent_forces')}\b", re.I)
_ANTI_STATE = re.compile(rf"\b{lexicon.pattern('anti_state_words')}\b", re.I)
# 'Free Syrian Army', or any '<Name> Army' in a sentence about rebels: a named group.
_NAMED_ARMY = re.compile(
    rf"\b(?:{_capitalised('armed_group_name_words')})(?:\s+[A-Z][\w'-]*)*\s+Army\b"
    r"|\b[A-Z][a-z]+\s+Army\b(?=.*\brebels?\b)"
)
# A nationality adjective ('Russian', 'Iraqi', 'Sudanese', 'Turkish', 'French'), not a
# country's possessive ("Sudan's").
_NATION = re.compile(rf"\b([A-Z][a-z]+{lexicon.pattern('nationality_suffixes')})\b(?!['\u2019]s)")
# 'Rapid Support Forces', 'Syrian Democratic Forces': a proper name ending in Forces that is
# more than a nation's armed forces ('Ukrainian Armed Forces').
_FORCES_NAME = re.compile(r"((?:\b[A-Z][\w-]*\s+){1,4})Forces\b")
_STATE_FORCES_WORDS = lexicon.words("state_forces_name_words")


def _named_forces(text: str) -> bool:
    for m in _FORCES_NAME.finditer(text):
        words = m.group(1).split()
        if any(w.lower() not in _STATE_FORCES_WORDS and not _NATION.fullmatch(w) for w in words):
            return True
    return False


def side_of(text: str | None, *, nation_alone: bool = False) -> Side | None:
    """Which camp a phrase names ('the army and its allies' -> state), or None if unclear.

    With ``nation_alone`` a bare nationality is that nation's state ('in Ukrainian
    hands', 'under Russian control').
    """
    if not text:
        return None
    if _ANTI_STATE.search(text):
        return "insurgent"
    if _NAMED_ARMY.search(text) or _named_forces(text):
        return None  # 'Free Syrian Army', 'Rapid Support Forces': a named group, camp unknown
    state = bool(_STATE.search(text))
    insurgent = bool(_INSURGENT.search(text))
    nation = _NATION.search(text)
    if not state and not insurgent and nation and (nation_alone or re.search(r"\bforces\b", text, re.I)):
        return f"state:{nation.group(1).lower()}"  # 'Ukrainian forces', 'in Russian hands'

    if state == insurgent:
        return None
    if insurgent:
        return "insurgent"
    return f"state:{nation.group(1).lower()}" if nation else "state"


def other(side: Side | None) -> Side | None:
    """The opposing camp, where there are only two: a named state's enemy is unknown."""
    if side == "state":
        return "insurgent"
    if side == "insurgent":
        return "state"
    return None


def same_camp(a: Side, b: Side) -> bool:
    """'state' is the same camp as 'state:syrian'; 'state:russian' is not 'state:ukrainian'."""
    base_a, _, nation_a = a.partition(":")
    base_b, _, nation_b = b.partition(":")
    return base_a == base_b and (not nation_a or not nation_b or nation_a == nation_b)


# --------------------------------------------------------------------------- names
_STOP = lexicon.words("name_stop_words")
_SPEAKER_CUT = re.compile(rf",|\b{lexicon.pattern('attribution_chain_words')}\b", re.I)


def name_words(phrase: str | None) -> tuple[str, ...]:
    """The content words of a name, in order ('the Syrian Observatory' -> syrian, observatory)."""
    return tuple(t for t in re.findall(r"[a-z0-9]+", (phrase or "").lower()) if t not in _STOP)


def speaker_tokens(attributed_to: str | None) -> tuple[str, ...]:
    """Content words of the speaker's name, without the 'citing ...'/'via ...' tail."""
    if not attributed_to:
        return ()
    head = _SPEAKER_CUT.split(attributed_to, maxsplit=1)[0]
    words = re.findall(r"[a-z0-9]+", head.lower())
    # 'the spokesman' is all stop words, but still someone other than the outlet
    return tuple(t for t in words if t not in _STOP) or tuple(words)
