"""The scheduled escalation of unacknowledged dual reports. Overdue reports are found by a sweep
over stored reports, never by counting ticks: a late or skipped pass still finds them all, and
the claim in ``escalate_overdue`` makes two replicas escalate each report once."""

from __future__ import annotations

from datetime import timedelta

from cases.usecases.dual_reports import escalate_overdue, issue_unverified_reports
from cases.usecases.ladder import escalate_overdue_steps
from shared.jobs import periodic


async def _escalation_pass(runtime) -> int:
    """The verification deadline (reports nobody decided on go out, unverified), then dual reports
    unacknowledged past their deadline, then legal steps past theirs: each once."""
    async with runtime.uow() as uow:
        issued = await issue_unverified_reports(uow)
    async with runtime.uow() as uow:
        reports = await escalate_overdue(uow, timedelta(hours=runtime.settings.escalation_deadline_hours))
    async with runtime.uow() as uow:
        return issued + reports + await escalate_overdue_steps(uow, tz=runtime.settings.timezone)


run_escalation = periodic("report_escalation", _escalation_pass, lambda runtime: runtime.settings.escalation_interval_s)
