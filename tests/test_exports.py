"""CSV exports stream every row, however many chunks they take.

The exports read their rows a few hundred at a time while the body is sent; on PostgreSQL
from a server-side cursor that ends with its transaction. These tests export more rows than
one chunk holds, so the rows after the first chunk are read after the view has returned
(on PostgreSQL they failed to: the export stopped after 500 rows).

The Users export also keeps its cells and order: the bytes of a few people with tricky
values, and the order of every sort, search and filter of the listing.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text

from scope.extensions import db
from scope.manage.users import EXPORT_FETCH_ROWS, CsvText, safe_cell
from scope.models import (
    Invitation,
    InvitationState,
    OrganizationKind,
    User,
    UserStatus,
    UserType,
    utcnow,
)

ROWS = 1_234  # more than two chunks of 500 (the Invitations export's)
USER_ROWS = EXPORT_FETCH_ROWS + 234  # more than the Users export reads at once


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_the_users_export_lists_every_user_past_its_first_chunk(app, staff):
    with app.app_context():
        db.session.execute(
            insert(User),
            [
                {
                    "sponsor_id": staff.sponsor_id,
                    "email": f"many{i:05d}@example.com",
                    "first_name": "Many",
                    "last_name": f"M{i:05d}",
                    "name_key": f"m{i:05d} many",
                    "user_type": UserType.SUPERVISOR,
                    "status": UserStatus.MANAGED,
                    "session_version": 1,
                }
                for i in range(USER_ROWS)
            ],
        )
        db.session.commit()
    response = staff.get("/manage/users.csv?status=managed")
    assert response.status_code == 200
    rows = read_csv(response)
    assert len(rows) == 1 + USER_ROWS
    assert [row[3] for row in rows[1:]] == [f"many{i:05d}@example.com" for i in range(USER_ROWS)]


def test_the_invitations_export_lists_every_invitation_past_its_first_chunk(app, staff):
    now = utcnow()
    with app.app_context():
        db.session.execute(
            insert(Invitation),
            [
                {
                    "sponsor_id": staff.sponsor_id,
                    "email": f"invited{i:04d}@example.com",
                    "pending_email": f"invited{i:04d}@example.com",
                    "user_type": UserType.SUPERVISOR,
                    "invited_by_id": staff.user_id,
                    "state": InvitationState.PENDING,
                    "nonce": f"nonce-{i}",
                    "sent_at": now,
                    "expires_at": now + timedelta(days=14),
                    "resend_count": 0,
                    "created_at": now,
                }
                for i in range(ROWS)
            ],
        )
        db.session.commit()
    response = staff.get("/manage/invitations.csv")
    assert response.status_code == 200
    rows = read_csv(response)
    assert len(rows) == 1 + ROWS


def _tricky_users(app, staff, make_org, make_user, occupation_id) -> None:
    """People whose cells need care: formula starts, commas, quotes, line breaks, accents,
    no email, no organization; the staff member reads Spanish in Mexico City's time."""
    sid = staff.sponsor_id
    harbor = make_org(sid, 'Harbor "Docks", Inc.')
    formula_org = make_org(sid, "=Formula Works", kind=OrganizationKind.PROVIDER)
    electrician = occupation_id(sid)
    people = [
        ("=SUM(A1)", "+1", "=sum@x.test", UserType.SUPERVISOR, UserStatus.ACTIVE, harbor, None),
        ("Ana", 'Ruiz "La Jefa"', "ana@x.test", UserType.MENTOR, UserStatus.ACTIVE, harbor, 1),
        ("Bo", "Smith, Jr.", "", UserType.ADMINISTRATOR, UserStatus.MANAGED, None, None),
        (
            "Line\nbreak",
            "Two\r\nlines",
            "-dash@x.test",
            UserType.PROVIDER,
            UserStatus.DEACTIVATED,
            formula_org,
            None,
        ),
        ("\tTab", "@home", "+plus@x.test", UserType.SUPERVISOR, UserStatus.MANAGED, None, None),
        ("José", "Núñez", "jose@x.test", UserType.MENTOR, UserStatus.ACTIVE, harbor, 1),
        ("", "-Solo", "solo@x.test", UserType.SUPERVISOR, UserStatus.ACTIVE, None, None),
    ]
    logins = [
        datetime(2025, 3, 4, 23, 59, 59, 999_999, tzinfo=UTC),
        None,
        None,
        datetime(2024, 12, 31, 5, 7, tzinfo=UTC),
        None,
        datetime(2025, 1, 2, 0, 0, 30, tzinfo=UTC),
        None,
    ]
    for (first, last, email, kind, status, org, occupation), login in zip(
        people, logins, strict=True
    ):
        user_id = make_user(
            email,
            sponsor_id=sid,
            user_type=kind,
            status=status,
            organization_id=org,
            occupation_id=electrician if occupation else None,
            first_name=first,
            last_name=last,
            with_password=False,
        )
        with app.app_context():
            db.session.get(User, user_id).last_login_at = login
            db.session.commit()
    with app.app_context():
        me = db.session.get(User, staff.user_id)
        me.last_name = "Staff"
        me.language = "es"
        me.time_zone = "America/Mexico_City"
        me.last_login_at = datetime(2025, 6, 1, 12, 30, tzinfo=UTC)
        db.session.commit()


