"""Static tables for the seed generator: names, companies, sources, regions and their weights.

Private to :mod:`sla_sync.sandbox.seed`. Weights are relative; :func:`cumulative` turns them into
the cumulative lists :func:`pick` bisects, so a draw costs one ``random()`` and one bisect.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from typing import TypeVar

T = TypeVar("T")

Table = tuple[tuple[T, ...], list[float]]


def cumulative(pairs: Sequence[tuple[T, float]]) -> Table[T]:
    """``(values, cumulative weights normalised to 1)`` for :func:`pick`."""
    total = sum(weight for _, weight in pairs)
    return tuple(value for value, _ in pairs), [w / total for w in accumulate(w for _, w in pairs)]


def pick(table: Table[T], rng: random.Random) -> T:
    """One weighted draw from ``table``."""
    values, cum = table
    return values[min(bisect_right(cum, rng.random()), len(values) - 1)]


FIRST_NAMES = (
    "Ana", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
    "Wen", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Chloe", "Diego", "Emma", "Felix", "Hana",
    "Ivan", "Julia", "Kofi", "Lucia", "Marco", "Nora", "Oscar", "Priya", "Rafael", "Sofia",
    "Tomas", "Ursula", "Victor", "Willa", "Yara",
)  # fmt: skip
LAST_NAMES = (
    "Ortiz", "Baker", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen",
    "Kowalski", "Larsen", "Martin", "Novak", "Okafor", "Patel", "Quist", "Rossi", "Schmidt",
    "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Young", "Zimmer", "Almeida", "Brennan", "Costa",
    "Dimitrov", "Eriksen", "Ferreira", "Gupta", "Horvat", "Iyer", "Kim", "Lopez", "Murphy",
    "Nguyen", "OBrien", "Price", "Reyes", "Silva", "Torres", "Walsh", "Yilmaz",
)  # fmt: skip
COMPANY_HEADS = (
    "Northwind", "Bluepeak", "Cedar", "Driftwood", "Ember", "Foxglove", "Granite", "Harbor",
    "Ironleaf", "Juniper", "Keystone", "Lumen", "Meridian", "Nimbus", "Oakridge", "Pinnacle",
    "Quarry", "Redwood", "Summit", "Tidewater", "Umbra", "Vantage", "Willow", "Zephyr",
)  # fmt: skip
COMPANY_TAILS = (
    "Analytics", "Labs", "Logistics", "Health", "Systems", "Foods", "Energy", "Robotics",
    "Capital", "Media", "Software", "Retail", "Bio", "Networks", "Studios", "Manufacturing",
)  # fmt: skip

# Lead source -> (relative volume, base score). High-intent sources are hand-raisers: a workflow
# makes them MQLs within minutes and routes them at once.
SOURCES: dict[str, tuple[float, int]] = {
    "demo_request": (12, 62),
    "contact_sales": (6, 60),
    "free_trial": (14, 52),
    "webinar": (10, 38),
    "ebook": (18, 28),
    "paid_search": (15, 40),
    "organic_search": (12, 36),
    "event": (5, 42),
    "referral": (4, 55),
    "partner": (4, 50),
}
SOURCE_TABLE = cumulative([(name, volume) for name, (volume, _) in SOURCES.items()])
HIGH_INTENT = frozenset({"demo_request", "contact_sales", "free_trial"})
CONTENT = frozenset({"webinar", "ebook", "organic_search", "event"})

# Arrival regions: (share of volume, local zone that shapes their hourly rhythm, default team).
REGIONS: dict[str, tuple[float, str, str]] = {
    "americas-east": (0.50, "America/New_York", "ny-inbound"),
    "americas-west": (0.25, "America/Los_Angeles", "sf-inbound"),
    "emea": (0.25, "Europe/London", "emea-inbound"),
}
COUNTRIES: dict[str, Table[str]] = {
    "americas-east": cumulative([("US", 82), ("CA", 10), ("BR", 5), ("MX", 3)]),
    "americas-west": cumulative([("US", 78), ("CA", 7), ("AU", 8), ("SG", 4), ("JP", 3)]),
    "emea": cumulative(
        [("GB", 35), ("DE", 22), ("FR", 15), ("NL", 10), ("ES", 7), ("SE", 6), ("IE", 5)]
    ),
}
# Dialling code and a fictional-looking local pattern (555 / Ofcom drama ranges where they exist).
PHONE_PREFIX = {
    "US": "+1 {a} 555 {n4}",
    "CA": "+1 {a} 555 {n4}",
    "GB": "+44 20 7946 {n4}",
    "DE": "+49 30 {n4}{n3}",
    "FR": "+33 1 {n4}{n3}",
    "NL": "+31 20 {n4}{n3}",
    "ES": "+34 91 {n4}{n3}",
    "SE": "+46 8 {n4}{n3}",
    "IE": "+353 1 {n4}{n3}",
    "BR": "+55 11 {n4}{n4}",
    "MX": "+52 55 {n4}{n4}",
    "AU": "+61 2 {n4}{n4}",
    "SG": "+65 6{n3}{n4}",
    "JP": "+81 3 {n4}{n4}",
}

# Team -> time zone; every team has a manager. enterprise-na takes US/CA companies >= 1,000 staff.
TEAM_ZONES: dict[str, str] = {
    "ny-inbound": "America/New_York",
    "sf-inbound": "America/Los_Angeles",
    "emea-inbound": "Europe/London",
    "enterprise-na": "America/Chicago",
}
ENTERPRISE_TEAM = "enterprise-na"
ENTERPRISE_MIN_EMPLOYEES = 1000

# Arrival rhythm in the region's local time: weekday factor (Mon..Sun) and hour-of-day factor.
WEEKDAY_FACTOR = (1.0, 1.1, 1.1, 1.05, 0.85, 0.3, 0.25)
HOUR_FACTOR = (
    0.15, 0.12, 0.1, 0.1, 0.12, 0.2, 0.3, 0.5, 0.9, 1.3, 1.35, 1.3,
    1.0, 1.2, 1.25, 1.2, 1.1, 0.8, 0.55, 0.5, 0.45, 0.35, 0.25, 0.2,
)  # fmt: skip
MONTHLY_GROWTH = 0.04  # volume grows ~4 % a month across the span

# First-response classes per MQL cycle (HBR "Short Life of Online Sales Leads", 2011: 37 % within
# 1 h, 16 % 1-24 h, 24 % > 24 h, 23 % never). Values: (weight, min seconds, max seconds).
RESPONSE_CLASSES: dict[str, tuple[float, int, int]] = {
    "minutes": (0.15, 30, 5 * 60),
    "hour": (0.22, 5 * 60, 55 * 60),
    "day": (0.16, 65 * 60, 24 * 3600),
    "days": (0.24, 24 * 3600, 10 * 86400),
    "never": (0.23, 0, 0),
}
RESPONSE_TABLE = cumulative([(name, spec[0]) for name, spec in RESPONSE_CLASSES.items()])
# Follow-up attempts after the first touch while not connected (InsideSales: average rep 1.3
# attempts; good reps 6): extra attempts 0..5.
EXTRA_ATTEMPTS = cumulative([(0, 30), (1, 22), (2, 16), (3, 12), (4, 9), (5, 11)])

CALL_SUBJECTS = ("Intro call", "Call: follow-up", "Discovery call attempt", "Call back")
EMAIL_SUBJECTS = ("Re: your request", "Quick question", "Following up", "Next steps?")
AUTO_SUBJECTS = ("Thanks for your interest", "Your download is ready", "Welcome aboard")
NURTURE_SUBJECTS = ("This week's guide", "Customer story", "Upcoming webinar")
INBOUND_SUBJECTS = ("Re: Following up", "Re: Quick question", "Pricing question")
