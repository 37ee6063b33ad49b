"""Where the whole machine's CPU goes while a load slice runs, by process: what a request costs beyond the web worker.

Read from /proc (Linux) before and after each slice: every process's user + system time, grouped by what it is, and
the machine's busy time from /proc/stat. The machine's figure also holds what no process of ours is charged with
(the kernel's network and disk work, processes that ended inside the slice, other tenants of the machine): that is
"everything else".
"""

import os
from collections import Counter
from dataclasses import dataclass, field

TICKS = os.sysconf("SC_CLK_TCK")
# In the order the report prints them; the load client is this process, the rest are found by command line.
GROUPS = ("gunicorn workers", "PostgreSQL", "Redis", "load client", "everything else")


def _group_of(command: str) -> str | None:
    """`gunicorn …` (through the venv's python), `postgres: user db …` backends and their server, `redis-server …`."""
    words = [os.path.basename(word) for word in command.split()[:2]]
    if "gunicorn" in words:
        return "gunicorn workers"
    if words and words[0].rstrip(":") == "postgres":
        return "PostgreSQL"
    if words and words[0] == "redis-server":
        return "Redis"
    return None


def _machine_busy_seconds() -> float:
    with open("/proc/stat") as stat:
        user, nice, system, idle, iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICKS


def _process_seconds() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of each process in a group, by pid."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # it ended while we looked
            continue
        group = "load client" if int(pid) == os.getpid() else _group_of(command)
        if group:
            found[int(pid)] = (group, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


@dataclass
class CpuSplit:
    """CPU seconds by group over one or more slices, and how many requests or journeys they paid for."""

    seconds: Counter = field(default_factory=Counter)
    count: int = 0

    def measure(self, run, *, count):
        """Run `run()`, add what the machine spent meanwhile, and `count(result)` items; return the result."""
        machine, processes = _machine_busy_seconds(), _process_seconds()
        result = run()
        machine_after, processes_after = _machine_busy_seconds(), _process_seconds()
        ours = 0.0
        for pid, (group, seconds) in processes_after.items():
            spent = seconds - processes.get(pid, (group, 0.0))[1]
            self.seconds[group] += spent
            ours += spent
        self.seconds["everything else"] += max(0.0, (machine_after - machine) - ours)
        self.count += count(result)
        return result

    def ms_each(self) -> dict[str, float]:
        """Milliseconds of CPU per item, by group, and in all."""
        each = {group: self.seconds[group] * 1000 / self.count if self.count else 0.0 for group in GROUPS}
        return {**each, "total": sum(each.values())}


def render(floor: CpuSplit, journey: CpuSplit, *, target_ratio: float) -> list[str]:
    """The table, and what a journey may cost at the target: each booking is two requests."""
    per_floor, per_journey = floor.ms_each(), journey.ms_each()
    if not (floor.count and journey.count and per_floor["total"]):
        return []
    budget = 2 / target_ratio * per_floor["total"]
    outside = per_journey["total"] - per_journey["gunicorn workers"]

    def row(name: str, each: dict) -> str:
        cells = " | ".join(f"{each[group]:.2f}" for group in GROUPS)
        return f"| {name} | {cells} | {each['total']:.2f} | {each['total'] / per_floor['total']:.1f} |"

    return [
        "### Where a journey's CPU goes, on the whole machine under load",
        "",
        f"Milliseconds of CPU per `/healthz` request ({floor.count:,} in the floor slices) and per booked journey "
        f"({journey.count:,} in the booking slices), read from /proc around each slice. Everything else is the "
        "machine's busy time that no process of the stack was charged with: mostly the kernel's network and disk work.",
        "",
        "| per | " + " | ".join(GROUPS) + " | total | in `/healthz` requests |",
        "| --- | " + " | ".join("---" for _ in GROUPS) + " | --- | --- |",
        row("`/healthz` request", per_floor),
        row("booking journey (GET + POST)", per_journey),
        "",
        f"- Booking requests at {target_ratio:.0%} of the floor's requests/s allow a journey "
        f"{2 / target_ratio:.0f} `/healthz` requests: {budget:.1f} ms. Outside the web workers it already costs "
        f"{outside:.1f} ms, which leaves {budget - outside:.1f} ms for its two requests in gunicorn; they took "
        f"{per_journey['gunicorn workers']:.1f} ms, and a bare `/healthz` request takes "
        f"{per_floor['gunicorn workers']:.1f} ms there.",
        "",
    ]
