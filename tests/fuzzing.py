"""Hostile input for the fuzz tests: hypothesis strategies, a request helper that checks the rules, and a count.

Every fuzzed request must answer 2xx, 3xx or 4xx, never 5xx; a request answered 4xx must write no row. The count of
cases (hypothesis examples and fixed cases) and of requests is printed at the end of the test session.
"""

import os
from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

COUNTS = Counter()
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI", "").lower() == "true",  # CI reruns the same cases; locally they vary
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "0000-00-00",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "2026-13-01",
    "31/12/2026",
    "-1",
    "0",
    "1e309",
    "NaN",
    "null",
    "true",
    "[]",
    "{}",
    "0001-01-01T00:00Z",
    "9999-12-31T23:59Z",
    "2026-03-03T10:00Z",
    "2026-03-03T10:00+01:00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%00",
    "%s%s%n",
    "../../etc/passwd",
    "\u202eevil",
    "\ufeffBOM",
    "𝕏𝕐ℤ",
    "ǅ ǈ ǋ",
    "٢٠٢٦-٠٣-٠٣",
    "x" * 10_000,
    "ä" * 100_000,
    "\r\nSet-Cookie: x=y",
]

nasty_text = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=60),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates(min_value=__import__("datetime").date(1, 1, 1)).map(str),
    st.builds(lambda char, times: char * times, st.characters(codec="utf-8"), st.integers(200, 20_000)),
)
# A form value: text, several values for one name (wrong type for a single field), or nothing at all.
form_value = st.one_of(nasty_text, st.lists(nasty_text, min_size=2, max_size=3))
extra_fields = st.dictionaries(st.text(min_size=1, max_size=20), nasty_text, max_size=3)
raw_body = st.one_of(st.binary(max_size=3000), nasty_text.map(lambda text: text.encode("utf-8", "surrogatepass")))
content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/x-www-form-urlencoded; charset=nonsense",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "application/json",
        "text/plain",
        "",
    ]
)
ODD_METHODS = ["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "HEAD", "PROPFIND"]


def form(fields: dict) -> st.SearchStrategy:
    """Each named field: a plausible value, garbage or missing; plus a few unexpected extra fields."""
    parts = {name: st.one_of(st.just(None), form_value, plausible) for name, plausible in fields.items()}
    return st.builds(
        lambda chosen, extra: {**extra, **{name: value for name, value in chosen.items() if value is not None}},
        st.fixed_dictionaries(parts),
        extra_fields,
    )


def count_case():
    COUNTS["cases"] += 1


def checked(response, *, rows_before=None, rows_after=None):
    """Assert the fuzz rules on one response; count it."""
    COUNTS["requests"] += 1
    COUNTS[f"{response.status_code // 100}xx"] += 1
    assert response.status_code < 500, f"{response.status_code}: {response.content[:300]!r}"
    if response.status_code >= 400 and rows_before is not None:
        assert rows_after == rows_before, "a refused request wrote rows"
    return response


def summary_lines() -> list[str]:
    if not COUNTS["cases"]:
        return []
    by_class = ", ".join(f"{key} {COUNTS[key]}" for key in ("2xx", "3xx", "4xx", "5xx") if COUNTS[key])
    return [f"fuzz: {COUNTS['cases']} cases, {COUNTS['requests']} requests ({by_class}), {COUNTS['5xx']} server errors"]
