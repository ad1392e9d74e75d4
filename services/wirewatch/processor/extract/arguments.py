"""A claim's arguments from the parse: who acted (its actor), on what (its target), and when.

The actor is the trigger's subject or agent ('rebels took X', 'taken by rebels'), or the
holder a place fell to; the target its object or the object of a preposition ('attacks on
X').  The time is the time expression nearest the trigger in the parse, never one that
dates the statement reporting it ('the United Nations said last week').
"""

from __future__ import annotations

import re

from spacy.tokens import Doc, Span, Token

from ... import lexicon
from .timeexpr import TimeExpr

_ACTOR_MODIFIERS = lexicon.words("actor_modifiers")  # 'a rebel attack'

def event_time(doc: Doc, tok: Token, times: list[TimeExpr], reporting: frozenset[str]) -> TimeExpr | None:
    """The time expression that dates the trigger's event: the nearest in the parse, not one that
    dates the statement reporting it."""
    best: tuple[int, TimeExpr] | None = None
    for t in times:
        span = doc.char_span(t.start, t.end, alignment_mode="expand")
        if span is None:
            continue
        root = span.root
        # 'the United Nations said last week', 'on Wednesday denied that X had fallen': it dates
        # the statement, not the event it reports or denies (which may be days older).  An event
        # noun the statement names ('announced the capture of X on Monday') shares its day.
        verb = next((a for a in root.ancestors if a.pos_ in ("VERB", "AUX")), None)
        if verb is not None and verb != tok and verb.lemma_ in reporting and (
                verb.lemma_ in ("say", "tell") or not (tok.head == verb and tok.dep_ == "dobj")):
            continue
        score = 0 if tok.is_ancestor(root) else abs(root.i - tok.i) + 1
        if best is None or score < best[0]:
            best = (score, t)
    return best[1] if best else None


def _np_text(t: Token) -> str:
    keep = {t.i}
    for c in t.children:
        if c.dep_ in ("compound", "amod", "det", "poss", "nummod", "nmod") or (
                c.dep_ == "prep" and c.lower_ in ("of", "for")):
            keep |= {x.i for x in c.subtree}
    span: Span = t.doc[min(keep):max(keep) + 1]
    text = span.text
    return re.sub(r"^(?:the|The|a|A|an|An)[ ]", "", text)


def actor(tok: Token) -> str | None:
    if tok.pos_ in ("VERB", "AUX") and tok.lemma_ == "fall":
        # 'X has fallen to Y forces': the holder is Y, X is what changed hands
        return next((_np_text(x) for c in tok.children if c.dep_ == "prep" and c.lower_ == "to"
                     for x in c.children if x.dep_ == "pobj"), None)
    if tok.pos_ in ("VERB", "AUX"):
        for c in tok.children:
            if c.dep_ == "nsubj":
                if c.lower_ in ("which", "who", "that") and tok.dep_ == "relcl":
                    return _np_text(tok.head)
                return _np_text(c)
            if c.dep_ == "agent":
                objs = [x for x in c.children if x.dep_ == "pobj"]
                if objs:
                    return _np_text(objs[0])
        if tok.dep_ in ("xcomp", "conj", "advcl") and tok.head != tok:
            return actor(tok.head)
        return None
    for c in tok.children:
        if c.dep_ == "poss" or (c.dep_ in ("amod", "compound") and c.ent_type_ in ("NORP", "ORG", "GPE")):
            return _np_text(c)
        if c.dep_ in ("amod", "compound", "nmod") and c.lemma_.lower() in _ACTOR_MODIFIERS:
            return c.text
        if c.dep_ == "prep" and c.lower_ == "by":
            objs = [x for x in c.children if x.dep_ == "pobj"]
            if objs:
                return _np_text(objs[0])
    return None


def target(tok: Token) -> str | None:
    for c in tok.children:
        if c.dep_ in ("dobj", "nsubjpass") or (c.dep_ == "nsubj" and tok.lemma_ == "fall"):
            if c.lower_ in ("which", "that", "who") and tok.dep_ == "relcl":
                return _np_text(tok.head)
            return _np_text(c)
    if tok.pos_ == "NOUN":
        preps: tuple[str, ...] = ("of", "on", "against", "at", "into")
    else:
        preps = ("on", "against", "at", "into", "from")
    for c in tok.children:
        if c.dep_ == "prep" and c.lower_ in preps:
            objs = [x for x in c.children if x.dep_ == "pobj" and x.ent_type_ not in ("DATE", "TIME")]
            if objs:
                return _np_text(objs[0])
    return None

