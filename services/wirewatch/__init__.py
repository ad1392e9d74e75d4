"""wirewatch: streaming news ingest with attributed claims and typed contradictions."""

__version__ = "0.1.0"
