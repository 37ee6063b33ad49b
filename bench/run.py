"""`make bench`: availability, booking and reminders at clinic-chain scale, as ratios to the bare stack.

Recreates a benchmark database (its name must contain "bench"), seeds it with `seed_scale`, then runs gunicorn
(DEBUG off, several workers, 127.0.0.1 on a free port) and a Celery worker on Redis, and measures:

- the floor: /healthz, a view that touches nothing, under the same load as everything else;
- availability: the times page (1 day) and the JSON endpoint (1 and 30 days): SQL queries, p50/p99, ratio to floor;
- booking: concurrent patients doing GET form + POST, bookings/s, p50/p99, ratio, then an overlap check in SQL,
  what each journey and /healthz request cost the whole machine, by process (bench/cpu_by_process.py), and the CPU each
  request of the journey and /healthz cost in one process (bench/inprocess.py);
- reminders: the due eligibility reminders sent by a real worker: reminders/s, peak RSS, exactly-once check.

Floor and availability run in alternating rounds, so drift on a noisy machine hits them alike.
Writes bench/results.md and prints the same table. `--quick` is a smaller, shorter run.
"""

import argparse
import base64
import json
import os
import platform
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import cpu_by_process, inprocess, reminders  # noqa: E402
from bench.load import PROXY_HEADERS, BookingResult, Sample, booking_load, get_load  # noqa: E402

BIN = Path(sys.executable).parent
WORK = ROOT / "var" / "bench"
RESULTS = ROOT / "bench" / "results.md"
SLUG = "hydrating-facial"  # needs no screening, given by every practitioner

PROFILES = {
    "full": dict(
        size=1.0,
        rounds=8,
        seconds=2.0,
        cap=20_000,
        booking_rounds=6,
        booking_seconds=4.0,
        booking_cap=3_000,
        cpu_journeys=500,
        cpu_warm=50,
        reminder_seconds=200,
    ),
    "quick": dict(
        size=0.1,
        rounds=3,
        seconds=1.5,
        cap=5_000,
        booking_rounds=3,
        booking_seconds=2.0,
        booking_cap=500,
        cpu_journeys=100,
        cpu_warm=20,
        reminder_seconds=60,
    ),
}
TARGETS = dict(queries=6, availability_ratio=0.5, booking_ratio=0.4, availability_p99_ms=150, booking_p99_ms=250)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="A smaller, shorter run (10%% data, short phases).")
    parser.add_argument("--size", type=float, help="seed_scale --size (1.0 = 100,000 appointments and reminders).")
    parser.add_argument("--clients", type=int, default=16, help="Concurrent clients for every phase.")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers (2 x CPUs + 1)."
    )
    parser.add_argument("--celery-concurrency", type=int, default=2, help="Celery worker threads.")
    parser.add_argument("--only", choices=["availability", "booking", "reminders"], action="append")
    parser.add_argument("--keep-data", action="store_true", help="Reuse the seeded database from the last run.")
    parser.add_argument(
        "--profile",
        choices=["availability", "booking"],
        help="Sample the gunicorn workers with py-spy during that phase: var/bench/<phase>.txt (folded stacks).",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinic_bench"),
        help="Dropped and recreated; its name must contain 'bench'. Env: BENCH_DATABASE_URL.",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="Broker and cache; this Redis db is flushed. Env: BENCH_REDIS_URL.",
    )
    return parser.parse_args()


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure_environment(args) -> dict:
    database = urlsplit(args.database_url)
    if database.scheme not in ("postgres", "postgresql") or "bench" not in database.path:
        sys.exit("The benchmark drops its database: give a PostgreSQL URL whose database name contains 'bench'.")
    if urlsplit(args.redis_url).hostname not in ("127.0.0.1", "localhost"):
        sys.exit("The benchmark flushes its Redis db: give a local one.")
    WORK.mkdir(parents=True, exist_ok=True)
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "STATIC_ROOT": str(WORK / "static"),
        "BENCH_MAIL_LOG": str(WORK / "mail.log"),
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # Behind a TLS proxy, as deployed: see PROXY_HEADERS in bench/load.py.
        "TRUSTED_PROXY_COUNT": "1",
        # Production refuses to start without its own key for screening answers; a throwaway one per run.
        "SCREENING_ENCRYPTION_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    os.environ.update(env)
    return env


