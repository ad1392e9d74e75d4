"""The stream shell: the processor's stages on Kafka topics, at least once.

``types`` names the ports (a state store, a publisher, a dead-letter sink) and a stage's
shape; ``runner`` runs one batch of a stage against them (stage, send, await the acks,
commit; on failure roll back, retry one by one, dead-letter); ``staged`` is the state
store's write-ahead view; ``stages`` adapts the pipeline's dedup, extraction and ledger
steps to the runner, and replays stories over in-memory ports.  ``app`` is the faust
wiring alone (topics, tables, agents, timers), ``faust_patches`` what wirewatch changes
inside faust, ``watchdog`` the stall and offset-continuity checks, and ``nlp_pool`` the
worker processes extraction runs in.

Nothing here is imported by the package itself, so `wirewatch replay` never loads faust.
"""
