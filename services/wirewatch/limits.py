"""Every size limit on a story's way through wirewatch, in one place.

They are chosen to agree with each other and with a Kafka cluster's defaults, so that
nothing the poller sends is refused further down:

    feed item ─ poller: body ≤ MAX_BODY_CHARS characters, whole message ≤ MAX_RAW_STORY_BYTES
      raw topic ─ processor: a message over MAX_MESSAGE_BYTES is dead-lettered (message_too_large)
      unique topic: the raw story plus cluster id, status, update-of and changed spans,
                    ≤ MAX_RAW_STORY_BYTES + UNIQUE_OVERHEAD_BYTES = MAX_MESSAGE_BYTES
                    (what can still overflow it: the README's known gaps)
      extraction: a body over spaCy's max_length (1,000,000 characters) is dead-lettered
                  (too_large); a sentence over MAX_SENTENCE_CHARS is not parsed (counted as
                  too_long in wirewatch_extract_sentences_total)
      claims, updates, alerts, dead letters: every field and list capped (models.py), so
                  the longest each can be (models.max_json_bytes, ~650 KB for a contradiction)
                  is below the cap by construction; every message the processor sends is
                  measured before the send all the same (a unique copy can be over: dead-
                  lettered by dedup as message_too_large)

Kafka refuses a record batch over the broker's ``message.max.bytes`` (1,048,588 bytes by
default; the embedded broker has no such limit) and a producer refuses a message over
its ``max_request_size``.  Every wirewatch producer sends at most MAX_MESSAGE_BYTES, so
a cluster with default settings takes every message; nothing needs raising on the broker.
"""

from __future__ import annotations

# The largest message any wirewatch producer sends and the processor decodes: aiokafka's
# default max_request_size (faust's default, 1,000,000, is raised to it in processor/stream/app.py),
# just under a default Kafka broker's message.max.bytes (1,048,588 per record batch).
MAX_MESSAGE_BYTES = 1_048_576

# What a record adds to its key, value and headers on the wire (a batch's header, varints),
# generously: the processor checks key + value + headers + this against MAX_MESSAGE_BYTES
# before each send, so a producer never refuses what it is handed.
RECORD_OVERHEAD_BYTES = 512

# The most bytes a producer puts in one record batch (aiokafka's default is 16 KiB: three
# stories).  Fuller batches are what keeps the embedded broker readable, since it lists
# every stored batch on each fetch (benchmarks/README.md); a batch stays within a
# default broker's message.max.bytes, and a single larger message goes alone.
MAX_BATCH_BYTES = MAX_MESSAGE_BYTES

# A raw story as the poller sends it (JSON, UTF-8).  The rest of MAX_MESSAGE_BYTES is for
# what dedup adds to make its unique copy (UNIQUE_OVERHEAD_BYTES).
MAX_RAW_STORY_BYTES = 900_000
UNIQUE_OVERHEAD_BYTES = MAX_MESSAGE_BYTES - MAX_RAW_STORY_BYTES  # ids, status, ~9,000 changed spans

# A story's body in characters, from a feed or a full-text fetch.  In a script of 2 to 4
# bytes a character the byte cap above is the tighter one: the poller trims to both.
MAX_BODY_CHARS = 500_000

# The longest sentence the extractor parses.  A real news sentence is under ~1,000
# characters (the eval sets' longest is 258); spaCy's cost grows faster
# than linearly with sentence length (100,000 characters: 22 s and 360 MB).
MAX_SENTENCE_CHARS = 2_000
