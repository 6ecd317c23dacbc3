"""Catalog rules used by the bot, the admin and imports: reading tire sizes and finding tires."""

import re
from typing import NamedTuple


class TireSize(NamedTuple):
    width: int
    profile: int
    rim_diameter: int

    def __str__(self) -> str:
        return f"{self.width}/{self.profile} R{self.rim_diameter}"


# "205/55 R16", "205/55R16", "205 55 16", "205/55/16", "205/55 ZR16", Cyrillic "Р" too.
_WRITTEN_SIZE = re.compile(
    r"\s*(?P<width>\d{3})\s*[/\s]\s*(?P<profile>\d{2})\s*(?:[/\s]|Z?[RrРр])?\s*"
    r"(?:Z?[RrРр])?\s*(?P<rim>\d{2})\s*[CcСс]?\s*"
)


def parse_written_size(text: str) -> TireSize | None:
    """Read a size as it is printed on a sidewall or typed by staff; None if it is not one."""
    match = _WRITTEN_SIZE.fullmatch(text)
    if not match:
        return None
    return TireSize(int(match["width"]), int(match["profile"]), int(match["rim"]))
