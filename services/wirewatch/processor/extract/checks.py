"""Event checks: does a trigger word assert (or deny) an event of its category?

A trigger the event patterns found is only a candidate.  :meth:`EventChecks.check` applies
the rule's own requirements (``require:`` in ``events.yaml``: a conflict context, a place
or people as its argument, a subject...) and the checks every trigger goes through: a
modifier is not an event ('rebel-held'), an event must be real and of its category (not
simulated, not police work, not weapons handled), not background ('since the fighting
reached it'), not under a plan, a fear, a condition, a question or a hypothetical modal;
a hedge makes the claim hedged.  Event factuality beyond these (negated perception,
expectation, negated outcomes) is :mod:`.factuality`'s.
"""

from __future__ import annotations

from collections import Counter

from spacy.tokens import Token

from ... import lexicon
from .location import name_like
from .patterns import PatternSet, Trigger
from .places import Place
from .story import Sentence, Story

# dependencies by which a clause is governed by the word above it
_CLAUSAL = frozenset({"xcomp", "ccomp", "advcl", "acl", "pcomp", "relcl", "csubj"})
# word lists (data/lexicon/event_checks.yaml, factuality.yaml)
_COMPOUND_HEADS = lexicon.words("event_compound_heads")
_MILITARY = lexicon.words("military_nouns")
_AMOUNTS = lexicon.words("quantity_nouns")
_TIME_PREPS = lexicon.words("temporal_subordinators")
_STATE_LEMMAS = lexicon.words("standing_control_words")
_APPROX_PREPS = lexicon.words("approximators")
_TRUCE_WORDS = lexicon.words("truce_words")
_MEANS_VERBS = lexicon.words("means_verbs")
_FACTUAL_MARKS = lexicon.words("factive_subordinators")
_CONDITIONAL = lexicon.words("conditional_subordinators")
_VERIFICATION = lexicon.words("verification_predicates")
_WH = lexicon.words("question_words")
_FEAR_VERBS = lexicon.words("prospect_verbs")


