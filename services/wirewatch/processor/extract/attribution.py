"""Who says so: the speaker of reported speech, denials and negation, on a parsed sentence.

The speaker is the subject of the nearest reporting verb that governs the trigger
('the Observatory said the army had taken X'), the object of 'according to', or the
source of a quote that a later 'he said' closes.  A governing denial verb ('denied
that', 'rejected reports that') makes the claim ``denied``; so does negating the
trigger itself ('has not fallen', 'had not carried out any strikes').
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token

from ... import lexicon

SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "csubj"})
_DROP_CHILDREN = frozenset({"appos", "relcl", "punct", "advcl", "parataxis", "cc", "conj"})
_PRONOUNS = lexicon.words("speaker_pronouns")
_ONGOING = lexicon.words("ongoing_words")  # 'the battle was not over'
_HEARSAY = lexicon.words("hearsay_adverbs")  # 'reportedly'
_ESTIMATE_VERBS = lexicon.words("estimate_verbs")  # 'put the number of dead at 12'
_ESTIMATE_NOUNS = lexicon.words("estimate_nouns")
_CAUSE_PREPS = lexicon.words("cause_preps")
_NEG_DETERMINERS = lexicon.words("negative_determiners")
_NEG_PRONOUNS = lexicon.words("negative_pronouns")
_CIRCUMSTANCE_PREPS = lexicon.words("circumstance_preps")


@dataclass(frozen=True)
class Attribution:
    speaker: str | None = None
    speaker_is_person: bool = False
    verb: Token | None = None
    denied: bool = False
    reported: bool = False
    speaker_span: tuple[int, int] | None = None  # character offsets into the sentence doc


def _subject(verb: Token) -> Token | None:
    """The verb's subject; with two (a misparse of 'X killed Y, officials said'), the one nearest the verb."""
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "csubj")]
    if subjects:
        return min(subjects, key=lambda c: abs(c.i - verb.i))
    # 'X said ... and added that ...': a conjoined verb shares its head's subject
    if verb.dep_ == "conj" and verb.head != verb:
        return _subject(verb.head)
    return None


def _np_span(head: Token, keep_appos: bool) -> Span:
    """The noun phrase of ``head`` without relative clauses, appositions or what follows a comma."""
    keep: set[int] = {head.i}
    stack = [c for c in head.children if c.dep_ not in _DROP_CHILDREN]
    while stack:
        t = stack.pop()
        keep |= {x.i for x in t.subtree}
    lo, hi = min(keep), max(keep)
    span = head.doc[lo:hi + 1]
    if keep_appos:
        for c in head.children:
            if c.dep_ == "appos":
                # 'Saleh Muslim, joint head of the PYD party' -- up to the next comma
                end = c.right_edge.i
                for x in head.doc[c.i:c.right_edge.i + 1]:
                    if x.text in (",", ";", "(", "-", "—"):
                        end = x.i - 1
                        break
                span = head.doc[lo:max(hi, end) + 1]
                break
    return span


def _clean(span: Span) -> str:
    text = span.text.strip(" ,\"'“”")
    for det in ("The ", "the "):
        if text.startswith(det):
            text = text[len(det):]
    return text


def speaker_of(verb: Token) -> tuple[str | None, bool, tuple[int, int] | None]:
    """Text of the subject of a reporting verb, whether it is a person, and its character span."""
    if verb.lemma_ == "quote":
        # 'X quoted a source as saying': the quoted source speaks
        for c in verb.children:
            if c.dep_ == "dobj":
                span = _np_span(c, keep_appos=False)
                return _clean(span), c.ent_type_ == "PERSON", (span.start_char, span.end_char)
    subj = _subject(verb)
    if subj is None:
        # 'was confirmed by a military spokesman': the agent of a passive reporting verb
        agent = next((c for c in verb.children if c.dep_ == "agent"), None)
        subj = next((c for c in agent.children if c.dep_ == "pobj"), None) if agent is not None else None
    if subj is None:
        return None, False, None
    is_person = subj.ent_type_ == "PERSON" or (subj.pos_ == "PRON" and subj.lower_ in ("he", "she")) or (
        subj.pos_ == "PROPN" and subj.ent_type_ in ("", "PERSON") and subj.text[:1].isupper()) or any(
        c.dep_ == "appos" and c.ent_type_ == "PERSON" for c in subj.children)  # 'the commander, Ahmed X'
    span = _np_span(subj, keep_appos=is_person)
    text = _clean(span)
    # 'Citing a military source, Syrian state TV said ...'
    for c in verb.children:
        if c.lower_ == "citing" or (c.dep_ == "advcl" and c.lemma_ == "cite"):
            obj = next((x for x in c.children if x.dep_ == "dobj"), None)
            if obj is not None:
                text = f"{text}, citing {_np_span(obj, keep_appos=False).text}"
    return text, is_person, (span.start_char, span.end_char)


def _according_to(doc: Doc | Span) -> tuple[str, tuple[int, int]] | None:
    for t in doc:
        if t.lower_ == "according" and t.i + 1 < len(t.doc) and t.doc[t.i + 1].lower_ == "to":
            to = t.doc[t.i + 1]
            obj = next((c for c in to.children if c.dep_ == "pobj"), None)
            if obj is None and to.i + 1 < len(t.doc):
                obj = t.doc[to.i + 1]
            if obj is not None:
                span = _np_span(obj, keep_appos=False)
                return _clean(span), (span.start_char, span.end_char)
    return None


