"""Markdown tables from benchmarks/results-sqlite.json and results-postgresql.json, side by side.

python -m benchmarks.report            # 100,000 users
python -m benchmarks.report 1m         # results-<db>-1m.json (run.py --scale 1m)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(scale: str = "100k") -> dict[str, dict]:
    found = {}
    suffix = "" if scale == "100k" else f"-{scale}"
    for db in ("sqlite", "postgresql"):
        path = HERE / f"results-{db}{suffix}.json"
        if path.exists():
            found[db] = json.loads(path.read_text())
    return found


def main() -> None:
    runs = load(sys.argv[1] if len(sys.argv) > 1 else "100k")
    dbs = list(runs)
    first = next(iter(runs.values()))
    print(f"Machine: {json.dumps(first['machine'])}\n")
    print(f"Command: `{first['command']}`\n")
    head = "| request | " + " | ".join(
        f"{db} p50 / p95 ms | {db} server CPU ms | {db} req/s | ×trivial | ×Flask-Admin"
        for db in dbs
    )
    print(head + " | SQL | bytes (br / raw) |")
    print("|" + "---|" * (1 + 5 * len(dbs) + 2))
    names = list(runs[dbs[0]]["results"]["requests"])
    for name in names:
        cells = [name]
        for db in dbs:
            row = runs[db]["results"]["requests"][name]
            cells += [
                f"{row['p50_ms']} / {row['p95_ms']}",
                str(row["server_cpu_ms"]),
                str(row["req_s"]),
                str(row["x_trivial"]),
                str(row["x_flask_admin"]),
            ]
        row = runs[dbs[0]]["results"]["requests"][name]
        sql = " / ".join(
            str(runs[db]["results"]["requests"][name].get("sql_statements")) for db in dbs
        )
        cells += [sql, f"{row['bytes_compressed']:,} / {row['bytes']:,}"]
        print("| " + " | ".join(cells) + " |")
    print()
    for db in dbs:
        result = runs[db]["results"]
        print(
            f"**{db}**: seed-demo {result['seed_demo_s']} s; SEND {result['send']}; "
            f"CSV check {result['csv_check']}; first page load {result['first_page_load']}\n"
        )
        for key in ("seed_demo", "users_csv_export"):
            if result.get(key):
                print(f"**{db}** {key}: {result[key]}\n")


if __name__ == "__main__":
    main()
