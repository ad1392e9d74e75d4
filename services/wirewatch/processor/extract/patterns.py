"""Event patterns, read from a versioned YAML file (``data/patterns/events.yaml``).

The file is the single place where an event type is defined: its category, its CAMEO
and ACLED codes, and the rules that find its trigger words.  This module turns it into
spaCy matchers and into the cheap pre-filter that decides which sentences are parsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from spacy.matcher import DependencyMatcher, Matcher
from spacy.tokens import Doc, Token
from spacy.vocab import Vocab

from ...errors import ExtractDataInvalid
from ...models import CATEGORIES
from .taxonomy import EventType

_META, _EXCLUDE = "__meta__", "__exclude__"
REQUIREMENTS = frozenset({"place", "place_subject", "context", "people", "people_object", "people_subject",
                          "subject", "as_subject"})

# Irregular forms of verbs that trigger patterns use: the pre-filter runs on raw
# tokens (no lemmatizer), so it has to know that 'took' is 'take'.
IRREGULAR: dict[str, tuple[str, ...]] = {
    "take": ("took", "taken"), "retake": ("retook", "retaken"), "overtake": ("overtook", "overtaken"),
    "fall": ("fell", "fallen"), "flee": ("fled",), "overrun": ("overran",), "lose": ("lost",),
    "hold": ("held",), "leave": ("left",), "fight": ("fought",), "strike": ("struck", "stricken"),
    "shoot": ("shot",), "win": ("won",), "go": ("went", "gone"), "drive": ("drove", "driven"),
    "withdraw": ("withdrew", "withdrawn"), "break": ("broke", "broken"), "hit": ("hit",),
    "die": ("died", "dying", "dead"), "draw": ("drew", "drawn"), "cut": ("cut",), "sweep": ("swept",),
    "bring": ("brought",), "seek": ("sought",), "slay": ("slew", "slain"), "hurt": ("hurt",),
    "beat": ("beaten",), "mean": ("meant",), "begin": ("began", "begun"), "run": ("ran",),
    "blow": ("blew", "blown"), "throw": ("threw", "thrown"), "set": ("set",),
}


@dataclass(frozen=True)
class Rule:
    event_type: EventType
    require: frozenset[str] = frozenset()
    preps: frozenset[str] = frozenset()
    lemmas: frozenset[str] = frozenset()
    place_preps: frozenset[str] = frozenset()
    pos: frozenset[str] = frozenset()
    trigger: int = 0
    key: str = ""


@dataclass(frozen=True)
class Trigger:
    """One trigger word found in a parsed sentence, with the rule that found it."""

    token: Token
    rule: Rule

    @property
    def event_type(self) -> EventType:
        return self.rule.event_type


@dataclass
class PatternSet:
    version: int
    event_types: list[EventType]
    rules: list[Rule]
    token_patterns: dict[str, tuple[Rule, list[list[dict[str, Any]]]]]
    dep_patterns: dict[str, tuple[Rule, list[list[dict[str, Any]]]]]
    lexicon: dict[str, frozenset[str]]
    meta: list[list[dict[str, Any]]]
    exclude: list[list[dict[str, Any]]]
    prefilter: frozenset[str] = field(default_factory=frozenset)
    # pattern key -> the words one of which a sentence must contain for the pattern to match
    gates: dict[str, frozenset[str]] = field(default_factory=dict)

    def words(self, name: str) -> frozenset[str]:
        return self.lexicon.get(name, frozenset())


def default_path() -> Path:
    return Path(str(resources.files("wirewatch") / "data" / "patterns" / "events.yaml"))


def _fail(path: Path, msg: str) -> ExtractDataInvalid:
    return ExtractDataInvalid(f"{path}: {msg}")


def _str_list(path: Path, where: str, v: Any) -> frozenset[str]:
    if v is None:
        return frozenset()
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _fail(path, f"{where} must be a list of strings")
    return frozenset(x.lower() for x in v)


def inflections(lemma: str) -> set[str]:
    """Surface forms a regular English verb or noun can take (a superset is fine: it only pre-filters)."""
    w = lemma.lower()
    forms = {w, w + "s", w + "ing", w + "ings"}
    if w.endswith("e"):
        forms |= {w + "d", w[:-1] + "ing", w[:-1] + "ings"}
    else:
        forms.add(w + "ed")
    if w.endswith(("s", "sh", "ch", "x", "z", "o")):
        forms.add(w + "es")
    if w.endswith("y"):
        forms |= {w[:-1] + "ies", w[:-1] + "ied"}
    if len(w) > 2 and w[-1] not in "aeiouwxy" and w[-2] in "aeiou":
        forms |= {w + w[-1] + "ed", w + w[-1] + "ing"}
    forms |= {f + "s" for f in list(forms) if f.endswith("ing")}
    forms |= set(IRREGULAR.get(w, ()))
    return forms


def _pattern_words(pattern: Iterable[dict[str, Any]]) -> set[str]:
    """The literal words a token pattern can match, for the pre-filter."""
    out: set[str] = set()
    for tok in pattern:
        for attr in ("LEMMA", "LOWER", "ORTH", "TEXT"):
            v = tok.get(attr)
            if isinstance(v, str):
                out |= inflections(v) if attr == "LEMMA" else {v.lower()}
            elif isinstance(v, dict) and isinstance(v.get("IN"), list):
                for x in v["IN"]:
                    out |= inflections(str(x)) if attr == "LEMMA" else {str(x).lower()}
    return out


def load_patterns(path: Path | None = None) -> PatternSet:
    path = path or default_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(path, f"cannot read the patterns file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise _fail(path, f"not valid YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("event_types"), list):
        raise _fail(path, "must be a mapping with a list 'event_types'")
    version = raw.get("version")
    if not isinstance(version, int):
        raise _fail(path, "'version' must be an integer")
    lex_keys = ("context", "weak_context", "place_nouns", "part_nouns", "people_nouns", "hypothetical_heads",
                "attempt_heads", "plan_nouns",
                "cause_heads", "hypothetical_modals", "hedge_modals", "hedge_words", "reporting_verbs",
                "denial_verbs", "armed_actors", "arms", "law_enforcement_verbs", "disposal_verbs", "weapon_nouns",
                "unreal_modifiers", "vehicle_nouns", "weapon_use_verbs", "light_verbs",
                "civilian_nouns", "discussion_verbs", "riot_control",
                "police_action_nouns")
    lexicon = {k: _str_list(path, k, raw.get(k)) for k in lex_keys}
    rules: list[Rule] = []
    event_types: list[EventType] = []
    token_patterns: dict[str, tuple[Rule, list[list[dict[str, Any]]]]] = {}
    dep_patterns: dict[str, tuple[Rule, list[list[dict[str, Any]]]]] = {}
    prefilter: set[str] = set()
    gates: dict[str, frozenset[str]] = {}
    names: set[str] = set()
    for i, et_raw in enumerate(raw["event_types"]):
        where = f"event_types[{i}]"
        if not isinstance(et_raw, dict):
            raise _fail(path, f"{where} must be a mapping")
        name, category = et_raw.get("name"), et_raw.get("category")
        if not isinstance(name, str) or not name:
            raise _fail(path, f"{where}.name must be a non-empty string")
        if name in names:
            raise _fail(path, f"{where}: duplicate event type name {name!r}")
        names.add(name)
        if category not in CATEGORIES:
            raise _fail(path, f"{where} ({name}): category must be one of {', '.join(CATEGORIES)}")
        cameo, acled = et_raw.get("cameo"), et_raw.get("acled")
        if cameo is not None and not isinstance(cameo, str):
            raise _fail(path, f"{where} ({name}): cameo must be a quoted string such as \"192\" or null")
        if acled is not None and not isinstance(acled, str):
            raise _fail(path, f"{where} ({name}): acled must be a string or null")
        et = EventType(name=name, category=category, cameo=cameo, acled=acled)
        event_types.append(et)
        rules_raw = et_raw.get("rules")
        if not isinstance(rules_raw, list) or not rules_raw:
            raise _fail(path, f"{where} ({name}): 'rules' must be a non-empty list")
        for j, r in enumerate(rules_raw):
            rw = f"{where}.rules[{j}] ({name})"
            if not isinstance(r, dict):
                raise _fail(path, f"{rw} must be a mapping")
            require = _str_list(path, f"{rw}.require", r.get("require"))
            if require - REQUIREMENTS:
                raise _fail(path, f"{rw}: unknown requirement {sorted(require - REQUIREMENTS)[0]!r}")
            preps = _str_list(path, f"{rw}.preps", r.get("preps"))
            place_preps = _str_list(path, f"{rw}.place_preps", r.get("place_preps"))
            prefilter |= _str_list(path, f"{rw}.forms", r.get("forms"))
            key = f"{name}:{j}"
            kinds = [k for k in ("lemmas", "pattern", "dependency") if k in r]
            if len(kinds) != 1:
                raise _fail(path, f"{rw}: give exactly one of lemmas, pattern, dependency")
            trig = r.get("trigger", 0)
            if not isinstance(trig, int):
                raise _fail(path, f"{rw}: trigger must be an integer index")
            if kinds[0] == "lemmas":
                lemmas = _str_list(path, f"{rw}.lemmas", r["lemmas"])
                pos = frozenset(p.upper() for p in _str_list(path, f"{rw}.pos", r.get("pos")))
                rule = Rule(et, require, preps, lemmas, place_preps, pos, 0, key)
                for lem in lemmas:
                    if "-" in lem or " " in lem:
                        raise _fail(path, f"{rw}: lemma {lem!r} is several tokens; write it as a pattern")
                    prefilter |= inflections(lem)
            elif kinds[0] == "pattern":
                pat = r["pattern"]
                if not isinstance(pat, list) or not all(isinstance(t, dict) for t in pat) or not pat:
                    raise _fail(path, f"{rw}: pattern must be a list of token mappings")
                filt = r.get("filter", trig)
                n = len(pat)
                if not isinstance(filt, int) or not (-n <= trig < n and -n <= filt < n):
                    raise _fail(path, f"{rw}: trigger/filter index is outside the pattern")
                rule = Rule(et, require, preps, frozenset(), place_preps, frozenset(), trig % len(pat), key)
                token_patterns[key] = (rule, [pat])
                words = _pattern_words([pat[filt]])
                if not words:
                    raise _fail(path, f"{rw}: the trigger token needs a literal LEMMA/LOWER/ORTH")
                prefilter |= words
                if pat[filt].get("OP") in (None, "!", "+", "{1}"):  # a token the pattern cannot skip
                    gates[key] = frozenset(words)
            else:
                pat = r["dependency"]
                if not isinstance(pat, list) or not pat or not all(isinstance(t, dict) for t in pat):
                    raise _fail(path, f"{rw}: dependency must be a list of DependencyMatcher nodes")
                filt = r.get("filter", 0)
                if not isinstance(filt, int) or not -len(pat) <= filt < len(pat):
                    raise _fail(path, f"{rw}: filter index is outside the pattern")
                rule = Rule(et, require, preps, frozenset(), place_preps, frozenset(), 0, key)
                dep_patterns[key] = (rule, [pat])
                words = _pattern_words([pat[filt].get("RIGHT_ATTRS", {})])
                if not words:
                    raise _fail(path, f"{rw}: the filter node needs a literal LEMMA/LOWER/ORTH")
                prefilter |= words
                gates[key] = frozenset(words)
            rules.append(rule)
    meta = raw.get("meta") or []
    exclude = raw.get("exclude") or []
    for k, pats in (("meta", meta), ("exclude", exclude)):
        if not isinstance(pats, list) or not all(isinstance(p, list) for p in pats):
            raise _fail(path, f"'{k}' must be a list of token patterns")
    return PatternSet(version, event_types, rules, token_patterns, dep_patterns, lexicon, meta, exclude,
                      frozenset(prefilter), gates)


class TriggerFinder:
    """Finds triggers in parsed sentences with the matchers built from a PatternSet.

    A pattern with a word it cannot match without (its ``filter`` token) gets a matcher of its own,
    run only on sentences that contain one of that token's words: a Matcher's cost grows with its
    patterns times the sentence's tokens, and most sentences hold the words of few patterns."""

    def __init__(self, patterns: PatternSet, vocab: Vocab) -> None:
        self.patterns = patterns
        self.by_lemma: dict[str, list[Rule]] = {}
        for rule in patterns.rules:
            for lem in rule.lemmas:
                self.by_lemma.setdefault(lem, []).append(rule)
        # ungated rules, meta and exclude patterns share one Matcher: a single pass over each sentence
        self.matcher = Matcher(vocab)
        self.gated: list[tuple[frozenset[str], Matcher]] = []
        self.dep_matchers: list[tuple[frozenset[str] | None, DependencyMatcher]] = []
        self.rule_of: dict[str, Rule] = {}
        try:
            for key, (rule, pats) in patterns.token_patterns.items():
                gate = patterns.gates.get(key)
                if gate is None:
                    self.matcher.add(key, pats)
                else:
                    own = Matcher(vocab)
                    own.add(key, pats)
                    self.gated.append((gate, own))
                self.rule_of[key] = rule
            if patterns.meta:
                self.matcher.add(_META, patterns.meta)
            if patterns.exclude:
                self.matcher.add(_EXCLUDE, patterns.exclude)
            for key, (rule, pats) in patterns.dep_patterns.items():
                dep = DependencyMatcher(vocab)
                dep.add(key, pats)
                self.dep_matchers.append((patterns.gates.get(key), dep))
                self.rule_of[key] = rule
        except ValueError as exc:  # spaCy's pattern validation error (E154 etc.)
            first = str(exc).splitlines()[0]
            raise ExtractDataInvalid(f"invalid spaCy pattern in the patterns file: {first}") from exc

    def find(self, sent: Doc) -> tuple[list[Trigger], bool]:
        """Triggers in one parsed sentence, and whether the sentence only talks about the reports
        ('not immediately clear', 'could not verify').  Each sentence is its own Doc."""
        excluded: set[int] = set()
        found: dict[tuple[int, str], Trigger] = {}
        meta = False
        strings = sent.vocab.strings
        words = {t.lower_ for t in sent}
        matches = list(self.matcher(sent)) if len(self.matcher) else []
        for gate, own in self.gated:
            if not gate.isdisjoint(words):
                matches.extend(own(sent))
        for match_id, s, e in sorted(matches, key=lambda m: (m[1], m[2])):
            key = strings[match_id]
            if key == _META:
                meta = True
            elif key == _EXCLUDE:
                excluded.update(range(s, e))
            else:
                rule = self.rule_of[key]
                tok = sent[s + rule.trigger] if rule.trigger < e - s else sent[s]
                found.setdefault((tok.i, key), Trigger(tok, rule))
        if meta:
            return [], True
        for tok in sent:
            lemma = tok.lemma_.lower()
            rules = self.by_lemma.get(lemma, [])
            if tok.lower_ != lemma:
                rules = rules + self.by_lemma.get(tok.lower_, [])
            for rule in rules:
                if rule.pos and tok.pos_ not in rule.pos:
                    continue
                found.setdefault((tok.i, rule.key), Trigger(tok, rule))
        for dep_gate, dep in self.dep_matchers:
            if dep_gate is not None and dep_gate.isdisjoint(words):
                continue
            for match_id, token_ids in dep(sent):
                key = strings[match_id]
                tok = sent[token_ids[0]]
                found.setdefault((tok.i, key), Trigger(tok, self.rule_of[key]))
        kept = [t for t in found.values() if t.token.i not in excluded]
        return sorted(kept, key=lambda t: t.token.i), False
