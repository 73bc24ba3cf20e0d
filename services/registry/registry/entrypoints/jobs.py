"""Scheduled sweeps of the registry."""

from __future__ import annotations

from registry.usecases.transfers import flag_overdue_transfers
from registry.usecases.watch import flag_overdue_off_roll
from shared.jobs import periodic
from shared.service import Runtime


async def _overdue_pass(runtime: Runtime) -> int:
    async with runtime.uow() as uow:
        return await flag_overdue_transfers(uow, overdue_after_days=runtime.settings.transfer_overdue_days)


# Announce each transfer still waiting for its receipt past the deadline, once.
overdue_transfers = periodic("overdue_transfers", _overdue_pass, lambda runtime: runtime.settings.transfer_sweep_interval_s)


async def _off_roll_pass(runtime: Runtime) -> int:
    async with runtime.uow() as uow:
        return await flag_overdue_off_roll(uow, overdue_after_days=runtime.settings.transfer_overdue_days)


# Announce each child boarding elsewhere without the host's receipt, or boarding or suspended
# past the end without coming back, once. Same deadline and interval as transfers: one rule for
# "nobody has confirmed where this child is".
overdue_off_roll = periodic("overdue_off_roll", _off_roll_pass,
                            lambda runtime: runtime.settings.transfer_sweep_interval_s)
