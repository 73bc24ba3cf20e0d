"""Registry statuses that other services count by, defined once."""

from __future__ import annotations

# A child on a school's roll and in class: enrolled, or transferred in and received.
ATTENDING = frozenset({"enrolled", "transferred_in"})
