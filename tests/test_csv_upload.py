"""Managed users from a CSV file: checked row by row, all or nothing."""

import io

import pytest

from scope.extensions import db
from scope.invites.drafts import MAX_ROWS
from scope.models import User, UserStatus, WizardRow


@pytest.fixture
def managed_wizard(staff, make_org):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/managed/organization", {"organization": org}, htmx=True)
    return org


def csv_bytes(rows, header="User type,First name,Last name,Email,Occupation"):
    return (header + "\n" + "\n".join(",".join(r) for r in rows) + "\n").encode()


def people(n):
    return [
        [
            "Mentor" if i % 5 == 0 else "Supervisor",
            f"First{i}",
            f"Last{i}",
            f"person{i}@example.org",
            "Electrician" if i % 5 == 0 else "",
        ]
        for i in range(n)
    ]


def upload(staff, data: bytes, name="people.csv"):
    return staff.post(
        "/invite/managed/upload",
        {"csv_file": (io.BytesIO(data), name)},
        htmx=True,
        content_type="multipart/form-data",
    )


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def test_template_downloads_with_the_columns(staff):
    response = staff.get("/invite/managed/template.csv")
    assert response.mimetype == "text/csv"
    assert (
        response.get_data(as_text=True).splitlines()[0]
        == "User type,First name,Last name,Email,Occupation"
    )


def test_two_hundred_rows_with_three_bad_create_nothing_then_fixed_create_all(
    app, staff, managed_wizard, make_user
):
    rows = people(200)
    rows[10][3] = "not-an-email"
    rows[50][0] = "Astronaut"
    rows[120][3] = rows[121][3]  # a duplicate within the file
    response = upload(staff, csv_bytes(rows))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "3 of 200 rows in people.csv have problems. Nothing was added" in html
    assert (
        "Enter a valid email address" in html
        and "Choose a user type. The types are Administrator, Supervisor, Mentor and Provider."
        in html
        and "This address is also on line" in html
    )
    assert count(app, WizardRow) == 0 and count(app, User, User.status == UserStatus.MANAGED) == 0

    rows[10][3] = "fixed10@example.org"
    rows[50][0] = "Provider"
    rows[120][3] = "fixed120@example.org"
    response = upload(staff, csv_bytes(rows))
    assert response.status_code == 200
    assert "200 people added from people.csv" in response.get_data(as_text=True)
    assert count(app, WizardRow) == 200
    created = staff.post("/invite/managed/send", htmx=True).get_data(as_text=True)
    assert "200 managed users created." in created
    assert count(app, User, User.status == UserStatus.MANAGED) == 200
    assert count(app, WizardRow) == 0


def test_rows_are_checked_against_accounts_invitations_and_occupations(
    app, staff, managed_wizard, make_user
):
    make_user("taken@example.org", sponsor_id=staff.sponsor_id)
    rows = [
        ["Supervisor", "A", "B", "taken@example.org", ""],
        ["Mentor", "C", "D", "", ""],
        ["Mentor", "E", "F", "", "Astrophysicist"],
        ["Mentor", "G", "H", "", "0159"],  # RAPIDS code of Electrician
        ["Supervisor", "", "J", "", ""],
    ]
    html = upload(staff, csv_bytes(rows)).get_data(as_text=True)
    assert "already has an account" in html
    assert "Choose the mentor&#39;s occupation." in html
    assert "is not on the Occupations list" in html
    assert "Enter the first name." in html
    assert "4 of 5 rows" in html


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "not a text CSV file"),
        (b"Name,Email\nA,a@example.org\n", "The header row lacks User type"),
        (b"User type,First name,Last name,Email,Occupation\n", "no people"),
        (b'User type,First name,Last name,Email,Occupation\n"unterminated,A,B,,\n', None),
    ],
)
def test_malformed_files_get_a_message_and_add_nothing(app, staff, managed_wizard, data, message):
    response = upload(staff, data)
    assert response.status_code == 422
    if message:
        assert message in response.get_data(as_text=True)
    assert count(app, WizardRow) == 0


def test_missing_file_and_too_many_rows(app, staff, managed_wizard):
    response = staff.post(
        "/invite/managed/upload", {}, htmx=True, content_type="multipart/form-data"
    )
    assert response.status_code == 422 and "Choose a CSV file" in response.get_data(as_text=True)
    response = upload(staff, csv_bytes(people(MAX_ROWS + 1)))
    assert response.status_code == 422
    assert f"more than {MAX_ROWS:,} people" in response.get_data(as_text=True)
    assert count(app, WizardRow) == 0


def test_a_thousand_rows_fit_in_one_upload(app, staff, managed_wizard):
    response = upload(staff, csv_bytes(people(1000)))
    assert response.status_code == 200 and count(app, WizardRow) == 1000
    assert "1,000 people added" in response.get_data(as_text=True)


def test_an_occupation_created_on_screen_is_found_by_its_name_in_any_case(
    app, staff, managed_wizard
):
    created = staff.post("/partners/occupations", {"name": "Maßschneider"}, htmx=True)
    assert created.status_code == 200
    rows = [
        ["Mentor", "Ana", "Rivera", "", "Maßschneider"],
        ["Mentor", "Cy", "Lind", "", "MASSSCHNEIDER"],
        ["Mentor", "Ben", "Ode", "", "maß"],
    ]
    html = upload(staff, csv_bytes(rows[:2])).get_data(as_text=True)
    assert "2 people added" in html
    assert count(app, WizardRow) == 2
    assert "is not on the Occupations list" in upload(staff, csv_bytes(rows[2:])).get_data(
        as_text=True
    )
