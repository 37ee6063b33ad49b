"""Load the demo clinic: treatments, three practitioners with working hours, and some booked appointments."""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from booking import selectors, services
from booking.exceptions import BookingError
from booking.models import AppointmentEmail, Practitioner, TimeOff, Treatment, WorkingHours
from screening.models import ScreeningPolicy

TREATMENTS = [
    # slug, name, minutes, buffer, price, requires_screening, safe_alternative, description
    (
        "microneedling",
        "Microneedling",
        60,
        15,
        "180.00",
        True,
        False,
        "Collagen induction with fine sterile needles to soften acne scars, fine lines and uneven texture.",
    ),
    (
        "hydrating-facial",
        "Hydrating facial",
        45,
        10,
        "85.00",
        False,
        True,
        "A gentle facial that cleanses and restores moisture with hyaluronic acid and ceramides.",
    ),
    (
        "mild-chemical-peel",
        "Mild chemical peel",
        30,
        10,
        "95.00",
        False,
        True,
        "A light peel with mild acids to brighten tone and smooth texture, with little downtime.",
    ),
    (
        "dermatology-consultation",
        "Dermatology consultation",
        20,
        5,
        "120.00",
        False,
        True,
        "Talk through your skin and treatment options with a dermatologist.",
    ),
]

PRACTITIONERS = [
    (
        "Dr Amara Okafor",
        "Consultant dermatologist",
        ["dermatology-consultation", "microneedling", "mild-chemical-peel"],
        {0: [(time(9), time(13)), (time(14), time(17, 30))], 2: [(time(9), time(17))], 4: [(time(9), time(15))]},
    ),
    (
        "Nurse Ben Clarke",
        "Aesthetic nurse practitioner",
        ["microneedling", "hydrating-facial", "mild-chemical-peel"],
        {d: [(time(10), time(18))] for d in (1, 2, 3, 4, 5)},
    ),
    (
        "Sofia Marin",
        "Skin therapist",
        ["hydrating-facial", "mild-chemical-peel"],
        {d: [(time(9), time(17))] for d in (0, 1, 3, 4)},
    ),
]

# What the demo clinic asks patients to do before coming, by treatment (sent with the confirmation and reminder).
BEFORE_YOUR_VISIT = {
    "microneedling": "For three days before, please stop retinoids (retinol, tretinoin), exfoliating acids and "
    "scrubs, and avoid waxing and sunbeds on the area. On the day, come with clean skin and no make-up.",
    "mild-chemical-peel": "For three days before, please stop retinoids and exfoliating acids, and avoid waxing on "
    "the area. Keep out of strong sun for the week before.",
}

DEMO_PATIENTS = ["Alex Morgan", "Priya Shah", "Tom Becker", "Chloe Evans", "Sam Lee", "Jordan Reid", "Mia Novak"]


def ensure_demo_treatments() -> dict[str, Treatment]:
    """Create or refresh the four demo treatments; return them by slug."""
    treatments = {}
    for order, (slug, name, minutes, buffer, price, screening, alternative, text) in enumerate(TREATMENTS):
        treatments[slug], _ = Treatment.objects.update_or_create(
            slug=slug,
            defaults=dict(
                name=name,
                duration_minutes=minutes,
                buffer_after_minutes=buffer,
                price=Decimal(price),
                requires_screening=screening,
                safe_alternative=alternative,
                resurfacing=slug == "mild-chemical-peel",
                description=text,
                before_your_visit=BEFORE_YOUR_VISIT.get(slug, ""),
                display_order=order,
            ),
        )
    return treatments


