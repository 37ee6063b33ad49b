"""The reminders phase: due eligibility reminders sent by a real Celery worker through Redis.

The worker runs the production task code with the ledger email backend (bench/mail.py), so afterwards every
message is a line in a file: a recipient seen twice is a duplicate, a due reminder with no line is lost.
"""

import importlib
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

DISPATCH_TASK = "screening.tasks.dispatch_due_eligibility_reminders"
TARGETS = dict(per_second=1000, rss_mb=200)


def dispatch_task_available() -> bool:
    module, _, name = DISPATCH_TASK.rpartition(".")
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


class RssSampler(threading.Thread):
    """Sample the resident memory of the worker and any pool processes it has until stopped."""

    def __init__(self, pid: int, every: float = 0.1):
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.every = every
        self.peak_total = 0
        self.peak_process = 0
        self.done = threading.Event()

    def run(self):
        import psutil

        while not self.done.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
                sizes = []
                for process in processes:
                    try:
                        sizes.append(process.memory_info().rss)
                    except psutil.NoSuchProcess:
                        pass
                self.peak_total = max(self.peak_total, sum(sizes))
                self.peak_process = max([self.peak_process, *sizes])
            except psutil.NoSuchProcess:
                return
            self.done.wait(self.every)


def run(*, env: dict, work: Path, concurrency: int, seconds: float, say) -> dict:
    """Send the due reminders with a real worker; stop when none is due or after `seconds`, finished or not."""
    from django.db import connection
    from django.utils import timezone

    try:
        from screening.models import EligibilityReminder
    except ImportError:
        return {"pending": "screening.EligibilityReminder does not exist yet"}
    if not dispatch_task_available():
        return {"pending": f"the dispatch task {DISPATCH_TASK} has not landed yet (issue 5)"}

    import redis

    from clinic.celery import app

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # the booking phase's confirmation emails are not this phase's
    mail_log = Path(env["BENCH_MAIL_LOG"])
    mail_log.write_text("")
    due = EligibilityReminder.objects.filter(state="pending", send_at__lte=timezone.now())
    due_emails = set(due.values_list("email", flat=True))
    # The row lookup inside each reminder's claim (minus the batch bounds and FOR UPDATE SKIP LOCKED).
    claim_plan = due.order_by("send_at", "pk")[:1].explain(analyze=True).splitlines()
    connection.close()
    say(f"reminders: {len(due_emails):,} due; starting a Celery worker (threads, concurrency {concurrency})")

    log = open(work / "celery.log", "w")
    command = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "clinic",
        "worker",
        "--pool=threads",
        f"--concurrency={concurrency}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--hostname=bench@%h",
    ]
    worker = subprocess.Popen(command, cwd=work.parent.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
    sampler = None
    try:
        _wait_for(lambda: "ready." in (work / "celery.log").read_text(), 60, "the Celery worker to be ready")
        sampler = RssSampler(worker.pid)
        sampler.start()
        started = time.perf_counter()
        # Beat starts a pass every two minutes, and a pass stops at its 90-second budget. To measure what the worker
        # can do, keep a pass queued for every pool slot until no reminder is due (each stops when none is left).
        # The poll shares the two cores with the worker and PostgreSQL, so it is kept light: one open connection and
        # a LIMIT 1 probe (counting 100,000 pending rows and reconnecting ten times a second cost the worker ~10%).
        queue = redis.Redis.from_url(env["REDIS_URL"])
        dispatches = 0
        while time.perf_counter() - started < seconds:
            if not due.exists():
                break
            for _ in range(max(0, concurrency - queue.llen("celery"))):
                app.send_task(DISPATCH_TASK)
                dispatches += 1
            time.sleep(0.2)
        connection.close()
        elapsed = time.perf_counter() - started
        # The rate counts what was delivered inside the timed window; passes in flight finish during the warm
        # shutdown below, and those messages count for exactly-once but not for the rate.
        sent_in_window = sum(1 for _ in mail_log.open())
    finally:
        if sampler:
            sampler.done.set()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()

    delivered = Counter(line.split("\t", 1)[0] for line in mail_log.read_text().splitlines() if line)
    states = Counter(EligibilityReminder.objects.values_list("state", flat=True))
    marked_sent = set(EligibilityReminder.objects.filter(state="sent").values_list("email", flat=True))
    left = due.count()
    connection.close()
    sent = sum(n for email, n in delivered.items() if email in due_emails)
    return {
        "due": len(due_emails),
        "sent_messages": sent,
        "sent_in_window": sent_in_window,
        "seconds": elapsed,
        "per_second": sent_in_window / elapsed if elapsed else 0,
        "duplicates": sum(n - 1 for n in delivered.values() if n > 1),
        # Lost: recorded as sent with no message, or a message for a row not recorded as sent.
        "lost": len(marked_sent - set(delivered)) + len((set(delivered) & due_emails) - marked_sent),
        "unexpected": len(set(delivered) - due_emails),
        "left_pending": left,
        "time_limit_s": seconds,
        "claim_plan": claim_plan,
        "states": dict(states),
        "dispatches": dispatches,
        "peak_rss_total_mb": sampler.peak_total / 2**20 if sampler else 0,
        "peak_rss_process_mb": sampler.peak_process / 2**20 if sampler else 0,
        "concurrency": concurrency,
        "command": " ".join(command[1:]),
    }


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise RuntimeError(f"Timed out waiting for {what}")


def render(result: dict) -> list[str]:
    lines = ["## Reminders", ""]
    if "pending" in result:
        return lines + [f"Pending: {result['pending']}. The harness (bench/reminders.py) is ready for it.", ""]
    r = result
    ok_rate = r["per_second"] >= TARGETS["per_second"]
    ok_rss = r["peak_rss_total_mb"] < TARGETS["rss_mb"]
    unfinished = (
        [
            f"- Stopped at the phase's time limit ({r['time_limit_s']:.0f} s); passes in flight finished during the "
            f"worker's warm shutdown, then {r['left_pending']:,} were still due: "
            f"at this rate all {r['due']:,} would take {r['due'] / max(r['per_second'], 1e-9) / 60:.0f} minutes. "
            "Not lost: they stay pending for the next pass.",
        ]
        if r["left_pending"]
        else []
    )
    return lines + [
        "| due | sent in the window | seconds | reminders/s | sent in all | peak RSS, worker + pool (MB) "
        "| largest process (MB) | duplicates | lost |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {r['due']:,} | {r['sent_in_window']:,} | {r['seconds']:.1f} | {r['per_second']:,.0f} | "
        f"{r['sent_messages']:,} | "
        f"{r['peak_rss_total_mb']:.0f} | {r['peak_rss_process_mb']:.0f} | {r['duplicates']} | {r['lost']} |",
        "",
        f"- `celery {r['command']}`; dispatch task sent {r['dispatches']} time(s); rows by state afterwards: "
        f"{r['states']}.",
        f"- Reminders/s (target at least {TARGETS['per_second']:,}): {'met' if ok_rate else '**MISSED**'}; "
        f"peak RSS of the whole worker (target under {TARGETS['rss_mb']} MB): {'met' if ok_rss else '**MISSED**'}; "
        f"exactly once (no duplicate, none lost among those sent): "
        f"{'met' if r['duplicates'] == 0 and r['lost'] == 0 else '**MISSED**'}.",
        *unfinished,
        "",
        "The row lookup inside each reminder's claim (`EXPLAIN ANALYZE`, without the batch bounds and `FOR UPDATE "
        "SKIP LOCKED`):",
        "",
        "```",
        *r["claim_plan"],
        "```",
        "",
    ]
