"""Managed users from a CSV file: every row checked and shown before anything is created."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import insert

from ..extensions import db
from ..models import PARTNER_USER_TYPES, Occupation, UserType, WizardDraft, WizardRow
from ..tenancy import scoped
from ..text import clean_line, name_key
from .services import MAX_ROWS, email_problems

COLUMNS = ("User type", "First name", "Last name", "Email", "Occupation")
TEMPLATE_ROWS = (
    ("Supervisor", "Ana", "Rivera", "ana.rivera@example.org", ""),
    ("Mentor", "Ben", "Okafor", "", "Electrician"),
)
_TYPES = {t.label.lower(): t for t in PARTNER_USER_TYPES} | {
    "instructor": UserType.PROVIDER,
    "admin": UserType.ADMINISTRATOR,
}


class CsvRefused(Exception):
    """The file as a whole cannot be read; the message says how to fix it."""


@dataclass
class CsvRow:
    line: int
    user_type: UserType | None
    first_name: str
    last_name: str
    email: str | None
    occupation: Occupation | None
    raw: dict[str, str]
    errors: list[str] = field(default_factory=list)


@dataclass
class CsvCheck:
    filename: str
    rows: list[CsvRow]

    @property
    def bad_rows(self) -> list[CsvRow]:
        return [row for row in self.rows if row.errors]


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(TEMPLATE_ROWS)
    return out.getvalue()


def _read(data: bytes) -> list[dict[str, str]]:
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
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise CsvRefused(f"The file has more than {MAX_ROWS:,} people. Split it in parts.")
            rows.append(
                {
                    c: clean_line(values[i])[:300] if i < len(values) else ""
                    for c, i in index.items()
                }
            )
    except csv.Error as error:
        raise CsvRefused(f"The file could not be read as CSV ({error}).") from None
    if not rows:
        raise CsvRefused("The file has a header but no people. Add one row a person.")
    return rows


def check_csv(draft: WizardDraft, filename: str, data: bytes) -> CsvCheck:
    """Parse and check every row against the same rules as ADD+, in a few queries."""
    raw_rows = _read(data)
    occupations = list(db.session.scalars(scoped(Occupation)))
    by_name = {o.name_key: o for o in occupations}
    by_code = {o.rapids_code.lower(): o for o in occupations if o.rapids_code}
    listed = {r.email for r in draft.rows if r.email}
    seen: dict[str, int] = {}
    rows: list[CsvRow] = []
    for number, raw in enumerate(raw_rows, start=2):
        row = CsvRow(number, None, raw["First name"], raw["Last name"], None, None, raw)
        row.user_type = _TYPES.get(raw["User type"].lower())
        if row.user_type is None:
            row.errors.append("User type must be Administrator, Supervisor, Mentor or Provider.")
        for label, value in (("First name", row.first_name), ("Last name", row.last_name)):
            if not value:
                row.errors.append(f"{label} is missing.")
            elif len(value) > 100:
                row.errors.append(f"{label} has more than 100 characters.")
        if raw["Email"]:
            try:
                email = validate_email(raw["Email"], check_deliverability=False).normalized.lower()
            except EmailNotValidError as error:
                row.errors.append(f"Email is not valid: {error}")
            else:
                if email in listed:
                    row.errors.append("Email is already in the list of people to create.")
                elif email in seen:
                    row.errors.append(f"Email is also on line {seen[email]}.")
                else:
                    seen[email] = number
                row.email = email
        if row.user_type is UserType.MENTOR:
            key = raw["Occupation"]
            row.occupation = by_name.get(name_key(key)) or by_code.get(key.lower())
            if not key:
                row.errors.append("Occupation is required for a mentor.")
            elif row.occupation is None:
                row.errors.append(
                    f"Occupation “{raw['Occupation']}” is not on the Occupations list."
                )
        rows.append(row)
    problems = email_problems(draft.sponsor_id, [r.email for r in rows if r.email])
    for row in rows:
        if row.email in problems:
            row.errors.append(problems[row.email].message)
    return CsvCheck(filename, rows)


def add_checked_rows(draft: WizardDraft, check: CsvCheck) -> int:
    """Add the rows of a clean file to the draft; nothing when any row is bad."""
    if check.bad_rows:
        return 0
    if len(draft.rows) + len(check.rows) > MAX_ROWS:
        raise CsvRefused(f"A list holds at most {MAX_ROWS:,} people. Create these first.")
    db.session.execute(
        insert(WizardRow),
        [
            {
                "draft_id": draft.id,
                "user_type": row.user_type,
                "email": row.email,
                "first_name": row.first_name,
                "last_name": row.last_name,
                "occupation_id": row.occupation.id if row.occupation else None,
            }
            for row in check.rows
        ],
    )
    db.session.expire(draft, ["rows"])
    return len(check.rows)
