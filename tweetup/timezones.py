import zoneinfo
from functools import cache


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    """Every IANA time zone, for contest and visit forms."""
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]
