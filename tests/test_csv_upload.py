"""Managed users from a CSV file: checked row by row, all or nothing."""

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scope.extensions import db
from scope.invites.rows import MAX_ROWS
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


# Files as people's spreadsheets save them --------------------------------------------------

ROWS = [
    ["Supervisor", "Zoë", "Müller", "zoe@example.org", ""],
    ["Mentor", "Ángel", "Peña", "", "Electrician"],
]


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252"]
)
def test_files_in_every_common_encoding_are_read_correctly(app, staff, managed_wizard, encoding):
    text = "User type,First name,Last name,Email,Occupation\r\n" + "\r\n".join(
        ",".join(row) for row in ROWS
    )
    response = upload(staff, text.encode(encoding))
    assert response.status_code == 200, response.get_data(as_text=True)
    with app.app_context():
        names = db.session.execute(db.select(WizardRow.first_name, WizardRow.last_name)).all()
    assert sorted(names) == [("Zoë", "Müller"), ("Ángel", "Peña")]


@pytest.mark.parametrize(
    "header",
    [
        "user_type,first_name,last_name,email,occupation",
        "User Type,First Name,Last Name,E-mail,OCCUPATION",
        "USER TYPE, FIRST NAME , last-name,Email,Occupation,Notes",
        "Email,Occupation,Last name,First name,User type",
    ],
)
def test_headers_are_matched_whatever_their_case_spacing_and_order(
    app, staff, managed_wizard, header
):
    names = [h.strip() for h in header.split(",")]
    order = [[name.replace(" ", "").replace("_", "").replace("-", "").lower() for name in names]]
    values = {
        "usertype": "Supervisor",
        "firstname": "Ana",
        "lastname": "Ruiz",
        "email": "",
        "occupation": "",
        "notes": "x",
    }
    body = header + "\n" + ",".join(values[key] for key in order[0]) + "\n"
    response = upload(staff, body.encode())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert count(app, WizardRow) == 1


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(header=st.lists(st.text(max_size=20), max_size=8), body=st.binary(max_size=300))
def test_any_header_and_body_get_an_answer_and_nothing_added_on_refusal(
    app, staff, managed_wizard, header, body
):
    data = ",".join(header).encode("utf-8", "surrogatepass") + b"\n" + body
    response = upload(staff, data)
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert count(app, WizardRow) == 0
    with app.app_context():
        db.session.execute(db.delete(WizardRow))
        db.session.commit()


def test_a_file_with_some_bad_rows_can_add_its_valid_ones(app, staff, managed_wizard):
    rows = people(10)
    rows[3][3] = "not-an-email"
    rows[7][0] = "Astronaut"
    response = upload(staff, csv_bytes(rows))
    assert response.status_code == 422 and count(app, WizardRow) == 0
    html = response.get_data(as_text=True)
    assert "2 of 10 rows in people.csv have problems" in html
    held = re.search(r'name="held" value="([^"]+)"', html).group(1)
    added = staff.post("/invite/managed/upload/valid", {"held": held}, htmx=True)
    assert added.status_code == 200
    assert "8 people added" in added.get_data(as_text=True)
    assert count(app, WizardRow) == 8
    # The rows are judged again: the same ones a second time are already in the list.
    again = staff.post("/invite/managed/upload/valid", {"held": held}, htmx=True)
    assert "0 people added" in again.get_data(as_text=True) and count(app, WizardRow) == 8
    forged = staff.post("/invite/managed/upload/valid", {"held": held[:-3] + "abc"}, htmx=True)
    assert forged.status_code == 422
    assert "no longer available" in forged.get_data(as_text=True)


def test_the_external_wizard_takes_a_file_of_its_own_columns(app, staff, make_org):
    org = make_org(staff.sponsor_id, "Acme Robotics")
    staff.post("/invite/external", {"organization": org}, htmx=True)
    template = staff.get("/invite/external/template.csv").get_data(as_text=True)
    assert template.splitlines()[0] == "User type,Email,Occupation"
    body = "User type,Email,Occupation\n" + "\n".join(
        f"Supervisor,person{n}@acme.example," for n in range(200)
    )
    response = staff.post(
        "/invite/external/upload",
        {"csv_file": (io.BytesIO(body.encode()), "staff.csv")},
        htmx=True,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "200 people added" in response.get_data(as_text=True)
    sent = staff.post("/invite/external/send", htmx=True).get_data(as_text=True)
    assert "200 invitations sent." in sent
