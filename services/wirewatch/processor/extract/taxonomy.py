"""Event types and their public codes: CAMEO (as GDELT/PETRARCH use it) and ACLED.

The codes live in ``events.yaml`` next to each event type; this module only holds the
type and the one rule that depends on who acted: ACLED tells a government regaining
territory from a non-state actor overtaking it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Actor words that mean state forces (for ACLED's territory sub-event types).
_STATE = re.compile(
    r"\b(army|armed forces|government|regime|state|military|troops|soldiers|loyalist|police|"
    r"security forces|national guard|defen[cs]e ministry|air force)\b",
    re.I,
)
_TERRITORY_GAIN = "Battles / Non-state actor overtakes territory"


@dataclass(frozen=True)
class EventType:
    name: str
    category: str
    cameo: str | None
    acled: str | None

    def acled_for(self, actor: str | None) -> str | None:
        """ACLED event type / sub-event type, refined by the actor where ACLED distinguishes."""
        if self.acled == _TERRITORY_GAIN and actor and _STATE.search(actor):
            return "Battles / Government regains territory"
        return self.acled