def recreate_database(url: str) -> None:
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password, dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "nproc": os.cpu_count(),
        "mem_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        # A run from an exported tree (no .git) names its commit in BENCH_COMMIT.
        "commit": commit.stdout.strip() or os.environ.get("BENCH_COMMIT", "?"),
        "load_before": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


# --- in-process Django: seed, count queries, explain, pick free times, check overlaps -------------------------------


def setup_data(args, size: float) -> dict:
    import django

    django.setup()
    import redis
    from django.core.management import call_command
    from django.db import connection

    redis.Redis.from_url(args.redis_url).flushdb()  # no cached times or queued tasks from an earlier run
    timings = {}
    if not args.keep_data:
        say(f"recreating the database and seeding seed_scale --size {size}")
        connection.close()
        recreate_database(args.database_url)
        t0 = time.perf_counter()
        call_command("migrate", verbosity=0)
        timings["migrate_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        call_command("seed_scale", size=size)
        timings["seed_s"] = time.perf_counter() - t0
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    call_command("collectstatic", interactive=False, verbosity=0)
    from booking.models import Appointment, Practitioner

    timings["appointments"] = Appointment.objects.count()
    timings["practitioners"] = Practitioner.objects.count()
    connection.close()
    return timings


def availability_urls(now) -> dict[str, list[str]]:
    """Paths for each availability scenario, cycling over the bookable days so no two requests are alike."""
    from booking import selectors

    first, last = selectors.bookable_days(now)
    days = [first + timedelta(days=n) for n in range(1, (last - first).days - 31)]
    return {
        "times page, 1 day": [f"/book/{SLUG}/?date={d}" for d in days],
        "API, 1 day": [f"/api/availability/{SLUG}/?start={d}&days=1" for d in days],
        "API, 30 days": [f"/api/availability/{SLUG}/?start={d}&days=30" for d in days],
    }


def count_queries(urls: dict[str, list[str]]) -> dict:
    """SQL queries per request, counted in-process with CaptureQueriesContext: on two days far apart, each with the
    availability cache cold (a new diary version, as after any booking) and then warm."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from booking.selectors import invalidate_availability

    client = Client()
    counts, sql = {}, {}
    for name, paths in urls.items():
        seen = {"cold": [], "warm": []}
        for path in (paths[0], paths[len(paths) // 2]):
            invalidate_availability()
            for state in ("cold", "warm"):
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(path, secure=True)
                assert response.status_code == 200, (path, response.status_code)
                seen[state].append(len(captured))
                if state == "cold":
                    sql[name] = [q["sql"] for q in captured.captured_queries]
        counts[name] = seen
    connection.close()
    return {"counts": counts, "sql": sql}


def explain_appointments(sql_by_scenario: dict) -> list[str]:
    """EXPLAIN ANALYZE the appointment range query of the 30-day request: the plan that grows with the data."""
    from django.db import connection

    query = next(q for q in sql_by_scenario["API, 30 days"] if "booking_appointment" in q)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query)
        plan = [row[0] for row in cursor.fetchall()]
    connection.close()
    return plan


def free_starts_for_booking(now, limit: int) -> list[str]:
    """Free starts across the horizon, on the hour, each once per practitioner free then, in passes over the diary:
    patients booking at the same moment take different hours, and an hour comes round again only a pass later,
    long after its last booking committed (so every POST should book: a 409 would be a real race)."""
    from booking import selectors
    from booking.forms import slot_value
    from booking.models import Treatment

    treatment = Treatment.objects.get(slug=SLUG)
    first, last = selectors.bookable_days(now)
    hours, day = [], first + timedelta(days=1)
    while day <= last:
        chunk = selectors.availability(treatment=treatment, first_day=day, last_day=day + timedelta(days=13), now=now)
        for slots in chunk.values():
            # On the hour: a facial and its buffer take 55 minutes, so two of these never compete for one practitioner.
            hours += [(slot_value(slot.start), len(slot.practitioner_ids)) for slot in slots if slot.start.minute == 0]
        day += timedelta(days=14)
    starts = []
    for turn in range(max((free for _, free in hours), default=0)):
        this_pass = [start for start, free in hours if free > turn]
        # Interleave days so simultaneous patients spread over the diary instead of queueing on one day.
        starts += this_pass[::7] + [s for i, s in enumerate(this_pass) if i % 7]
        if len(starts) >= limit:
            break
    return starts[:limit]


# Two active appointments of one practitioner whose [start, busy_until) ranges overlap. Written with the exclusion
# constraint's own GiST expression, and with hash and merge joins off, so each row probes that index: about a second
# for 100,000 rows, instead of half a minute for the hash join the planner would otherwise pick.
OVERLAP_SQL = """
    SELECT count(*) FROM booking_appointment a
    JOIN booking_appointment b
      ON b.practitioner_id = a.practitioner_id AND b.id > a.id
     AND TSTZRANGE(b.start, b.busy_until, '[)') && TSTZRANGE(a.start, a.busy_until, '[)')
    WHERE a.status IN %(holding)s AND b.status IN %(holding)s
"""


def overlap_check() -> dict:
    from django.db import connection, transaction

    from booking.models import HOLDING_TIME, Appointment

    holding = tuple(str(s) for s in HOLDING_TIME)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; SET LOCAL jit = off")
        t0 = time.perf_counter()
        cursor.execute(OVERLAP_SQL, {"holding": holding})
        overlaps = cursor.fetchone()[0]
        took = time.perf_counter() - t0
    active = Appointment.objects.filter(status__in=holding).count()
    connection.close()
    return {"overlapping_pairs": overlaps, "active_appointments": active, "check_s": took}


# --- processes -------------------------------------------------------------------------------------------------------


class Gunicorn:
    def __init__(self, env: dict, workers: int, log_name: str = "gunicorn.log"):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.command = [
            str(BIN / "gunicorn"),
            "clinic.wsgi",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={workers}",
            "--worker-class=sync",
            "--backlog=2048",
            "--log-level=warning",
        ]
        self.log = open(WORK / log_name, "w")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env={**os.environ, **env}, stdout=self.log, stderr=self.log
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {WORK / 'gunicorn.log'}")
            try:
                if httpx.get(self.base_url + "/healthz", headers=PROXY_HEADERS, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz within 30 s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# --- phases ----------------------------------------------------------------------------------------------------------


FLOOR = "floor (/healthz)"


def start_profiler(server: "Gunicorn", name: str, seconds: float) -> subprocess.Popen:
    """py-spy, sampling every gunicorn worker for `seconds`, then stopping by itself: only while a worker holds the
    interpreter lock (--gil), so the stacks show where CPU goes, not where workers wait on the database."""
    output = WORK / f"{name}.txt"
    command = [
        str(BIN / "py-spy"),
        "record",
        "--pid",
        str(server.process.pid),
        "--subprocesses",
        "--format",
        "raw",
        "--gil",
    ]
    command += ["--duration", str(int(seconds)), "--rate", "200", "--output", str(output), "--nonblocking"]
    say(f"profiling {name} with py-spy for {seconds:.0f} s -> {output.relative_to(ROOT)}")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read_phase(base_url, urls, *, clients, rounds, seconds, cap) -> dict[str, Sample]:
    """Short slices in rounds (floor, then each scenario): a neighbour's burst of load hits one round, not one
    scenario, and each round's ratios compare slices a few seconds apart."""
    scenarios = {FLOOR: ["/healthz"], **urls}
    # Warm every worker's connections and caches, and make every path once: a clinic's cache is warm, and a round
    # spent making 57 months from the database measures the start of the benchmark, not the service. The first
    # expiry of what the warm-up made (AVAILABILITY_CACHE_SECONDS later) stays inside the rounds.
    for name, paths in scenarios.items():
        get_load(base_url, name, paths, clients=clients, seconds=120.0, cap=len(paths))
        get_load(base_url, name, paths, clients=clients, seconds=1.0, cap=cap)
    totals = {name: Sample(name) for name in scenarios}
    for round_no in range(rounds):
        floor = None
        for name, paths in scenarios.items():
            sample = get_load(base_url, name, paths, clients=clients, seconds=seconds, cap=cap)
            floor = floor or sample
            totals[name].merge(sample)
            totals[name].ratios.append(sample.rate / floor.rate if floor.rate else 0.0)
        say(
            f"round {round_no + 1}/{rounds}: "
            + ", ".join(f"{name} {totals[name].ratios[-1]:.0%}" for name in list(scenarios)[1:])
            + f" of {floor.rate:.0f} req/s"
        )
    return totals


def booking_phase(
    base_url, starts, *, clients, rounds, seconds, cap, cpu: dict[str, cpu_by_process.CpuSplit]
) -> tuple[BookingResult, Sample]:
    """Rounds of a floor slice then a booking slice, the same clients, until the time, the cap or the starts end.
    `cpu` gathers what the machine spent on each kind of slice ("floor", "journey")."""
    floor_total = Sample(FLOOR)
    result = None
    starts = list(reversed(starts))  # a stack the rounds share: every start is tried once
    for round_no in range(rounds):
        floor = cpu["floor"].measure(
            partial(get_load, base_url, FLOOR, ["/healthz"], clients=clients, seconds=min(seconds, 2.0), cap=100_000),
            count=lambda sample: sample.count,
        )
        done = result.booked + result.taken if result else 0
        part = cpu["journey"].measure(
            partial(booking_load, base_url, SLUG, starts, clients=clients, seconds=seconds, cap=max(0, cap - done)),
            count=lambda part: part.booked,
        )
        floor_total.merge(floor)
        if result is None:
            result = part
        else:
            result.merge(part)
        result.journeys.ratios.append(part.journeys.rate / floor.rate if floor.rate else 0.0)
        say(
            f"booking round {round_no + 1}/{rounds}: {part.booked} booked, {part.journeys.rate:.1f}/s, "
            f"{result.journeys.ratios[-1]:.1%} of {floor.rate:.0f} req/s"
        )
        if not starts or result.booked + result.taken >= cap:
            break
    return result, floor_total


def main() -> int:
    args = parse_args()
    profile = PROFILES["quick" if args.quick else "full"]
    size = args.size if args.size is not None else profile["size"]
    env = configure_environment(args)
    started = time.perf_counter()
    info = machine()
    phases = set(args.only or ["availability", "booking", "reminders"])
    report: dict = {"machine": info, "profile": "quick" if args.quick else "full", "size": size, "args": vars(args)}
    report["data"] = setup_data(args, size)

    from django.utils import timezone

    now = timezone.now()
    urls = availability_urls(now)
    queries = count_queries(urls)
    report["queries"] = queries["counts"]
    report["explain"] = explain_appointments(queries["sql"])
    say(f"queries per request: {queries['counts']}")

    server = Gunicorn(env, args.workers)
    report["server"] = {"command": shlex.join(server.command[1:]), "workers": args.workers}
    try:
        if "availability" in phases or "booking" in phases:
            say(f"gunicorn up at {server.base_url} with {args.workers} workers; read load, {args.clients} clients")
            if args.profile == "availability":
                start_profiler(server, "availability", profile["rounds"] * profile["seconds"] * 4)
            report["read"] = read_phase(
                server.base_url,
                urls,
                clients=args.clients,
                rounds=profile["rounds"],
                seconds=profile["seconds"],
                cap=profile["cap"],
            )
        if "booking" in phases:
            starts = free_starts_for_booking(now, profile["booking_cap"] * 2)
            say(f"booking: {len(starts)} free starts queued for {args.clients} concurrent patients")
            if args.profile == "booking":
                start_profiler(server, "booking", profile["booking_rounds"] * profile["booking_seconds"])
            report["booking_cpu"] = {"floor": cpu_by_process.CpuSplit(), "journey": cpu_by_process.CpuSplit()}
            booking, booking_floor = booking_phase(
                server.base_url,
                starts,
                clients=args.clients,
                rounds=profile["booking_rounds"],
                seconds=profile["booking_seconds"],
                cap=profile["booking_cap"],
                cpu=report["booking_cpu"],
            )
            report["booking"] = booking
            report["booking_floor"] = booking_floor
            report["overlaps"] = overlap_check()
            say(
                f"booked {booking.booked} ({booking.journeys.rate:.1f}/s), taken {booking.taken}, "
                f"failed {dict(booking.failed)}; overlaps {report['overlaps']['overlapping_pairs']}"
            )
    finally:
        server.stop()
    if "booking" in phases:
        # Times still free after the load: the same rule (free_starts_for_booking) read afresh.
        fresh = free_starts_for_booking(timezone.now(), profile["cpu_journeys"] + profile["cpu_warm"])
        say(f"CPU per request in one process: {len(fresh)} journeys through Django's WSGI handler")
        report["cpu"] = inprocess.journeys(SLUG, fresh, warm=profile["cpu_warm"])
    if "availability" in phases:
        # The same scenarios with the availability cache off: what every request costs right after a diary change.
        cold = Gunicorn({**env, "AVAILABILITY_CACHE_SECONDS": "0"}, args.workers, log_name="gunicorn-cold.log")
        try:
            say("availability again with AVAILABILITY_CACHE_SECONDS=0 (every request computes)")
            report["read_cold"] = read_phase(
                cold.base_url,
                urls,
                clients=args.clients,
                rounds=max(1, profile["rounds"] - 1),
                seconds=profile["seconds"],
                cap=profile["cap"],
            )
        finally:
            cold.stop()
    if "reminders" in phases:
        report["reminders"] = reminders.run(
            env=env,
            work=WORK,
            concurrency=args.celery_concurrency,
            seconds=profile["reminder_seconds"],
            say=say,
        )
    report["elapsed_s"] = time.perf_counter() - started
    report["load_after"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    report["finished"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = render(report)
    print(text)
    RESULTS.write_text(text)
    (ROOT / "bench" / "results-latest.json").write_text(json.dumps(jsonable(report), indent=2, default=str))
    say(f"wrote {RESULTS.relative_to(ROOT)} in {report['elapsed_s']:.0f} s")
    return 0


def jsonable(report: dict) -> dict:
    out = dict(report)
    for phase in ("read", "read_cold"):
        if phase in out:
            out[phase] = {k: summary(v) for k, v in out[phase].items()}
    if "booking_cpu" in out:
        out["booking_cpu"] = {kind: split.ms_each() for kind, split in out["booking_cpu"].items()}
    if "booking_floor" in out:
        out["booking_floor"] = summary(out["booking_floor"])
    if "booking" in out:
        b = out["booking"]
        out["booking"] = {
            "booked": b.booked,
            "taken": b.taken,
            "failed": dict(b.failed),
            "journey": summary(b.journeys),
            "form": summary(b.form),
            "post": summary(b.post),
        }
    return out


def summary(sample: Sample) -> dict:
    return {
        "requests": sample.count,
        "seconds": round(sample.seconds, 2),
        "rate": round(sample.rate, 1),
        "ratio_median": round(sample.ratio, 3),
        "ratios": [round(r, 3) for r in sample.ratios],
        "p50_ms": round(sample.ms(50), 1),
        "p99_ms": round(sample.ms(99), 1),
        "statuses": dict(sample.statuses),
        "errors": dict(sample.errors),
    }


def ratio_text(sample: Sample) -> str:
    if not sample.ratios:
        return "-"
    return f"{sample.ratio:.0%} ({min(sample.ratios):.0%}-{max(sample.ratios):.0%})"


def verdict(ok: bool) -> str:
    return "met" if ok else "**MISSED**"


def render(report: dict) -> str:  # noqa: C901 - one linear report
    m = report["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"- Date: {report['finished']}; commit {m['commit']}; profile `{report['profile']}` (size {report['size']}).",
        f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_gib']} GiB RAM, Linux {m['kernel']}, Python {m['python']};"
        f" load average before the run {m['load_before']}, after {report['load_after']}. The machine is shared and"
        " noisy: read every ratio with its spread across rounds.",
        f"- Command: `BENCH_DATABASE_URL={report['args']['database_url']} "
        f"BENCH_REDIS_URL={report['args']['redis_url']} "
        f"make bench{' BENCH_ARGS=' + repr(' '.join(sys.argv[1:])) if sys.argv[1:] else ''}` "
        f"(runs `python bench/run.py{''.join(' ' + a for a in sys.argv[1:])}`); "
        f"{report['args']['clients']} concurrent clients on the same machine, every throughput as a ratio to "
        "/healthz measured in the same run under the same load.",
        f"- Stack: PostgreSQL + Redis, DEBUG=false, `gunicorn {report.get('server', {}).get('command', '')}`.",
        f"- Data: {report['data'].get('practitioners', '?')} practitioners, "
        f"{report['data'].get('appointments', 0):,} appointments (seeded in {report['data'].get('seed_s', 0):.1f} s).",
        f"- Whole run: {report['elapsed_s']:.0f} s.",
        "",
    ]
    if "read" in report:
        read = report["read"]
        floor = read["floor (/healthz)"]
        lines += [
            "## Availability (and the floor), production settings (availability cache on)",
            "",
            "Ratio to floor: the median over rounds of (scenario req/s) / (floor req/s in the same round), with the "
            "lowest and highest round in brackets.",
            "",
            "| scenario | SQL queries | requests | req/s | ratio to floor | p50 ms | p99 ms | non-200 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, sample in read.items():
            counts = report["queries"].get(name)
            queries = (
                f"{'/'.join(map(str, counts['cold']))} cold, {'/'.join(map(str, counts['warm']))} warm"
                if counts
                else "-"
            )
            bad = sample.count - sample.statuses.get(200, 0) + sum(sample.errors.values())
            lines.append(
                f"| {name} | {queries} | {sample.count} | {sample.rate:.0f} | {ratio_text(sample)} | "
                f"{sample.ms(50):.1f} | {sample.ms(99):.1f} | {bad} |"
            )
        worst_ratio = min(s.ratio for n, s in read.items() if n != floor.name)
        worst_p99 = max(s.ms(99) for n, s in read.items() if n != floor.name)
        max_queries = max(max(c["cold"] + c["warm"]) for c in report["queries"].values())
        constant = all(len(set(c["cold"])) == 1 and len(set(c["warm"])) == 1 for c in report["queries"].values())
        lines += [
            "",
            f"- Queries per request (two days far apart; cold = first request after a diary change): at most "
            f"{max_queries}, the same on every day and range "
            f"(target: constant, at most {TARGETS['queries']}): "
            f"{verdict(constant and max_queries <= TARGETS['queries'])}.",
            f"- Lowest throughput ratio {worst_ratio:.0%} (target at least {TARGETS['availability_ratio']:.0%}): "
            f"{verdict(worst_ratio >= TARGETS['availability_ratio'])}.",
            f"- Highest p99 {worst_p99:.1f} ms (target under {TARGETS['availability_p99_ms']} ms): "
            f"{verdict(worst_p99 < TARGETS['availability_p99_ms'])}.",
            "",
        ]
    if "read_cold" in report:
        read = report["read_cold"]
        floor = read["floor (/healthz)"]
        lines += [
            "### The same with the availability cache off (`AVAILABILITY_CACHE_SECONDS=0`)",
            "",
            "What a request costs when it must compute (the first after any booking): 4 availability queries + 1.",
            "",
            "| scenario | requests | req/s | ratio to floor | p50 ms | p99 ms | non-200 |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, sample in read.items():
            bad = sample.count - sample.statuses.get(200, 0) + sum(sample.errors.values())
            lines.append(
                f"| {name} | {sample.count} | {sample.rate:.0f} | {ratio_text(sample)} | {sample.ms(50):.1f} | "
                f"{sample.ms(99):.1f} | {bad} |"
            )
        lines.append("")
    if "booking" in report:
        b = report["booking"]
        floor = report["booking_floor"]
        o = report["overlaps"]
        ratio = b.journeys.ratio
        request_ratio = 2 * ratio  # each booking is two requests, GET form and POST
        worst_p99 = max(b.form.ms(99), b.post.ms(99))
        lines += [
            "## Booking",
            "",
            "| measure | count | per second | p50 ms | p99 ms |",
            "| --- | --- | --- | --- | --- |",
            f"| journey (GET form + POST), booked | {b.booked} | {b.journeys.rate:.1f} | {b.journeys.ms(50):.1f} | "
            f"{b.journeys.ms(99):.1f} |",
            f"| GET form | {b.form.count} | {b.form.rate:.1f} | {b.form.ms(50):.1f} | {b.form.ms(99):.1f} |",
            f"| POST booking | {b.post.count} | {b.post.rate:.1f} | {b.post.ms(50):.1f} | {b.post.ms(99):.1f} |",
            f"| floor (/healthz), slices between booking slices | {floor.count} | {floor.rate:.0f} | "
            f"{floor.ms(50):.1f} | {floor.ms(99):.1f} |",
            "",
            f"- Bookings/s as a ratio to the floor's requests/s (median of rounds, {ratio_text(b.journeys)}): "
            f"{ratio:.1%}; booking requests/s (GET + POST) "
            f"to the floor: {request_ratio:.0%} (target at least {TARGETS['booking_ratio']:.0%}): "
            f"{verdict(ratio >= TARGETS['booking_ratio'])} (bookings/s), "
            f"{verdict(request_ratio >= TARGETS['booking_ratio'])} (requests/s).",
            f"- p99 of each request in the journey {worst_p99:.1f} ms (target under {TARGETS['booking_p99_ms']} ms): "
            f"{verdict(worst_p99 < TARGETS['booking_p99_ms'])}.",
            f"- Time just taken by a racing patient (409, the correct answer): {b.taken}; "
            f"other failures: {dict(b.failed) or 'none'}.",
            f"- Overlap check (SQL self-join over {o['active_appointments']:,} active appointments, "
            f"{o['check_s'] * 1000:.0f} ms): {o['overlapping_pairs']} overlapping pairs: "
            f"{verdict(o['overlapping_pairs'] == 0)}.",
            "",
        ]
        cpu = report["booking_cpu"]
        lines += cpu_by_process.render(cpu["floor"], cpu["journey"], target_ratio=TARGETS["booking_ratio"])
        if "cpu" in report:
            lines += inprocess.render(report["cpu"], under_load=1 / ratio if ratio else None)
    if "reminders" in report:
        lines += reminders.render(report["reminders"])
    lines += [
        "## The plan behind availability",
        "",
        "`EXPLAIN (ANALYZE, BUFFERS)` of the appointment range query of a 30-day request, at this data size:",
        "",
        "```",
        *report["explain"],
        "```",
        "",
    ]
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