class Command(BaseCommand):
    help = "Load the demo clinic when the database has no treatments yet (use --force to add again)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Seed even when treatments already exist.")
        parser.add_argument("--appointments", type=int, default=25, help="How many demo appointments to book.")

    def handle(self, *args, force=False, appointments=25, **options):
        if Treatment.objects.exists() and not force:
            self.stdout.write("Demo data already present; nothing to do.")
            self.stdout.write(self._how_to_sign_in())
            return
        with transaction.atomic():
            treatments = ensure_demo_treatments()
            # The screening policy with the clinic defaults (six months after isotretinoin), editable in admin: the
            # demo clinic's own choice, so its home page has no set-up to check.
            for treatment in treatments.values():
                if treatment.requires_screening:
                    ScreeningPolicy.objects.get_or_create(treatment=treatment, defaults={"chosen_at": timezone.now()})
            self._practitioners(treatments)
            self._christmas_closure()
        booked = self._appointments(list(treatments.values()), appointments)
        password = self._staff_login()
        summary = f"{len(treatments)} treatments, {len(PRACTITIONERS)} practitioners, {booked} appointments"
        self.stdout.write(self.style.SUCCESS(f"Demo clinic ready: {summary}."))
        if password:
            self.stdout.write(f"Staff login for /admin/: username 'admin', password '{password}'")
        else:
            self.stdout.write(self._how_to_sign_in())

    def _practitioners(self, treatments):
        for name, title, slugs, hours in PRACTITIONERS:
            practitioner, created = Practitioner.objects.get_or_create(name=name, defaults={"title": title})
            practitioner.treatments.set([treatments[s] for s in slugs])
            if created:
                WorkingHours.objects.bulk_create(
                    WorkingHours(practitioner=practitioner, weekday=day, start_time=start, end_time=end)
                    for day, windows in hours.items()
                    for start, end in windows
                )

    def _christmas_closure(self):
        """The clinic closed on the coming Christmas and Boxing Day, as a clinic records a bank holiday."""
        today = timezone.localdate()
        christmas = date(today.year, 12, 25)
        christmas = christmas if christmas >= today else christmas.replace(year=today.year + 1)
        tz = selectors.clinic_tz()
        TimeOff.objects.get_or_create(
            practitioner=None,
            start=datetime.combine(christmas, time(0), tzinfo=tz),
            end=datetime.combine(christmas + timedelta(days=2), time(0), tzinfo=tz),
            defaults={"reason": "Christmas and Boxing Day"},
        )

    @transaction.atomic
    def _appointments(self, treatments, count):
        """Book through the real service, so demo rows obey every rule a patient's booking does.

        The demo patients are made up: their confirmation emails are marked skipped, so none is sent.
        """
        rng = random.Random(2026)
        now = timezone.now()
        first_day, _ = selectors.bookable_days(now)
        booked = 0
        for _attempt in range(count * 4):
            if booked >= count:
                break
            treatment = rng.choice([t for t in treatments if not t.requires_screening])
            day = first_day + timedelta(days=rng.randint(0, 27))
            slots = selectors.slots_on(treatment=treatment, day=day, now=now)
            if not slots:
                continue
            name = rng.choice(DEMO_PATIENTS)
            patient = services.PatientDetails(
                name=name,
                email=f"{name.split()[0].lower()}@example.com",
                phone="07700 900123",
                date_of_birth=date(1980 + rng.randint(0, 20), rng.randint(1, 12), rng.randint(1, 28)),
            )
            try:
                services.appointment_book(treatment=treatment, start=rng.choice(slots).start, patient=patient, now=now)
                booked += 1
            except BookingError:
                continue
        AppointmentEmail.objects.exclude(kind=AppointmentEmail.Kind.REMINDER).filter(
            state=AppointmentEmail.State.PENDING
        ).update(state=AppointmentEmail.State.SKIPPED)
        return booked

    def _how_to_sign_in(self) -> str:
        """Say how to sign in once the demo login exists: its password is shown only by the run that made it."""
        if get_user_model().objects.filter(username="admin").exists():
            return (
                "Staff login for /admin/: username 'admin', with the password shown when the demo was first loaded "
                "(forgotten it? python manage.py changepassword admin)."
            )
        return "No 'admin' login here: make a staff login with python manage.py createsuperuser."

    def _staff_login(self):
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            return None
        password = "clinic-demo-" + "".join(
            random.SystemRandom().choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(6)
        )
        User.objects.create_superuser("admin", "admin@harbourskin.example", password)
        return password
