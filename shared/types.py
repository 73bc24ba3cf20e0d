"""Field types every service's schemas use."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

# Instants are stored in UTC everywhere (SQLite keeps no offset): a "+08:00" from a school's
# device is converted here, at the edge, once.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(timezone.utc))]
