"""Who a claim's speaker is, beyond the parse of its sentence.

:mod:`.attribution` finds the speaker the parse gives (the subject of a reporting verb,
'according to X').  Here: the source of a quote that a later '..., he said' closes in the
same paragraph; a pronoun resolved to the last person named; a surname expanded to its
first, full mention; a generic speaker ('the statement said', 'the alliance said')
resolved to the organisation named before; and the repair of a speaker the small parser
glued to the reported clause ('Rebels captured Goma, Congo's army said').
"""

from __future__ import annotations

import re

from spacy.tokens import Doc

from ... import lexicon
from .attribution import Attribution, is_pronoun
from .story import QUOTES, Sentence, Story

# '"...," he said', '"...," said the army': the source that closes a quote ('told X' too)
_TAIL_VERBS = lexicon.alternation("quote_tail_verbs")
_TAIL_SPEAKER = re.compile(
    rf"[\"”],?[ ](?:(?P<who1>he|she|they|[A-Z][^.,\"”]{{1,80}}?)[ ](?:{_TAIL_VERBS}|told\b[^.]*)|"
    rf"(?:{_TAIL_VERBS})[ ](?P<who2>[^.,\"”]{{2,80}}))"
)
# a document speaks for whoever issued it ('the statement said')
_STATEMENTS = lexicon.words("statement_nouns")
# speakers that only point back at one named before ('the alliance said')
GENERIC_SPEAKERS = _STATEMENTS | lexicon.words("generic_speaker_nouns")


def claim_speaker(st: Story, sent: Sentence, att: Attribution) -> str | None:
    """The claim's speaker, resolved against the story so far; a named one is remembered there."""
    speaker = att.speaker
    if speaker is None:
        speaker = quote_speaker(st, sent)
    if speaker is not None and is_pronoun(speaker.split(",")[0]) and st.persons:
        speaker = resolve_pronoun(st, speaker)
    elif speaker is not None:
        speaker = expand_surname(st, speaker)
        speaker = resolve_generic(st, speaker)
    if speaker and not is_pronoun(speaker) and speaker.lower() not in GENERIC_SPEAKERS:
        st.speakers.append(speaker)
    if att.speaker_is_person and speaker and not is_pronoun(speaker):
        st.persons.append(speaker)
    return speaker


def quote_speaker(st: Story, sent: Sentence) -> str | None:
    """Inside a quote that a later '..., he said' closes in the same paragraph."""
    pa, pb = st.paragraphs[sent.para]
    before = st.body[pa:sent.start]
    inside = (sum(before.count(q) for q in QUOTES) % 2 == 1
              or st.body[sent.start:sent.start + 1] in QUOTES)
    if not inside:
        return None
    m = _TAIL_SPEAKER.search(st.body, sent.start, pb)
    if not m:
        # '"X," he said. "Y."': the quote goes on after its attribution
        earlier = list(_TAIL_SPEAKER.finditer(st.body, pa, sent.start))
        if not earlier:
            return None
        m = earlier[-1]
    who = (m.group("who1") or m.group("who2") or "").strip()
    who = re.sub(r"^(?:the|The)[ ]", "", who)
    return who or None

def resolve_generic(st: Story, speaker: str) -> str:
    """'the alliance said', 'the statement said': the organisation named before ('CSP rebel alliance')."""
    low = speaker.lower()
    if low in _STATEMENTS:
        return st.speakers[-1] if st.speakers else speaker
    if low not in GENERIC_SPEAKERS and not (low.split()[-1] in GENERIC_SPEAKERS and low.islower()):
        return speaker
    head = low.split()[-1]
    for prev in reversed(st.speakers):
        words = prev.lower().split(",")[0].split()
        if head in words and prev.lower() != low:
            return prev
    return speaker

def resolve_pronoun(st: Story, speaker: str) -> str:
    head = speaker.split(",")[0].lower()
    if head in ("he", "she") and st.persons:
        return st.persons[-1]
    return speaker

def expand_surname(st: Story, speaker: str) -> str:
    """'Malahifji' said earlier as 'Zakaria Malahifji, head of ...': use the full first mention."""
    first = speaker.split(",")[0].strip()
    if " " in first:
        return speaker
    for p in st.persons:
        name = p.split(",")[0]
        if name != first and name.endswith(" " + first):
            return p
    return speaker


def repair_trailing_speaker(doc: Doc, reporting: frozenset[str]) -> None:
    """'Rebels captured Goma, Congo's army said': the small parser often glues the reported clause's
    last name to a possessive speaker after the comma ('Goma, Congo's army' as one subject, or
    'Goma' as a modifier of 'army'), leaving the verb without its object and the speaker with a
    place in it.  Give the name back to its verb, and the speaker its own head."""
    for v in doc:
        if v.pos_ != "VERB" or v.dep_ != "ccomp" or v.head.lemma_ not in reporting or any(
                c.dep_ in ("dobj", "nsubjpass", "attr", "prep") for c in v.children):
            continue
        end = v.i + 1
        while end < len(doc) and doc[end].pos_ == "PROPN" and doc[end].ent_type_ not in ("DATE", "TIME"):
            end += 1
        if end == v.i + 1 or end >= len(doc) or doc[end].text != ",":
            continue
        name = doc[end - 1]
        subj = next((c for c in v.head.children if c.dep_ == "nsubj" and c.i >= name.i), None)
        if subj is None or not (name == subj or subj.is_ancestor(name)) or name.head.i < name.i:
            continue
        if name == subj:
            appos = next((c for c in name.children if c.dep_ == "appos"), None)
            if appos is None:
                continue
            appos.head, appos.dep_ = v.head, "nsubj"
        name.head, name.dep_ = v, "dobj"
        for t in doc[v.i + 1:end - 1]:
            t.head, t.dep_ = name, "compound"

