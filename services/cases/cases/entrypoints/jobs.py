"""The scheduled escalation of unacknowledged dual reports. Overdue reports are found by a sweep
over stored reports, never by counting ticks: a late or skipped pass still finds them all, and
the claim in ``escalate_overdue`` makes two replicas escalate each report once."""

from __future__ import annotations

from datetime import timedelta

from shared.jobs import periodic

from cases.handlers import escalate_overdue, issue_unverified_reports


async def _escalation_pass(runtime) -> int:
    """First the verification deadline (reports nobody decided on go out, unverified), then the
    escalation of reports left unacknowledged."""
    async with runtime.uow() as uow:
        issued = await issue_unverified_reports(uow)
    async with runtime.uow() as uow:
        return issued + await escalate_overdue(uow, timedelta(hours=runtime.settings.escalation_deadline_hours))


run_escalation = periodic("report_escalation", _escalation_pass, lambda runtime: runtime.settings.escalation_interval_s)
