"""Event factuality: does the sentence commit its speaker to the event its trigger names?

A trigger word is not yet a claim.  Published work on event factuality (FactBank, Saurí
and Pustejovsky 2009; TimeML's subordination links) shows that most negations in news
are not denials: they negate an outcome or a detail of an event the text takes as given
("the bomb did not explode", "no one was hurt"), a perception ("did not hear a shot"), an
expectation ("casualties were not expected") or a cause ("injuries were not caused by
gunfire").  A denial is a speaker negating what another asserts: a denial verb over the
event, or a named speaker negating the event's own predicate ("X has not fallen").

`uncommitted` names the phenomenon that keeps a trigger from being a claim, or returns
None; the extractor then drops the trigger.  Each rule is one phenomenon, and its words
are lists in ``data/lexicon/factuality.yaml``.
"""

from __future__ import annotations

from spacy.tokens import Token

from ... import lexicon
from .attribution import Attribution, is_negated, negated_predicate, negative_quantifier

PERCEPTION = lexicon.words("perception_verbs")
EXPECTATION = lexicon.words("expectation_verbs")
COUNTERFACTUAL = lexicon.words("counterfactual_adverbs")
OUTCOME = lexicon.words("outcome_verbs")
RETRACTION = lexicon.words("retraction_adverbs")
CAUSE_PREPS = lexicon.words("cause_preps")
INSTRUMENTS = lexicon.words("instrument_nouns")

# Deps by which an event word is the content of the verb above it ('expected attacks',
# 'attacks were not expected', 'expect to be attacked', 'fear that they will attack').
_CONTENT_DEPS = frozenset({"dobj", "nsubjpass", "xcomp", "ccomp", "attr", "oprd"})


def _clause_chain(tok: Token, reporting: frozenset[str]) -> list[tuple[Token, Token]]:
    """(child, head) pairs from the trigger up to, not including, the reporting verb."""
    chain: list[tuple[Token, Token]] = []
    child = tok
    for head in tok.ancestors:
        if head.lemma_ in reporting and head.pos_ in ("VERB", "AUX"):
            break
        chain.append((child, head))
        child = head
    return chain


def _negated_verb(t: Token) -> bool:
    return any(c.dep_ == "neg" for c in t.children)


def uncommitted(tok: Token, category: str, att: Attribution, speaker: str | None,
                reporting: frozenset[str]) -> str | None:
    """The phenomenon that keeps ``tok`` from being a claim of its sentence, or None.

    ``speaker`` is the claim's final speaker (after quotes and pronouns are resolved);
    ``att`` the reporting frame around the trigger.
    """
    if att.verb is not None and any(c.dep_ == "advmod" and c.lower_ in RETRACTION for c in att.verb.children):
        return "retracted_report"  # 'officials initially reported that a deputy was shot'
    chain = _clause_chain(tok, reporting)
    for child, head in chain:
        lemma = head.lemma_.lower()
        if lemma in EXPECTATION and child.dep_ in _CONTENT_DEPS:
            return "expectation"  # 'high casualties were not expected'
        if lemma in PERCEPTION and _negated_verb(head):
            return "negated_perception"  # 'said he did not hear a gunshot'
        if child.dep_ == "pobj" and head.dep_ in ("agent", "prep") and head.lower_ in CAUSE_PREPS \
                and _negated_verb(head.head) and head.head.lemma_.lower() not in OUTCOME:
            return "negated_cause"  # 'injuries were not caused by gunfire'
    if tok.pos_ in ("VERB", "AUX") and any(c.dep_ == "advmod" and c.lower_ in COUNTERFACTUAL
                                           for c in tok.children):
        return "counterfactual"  # 'two were nearly killed'
    if is_negated(tok) and not att.denied:
        pred = negated_predicate(tok) or tok
        # 'no one was hurt', 'no shots were fired': a participant quantified away is a detail of
        # an event the story reports, not a speaker negating it
        quantified = pred.pos_ in ("VERB", "AUX") and not any(c.dep_ == "neg" for c in pred.children)
        if quantified or ((category == "casualties" or pred.lemma_.lower() in OUTCOME) and not _agentive(pred)):
            return "negated_outcome"  # 'the bomb did not explode', 'civilians were not hurt'
        if not speaker:
            return "negation_without_denier"  # the outlet's own 'there was no fighting'
    return None


def _agentive(verb: Token) -> bool:
    """The negated verb has someone as its doer: 'its forces had not killed civilians' is a denial
    by an agent; 'no one was hurt' (passive) and 'the bomb did not explode' (a weapon) are not."""
    if any(c.dep_ == "agent" for c in verb.children):
        return True
    return any(c.dep_ == "nsubj" and not negative_quantifier(c) and c.lemma_.lower() not in INSTRUMENTS
               for c in verb.children)
