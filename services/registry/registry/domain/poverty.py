"""The poverty-relief office's lists (扶贫部门提供建档立卡贫困家庭基本信息). No I/O.

Since 2021 counties receive lists of 脱贫户 (households lifted out of poverty, still watched),
防返贫监测对象 (households monitored against falling back) and 低保 (minimum living allowance), and
counties name lists of their own. A list says, as of its date, which children's households are in
its category: a child on it has the poor-household flag with that category; a child flagged from
the same category who is no longer on it is cleared. A list older than a child's last change of
the flag changes nothing for that child (it is old news).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from registry.domain.flags import newer_news

FLAG = "poor_household"
# The categories the national policy names; a county may name others (一县一策).
KNOWN_CATEGORIES = ("脱贫户", "防返贫监测对象", "低保")


class Action(str, enum.Enum):
    set = "set"            # flagged now, or moved to this category
    clear = "clear"        # flagged from this category, no longer on its list
    unchanged = "unchanged"
    older = "older"        # the list predates the child's last change of the flag


@dataclass(frozen=True)
class FlagState:
    flagged: bool
    category: str | None
    last_change_on: date | None


def decide(state: FlagState, *, on_list: bool, category: str, list_date: date) -> Action:
    if on_list:
        if state.flagged and state.category == category:
            return Action.unchanged
        return Action.set if newer_news(state.last_change_on, list_date) else Action.older
    # Only the list that flagged a child (its category) takes the flag away; a flag set by hand
    # (no category) or by another list stays.
    if not (state.flagged and state.category == category):
        return Action.unchanged
    return Action.clear if newer_news(state.last_change_on, list_date) else Action.older
