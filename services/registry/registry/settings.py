from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name: str = "registry"
    http_port: int = 8001
    # A transfer out not confirmed by the other school within this many days is overdue; so is
    # boarding elsewhere without the host's receipt, and a period off the roll with no end date.
    transfer_overdue_days: int = Field(default=30, ge=1)
    # How often the overdue sweeps run (transfers; receipts and returns). Each is a set-based
    # claim, safe on every replica.
    transfer_sweep_interval_s: float = Field(default=300.0, gt=0)
    # Rows per uploaded spreadsheet (bulk import, population cross-check).
    import_max_rows: int = Field(default=50_000, ge=1)
