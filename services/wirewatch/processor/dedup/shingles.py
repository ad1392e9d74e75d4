"""Text features for dedup: normalised words, sentences, shingles, sentence sketches, and
what story clusters compare (the lead's names and figures, the lead's words).

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ... import lexicon
from .boilerplate import Span

# House-style noise that differs between copies of one wire story and carries no news:
# short parenthetical asides ("Tuesday (Nov 8)"), dots in abbreviations ("U.S."),
# honorifics ("Mr Assad").  Word lists: data/lexicon/dedup.yaml and clusters.yaml.
_PAREN_RE = re.compile(r"\s*\([^()]{0,40}\)")
_HONORIFICS = lexicon.exact("honorifics")
_WORD_RE = re.compile(r"\w+")

# Words whose change turns one statement into another: numbers, negations.
_SIGNIFICANT_WORDS = lexicon.words("number_words") | lexicon.words("negation_words")

# Function words, for the topic features that group coverage of one event into a cluster.
STOPWORDS = lexicon.words("function_words")

# Where one sentence ends: ., ! or ? (optionally closed by a quote or bracket), a space,
# then something that can open a sentence.
_SENT_BOUNDARY = re.compile(r"(?<=[.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_NO_BREAK_AFTER = lexicon.words("abbreviations")


def fold(text: str) -> str:
    """Accents off, house-style noise out (asides in brackets, dots); case is kept."""
    if not text.isascii():  # most wire copy is ASCII: skip the per-character pass
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    if "(" in text:
        text = _PAREN_RE.sub("", text)
    # Dots never separate words we keep, and dropping them makes "U.S." and "US" one word.
    return text.replace(".", "")


def tokens(text: str) -> list[str]:
    """Word tokens of a text after :func:`fold`, honorifics out, case kept (names matter)."""
    return [w for w in _WORD_RE.findall(fold(text)) if w not in _HONORIFICS]


def words(text: str) -> list[str]:
    """Lower-case word tokens of a text (see :func:`tokens`)."""
    return [w.lower() for w in tokens(text)]


def sentences(span: Span) -> list[Span]:
    """Sentences of one paragraph, with offsets into the same body as ``span``."""
    out: list[Span] = []
    text = span.text
    start = 0
    for m in _SENT_BOUNDARY.finditer(text):
        stop = m.start()
        # The last word before the dot, from a short window: abbreviations are short.
        window = text[max(start, stop - 12):stop].split()
        last = window[-1].rstrip(".").lower() if window else ""
        # "Mr. Smith", "Oct. 29", "U.S. officials": a dot that ends an abbreviation.
        if last in _NO_BREAK_AFTER or (len(last) == 1 and last.isalpha()):
            continue
        end = stop + len(m.group(1))  # a closing quote or bracket belongs to the sentence
        if text[start:end].strip():
            out.append(Span(span.start + start, span.start + end, text[start:end]))
        start = m.end()
    if text[start:].strip():
        out.append(Span(span.start + start, span.start + len(text), text[start:]))
    return out


def digest(parts: Iterable[str], size: int = 12) -> str:
    """Stable short hash of a sequence of strings."""
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=size).hexdigest()


# --------------------------------------------------------------------- token streams
# Per distinct token: crc32 of its lower-case form, plus flags (bit 32: capitalised,
# bit 33: a number, a number word or a negation).  Bounded: vocabularies grow with time.
_TOKEN_CACHE: dict[str, int] = {}
_TOKEN_CACHE_MAX = 500_000
_CAP = 1 << 32
_SPECIAL = 1 << 33
_P1, _P2 = np.uint64(1_000_003), np.uint64(10_007)


def _token_code(w: str) -> int:
    lw = w.lower()
    code = zlib.crc32(lw.encode("utf-8"))
    if w[0].isupper():
        code |= _CAP
    if not w.isalpha() or lw in _SIGNIFICANT_WORDS:
        code |= _SPECIAL
    if len(_TOKEN_CACHE) >= _TOKEN_CACHE_MAX:
        _TOKEN_CACHE.clear()
    _TOKEN_CACHE[w] = code
    return code


def token_codes(words: Sequence[str]) -> tuple[int, ...]:
    """Per word: crc32 of its lower-case form plus its capital / significant flags."""
    cache = _TOKEN_CACHE
    return tuple([cache.get(w) or _token_code(w) for w in words])


@dataclass(frozen=True)
class SentenceSketch:
    """One sentence as dedup compares it: 16-bit hashes of its word trigrams and of its
    significant tokens (numbers, negations, names)."""

    grams: frozenset[int]
    significant: frozenset[int]


_WIDE = 0xFFFF  # a sentence count of this in a stream's first 16 bits: the counts are 32-bit


class TokenStream:
    """A story's sentences as 16-bit token hashes with a 'significant' flag per token.

    This is what the store keeps of a story's text (about 2 bytes a word): enough to
    tell later which sentences of a copy or an update are new, and nothing more.
    """

    __slots__ = ("h16", "lengths", "sig")

    def __init__(self, lengths: np.ndarray, h16: np.ndarray, sig: np.ndarray) -> None:
        self.lengths = lengths.astype(np.int64)
        self.h16 = h16.astype(np.uint16)
        self.sig = sig.astype(bool)

    @classmethod
    def from_tokens(cls, sentence_tokens: Sequence[Sequence[str]]) -> TokenStream:
        """The stream of a story's sentences, each a list of :func:`tokens`."""
        return cls.from_codes(np.array([len(r) for r in sentence_tokens], dtype=np.int64),
                              np.array(token_codes([w for r in sentence_tokens for w in r]), dtype=np.uint64))

    @classmethod
    def from_codes(cls, lengths: np.ndarray, v: np.ndarray) -> TokenStream:
        """The stream from :func:`token_codes` of every word and the words per sentence."""
        h32 = v & np.uint64(0xFFFFFFFF)
        cap = (v & np.uint64(_CAP)) != 0
        # A capital at the start of a sentence says nothing about a name.
        starts = np.cumsum(lengths) - lengths
        cap[starts[lengths > 0]] = False
        sig = cap | ((v & np.uint64(_SPECIAL)) != 0)
        return cls(lengths, (h32 & np.uint64(0xFFFF)), sig)

    def __len__(self) -> int:
        return len(self.lengths)

    def encode(self) -> str:
        n = len(self.lengths)
        if n < _WIDE and (n == 0 or int(self.lengths.max()) < _WIDE):
            head = np.concatenate([[n], self.lengths]).astype("<u2").tobytes()
        else:
            # 65,535 sentences or words in one sentence (a body without full stops): the
            # counts take 32 bits, flagged by a first count of 0xFFFF (16 bits would wrap).
            counts = np.concatenate([[n], self.lengths]).astype("<u4")
            head = np.array([_WIDE], dtype="<u2").tobytes() + counts.tobytes()
        body = self.h16.astype("<u2")
        flags = np.packbits(self.sig)
        return base64.b64encode(head + body.tobytes() + flags.tobytes()).decode("ascii")

    @classmethod
    def decode(cls, data: str) -> TokenStream:
        raw = base64.b64decode(data)
        n = int(np.frombuffer(raw[:2], dtype="<u2")[0])
        if n == _WIDE:
            n = int(np.frombuffer(raw[2:6], dtype="<u4")[0])
            lengths = np.frombuffer(raw[6:6 + 4 * n], dtype="<u4").astype(np.int64)
            off = 6 + 4 * n
        else:
            lengths = np.frombuffer(raw[2:2 + 2 * n], dtype="<u2").astype(np.int64)
            off = 2 + 2 * n
        total = int(lengths.sum())
        h16 = np.frombuffer(raw[off:off + 2 * total], dtype="<u2")
        sig = np.unpackbits(np.frombuffer(raw[off + 2 * total:], dtype=np.uint8))[:total]
        if len(h16) != total or len(sig) != total:
            raise ValueError("truncated token stream")
        return cls(lengths, h16, sig)

    def select(self, indices: Sequence[int]) -> TokenStream:
        """A stream of some of these sentences."""
        starts = np.cumsum(self.lengths) - self.lengths
        parts = [np.arange(starts[i], starts[i] + self.lengths[i]) for i in indices]
        idx = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return TokenStream(self.lengths[list(indices)], self.h16[idx], self.sig[idx])

    def extend(self, other: TokenStream) -> TokenStream:
        return TokenStream(np.concatenate([self.lengths, other.lengths]),
                           np.concatenate([self.h16, other.h16]), np.concatenate([self.sig, other.sig]))

    def sketches(self) -> list[SentenceSketch]:
        h = self.h16.astype(np.uint64)
        tri = ((h[:-2] * _P1 + h[1:-1] * _P2 + h[2:]) & np.uint64(0xFFFF)) if len(h) >= 3 else h[:0]
        out = []
        start = 0
        for n in self.lengths.tolist():
            end = start + n
            grams = tri[start:end - 2] if n >= 3 else h[start:end]
            names = h[start:end][self.sig[start:end]]
            out.append(SentenceSketch(frozenset(grams.tolist()), frozenset(names.tolist())))
            start = end
        return out


