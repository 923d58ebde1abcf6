"""The contests both sides of ``make bench`` show: the site stores them, the baseline holds them.

``bench/run.py`` creates these in the site's database through the site's own
services; the baseline builds its fixed context from the same values, so that
the two pages carry the same text. Plain Python: no Django, nothing of the site.
"""

BENCH_SLUG = "bench-entries"

# Hours from now at which each contest opens and closes.
CONTESTS = [
    {
        "slug": BENCH_SLUG,
        "title": "The burst after the tweet",
        "opens": -1,
        "closes": 24 * 7,
    },
    {"slug": "bench-upcoming", "title": "The next visit, announced", "opens": 24, "closes": 48},
    {"slug": "bench-past-1", "title": "Last year's contest", "opens": -72, "closes": -48},
    {"slug": "bench-past-2", "title": "The contest before it", "opens": -120, "closes": -96},
]
DESCRIPTION = (
    "Spend a day behind the scenes of the laboratory with the people who follow you.\n\n"
    "Enter before the contest closes; the draw is public and anyone can check it."
)
HASHTAG = "BenchTweetup"
RULES = "One entry per person. Winners are drawn at random among the confirmed entries."
WINNERS = 5
ALTERNATES = 5
