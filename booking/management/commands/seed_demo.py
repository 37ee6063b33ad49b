"""Load the demo clinic: treatments, three practitioners with working hours, and some booked appointments."""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from booking import selectors, services
from booking.emails import record_what_was_told
from booking.exceptions import BookingError
from booking.models import AppointmentEmail, Practitioner, TimeOff, Treatment, WorkingHours
from screening import rules
from screening import services as screening_services
from screening.models import Contraindication, ScreeningPolicy

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

# Made-up patients, each with one date of birth and phone (07700 900xxx is kept for drama, never a real line).
DEMO_PATIENTS = {
    "Alex Morgan": (date(1988, 5, 17), "07700 900101"),
    "Priya Shah": (date(1992, 11, 3), "07700 900102"),
    "Tom Becker": (date(1979, 2, 24), "07700 900103"),
    "Chloe Evans": (date(1996, 8, 9), "07700 900104"),
    "Sam Lee": (date(1985, 1, 30), "07700 900105"),
    "Jordan Reid": (date(1990, 6, 12), "07700 900106"),
    "Mia Novak": (date(1999, 3, 21), "07700 900107"),
}
# Two microneedling patients, so the screening and the review queue have something to show: one whose answers were
# clear (confirmed), one unsure when they last took isotretinoin (held for a clinician).
SCREENED_DEMO_PATIENTS = {
    "Leo Grant": (date(1987, 9, 2), "07700 900108"),
    "Nadia Haddad": (date(1994, 12, 15), "07700 900109"),
}


def demo_patient(name: str, details=None) -> services.PatientDetails:
    born, phone = (details or DEMO_PATIENTS)[name]
    return services.PatientDetails(
        name=name, email=f"{name.split()[0].lower()}@example.com", phone=phone, date_of_birth=born
    )


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
        booked, days_booked = 0, {name: [] for name in DEMO_PATIENTS}
        for _attempt in range(count * 10):
            if booked >= count:
                break
            treatment = rng.choice([t for t in treatments if not t.requires_screening])
            day = first_day + timedelta(days=rng.randint(0, 27))
            name = rng.choice(list(DEMO_PATIENTS))
            # A real patient's visits are spread out; peels weeks apart, as skin takes to recover.
            apart = 28 if treatment.resurfacing else 7
            if any(abs((day - other).days) < apart for other in days_booked[name]):
                continue
            slots = selectors.slots_on(treatment=treatment, day=day, now=now)
            if not slots:
                continue
            try:
                services.appointment_book(
                    treatment=treatment, start=rng.choice(slots).start, patient=demo_patient(name), now=now
                )
            except BookingError:
                continue
            booked += 1
            days_booked[name].append(day)
        booked += self._screened_appointments(treatments, rng, first_day, now)
        # The made-up patients were told of their bookings as a clinic's would have been: their first emails count
        # as sent (none is written), so a move says what changed and the outbox shows no fault. Reminders still go
        # when due, and the clinicians' nudge about the held booking goes to the clinic's own inbox.
        told = AppointmentEmail.objects.filter(
            state=AppointmentEmail.State.PENDING,
            kind__in=[AppointmentEmail.Kind.CONFIRMED, AppointmentEmail.Kind.RECEIVED],
        )
        for email in told.select_related("appointment"):
            record_what_was_told(email)
        told.update(state=AppointmentEmail.State.SENT, sent_at=now)
        return booked

    def _screened_appointments(self, treatments, rng, first_day, now) -> int:
        """Microneedling for the two screened demo patients, answered and booked as a patient does online."""
        needling = next((t for t in treatments if t.requires_screening), None)
        if needling is None:
            return 0
        every_question = frozenset(Contraindication.objects.filter(active=True).values_list("key", flat=True))
        answers = {
            "Leo Grant": rules.Answers(taking_isotretinoin=False, answered=every_question),
            "Nadia Haddad": rules.Answers(
                taking_isotretinoin=False,
                isotretinoin_recently=True,
                last_dose=rules.add_months(timezone.localdate(now), -8),
                last_dose_unsure=True,
                answered=every_question,
            ),
        }
        booked = 0
        for offset, (name, said) in zip((5, 9), answers.items(), strict=True):
            patient = demo_patient(name, SCREENED_DEMO_PATIENTS)
            slots = []
            for day in (first_day + timedelta(days=offset + extra) for extra in range(14)):
                if slots := selectors.slots_on(treatment=needling, day=day, now=now):
                    break
            if not slots:
                continue
            screening = screening_services.screening_submit(
                treatment=needling, email=patient.email, answers=said, now=now
            )
            try:
                screening_services.screening_book(
                    screening=screening, start=rng.choice(slots).start, patient=patient, now=now
                )
            except BookingError:
                continue
            booked += 1
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