def shingle_hashes(h16: np.ndarray) -> list[bytes]:
    """Word 3-gram hashes of a text as 8-byte tokens for MinHash (a short text gives one
    gram).  Repeats are left in: MinHash ignores them.  Built from the stored 16-bit token
    hashes, so a signature can always be recomputed from the store (48 bits a trigram)."""
    h = h16.astype(np.uint64)
    if len(h) == 0:
        return []
    if len(h) < 3:
        grams = np.array([int(np.bitwise_xor.reduce(h * np.uint64(0x9E3779B97F4A7C15)))], dtype=np.uint64)
    else:
        grams = (h[:-2] * np.uint64(0x9E3779B97F4A7C15)) ^ (h[1:-1] * np.uint64(0xC2B2AE3D27D4EB4F)) ^ h[2:]
    # numpy's 'S8' drops trailing NUL bytes, which keeps distinct values distinct.
    return list(grams.view("S8"))


def uncovered(new: Sequence[SentenceSketch], seen: Sequence[SentenceSketch], min_containment: float
              ) -> list[int]:
    """Indices of ``new`` sentences that no ``seen`` sentence covers: those that share less
    than ``min_containment`` of their trigrams with every seen sentence, or add a number,
    negation or name it does not have."""
    by_gram: dict[int, list[int]] = {}
    for j, sk in enumerate(seen):
        for g in sk.grams:
            by_gram.setdefault(g, []).append(j)
    out = []
    for i, sk in enumerate(new):
        if not sk.grams:
            continue
        counts: dict[int, int] = {}
        for g in sk.grams:
            for j in by_gram.get(g, ()):
                counts[j] = counts.get(j, 0) + 1
        need = min_containment * len(sk.grams)
        if not any(c >= need and sk.significant <= seen[j].significant for j, c in counts.items()):
            out.append(i)
    return out


