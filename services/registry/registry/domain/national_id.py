"""The 18-character resident identity number (GB 11643-1999, check digit ISO 7064 MOD 11-2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# ASCII only: \d alone also matches other scripts' digits (e.g. "᧖"), and int() reads them.
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
# First two digits: the province-level division (GB/T 2260). 71 Taiwan, 81/82 HK/Macau, 83 for
# residence permits of Taiwan residents; 91 is unused.
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)

# The records here are of living people (household lists carry adults too): nobody alive was born
# earlier. A valid number may be older (1880 in the standard's examples): ``earliest`` is the
# caller's rule, not the number's.
EARLIEST_BIRTH = date(1900, 1, 1)


class InvalidNationalId(ValueError):
    pass


@dataclass(frozen=True)
class NationalId:
    number: str
    region_code: str
    birth_date: date
    sequence: str

    @property
    def gender(self) -> str:
        # The 17th digit: odd for male, even for female.
        return "male" if int(self.number[16]) % 2 else "female"

    def masked(self) -> str:
        return self.number[:4] + "*" * 10 + self.number[-4:]


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def parse(raw: str, *, today: date | None = None, earliest: date | None = None) -> NationalId:
    number = raw.strip().upper()
    if len(number) != 18:
        raise InvalidNationalId(f"must be 18 characters, got {len(number)}")
    if not _SHAPE.match(number):
        raise InvalidNationalId("must be 17 digits followed by a digit or X")
    if number[:2] not in PROVINCE_CODES:
        raise InvalidNationalId(f"region code {number[:6]} names no province")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidNationalId(f"birth date {number[6:14]} is not a calendar date") from None
    if today is not None and born > today:
        raise InvalidNationalId(f"birth date {born.isoformat()} is in the future")
    if earliest is not None and born < earliest:
        raise InvalidNationalId(f"birth date {born.isoformat()} is before {earliest.isoformat()}")
    expected = check_char(number[:17])
    if number[17] != expected:
        raise InvalidNationalId("check character does not match (ISO 7064 MOD 11-2)")
    return NationalId(number=number, region_code=number[:6], birth_date=born, sequence=number[14:17])


def compose(region_code: str, birth_date: date, sequence: int) -> str:
    """Build a valid number (for demo data and tests): region, birth date, 3-digit sequence."""
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("region code must be 6 digits and sequence 0-999")
    return first17 + check_char(first17)
