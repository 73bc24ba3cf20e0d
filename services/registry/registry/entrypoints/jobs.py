"""Scheduled sweeps of the registry."""

from __future__ import annotations

from shared.jobs import periodic

from registry.records import flag_overdue_transfers

# Announce each transfer still waiting for its receipt past the deadline, once.
overdue_transfers = periodic(
    "overdue_transfers", "transfer_sweep_interval_s",
    lambda uow, settings: flag_overdue_transfers(uow, overdue_after_days=settings.transfer_overdue_days))
