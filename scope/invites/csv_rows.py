"""People from a CSV file, for the external-users and managed-users wizards: read here, judged
by the wizard's rules (rows.check_rows), shown before anything is added.

Files come from people's spreadsheets: the header may say "user_type", "User Type" or
"USER TYPE"; the text may be UTF-8 (with or without a byte-order mark), UTF-16 or
Windows-1252. A file with some bad lines can still give its good ones.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import insert

from ..extensions import db
from ..models import PARTNER_USER_TYPES, UserType, WizardDraft, WizardKind, WizardRow
from ..refusals import Refused
from ..templating import format_list, format_number
from ..text import clean_line
from .drafts import current_rows, require_organization
from .rows import MAX_ROWS, CheckedRow, RowInput, check_rows

# The columns of each wizard's file: those of its screen.
COLUMNS = {
    WizardKind.EXTERNAL: ("User type", "Email", "Occupation"),
    WizardKind.MANAGED: ("User type", "First name", "Last name", "Email", "Occupation"),
}
TEMPLATE_ROWS = {
    WizardKind.EXTERNAL: (
        ("Supervisor", "ana.rivera@example.org", ""),
        ("Mentor", "ben.okafor@example.org", "Electrician"),
    ),
    WizardKind.MANAGED: (
        ("Supervisor", "Ana", "Rivera", "ana.rivera@example.org", ""),
        ("Mentor", "Ben", "Okafor", "", "Electrician"),
    ),
}
MAX_LINES = 2 * MAX_ROWS
MAX_BYTES = 5 * 2**20
_TYPES = {t.label.lower(): t for t in PARTNER_USER_TYPES} | {
    "instructor": UserType.PROVIDER,
    "admin": UserType.ADMINISTRATOR,
}
_UNREADABLE = _l("The file is not a text CSV file. Save it as CSV (UTF-8) and upload it again.")


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

    @property
    def good_rows(self) -> list[CheckedRow]:
        return [row for row in self.rows if row.ok]


def template_csv(kind: WizardKind) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS[kind])
    writer.writerows(TEMPLATE_ROWS[kind])
    return out.getvalue()


def header_key(name: str) -> str:
    """A column's name as compared: case, spaces, underscores and hyphens do not count."""
    return re.sub(r"[\s_\-]+", "", clean_line(name or "")).casefold()


def read_people(kind: WizardKind, data: bytes) -> list[RowInput]:
    """The people a file lists, each with its line number and the values as written."""
    return [
        RowInput(
            user_type=_TYPES.get(raw["User type"].lower()),
            email=raw["Email"] or None,
            first_name=raw.get("First name"),
            last_name=raw.get("Last name"),
            occupation_name=raw["Occupation"] or None,
            line=line,
            raw=raw,
        )
        for line, raw in _read(COLUMNS[kind], decode(data))
    ]


def decode(data: bytes) -> str:
    """The file's text, whichever of the encodings spreadsheets save in it was written."""
    if len(data) > MAX_BYTES:
        raise CsvRefused(
            gettext(
                "The file is larger than %(size)s MB. Split it in parts.",
                size=format_number(MAX_BYTES // 2**20),
            )
        )
    if not data.strip():
        raise CsvRefused(
            gettext("The file is empty. Download the template and fill in one row a person.")
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]
    elif data.startswith(codecs.BOM_UTF8):
        encodings = ["utf-8-sig"]
    elif b"\x00" in data[:4096]:
        # UTF-16 without a byte-order mark: the zero bytes of ASCII text say which half.
        sample = data[:4096]
        encodings = ["utf-16-le" if sample[1::2].count(0) > sample[::2].count(0) else "utf-16-be"]
    else:
        encodings = ["utf-8", "cp1252"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise CsvRefused(_UNREADABLE)


def _read(columns: tuple[str, ...], text: str) -> list[tuple[int, dict[str, str]]]:
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise CsvRefused(gettext("The file has no header row. Start from the template."))
        keys = [header_key(h) for h in header]
        missing = [c for c in columns if header_key(c) not in keys]
        if missing:
            # The column names are the file's format, the same in every language.
            raise CsvRefused(
                gettext(
                    "The header row lacks %(missing)s. The columns are: %(columns)s.",
                    missing=format_list(missing),
                    columns=format_list(list(columns)),
                )
            )
        index = {c: keys.index(header_key(c)) for c in columns}
        rows = []
        for values in reader:
            # Every line counts, blank ones too: a file of empty lines costs as much to read.
            if reader.line_num > MAX_LINES:
                raise CsvRefused(
                    gettext(
                        "The file has more than %(count)s lines. Remove the empty ones, "
                        "or split it in parts.",
                        count=format_number(MAX_LINES),
                    )
                )
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise CsvRefused(
                    gettext(
                        "The file has more than %(count)s people. Split it in parts.",
                        count=format_number(MAX_ROWS),
                    )
                )
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
        raise CsvRefused(
            gettext("The file could not be read as CSV (%(error)s).", error=error)
        ) from None
    if not rows:
        raise CsvRefused(gettext("The file has a header but no people. Add one row a person."))
    return rows


def check_csv(draft: WizardDraft, filename: str, data: bytes) -> CsvCheck:
    """Read the file and judge every person by the same rules as ADD+."""
    return CsvCheck(filename, check_rows(draft, read_people(draft.kind, data)))


def add_rows(draft: WizardDraft, rows: list[CheckedRow]) -> int:
    """Put people who passed every rule on the open list, in one statement."""
    require_organization(draft)  # as ADD+ and Add addresses: never an archived one's list
    if len(current_rows(draft)) + len(rows) > MAX_ROWS:
        raise CsvRefused(
            gettext(
                "A list holds at most %(count)s people. Send these first.",
                count=format_number(MAX_ROWS),
            )
        )
    if rows:
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
                for row in rows
            ],
        )
        db.session.expire(draft, ["rows"])
    return len(rows)


def add_checked_rows(draft: WizardDraft, check: CsvCheck) -> int:
    """Add the people of a clean file; a file with problems adds nothing until asked."""
    return 0 if check.bad_rows else add_rows(draft, check.rows)


def _held() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="scope.csv.valid-rows")


def hold(check: CsvCheck) -> str:
    """A file's good rows, signed, for the page to send back with "Add the N valid rows".

    Nothing is stored while the file still has problems to correct.
    """
    return _held().dumps(
        [
            [
                row.input.user_type.value,
                row.email,
                row.input.first_name,
                row.input.last_name,
                row.occupation.id if row.occupation else None,
                row.input.line,
            ]
            for row in check.good_rows
        ]
    )


def add_held_rows(draft: WizardDraft, held: str) -> int:
    """Add the rows hold() gave the page, judged again now (the list may have changed)."""
    try:
        rows = _held().loads(held or "")
        people = [
            RowInput(UserType(user_type), email, first, last, occupation, line=line)
            for user_type, email, first, last, occupation, line in rows
        ]
    except (BadSignature, ValueError, TypeError):
        raise CsvRefused(
            gettext("These rows are no longer available. Upload the file again.")
        ) from None
    return add_rows(draft, [row for row in check_rows(draft, people) if row.ok])