def _puts_a_figure(verb: Token) -> bool:
    """'Local doctors put the number of dead at 12': an estimate, so its subject is the source."""
    return verb.lemma_ in _ESTIMATE_VERBS and any(
        c.dep_ == "dobj" and c.lemma_ in _ESTIMATE_NOUNS for c in verb.children)


def negative_quantifier(t: Token) -> bool:
    """'nobody', 'none', 'no one', 'no children' (not 'no fewer than ten children')."""
    if t.lower_ in _NEG_PRONOUNS:
        return True
    return any(c.dep_ == "det" and c.lower_ in _NEG_DETERMINERS for c in t.children) and not any(
        c.dep_ == "nummod" for c in t.children)


def negated_predicate(tok: Token) -> Token | None:
    """The word that carries the negation of ``tok``'s event, if it is negated: the trigger itself,
    or the verb it is an argument of ('the bomb did not EXPLODE')."""
    if any(c.dep_ == "neg" for c in tok.children):
        return tok
    if tok.pos_ in ("VERB", "AUX") and any(
            c.dep_ in ("nsubj", "nsubjpass", "dobj") and negative_quantifier(c) for c in tok.children):
        return tok  # 'no one was hurt', 'nobody was killed'
    if tok.pos_ in ("NOUN", "PROPN") and tok.dep_ in ("nsubj", "nsubjpass", "dobj", "attr") and tok.head != tok \
            and any(c.dep_ == "neg" for c in tok.head.children):
        return tok.head
    return None


def is_negated(tok: Token) -> bool:
    """The event word itself is negated: 'has not fallen', 'no clashes', 'had not carried out any strikes'."""
    if any(c.dep_ == "neg" for c in tok.children):
        return True
    if tok.pos_ in ("VERB", "AUX") and any(
            c.dep_ in ("nsubj", "nsubjpass", "dobj") and negative_quantifier(c) for c in tok.children):
        return True  # 'no one was hurt', 'nobody was killed'
    if tok.pos_ in ("NOUN", "PROPN"):
        if any(c.lower_ in ("no", "zero") and c.dep_ == "det" for c in tok.children):
            return True
        head = tok.head
        if tok.dep_ in ("dobj", "nsubj", "nsubjpass", "attr", "pobj") and head != tok:
            if tok.dep_ == "pobj":
                if head.lower_ in _CIRCUMSTANCE_PREPS:
                    return False  # 'were not harmed during the siege': the siege is not negated
                head = head.head
            if any(c.dep_ == "neg" for c in head.children):
                if tok.dep_ in ("nsubj", "nsubjpass") and any(
                        c.dep_ == "agent" or (c.dep_ == "prep" and c.lower_ in _CAUSE_PREPS) for c in head.children):
                    return False  # 'injuries were not caused by gunfire': the cause is negated, not the injuries
                # 'the battle was not over' says it goes on
                return not any(c.lower_ in _ONGOING for c in head.children
                               if c.dep_ in ("acomp", "advmod", "prt"))
    return False


def attribute(trigger: Token, reporting: frozenset[str], denial: frozenset[str]) -> Attribution:
    """The reporting frame around ``trigger`` in its (single-sentence) doc."""
    denied = False
    reported = False
    child = trigger
    for anc in trigger.ancestors:
        below, child = child, anc
        if below.dep_ in SUBJECT_DEPS and anc.lemma_ in reporting and _subject(anc) == below:
            break  # the trigger is in the speaker's phrase, not in what is said
        if anc.pos_ not in ("VERB", "AUX") or (anc.lemma_ not in reporting and not _puts_a_figure(anc)):
            continue
        if anc.lemma_ in denial:
            denied = True
        if anc.lemma_ == "report" and any(c.dep_ == "auxpass" for c in anc.children):
            reported = True  # 'were reported to have fled': the outlet's voice, second hand
            continue
        speaker, is_person, span = speaker_of(anc)
        if speaker is None and anc.lemma_ in denial:
            continue
        return Attribution(speaker, is_person, anc, denied, True, span)
    doc = trigger.doc
    # '..., the Observatory said.' attached beside the trigger's clause rather than above it
    for t in doc:
        if t.pos_ == "VERB" and t.lemma_ in reporting and t.dep_ in ("parataxis", "advcl", "conj") \
                and (t.head == trigger or t.head.is_ancestor(trigger)):
            speaker, is_person, span = speaker_of(t)
            if speaker is not None:
                return Attribution(speaker, is_person, t, denied or t.lemma_ in denial, True, span)
    acc = _according_to(doc)
    if acc is not None:
        return Attribution(acc[0], False, None, denied, True, acc[1])
    if any(t.lower_ in _HEARSAY for t in doc):
        reported = True
    return Attribution(None, False, None, denied, reported, None)


def is_pronoun(text: str | None) -> bool:
    return bool(text) and text.lower() in _PRONOUNS  # type: ignore[union-attr]