# What the export of _tricky_users writes, byte for byte: a formula start gets a quote in
# front, commas, quotes and line breaks are quoted, labels are the reader's language and
# last logins are UTC whatever the reader's time zone.
TRICKY_CSV = (
    "\ufeffNombre,Nombre,Apellido,Correo electrónico,Tipo de usuario,Organización,Ocupación,"
    "Estado,Último acceso\r\n"
    '\'=SUM(A1) +1,\'=SUM(A1),\'+1,\'=sum@x.test,Supervisor,"Harbor ""Docks"", Inc.",,Activo,'
    "2025-03-04 23:59 UTC\r\n"
    "'-Solo,,'-Solo,solo@x.test,Supervisor,,,Activo,\r\n"
    "Tab @home,'\tTab,'@home,'+plus@x.test,Supervisor,,,Gestionado,\r\n"
    'José Núñez,José,Núñez,jose@x.test,Mentor,"Harbor ""Docks"", Inc.",Electrician,Activo,'
    "2025-01-02 00:00 UTC\r\n"
    '"Ana Ruiz ""La Jefa""",Ana,"Ruiz ""La Jefa""",ana@x.test,Mentor,'
    '"Harbor ""Docks"", Inc.",Electrician,Activo,\r\n'
    '"Bo Smith, Jr.",Bo,"Smith, Jr.",,Administrador,,,Gestionado,\r\n'
    "Sam Staff,Sam,Staff,staff@riverbend.test,Personal,,,Activo,2025-06-01 12:30 UTC\r\n"
    '"Line\nbreak Two\r\nlines","Line\nbreak","Two\r\nlines",\'-dash@x.test,Instructor,'
    "'=Formula Works,,Desactivado,2024-12-31 05:07 UTC\r\n"
)


def test_the_users_export_writes_every_cell_as_it_always_has(
    app, staff, make_org, make_user, occupation_id
):
    _tricky_users(app, staff, make_org, make_user, occupation_id)
    response = staff.get("/manage/users.csv")
    assert response.status_code == 200
    assert response.get_data() == TRICKY_CSV.encode()


# The names (first column) each sort, direction, search and filter lists, in order.
ANA, BO, JOSE, LINES = (
    'Ana Ruiz "La Jefa"',
    "Bo Smith, Jr.",
    "José Núñez",
    "Line\nbreak Two\r\nlines",
)
SAM, SOLO, SUM, TAB = "Sam Staff", "'-Solo", "'=SUM(A1) +1", "Tab @home"


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("?sort=name&dir=desc", [LINES, SAM, BO, ANA, JOSE, TAB, SOLO, SUM]),
        ("?sort=email", [TAB, LINES, SUM, ANA, JOSE, SOLO, SAM, BO]),
        ("?sort=email&dir=desc", [SAM, SOLO, JOSE, ANA, SUM, LINES, TAB, BO]),
        ("?sort=organization", [LINES, SUM, JOSE, ANA, SOLO, TAB, BO, SAM]),
        ("?sort=organization&dir=desc", [ANA, JOSE, SUM, LINES, SAM, BO, TAB, SOLO]),
        ("?sort=type", [BO, JOSE, ANA, LINES, SAM, SUM, SOLO, TAB]),
        ("?sort=status&dir=desc", [BO, TAB, LINES, SAM, ANA, JOSE, SOLO, SUM]),
        ("?sort=last_login", [LINES, JOSE, SUM, SAM, SOLO, TAB, ANA, BO]),
        ("?sort=last_login&dir=desc", [SAM, SUM, JOSE, LINES, BO, ANA, TAB, SOLO]),
        ("?q=x.test", [SUM, SOLO, TAB, JOSE, ANA, LINES]),
        ("?q=ruiz", [ANA]),
        ("?status=active&type=mentor", [JOSE, ANA]),
    ],
)
def test_the_users_export_follows_the_listing_s_sort_search_and_filters(
    app, staff, make_org, make_user, occupation_id, query, names
):
    _tricky_users(app, staff, make_org, make_user, occupation_id)
    every = {row[0]: row for row in read_csv(staff.get("/manage/users.csv"))[1:]}
    rows = read_csv(staff.get("/manage/users.csv" + query))
    assert [row[0] for row in rows[1:]] == names
    assert all(row == every[row[0]] for row in rows[1:])


def test_last_logins_are_utc_whatever_zone_postgresql_reads_them_in(
    app, staff, make_org, make_user, occupation_id
):
    _tricky_users(app, staff, make_org, make_user, occupation_id)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite keeps no time zone")
        # Undone with the test's transaction, which every session of the test shares.
        db.session.execute(text("SET TIME ZONE 'America/Mexico_City'"))
        db.session.commit()
    response = staff.get("/manage/users.csv")
    assert response.get_data() == TRICKY_CSV.encode()


# Cells as people type them: the characters CSV and spreadsheets treat apart, and others.
_CELL = st.text(alphabet=st.sampled_from(",\"\r\n\t =+-@'aZ é\u2028\x0b;"), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL, _CELL), max_size=6))
@example([("=1", "a,b", 'say "hi"'), ("", "", ""), ("\r", "\n", "\t")])
@example([("plain", "text", "only")] * 3)
def test_csv_text_writes_what_csv_writer_writes_of_the_guarded_cells(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[safe_cell(cell) for cell in row] for row in rows])
    assert CsvText().rows(rows) == buffer.getvalue()