class EventChecks:
    """The checks of one pattern set (see the module docstring)."""

    def __init__(self, patterns: PatternSet) -> None:
        self.patterns = patterns
        self._reporting = patterns.words("reporting_verbs")
        self._ceasefire_words = frozenset(
            lem for r in patterns.rules if r.event_type.category == "ceasefire" for lem in r.lemmas)

    def check(self, st: Story, sent: Sentence, trig: Trigger,
               places: list[Place]) -> tuple[str, bool] | None:
        """(category, hedged) when the trigger asserts or denies an event, None when it does not."""
        tok, rule = trig.token, trig.rule
        category = rule.event_type.category
        # (a 'modifier' after its noun is a misparse: 'RSF shelling killed seven')
        mod = _first_conjunct(tok)  # 'nuclear and missile programmes': a conjunct of a modifier is one
        if mod.dep_ in ("amod", "compound") and rule.lemmas and mod.i < mod.head.i and not (
                mod.dep_ == "compound" and mod.head.lemma_.lower() in _COMPOUND_HEADS):
            return None  # 'rebel-held', 'besieged enclave', 'refugee agency' (but 'artillery fire')
        req = rule.require
        if "context" in req and not (self._conflict(st, sent.para, tok) or self._armed_participant(
                tok, with_arms=category != "territory_control")):
            return None
        if "as_subject" in req and not (tok.dep_ == "nsubj" or (
                tok.dep_ == "pobj" and tok.head.dep_ == "agent")):
            return None  # 'bombers blew themselves up', not 'police arrested a bomber'
        if not self._real_event(tok, category, places):
            return None
        if rule.preps and not self._has_prep(tok, rule.preps):
            return None
        if "place" in req and not self._object_is_place(tok, places, rule.preps, rule.place_preps):
            return None
        if "place_subject" in req and not self._subject_is_place(tok, places):
            return None
        if "people" in req and not self._has_people(tok, civilians=category == "displacement"):
            return None
        if "people_object" in req and not self._has_people(tok, ("dobj", "nsubjpass")):
            return None
        if "people_subject" in req and not self._has_people(tok, ("nsubj",)):
            return None
        if "subject" in req and not any(c.dep_ in ("nsubj", "agent") for c in tok.children):
            return None  # 'forces destroyed X' (not a gerund tacked on: 'after ... destroying their weapons')
        # the definite event noun that only causes another ('fled the fighting')
        if (tok.pos_ == "NOUN" and tok.dep_ in ("nsubj", "dobj")
                and any(c.dep_ == "det" and c.lower_ in ("the", "this", "that") for c in tok.children)
                and tok.head.lemma_ in self.patterns.words("cause_heads")):
            return None
        if tok.dep_ in ("pobj", "pcomp") and tok.head.head.pos_ == "NOUN" \
                and tok.head.head.lemma_.lower() in self.patterns.words("plan_nouns"):
            return None  # 'talks on a ceasefire', 'calls for a truce', 'fears of an offensive'
        if self._background(tok, category):
            return None
        if category == "territory_control" and any(
                c.dep_ in ("nsubjpass", "dobj") and c.lemma_.lower() in self.patterns.words("civilian_nouns")
                for c in tok.children):
            return None  # 'residents were evacuated from X' moves people, not a front line
        if category != "ceasefire" and any(
                a.lemma_.lower() in self._ceasefire_words
                for a in list(tok.ancestors)[:3] if a.pos_ == "NOUN"):
            return None  # 'a moratorium on air strikes' is a truce, not an attack
        hedged = False
        node: Token = tok
        child: Token | None = None
        words = self.patterns.words
        while True:
            if child is not None and child.dep_ == "advcl" and any(
                    c.dep_ == "mark" and c.lower_ in _FACTUAL_MARKS
                    for c in child.children):
                break  # 'after forces overran X': a fact presupposed, whatever the main clause says
            if child is not None and child.dep_ == "nsubj" and node.lemma_ in self._reporting \
                    and _speaker_subject(node) == child:
                return None  # inside the speaker's phrase ('officials in two rebel groups fighting in X')
            auxes = [c for c in node.children if c.dep_ == "aux"]
            for a in auxes:
                if a.lower_ in words("hypothetical_modals"):
                    return None
                if a.lower_ in words("hedge_modals"):
                    if any(b.lemma_ == "have" for b in auxes) or node.tag_ == "VBN":
                        hedged = True
                    else:
                        return None
            if any(c.dep_ == "mark" and c.lower_ in _CONDITIONAL for c in node.children):
                return None
            if node.pos_ in ("VERB", "AUX") and node.dep_ != "relcl" and any(
                    c.dep_ in ("nsubj", "nsubjpass", "dobj", "advmod") and c.left_edge.lower_ in _WH
                    for c in node.children):
                return None  # an indirect question ('did not say how many had been killed') asserts nothing
            if any(c.dep_ == "advcl" and c.lemma_ in _VERIFICATION and any(
                    m.lower_ == "if" for m in c.children) for c in node.children):
                hedged = True  # 'X fell, if confirmed, ...'
            if node != tok and node.lemma_ in words("hypothetical_heads") and child is not None and (
                    child.dep_ in _CLAUSAL or (child.dep_ == "dobj" and node.lemma_ in _FEAR_VERBS)):
                # 'preparing to launch an offensive', 'fear attacks' (but 'agreed to a ceasefire'
                # and 'sought refuge' happened)
                return None
            if node != tok and node.lemma_ in words("attempt_heads") and category == "territory_control":
                category = "attack"
            relative = node.dep_ == "relcl" or (node.dep_ in ("ccomp", "acl") and any(
                c.dep_ in ("nsubj", "nsubjpass") and c.lower_ in ("that", "which") for c in node.children))
            if relative and category == "territory_control" and (tok.lemma_ in _STATE_LEMMAS or rule.trigger):
                return None  # 'districts that remain in rebel hands': standing geography
            if node.lemma_ in self._reporting and node != tok:
                break
            if node.head == node or (node.dep_ == "conj" and node.pos_ in ("VERB", "AUX")):
                break  # 'trying to take it, but it's still with the rebels': a clause of its own
            child, node = node, node.head
        if any(t.lower_ in words("hedge_words") for t in tok.doc):
            hedged = True
        return category, hedged

    def _armed_participant(self, tok: Token, with_arms: bool = True) -> bool:
        """The event names its own weapon or armed actor ('suicide bombers blew themselves up', 'a
        grenade attack', 'armed men attacked', 'a bomb exploded', 'killed in attacks by bandits'): armed
        violence, even in a two-line report with no other war word.  Its object does not count:
        'destroyed explosives' and 'arrested militants' are not violence by their object.  Without
        ``with_arms`` only an armed actor counts ('the fighters entered X', not 'armed robbers entered')."""
        armed = self.patterns.words("armed_actors")
        if with_arms:
            armed = armed | self.patterns.words("arms")
        who: list[Token] = []
        for c in tok.children:
            if c.dep_ in ("nsubj", "nsubjpass", "compound", "amod", "nmod", "poss", "npadvmod"):
                who.append(c)
            elif c.dep_ == "agent" or (c.dep_ == "prep" and c.lower_ in ("by", "with")):
                who.extend(x for x in c.children if x.dep_ == "pobj")
            elif c.dep_ == "acl" and c.lemma_ in _MEANS_VERBS:
                who.extend(x for x in c.children if x.dep_ == "dobj")  # 'attacks using grenades'
        if tok.dep_ in ("acl", "relcl"):
            who.append(tok.head)  # 'an explosive device that detonated'
        verb = tok.head.head if tok.dep_ == "pobj" else tok.head if tok.dep_ in ("dobj", "nsubjpass") else None
        if verb is not None and verb.pos_ in ("VERB", "AUX"):
            # 'bandits killed seven people in attacks', 'bombers carried out an attack', 'the attacks
            # were carried out with grenades'
            who.extend(c for c in verb.children if c.dep_ in ("nsubj", "agent"))
            who.extend(x for c in verb.children if c.dep_ == "prep" and c.lower_ in ("with", "using")
                       for x in c.children if x.dep_ == "pobj")
        for w in who:
            if w.dep_ == "agent":
                w = next((x for x in w.children if x.dep_ == "pobj"), w)
            if w.lemma_.lower() in armed or w.lower_ in armed or any(
                    g.dep_ in ("compound", "amod") and g.lemma_.lower() in armed for g in w.children):
                return True
        return False

    def _real_event(self, tok: Token, category: str, places: list[Place]) -> bool:
        """False when the trigger names no event that took place, or none of its category: a
        potential or simulated one ('a possible attack', 'an airstrike by a mock enemy'), a truce under
        discussion ('met to discuss a ceasefire'), police work ('detained 12 people in overnight raids',
        'fired tear gas'), weapons handled rather than used ('rockets were found', 'destroyed 342
        mines'), and movement that holds no ground ('planes entered the air defence zone', 'students
        marched through the capital').  (One a witness did not perceive, 'he didn't hear a gunshot',
        is :mod:`.factuality`'s negated perception.)"""
        words = self.patterns.words
        # (the parser often hangs 'by a mock enemy' on the verb whose object the event is)
        holders = [tok, tok.head] if tok.dep_ == "dobj" else [tok]
        agents = [x for h in holders for c in h.children if c.dep_ == "agent" or (
            c.dep_ == "prep" and c.lower_ == "by") for x in c.children if x.dep_ == "pobj"]
        if any(c.dep_ in ("amod", "compound") and c.lower_ in words("unreal_modifiers")
               for a in [tok, *agents] for c in a.children):
            return False
        if tok.dep_ == "dobj" and tok.head.lemma_.lower() in words("discussion_verbs"):
            return False  # as 'talks on a ceasefire'
        if category == "territory_control":
            return not any(c.dep_ == "nsubj" and (_names(c, words("vehicle_nouns")) or _counted(
                c).lemma_.lower() in words("civilian_nouns")) for c in tok.children)
        if category != "attack":
            return True
        # the noun only says how an arrest or a seizure of things (not of ground) was made
        if tok.dep_ == "pobj" and tok.head.lower_ in ("in", "during", "through", "amid") \
                and self._law_enforcement(tok.head.head, places):
            return False
        # a raid or an operation whose own clause reports an arrest or a seizure ('an operation was
        # conducted when two firearms were seized', 'raids in which 12 people were detained')
        if tok.lemma_.lower() in words("police_action_nouns") and any(
                c.dep_ in ("advcl", "conj", "relcl", "acl") and self._law_enforcement(c, places)
                for c in [*tok.children, *(tok.head.children if tok.dep_ in ("nsubj", "nsubjpass", "dobj")
                                           else ())]):
            return False
        np = tok.head if tok.dep_ == "compound" else tok  # 'two rocket shells'
        if np.dep_ in ("dobj", "nsubjpass") and _names(np, words("weapon_nouns")) \
                and np.head.lemma_.lower() not in words("weapon_use_verbs"):
            return False  # a weapon found, seized, stored or supplied
        objects = [c for c in tok.children if c.dep_ in ("dobj", "nsubjpass")]
        lemma = tok.lemma_.lower()
        if lemma in words("disposal_verbs") and any(_names(c, words("weapon_nouns")) for c in objects):
            return False  # 'destroyed 342 mines'
        # 'police fired tear gas': crowd control
        return not (lemma in words("weapon_use_verbs") and any(_names(c, words("riot_control")) for c in objects))

    def _law_enforcement(self, verb: Token, places: list[Place]) -> bool:
        """``verb`` reports an arrest or a seizure of things, not of ground ('seized the town')."""
        words = self.patterns.words
        return verb.pos_ in ("VERB", "AUX") and verb.lemma_.lower() in words("law_enforcement_verbs") \
            and not any(c.dep_ in ("dobj", "nsubjpass") and _names_place(c, places, words("place_nouns"))
                        for c in verb.children)

    def _conflict(self, st: Story, para: int, tok: Token) -> bool:
        """The paragraph (or, with strong words, the story) is about armed conflict -- not counting
        the trigger's own word: a tariff dispute's 'truce' does not make itself a war."""
        # (only truce words: 'wounded' and 'casualties' are rarely figurative)
        own = tok.lower_ if tok.lower_ in _TRUCE_WORDS else ""
        para_words = st.context_paras.get(para, Counter())
        if sum(n for w, n in para_words.items() if w != own) >= 3:
            return True
        return sum(n for w, n in st.story_context.items() if w != own) >= 2

    def _background(self, tok: Token, category: str) -> bool:
        """An attack or truce noun that only dates or explains another event is not a new claim:
        'since the fighting reached it', 'in the days before the assault', 'killed in the strikes',
        'Before the ceasefire, the rebels had taken X'."""
        # the small model tags 'fighting' as a VERB even as a subject ('since fighting resumed')
        nominal = tok.pos_ == "NOUN" or (tok.tag_ == "VBG" and tok.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj"))
        if not nominal or category not in ("attack", "ceasefire"):
            return False
        definite = any(c.dep_ in ("det", "poss") and c.lower_ in ("the", "this", "that", "these", "those", "its")
                       for c in tok.children)
        if definite and tok.dep_ == "pobj":
            return True
        if not definite and tok.dep_ == "dobj" and tok.head.lemma_.lower() in self.patterns.words("light_verbs"):
            return False  # 'after Assad carried out a gas attack': a clause that asserts the attack
        for anc in [tok, *tok.ancestors]:
            if anc.pos_ in ("VERB", "AUX") and any(c.dep_ == "mark" and c.lower_ in _TIME_PREPS
                                                   for c in anc.children):
                return True
            if anc.dep_ in ("ROOT",) or (anc.dep_ in ("ccomp", "conj") and anc.pos_ in ("VERB", "AUX")):
                return False
        return False

    def _has_prep(self, tok: Token, preps: frozenset[str]) -> bool:
        heads = [tok]
        if tok.dep_ == "dobj" and tok.head.lemma_.lower() in self.patterns.words("light_verbs"):
            heads.append(tok.head)  # 'carried out sorties over X': the parser hangs 'over' on the verb
        return any(c.lower_ in preps and c.dep_ in ("prep", "prt", "advmod") for h in heads for c in h.children)

    def _place_like(self, t: Token, places: list[Place], depth: int = 0) -> bool:
        if depth > 2:
            return False
        if any(p.start <= t.idx < p.end for p in places):
            return True
        if t.ent_type_ in ("GPE", "LOC", "FAC"):
            return True
        lemma = t.lemma_.lower()
        if t.pos_ in ("NOUN", "PROPN") and lemma in self.patterns.words("place_nouns"):
            return True
        # unknown towns come out of the small model as ORG, NORP or even PERSON ('Aleppo'); a lone
        # capitalised name is taken as a place unless it is part of a longer person's name
        if name_like(t, place_slot=True):
            return True
        if t.lower_ == "it":
            return True  # 'trying to take it': the place named before
        if t.lower_ in ("which", "that") and t.head.dep_ == "relcl":
            return self._place_like(t.head.head, places, depth + 1)
        if lemma in self.patterns.words("part_nouns") or t.like_num:
            for prep in t.children:
                if prep.dep_ == "prep" and prep.lower_ == "of":
                    for obj in prep.children:
                        if obj.dep_ == "pobj" and self._place_like(obj, places, depth + 1):
                            return True
        # 'the Haidariya and Sheikh Khodr districts', 'X and Y'
        return t.pos_ == "PROPN" and any(
            c.dep_ == "conj" and self._place_like(c, places, depth + 1) for c in t.children)

    def _object_is_place(self, tok: Token, places: list[Place], preps: frozenset[str],
                         place_preps: frozenset[str] = frozenset()) -> bool:
        """The trigger acts on a place: 'took the district', 'capture of X', 'advanced into X'."""
        objs: list[Token] = []
        verb = tok.pos_ in ("VERB", "AUX")
        for c in tok.children:
            if c.dep_ in ("dobj", "nsubjpass", "attr", "oprd"):
                objs.append(c)
            elif c.dep_ in ("prep", "prt", "advmod") and (
                    c.lower_ in preps if preps else (c.lower_ in _APPROX_PREPS or c.lower_ in place_preps or (
                        not verb and c.lower_ in ("of", "on", "against", "over")))):
                objs.extend(x for x in c.children if x.dep_ == "pobj")
                # 'closed in on X', 'pushed deeper into X'
                for x in c.children:
                    if x.dep_ == "prep":
                        objs.extend(y for y in x.children if y.dep_ == "pobj")
        if tok.dep_ == "relcl" and tok.head.pos_ in ("NOUN", "PROPN"):
            objs.append(tok.head)  # 'Minian, which was taken by rebels'
        parts = self.patterns.words("part_nouns")
        for o in list(objs):
            if o.lemma_.lower() in parts and not any(c.lower_ == "of" for c in o.children):
                # 'took control by force of several areas': an adjunct pushed the 'of' phrase away
                # from its noun, and the parser hung it on the adjunct
                for x in o.doc[o.i + 1:min(o.i + 5, len(o.doc))]:
                    if x.lower_ == "of" and x.dep_ == "prep" and tok.is_ancestor(x):
                        objs.extend(y for y in x.children if y.dep_ == "pobj")
                        break
        return any(self._place_like(o, places) for o in objs)

    def _subject_is_place(self, tok: Token, places: list[Place]) -> bool:
        for c in tok.children:
            if c.dep_ in ("nsubj", "nsubjpass") and (c.lower_ == "it" or self._place_like(c, places)):
                return True
        # 'the fall of Minian'
        return tok.pos_ == "NOUN" and self._object_is_place(tok, places, frozenset({"of"}))

    def _has_people(self, tok: Token, deps: tuple[str, ...] = ("nsubj", "nsubjpass", "dobj"),
                    civilians: bool = False) -> bool:
        people = self.patterns.words("people_nouns")
        args = [c for c in tok.children if c.dep_ in deps]
        if tok.dep_ == "relcl" and "nsubj" in deps:
            args.append(tok.head)
        if tok.dep_ in ("xcomp", "conj") and not any(c.dep_.startswith("nsubj") for c in tok.children):
            args.extend(c for c in tok.head.children if c.dep_ in deps)
        for a in args:
            if civilians and a.lemma_.lower() in _MILITARY:
                continue  # 'expelled French troops' moves an army, not a population
            if a.lemma_.lower() in people or a.lower_ in people or a.like_num:
                return True
            if any(c.dep_ == "nummod" or c.like_num for c in a.children):
                return True
        return False


def _counted(t: Token) -> Token:
    """What an amount counts: 'thousands of students' -> 'students' (else ``t`` itself)."""
    if t.like_num or t.lemma_.lower() in _AMOUNTS:
        return next((x for c in t.children if c.dep_ == "prep" and c.lower_ == "of"
                     for x in c.children if x.dep_ == "pobj"), t)
    return t


def _first_conjunct(tok: Token) -> Token:
    """The first of coordinated words ('nuclear and missile' -> 'nuclear'): it carries their role."""
    while tok.dep_ == "conj" and tok.head != tok:
        tok = tok.head
    return tok


def _names(t: Token, words: frozenset[str]) -> bool:
    """The noun phrase headed by ``t`` names one of ``words``: its head ('mines') or a modifier
    ('explosive devices')."""
    return t.lemma_.lower() in words or any(
        c.dep_ in ("compound", "amod") and c.lemma_.lower() in words for c in t.children)


def _names_place(t: Token, places: list[Place], place_nouns: frozenset[str]) -> bool:
    """``t`` is a known place or a place noun ('seized the town'), not people or things."""
    return t.ent_type_ in ("GPE", "LOC", "FAC") or t.lemma_.lower() in place_nouns or any(
        p.start <= t.idx < p.end for p in places)


def _speaker_subject(verb: Token) -> Token | None:
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
    return min(subjects, key=lambda c: abs(c.i - verb.i)) if subjects else None

