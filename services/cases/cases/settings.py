from __future__ import annotations

from shared.settings import ServiceSettings


class CasesSettings(ServiceSettings):
    service_name: str = "cases"
    http_port: int = 8003
