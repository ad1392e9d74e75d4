"""Every wirewatch error, under one root, each with a stable ``code``.

The ``code`` is what users see in `wirewatch feeds`, in metric labels and in
dead-letter headers, so it never changes once released.  Messages are one line.
"""

from __future__ import annotations


class WirewatchError(Exception):
    """Root of every error wirewatch raises on purpose."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# -- configuration ------------------------------------------------------------
class ConfigError(WirewatchError):
    code = "config"


class ModelNotFound(ConfigError):
    code = "model_not_found"


# -- broker -------------------------------------------------------------------
class BrokerError(WirewatchError):
    code = "broker"


class BrokerUnavailable(BrokerError):
    code = "broker_unavailable"


class EmbeddedBrokerError(BrokerError):
    code = "embedded_broker"


# -- feeds (the poller) ---------------------------------------------------------
class FeedError(WirewatchError):
    """A feed could not be fetched or parsed; ``code`` is its error class."""

    code = "feed"
    transient = True


class UnsupportedScheme(FeedError):
    code = "unsupported_scheme"
    transient = False


class FeedUnreadable(FeedError):
    code = "unreadable"


class FetchTimeout(FeedError):
    code = "timeout"


class ConnectError(FeedError):
    code = "connect"


class TLSError(FeedError):
    code = "tls"


class HTTPStatusError(FeedError):
    """4xx/5xx; ``code`` is ``http_4xx`` or ``http_5xx``.

    ``retry_after`` is the server's Retry-After in seconds (already clamped), if any.
    """

    def __init__(self, message: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.code = "http_4xx" if 400 <= status < 500 else "http_5xx"


class TooLarge(FeedError):
    code = "too_large"


class SSRFBlocked(FeedError):
    code = "ssrf_blocked"
    transient = False


class UnsafeXML(FeedError):
    code = "unsafe_xml"


class NotAFeed(FeedError):
    code = "not_a_feed"


class ParseError(FeedError):
    code = "parse_error"


class ParseLimit(FeedError):
    """Parsing ran out of its CPU-time, wall-clock or memory budget (a pathological feed)."""

    code = "parse_limit"


class BadURL(FeedError):
    """A URL the poller refuses on sight: credentials in it, no host, a blocked port."""

    code = "bad_url"
    transient = False


class RedirectError(FeedError):
    """Too many redirects, a loop, or an HTTPS to HTTP downgrade."""

    code = "redirect"


class BadEncoding(FeedError):
    """A Content-Encoding we did not offer, stacked codings, or a corrupt compressed stream."""

    code = "bad_encoding"


class BadResponse(FeedError):
    """The server broke HTTP: oversized headers, a truncated body, a reset mid-stream."""

    code = "bad_response"


# -- messages in the processor ----------------------------------------------------
class MessageError(WirewatchError):
    """A message on a topic that the processor cannot use."""

    code = "bad_message"


class NotJSON(MessageError):
    code = "not_json"


class SchemaInvalid(MessageError):
    code = "schema_invalid"


class MessageTooLarge(MessageError):
    code = "message_too_large"


class ProcessingFailed(MessageError):
    code = "processing_failed"


class StoryTooLarge(MessageError):
    """A story whose body is over the spaCy model's ``max_length``: refused by extraction
    rather than parsed (only a message put straight on the unique topic can be that long;
    see wirewatch/limits.py)."""

    code = "too_large"


# -- processor state ------------------------------------------------------------
class DedupStateError(WirewatchError):
    """The dedup store holds state this version cannot read (other settings, a corrupt record)."""

    code = "dedup_state"


class LedgerStateError(WirewatchError):
    """The ledger store holds an entry this version cannot read (a corrupt or foreign record)."""

    code = "ledger_state"


def error_code(exc: BaseException) -> str:
    """The stable class of any exception (``internal`` for ones we did not foresee)."""
    if isinstance(exc, WirewatchError):
        return exc.code
    return "internal"


# -- word lists -----------------------------------------------------------------
class LexiconInvalid(ConfigError):
    """A word list under ``data/lexicon/`` is unreadable or malformed."""

    code = "lexicon_invalid"


# -- extraction -------------------------------------------------------------------
class ExtractDataInvalid(ConfigError):
    """The event patterns file or the places file is unreadable or malformed."""

    code = "extract_data_invalid"


class ExtractFailed(WirewatchError):
    """Extraction of one story failed in an NLP worker process; ``code`` is the class of
    the original error there (``internal`` for one nobody foresaw), or ``nlp_worker_died``
    when the story took its worker process down."""

    code = "extract_failed"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    def __reduce__(self) -> tuple[type[ExtractFailed], tuple[str, str]]:
        # crosses the process boundary: keep the code, which ``args`` alone would lose
        return (ExtractFailed, (self.message, self.code))
