from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from shared.settings import ServiceSettings

if TYPE_CHECKING:
    from registry.adapters.xlsx_guard import UploadLimits


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
    # Bounds an uploaded spreadsheet is measured against before it is parsed (the sheet's real
    # extent, never its <dimension>): columns holding a value, cells of any kind, and the bytes an
    # XLSX unpacks to (as its ZIP declares them; a member that unpacks past that fails its CRC).
    import_max_columns: int = Field(default=64, ge=8, le=16_384)
    import_max_cells: int = Field(default=1_000_000, ge=1_000)
    import_max_unzipped_bytes: int = Field(default=134_217_728, ge=1_048_576)
    # A dry-run import answers which IDs are enrolled elsewhere (for rows whose name and birth
    # date match): at most this many a caller and day, each counted.
    import_dry_runs_per_day: int = Field(default=20, ge=1)

    @property
    def upload_limits(self) -> UploadLimits:
        from registry.adapters.xlsx_guard import UploadLimits

        return UploadLimits(max_rows=self.import_max_rows, max_columns=self.import_max_columns,
                            max_cells=self.import_max_cells, max_unzipped_bytes=self.import_max_unzipped_bytes)
