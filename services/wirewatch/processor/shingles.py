"""Text features for dedup: normalised words, sentences, shingles and sentence sketches.

Everything here is deterministic across processes (crc32/blake2b, never Python's
salted ``hash``) because the features end up in a changelog-backed store that a
restarted worker reads back.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .boilerplate import Span

# House-style noise that differs between copies of one wire story and carries no news:
# short parenthetical asides ("Tuesday (Nov 8)"), dots in abbreviations ("U.S."),
# honorifics ("Mr Assad").
_PAREN_RE = re.compile(r"\s*\([^()]{0,40}\)")
_ABBR_DOT_RE = re.compile(r"(?<=\b[A-Za-z])\.(?=[A-Za-z]\b)")
_HONORIFIC_RE = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Messrs|Mme|Mlle)\b\.?\s*")
_WORD_RE = re.compile(r"\w+")

def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words whose change turns one statement into another: numbers, negations.
_NUMBER_WORDS = _wordset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred hundreds thousand thousands million millions billion dozen dozens half third quarter"
)
_NEGATIONS = _wordset("not no never nor none nobody nothing neither without t deny denies denied denial")

# Function words, for the topic features that group coverage of one event into a cluster.
STOPWORDS = _wordset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours out over own said same says she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours new according told tuesday monday wednesday thursday friday saturday sunday
    week year years day days month months last first since earlier later people"""
)

# Where one sentence ends: ., ! or ? (optionally closed by a quote or bracket), a space,
# then something that can open a sentence.
_SENT_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_NO_BREAK_AFTER = _wordset(
    "mr mrs ms dr st gen lt col maj sgt capt cmdr adm gov sen rep rev prof jr sr no vs etc "
    "jan feb mar apr jun jul aug sep sept oct nov dec inc corp ltd co u.s u.n u.k e.g i.e"
)


def fold(text: str) -> str:
    """NFKC, accents off, house-style noise out; case is kept."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _PAREN_RE.sub("", text)
    text = _ABBR_DOT_RE.sub("", text)
    return _HONORIFIC_RE.sub("", text)


def words(text: str) -> list[str]:
    """Lower-case word tokens of a text after :func:`fold`."""
    return [w.lower() for w in _WORD_RE.findall(fold(text))]


def sentences(span: Span) -> list[Span]:
    """Sentences of one paragraph, with offsets into the same body as ``span``."""
    out: list[Span] = []
    text = span.text
    start = 0
    for m in _SENT_BOUNDARY.finditer(text):
        head = text[start:m.start()].rstrip("\"'”’)]")
        last = head.rsplit(None, 1)[-1].rstrip(".").lower() if head.split() else ""
        # "Mr. Smith", "Oct. 29", "U.S. officials": a dot that ends an abbreviation.
        if last in _NO_BREAK_AFTER or (len(last) == 1 and last.isalpha()):
            continue
        piece = text[start:m.start()]
        if piece.strip():
            out.append(Span(span.start + start, span.start + m.start(), piece))
        start = m.end()
    piece = text[start:]
    if piece.strip():
        out.append(Span(span.start + start, span.start + len(text), piece))
    return out


def shingles(tokens: Sequence[str], k: int = 3) -> list[str]:
    """Word k-grams as strings (a short text gives its one shorter gram)."""
    if len(tokens) < k:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1)]


def digest(parts: Iterable[str], size: int = 12) -> str:
    h = hashlib.blake2b(digest_size=size)
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


# --------------------------------------------------------------------- sentence sketches
_WORD_HASH_CACHE: dict[str, int] = {}


def _word_hash(w: str) -> int:
    h = _WORD_HASH_CACHE.get(w)
    if h is None:
        if len(_WORD_HASH_CACHE) > 200_000:  # bounded: vocabularies grow with time
            _WORD_HASH_CACHE.clear()
        h = zlib.crc32(w.encode("utf-8"))
        _WORD_HASH_CACHE[w] = h
    return h


@dataclass(frozen=True)
class SentenceSketch:
    """What dedup keeps of one sentence: 16-bit hashes of its word trigrams and of its
    significant tokens (numbers, negations, names).  Small enough to store per story,
    precise enough to tell a house-style edit from a changed fact."""

    grams: frozenset[int]
    significant: frozenset[int]

    def encode(self) -> str:
        arr = array("H", [len(self.significant), *sorted(self.significant), *sorted(self.grams)])
        if arr.itemsize != 2:  # pragma: no cover - every CPython platform has 2-byte "H"
            raise RuntimeError("unsigned short is not 16 bits on this platform")
        return base64.b64encode(arr.tobytes()).decode("ascii")

    @staticmethod
    def decode(data: str) -> SentenceSketch:
        arr = array("H")
        arr.frombytes(base64.b64decode(data))
        n = arr[0] if arr else 0
        return SentenceSketch(frozenset(arr[n + 1:]), frozenset(arr[1:n + 1]))

    def is_covered_by(self, other: SentenceSketch, min_containment: float) -> bool:
        """True when this sentence says nothing the other one does not."""
        if not self.grams:
            return True
        if not self.significant <= other.significant:
            return False
        return len(self.grams & other.grams) >= min_containment * len(self.grams)


def sketch(sentence: str) -> SentenceSketch:
    folded = fold(sentence)
    raw = _WORD_RE.findall(folded)
    toks = [w.lower() for w in raw]
    hs = [_word_hash(w) for w in toks]
    if len(hs) >= 3:
        trigrams = zip(hs, hs[1:], hs[2:], strict=False)
        grams = {(a * 1_000_003 + b * 10_007 + c) & 0xFFFF for a, b, c in trigrams}
    else:
        grams = {h & 0xFFFF for h in hs}
    sig = set()
    for i, (w, lw) in enumerate(zip(raw, toks, strict=True)):
        if (any(c.isdigit() for c in w) or lw in _NUMBER_WORDS or lw in _NEGATIONS
                or (i > 0 and w[0].isupper())):
            sig.add(_word_hash(lw) & 0xFFFF)
    return SentenceSketch(frozenset(grams), frozenset(sig))


def event_terms(spans: Sequence[Span], max_words: int) -> list[str]:
    """Names and figures of a story's lead: what coverage of one event shares.

    Capitalised words that do not open a sentence (places, people, groups), and
    figures, from the first ``max_words`` words; lower-cased, function words out.
    """
    out: set[str] = set()
    seen = 0
    for span in spans:
        raw = _WORD_RE.findall(fold(span.text))
        for i, w in enumerate(raw):
            lw = w.lower()
            if lw in STOPWORDS:
                continue
            if (i > 0 and w[0].isupper()) or (w.isdigit() and len(w) >= 2):
                out.add(lw)
        seen += len(raw)
        if seen >= max_words:
            break
    return sorted(out)
