"""Dedup: is a raw story new, a copy, or a new version of one; and which event cluster it joins.

``deduplicator`` holds the decision and its state (:class:`Deduplicator`); ``boilerplate``
drops outlet furniture before anything is compared; ``shingles`` turns text into what is
compared (normalised words, sentences, shingles, sentence sketches, a lead's names and
words); ``clusters`` groups coverage of one event by different outlets.  See docs/dedup.md.
"""

from .deduplicator import DEFAULT_NEAR_THRESHOLD, Deduplicator

__all__ = ["DEFAULT_NEAR_THRESHOLD", "Deduplicator"]
