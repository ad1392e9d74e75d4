"""The claim ledger: claims per place over a sliding window, and the alerts they raise.

    keys.py       ledger keys and place names: which claims meet, which are about one place
    facts.py      the facts of a claim, read once by the extractor (`story_facts`) and carried
                  with it, and the ledger's view of them (`Facts`); reading them uses
      actors.py     the camp a phrase names, and a source's name words
      territory.py  who holds a place according to a claim
      tolls.py      what a casualty claim counts
      numbers.py    figures as ranges ('at least 40', 'dozens')
    conflicts.py  when two claims cannot both be true (denial, control, numeric), when one
                  repeats another, and the one-line explanation of a contradiction
    disputes.py   the sources, articles and claims a fact or a side of a dispute counts
    ledger.py     ClaimLedger: the store layout, filing a claim, disputes, eviction

The words these modules match are data, one list per concept, in ``data/lexicon/*.yaml``.
"""

from .keys import ledger_key
from .ledger import ClaimLedger, LedgerResult, store_route

__all__ = ["ClaimLedger", "LedgerResult", "ledger_key", "store_route"]
