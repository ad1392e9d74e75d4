"""The processor: dedup, claim extraction and the claim ledger, as plain classes.

``dedup/`` decides whether a raw story is new, a copy or an update, and clusters coverage
of one event; ``extract/`` turns a unique story into claims; the ledger compares claims and
raises alerts; ``pipeline`` runs the three in order over a state mapping, and ``render``
writes alerts for people.  ``stream/`` is the shell that runs the same stages on Kafka with
faust, at least once; `wirewatch replay` runs them over in-memory ports.
"""
