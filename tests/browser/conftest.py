"""Real Chromium, driven by Playwright's sync API, against pytest-django's live server.

One browser per session; each test gets fresh contexts (cookies, storage) at phone width. Every page a test loads
must be checked with axe before the next one loads: the `patient` fixture records page loads and fails the test
if one went unchecked.
"""

import os
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connections

from ..factories import make_practitioner, make_treatment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"
LONDON = ZoneInfo("Europe/London")
# Monday 2 March 2026, 08:00 in London: the clinic's day has not started, so the first free day is tomorrow.
START_OF_JOURNEYS = datetime(2026, 3, 2, 8, 0, tzinfo=LONDON)
IN_CI = os.environ.get("CI", "").lower() == "true"
BLOCKING_IMPACTS = {"serious", "critical"}
# The elements that stick out past the right edge of the viewport, when the page would scroll sideways.
TOO_WIDE_JS = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > width + 1)
    .slice(0, 5)
    .map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${[...e.classList].join(".")}`);
}"""


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run the browser journeys last (after pytest-django's own ordering): they are the slowest, and while the
    session's browser is open nothing else should share the test thread with Playwright's event loop."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session", autouse=True)
def _empty_database_before_the_journeys(django_db_setup, django_db_blocker):
    """Start the journeys from an empty database, so each can restore the database as migrations left it.

    A transactional test that ran earlier (without serialized rollback) flushed the database, and post_migrate
    then made the content types and permissions again under new ids: restoring the migrated rows on top of those
    would clash. The journeys themselves flush without post_migrate, so this is needed once, before the first.
    """
    with django_db_blocker.unblock():
        for alias in connections:
            call_command("flush", database=alias, interactive=False, inhibit_post_migrate=True, verbosity=0)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"CI=true but {CHROMIUM} is missing: the browser journeys must run in CI.")
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on the test's thread, so Django would take the test's own ORM
    # calls for async code and refuse them. Only while the browser is open, and never left set for later tests or
    # subprocesses. The live server answers on its own thread, where this changes nothing.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    migrated_data = {alias: getattr(connections[alias], "_test_serialized_contents", None) for alias in connections}
    try:
        with sync_playwright() as playwright:
            # With Playwright's loop running, Django hands this thread new connection objects (its connection
            # storage is per async context): give them the migrations' data so serialized rollback still restores it.
            for alias, contents in migrated_data.items():
                if contents is not None:
                    connections[alias]._test_serialized_contents = contents
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def journey_clock():
    """Time moves on as usual from START_OF_JOURNEYS, in this process and so in the live server's thread too."""
    with time_machine.travel(START_OF_JOURNEYS, tick=True) as traveller:
        yield traveller


@pytest.fixture
def site(live_server, settings, mailoutbox):
    """The live server, with the links in emails pointing at it."""
    settings.SITE_URL = live_server.url
    return live_server


@pytest.fixture
def output_dir(request) -> Path:
    """test-results/<test name>/ (gitignored): screenshots of the journey."""
    return RESULTS_DIR / re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")


class Patient:
    """One person in one browser context. Every page they load is checked with axe before they move on."""

    def __init__(self, context, *, axe, output_dir: Path, name: str):
        self.context = context
        self.page = context.new_page()
        self.axe = axe
        self.output_dir = output_dir
        self.name = name
        self.unchecked: list[str] = []
        self.violations: list[str] = []
        self.page.on("load", lambda page: self.unchecked.append(page.url))
        # Script errors, missing files and Content-Security-Policy refusals all land in the console.
        self.console_errors: list[str] = []
        self._axe_running = False
        self.page.on("pageerror", lambda error: self.console_errors.append(f"{self.page.url}: {error}"))
        self.page.on("console", self._on_console)

    def _on_console(self, message) -> None:
        # A page answered 400, 404 or 409 on purpose is logged as a failed load of the document itself: not news.
        # Nor is what axe itself does while it runs: on some pages (the admin's add appointment) it adds a <style>,
        # which the Content-Security-Policy refuses.
        if message.type == "error" and message.location.get("url") != self.page.url and not self._axe_running:
            self.console_errors.append(f"{self.page.url}: {message.text}")

    def check_accessibility(self) -> None:
        """Run axe on the current page; fail on any serious or critical violation, or if it scrolls sideways."""
        self.page.wait_for_load_state("load")
        self._axe_running = True
        try:
            results = self.axe.run(self.page, options={"resultTypes": ["violations"]})
            self.page.evaluate("0")  # a round trip: console messages axe caused have arrived before the flag drops
        finally:
            self._axe_running = False
        found = [
            f"{self.page.url}: {v['id']} ({v['impact']}): {v['help']} -> "
            + "; ".join(
                node["target"][0] if isinstance(node["target"][0], str) else str(node["target"]) for node in v["nodes"]
            )
            for v in results.response["violations"]
            if v["impact"] in BLOCKING_IMPACTS
        ]
        assert not found, "Accessibility violations:\n" + "\n".join(found)
        too_wide = self.page.evaluate(TOO_WIDE_JS)
        assert not too_wide, f"{self.page.url} scrolls sideways at {self.page.viewport_size['width']} px: {too_wide}"
        self.unchecked.clear()

    def screenshot(self, name: str) -> None:
        """Save the current page at phone and at desktop width."""
        original = self.page.viewport_size
        self.output_dir.mkdir(parents=True, exist_ok=True)
        for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
            self.page.set_viewport_size(size)
            self.page.screenshot(path=self.output_dir / f"{name}-{label}.png", full_page=True)
        self.page.set_viewport_size(original)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.journey_failed = report.failed
    return report


@pytest.fixture
def new_patient(request, browser, axe, site, output_dir):
    """Open a fresh browser context (its own cookies) for a patient, at phone width."""
    patients: list[Patient] = []

    def open_browser(name: str = "patient") -> Patient:
        context = browser.new_context(
            base_url=site.url, viewport=PHONE, locale="en-GB", timezone_id="Europe/London", device_scale_factor=1
        )
        context.set_default_timeout(10_000)
        patient = Patient(context, axe=axe, output_dir=output_dir, name=name)
        patients.append(patient)
        return patient

    yield open_browser
    unchecked = {p.name: p.unchecked for p in patients if p.unchecked}
    console_errors = [error for p in patients for error in p.console_errors]
    for patient in patients:
        patient.context.close()
    if getattr(request.node, "journey_failed", False):
        return  # the failure itself is the news; an unchecked page after it is not
    assert not unchecked, f"Pages loaded but never checked for accessibility: {unchecked}"
    assert not console_errors, "Errors in the browser console:\n" + "\n".join(console_errors)


@pytest.fixture
def patient(new_patient) -> Patient:
    return new_patient("patient")


@pytest.fixture
def clinic(journey_clock, transactional_db, django_db_serialized_rollback):
    """A freshly migrated clinic (with the seeded screening questions and staff groups), three treatments (one
    screened) and two practitioners, neither working on Mondays."""
    facial = make_treatment(
        "hydrating-facial",
        name="Hydrating facial",
        minutes=45,
        buffer=15,
        price="85.00",
        safe_alternative=True,
        description="A gentle facial that restores moisture with hyaluronic acid and ceramides.",
    )
    microneedling = make_treatment(
        "microneedling",
        name="Microneedling",
        minutes=60,
        buffer=15,
        price="180.00",
        requires_screening=True,
        display_order=0,
        description="Fine sterile needles prompt new collagen to soften acne scars, fine lines and uneven texture.",
    )
    consultation = make_treatment(
        "dermatology-consultation",
        name="Dermatology consultation",
        minutes=20,
        price="120.00",
        safe_alternative=True,
        description="Talk through your skin and the options for it with a dermatologist.",
    )
    tuesday_to_saturday = range(1, 6)
    make_practitioner("Nurse Ben Clarke", treatments=[facial, microneedling], weekdays=tuesday_to_saturday)
    make_practitioner("Dr Amara Okafor", treatments=[microneedling, consultation], weekdays=tuesday_to_saturday)
    return {"facial": facial, "microneedling": microneedling, "consultation": consultation}


@pytest.fixture
def new_staff(new_patient, django_user_model):
    """Open a desktop browser for a new staff member of `group` ("Reception", "Clinician"), signed in to the admin
    (its sign-in page checked with axe on the way)."""

    def sign_in(username: str, group: str) -> Patient:
        from django.contrib.auth.models import Group

        password = "a long clinic passphrase"
        user = django_user_model.objects.create_user(username, password=password, is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        staff = new_patient(group.lower())
        staff.page.set_viewport_size(DESKTOP)
        staff.page.goto("/admin/")
        staff.check_accessibility()
        staff.page.get_by_label("Username").fill(username)
        staff.page.get_by_label("Password").fill(password)
        staff.page.get_by_role("button", name="Log in").click()
        return staff

    return sign_in
