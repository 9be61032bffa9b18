"""What a benchmark scale seeds, whether a database already holds it, and what a seed and a
CSV export of every user cost (wall time, CPU of the command and of the database server,
memory of the gunicorn worker)."""

from __future__ import annotations

import http.client
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SCALES = {
    "100k": {"users": 100_000, "invitations": 50_000, "orgs": 2_000},
    "1m": {"users": 1_000_000, "invitations": 500_000, "orgs": 20_000},
}


def seed_args(scale: str) -> tuple[str, ...]:
    sizes = SCALES[scale]
    return tuple(arg for name, n in sizes.items() for arg in (f"--{name}", str(n)))


def seeded(url: str, scale: str) -> bool:
    """The database has the scale's users and invitations (a previous run seeded it)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            users = conn.scalar(text("SELECT count(*) FROM user_account"))
            invitations = conn.scalar(text("SELECT count(*) FROM invitation"))
    except Exception:  # no database, no schema: not seeded
        return False
    finally:
        engine.dispose()
    sizes = SCALES[scale]
    return users > sizes["users"] and invitations >= sizes["invitations"]


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process, ended backends included (the postmaster's
    children's time). Other clients of the same server count too."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if not Path(f"/proc/{pid}/comm").read_text().startswith("postgres"):
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])
    return total / tick


def timed_command(args: list[str], env: dict, cwd: Path) -> dict:
    """Run a command; its wall time, its CPU time, and the database server's meanwhile."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = postgres_cpu_seconds()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall_s": round(wall, 1),
        "command_cpu_s": round(
            after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1
        ),
        "postgresql_cpu_s": round(postgres_cpu_seconds() - server_before, 1),
        "load_average_before": load,
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure_export(port: int, cookies: dict, workers: list[int]) -> dict:
    """GET /manage/users.csv (every user), read as it streams: rows per second, and the
    gunicorn workers' largest RSS growth while it ran."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    idle = {pid: rss_mb(pid) for pid in workers}
    peak = dict(idle)
    started = time.perf_counter()
    conn.request(
        "GET",
        "/manage/users.csv",
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
    )
    response = conn.getresponse()
    lines = 0
    size = 0
    while chunk := response.read(1 << 16):
        lines += chunk.count(b"\n")
        size += len(chunk)
        for pid in workers:
            peak[pid] = max(peak[pid], rss_mb(pid))
    seconds = time.perf_counter() - started
    conn.close()
    rows = lines - 1  # the header
    return {
        "status": response.status,
        "rows": rows,
        "bytes": size,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "rss_growth_mb": round(max(peak[p] - idle[p] for p in workers), 1),
        "rss_idle_mb": round(max(idle.values()), 1),
    }
