"""Managed users from a CSV file: read here, judged by the wizard's rules, shown before anything
is added."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import insert

from ..extensions import db
from ..models import PARTNER_USER_TYPES, UserType, WizardDraft, WizardRow
from ..refusals import Refused
from ..text import clean_line
from .drafts import MAX_ROWS, CheckedRow, RowInput, check_rows

COLUMNS = ("User type", "First name", "Last name", "Email", "Occupation")
TEMPLATE_ROWS = (
    ("Supervisor", "Ana", "Rivera", "ana.rivera@example.org", ""),
    ("Mentor", "Ben", "Okafor", "", "Electrician"),
)
MAX_LINES = 2 * MAX_ROWS
MAX_BYTES = 5 * 2**20
_TYPES = {t.label.lower(): t for t in PARTNER_USER_TYPES} | {
    "instructor": UserType.PROVIDER,
    "admin": UserType.ADMINISTRATOR,
}


class CsvRefused(Refused):
    """The file as a whole cannot be read; the message says how to fix it."""

    field = "csv_file"


@dataclass
class CsvCheck:
    filename: str
    rows: list[CheckedRow]

    @property
    def bad_rows(self) -> list[CheckedRow]:
        return [row for row in self.rows if not row.ok]


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(TEMPLATE_ROWS)
    return out.getvalue()


def read_people(data: bytes) -> list[RowInput]:
    """The people a file lists, each with its line number and the values as written."""
    return [
        RowInput(
            user_type=_TYPES.get(raw["User type"].lower()),
            email=raw["Email"] or None,
            first_name=raw["First name"],
            last_name=raw["Last name"],
            occupation_name=raw["Occupation"] or None,
            line=line,
            raw=raw,
        )
        for line, raw in _read(data)
    ]


def _read(data: bytes) -> list[tuple[int, dict[str, str]]]:
    if len(data) > MAX_BYTES:
        raise CsvRefused(f"The file is larger than {MAX_BYTES // 2**20} MB. Split it in parts.")
    if not data.strip():
        raise CsvRefused("The file is empty. Download the template and fill in one row a person.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise CsvRefused("The file is not a text CSV file. Save it as CSV (UTF-8).") from None
    if "\x00" in text:
        raise CsvRefused("The file is not a text CSV file. Save it as CSV (UTF-8).")
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            raise CsvRefused("The file has no header row. Start from the template.")
        names = [clean_line(h).lower() for h in header]
        missing = [c for c in COLUMNS if c.lower() not in names]
        if missing:
            raise CsvRefused(
                f"The header row lacks {', '.join(missing)}. The columns are: {', '.join(COLUMNS)}."
            )
        index = {c: names.index(c.lower()) for c in COLUMNS}
        rows = []
        for values in reader:
            # Every line counts, blank ones too: a file of empty lines costs as much to read.
            if reader.line_num > MAX_LINES:
                raise CsvRefused(
                    f"The file has more than {MAX_LINES:,} lines. Remove the empty ones, "
                    "or split it in parts."
                )
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise CsvRefused(f"The file has more than {MAX_ROWS:,} people. Split it in parts.")
            rows.append(
                (
                    reader.line_num,
                    {
                        c: clean_line(values[i])[:300] if i < len(values) else ""
                        for c, i in index.items()
                    },
                )
            )
    except csv.Error as error:
        raise CsvRefused(f"The file could not be read as CSV ({error}).") from None
    if not rows:
        raise CsvRefused("The file has a header but no people. Add one row a person.")
    return rows


def check_csv(draft: WizardDraft, filename: str, data: bytes) -> CsvCheck:
    """Read the file and judge every person by the same rules as ADD+."""
    return CsvCheck(filename, check_rows(draft, read_people(data)))


def add_checked_rows(draft: WizardDraft, check: CsvCheck) -> int:
    """Add the people of a clean file to the draft; nothing when any row is bad."""
    if check.bad_rows:
        return 0
    if len(draft.rows) + len(check.rows) > MAX_ROWS:
        raise CsvRefused(f"A list holds at most {MAX_ROWS:,} people. Create these first.")
    db.session.execute(
        insert(WizardRow),
        [
            {
                "draft_id": draft.id,
                "partner_organization_id": draft.partner_organization_id,
                "user_type": row.input.user_type,
                "email": row.email,
                "first_name": row.input.first_name,
                "last_name": row.input.last_name,
                "occupation_id": row.occupation.id if row.occupation else None,
            }
            for row in check.rows
        ],
    )
    db.session.expire(draft, ["rows"])
    return len(check.rows)
