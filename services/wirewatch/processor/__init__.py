"""The processor: dedup, claim extraction and the claim ledger, as plain classes; faust wires them."""
