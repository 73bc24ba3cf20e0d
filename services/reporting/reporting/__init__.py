"""Reporting service: rates, weekly reports and ledgers, from its own event-built read model."""
