"""The INVITE wizards at their edges: an organization archived while a wizard is open for it;
a pasted list kept over a reload; a spreadsheet's row pasted; the Addresses hint as text. And
a profile given an address that has a pending invitation."""

import io
import re

from scope.extensions import db
from scope.models import MailMessage, User, UserStatus, UserType, WizardRow
from tests.helpers import (
    csrf_token,
    element,
    elements,
    text_of,
)

STRONG = "lantern meadow quartz saddle"


def _rows(app):
    with app.app_context():
        return [
            (row.email, row.partner_organization_id)
            for row in db.session.scalars(db.select(WizardRow).order_by(WizardRow.id))
        ]


def test_archived_organization_add_says_why_nothing_was_added(app, staff, make_org):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/external", {"organization": org}, htmx=True)
    staff.post(f"/partners/organizations/{org}/archive", htmx=True)  # e.g. by a colleague

    answer = staff.post(
        "/invite/external/rows", {"user_type": "supervisor", "email": "pat@x.org"}, htmx=True
    )

    assert answer.status_code == 422
    assert _rows(app) == []
    # drafts.not_archived's refusal: the page must show it somewhere
    assert "Keystone Electric is archived" in text_of(answer)


def test_send_to_an_archived_organization_says_why_and_keeps_the_list(app, staff, make_org):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/external", {"organization": org}, htmx=True)
    staff.post(
        "/invite/external/rows", {"user_type": "supervisor", "email": "pat@x.org"}, htmx=True
    )
    staff.post(f"/partners/organizations/{org}/archive", htmx=True)

    answer = staff.post("/invite/external/send", htmx=True)

    assert answer.status_code == 409
    assert "Keystone Electric is archived" in text_of(answer)
    assert _rows(app) == [("pat@x.org", org)]
    assert "Keystone Electric is archived" in text_of(staff.get("/invite/external/users"))


def test_csv_upload_adds_no_one_to_an_archived_organization(app, staff, make_org):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/external", {"organization": org}, htmx=True)
    staff.post(f"/partners/organizations/{org}/archive", htmx=True)

    answer = staff.post(
        "/invite/external/upload",
        {
            "csv_file": (io.BytesIO(b"User type,Email,Occupation\nSupervisor,q@x.org,\n"), "a.csv"),
            "organization_shown": str(org),
        },
        htmx=True,
        content_type="multipart/form-data",
    )

    assert _rows(app) == []  # ADD+ and Add addresses refuse this organization; so must the file
    assert answer.status_code == 422
    assert "Keystone Electric is archived" in text_of(answer)


def test_profile_edit_refuses_an_address_with_a_pending_invitation(app, staff, make_org, make_user):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    managed = make_user(
        "",
        sponsor_id=staff.sponsor_id,
        user_type=UserType.SUPERVISOR,
        status=UserStatus.MANAGED,
        organization_id=org,
        with_password=False,
        first_name="Mia",
        last_name="Managed",
    )
    staff.post("/invite/external", {"organization": org}, htmx=True)
    person = {"user_type": "supervisor", "email": "pat@x.org"}
    staff.post("/invite/external/rows", person, htmx=True)
    assert staff.post("/invite/external/send", htmx=True).status_code == 200

    answer = staff.post(
        f"/manage/users/{managed}/edit",
        {
            "first_name": "Mia",
            "last_name": "Managed",
            "email": "pat@x.org",
            "user_type": "supervisor",
            "organization": org,
        },
        htmx=True,
    )

    with app.app_context():
        assert db.session.get(User, managed).email is None
        message = db.session.scalar(db.select(MailMessage).where(MailMessage.kind == "invitation"))
        path = re.search(r"http://scope\.test(/join/\S+)", message.body_text).group(1)
    assert answer.status_code == 422
    # and the invited person can still sign up with the link they were sent
    person = app.test_client()
    signed_up = person.post(
        path,
        data={
            "csrf_token": csrf_token(person.get(path)),
            "first_name": "Pat",
            "last_name": "Lee",
            "password": STRONG,
            "confirm_password": STRONG,
        },
    )
    assert signed_up.status_code == 302


def test_pasted_addresses_survive_a_reload(staff):
    staff.post("/invite/teammates/typed", {"addresses": "p1@x.org\np2@x.org"}, htmx=True)

    page = staff.get("/invite/teammates")

    assert "p1@x.org" in element(page, "textarea[name=addresses]").text_content()


def test_addresses_refused_and_left_to_correct_survive_a_reload(staff):
    answer = staff.post(
        "/invite/teammates/addresses", {"addresses": "ok@x.org\nbad@@x.org"}, htmx=True
    )
    left = element(answer, "textarea[name=addresses]").text_content()
    assert left.strip()  # "left below to correct or remove"

    page = staff.get("/invite/teammates")

    assert element(page, "textarea[name=addresses]").text_content().strip() == left.strip()


def test_tab_separated_addresses_are_not_told_to_paste_into_addresses(app, staff):
    # A row of a spreadsheet pasted into Addresses: cells separated by tabs.
    answer = staff.post(
        "/invite/teammates/addresses", {"addresses": "ann@x.org\tbob@x.org"}, htmx=True
    )

    assert "paste them into Addresses" not in text_of(answer)
    assert sorted(email for email, _ in _rows(app)) == ["ann@x.org", "bob@x.org"]


def test_addresses_hint_shows_the_name_and_address_example(staff):
    page = staff.get("/invite/teammates")

    hints = [" ".join(p.text_content().split()) for p in elements(page, ".address-list p.hint")]
    assert any("“Name <address>” is fine." in hint for hint in hints), hints
    assert not elements(page, ".address-list address")