# --------------------------------------------------------------------- cluster features
# a sentence holding one of these is a web address, not reporting; and what an apostrophe
# leaves of a word ("Iran's" -> iran + s) says nothing, like a function word
LINK_WORDS = lexicon.words("link_words")
FRAGMENTS = lexicon.words("apostrophe_fragments")


def word_hash(word: str) -> int:
    """A lower-case word's 16-bit hash, as :class:`TokenStream` keeps it."""
    return zlib.crc32(word.encode("utf-8")) & 0xFFFF


def _hash_mask(words: Iterable[str]) -> np.ndarray:
    """A lookup table over the 16-bit word hashes: True at the hashes of ``words``."""
    mask = np.zeros(1 << 16, dtype=bool)
    mask[[word_hash(w) for w in words]] = True
    return mask


_LINK_MASK = _hash_mask(LINK_WORDS)
_FUNCTION_MASK = _hash_mask(STOPWORDS | FRAGMENTS)


def is_link(words: Sequence[str]) -> bool:
    """A sentence that is a web address (it holds a link word), not reporting."""
    return any(w.lower() in LINK_WORDS for w in words)


def lead_words(stream: TokenStream, max_words: int) -> tuple[np.ndarray, np.ndarray]:
    """What a story's lead says, as a bag of words: the content words among its first
    ``max_words`` words (link sentences skipped, function words out), as sorted 16-bit
    word hashes and their counts.

    Built from the stored token stream, so the store needs nothing more to rebuild it;
    two words sharing a hash (1 in 65,536) only add a little noise to a similarity."""
    h = stream.h16
    link = _LINK_MASK[h]
    if link.any():
        sent = np.repeat(np.arange(len(stream.lengths)), stream.lengths)
        is_link_sentence = np.zeros(len(stream.lengths), dtype=bool)
        is_link_sentence[sent[link]] = True
        h = h[~is_link_sentence[sent]]
    h = h[:max_words]
    h = h[~_FUNCTION_MASK[h]]
    keys, counts = np.unique(h, return_counts=True)
    return keys, counts


def event_terms(token_lists: Sequence[Sequence[str]], max_words: int) -> list[str]:
    """Names and figures of a story's lead: what coverage of one event shares.

    Capitalised words that do not open a sentence (places, people, groups), and
    figures, from the first ``max_words`` words; lower-cased, function words out.
    Link sentences (web addresses) are not part of the lead.
    """
    out: set[str] = set()
    seen = 0
    for raw in token_lists:
        if is_link(raw):
            continue
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
