"""Occupations are renamed, merged into another, retired and restored, and deleted only when
nothing refers to them."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from scope.extensions import db
from scope.models import (
    AuditEvent,
    Invitation,
    InvitationState,
    Occupation,
    PublicLink,
    User,
    UserType,
    WizardDraft,
    WizardKind,
    WizardRow,
    utcnow,
)
from tests.helpers import csrf_token, element, elements, field_error, login, text_of, texts


def _occupation(app, occupation_id) -> Occupation | None:
    with app.app_context():
        occupation = db.session.get(Occupation, occupation_id)
        if occupation is not None:
            db.session.expunge(occupation)
        return occupation


def _actions(app, occupation_id) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.subject_type == "occupation",
                    AuditEvent.subject_id == occupation_id,
                )
                .order_by(AuditEvent.id)
            )
        )


def _everything_with(app, staff, org, occupation) -> dict:
    """A mentor, a pending and an accepted invitation, an INVITE-list row, a row form typed
    and not yet added, and a public link: each with `occupation`. Their ids."""
    with app.app_context():
        sponsor_id = staff.sponsor_id
        mentor = User(
            sponsor_id=sponsor_id,
            email="mentor@example.com",
            first_name="Maria",
            last_name="Lopez",
            user_type=UserType.MENTOR,
            status="managed",
            partner_organization_id=org,
            occupation_id=occupation,
        )
        invitations = [
            Invitation(
                sponsor_id=sponsor_id,
                email=email,
                pending_email=email if state is InvitationState.PENDING else None,
                user_type=UserType.MENTOR,
                partner_organization_id=org,
                occupation_id=occupation,
                state=state,
                nonce=uuid.uuid4().hex,
                sent_at=utcnow(),
                expires_at=utcnow() + timedelta(days=14),
            )
            for email, state in (
                ("pending@example.com", InvitationState.PENDING),
                ("accepted@example.com", InvitationState.ACCEPTED),
            )
        ]
        draft = WizardDraft(
            sponsor_id=sponsor_id,
            staff_user_id=staff.user_id,
            kind=WizardKind.EXTERNAL,
            partner_organization_id=org,
            typed={"user_type": "mentor", "occupation": str(occupation)},
        )
        draft.rows.append(
            WizardRow(
                partner_organization_id=org,
                user_type=UserType.MENTOR,
                email="listed@example.com",
                occupation_id=occupation,
            )
        )
        link = PublicLink(
            sponsor_id=sponsor_id,
            partner_organization_id=org,
            user_type=UserType.MENTOR,
            occupation_id=occupation,
            nonce=uuid.uuid4().hex,
        )
        db.session.add_all([mentor, *invitations, draft, link])
        db.session.commit()
        return {
            "user": mentor.id,
            "invitations": [i.id for i in invitations],
            "row": draft.rows[0].id,
            "draft": draft.id,
            "link": link.id,
        }


def test_the_list_links_each_occupation_to_its_page(staff, occupation_id):
    electrician = occupation_id(staff.sponsor_id)
    page = staff.get("/partners/occupations").get_data(as_text=True)
    assert element(page, f'a[href="/partners/occupations/{electrician}"]').text == "Electrician"
    page = staff.get(f"/partners/occupations/{electrician}").get_data(as_text=True)
    assert text_of(page, "h1") == "Electrician"
    assert texts(page, "h2")[:3] == ["Rename", "Merge into another occupation", "Retire or delete"]


def test_a_rename_shows_everywhere_the_occupation_is_used(app, staff, make_org, occupation_id):
    org = make_org(staff.sponsor_id, "Volt Works")
    electrician = occupation_id(staff.sponsor_id)
    ids = _everything_with(app, staff, org, electrician)
    response = staff.post(
        f"/partners/occupations/{electrician}/edit",
        {"name": "Electrician, Inside Wireman", "rapids_code": "0159", "onet_code": "47-2111.00"},
    )
    assert response.headers["Location"] == f"/partners/occupations/{electrician}"
    page = staff.get(f"/partners/occupations/{electrician}").get_data(as_text=True)
    assert "Electrician, Inside Wireman saved." in text_of(page, "#alerts")
    assert _occupation(app, electrician).name_key == "electrician, inside wireman"
    profile = staff.get(f"/manage/users/{ids['user']}").get_data(as_text=True)
    assert "Electrician, Inside Wireman" in text_of(profile)
    listed = staff.get("/manage/invitations?status=pending").get_data(as_text=True)
    assert "Electrician, Inside Wireman" in text_of(listed)
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.subject_type == "occupation").limit(1)
        )
        assert event.action == "occupation_updated" and event.actor_id == staff.user_id
        assert event.details["previous_name"] == "Electrician"
        assert event.details["fields"] == ["name"]


def test_a_rename_to_a_name_taken_in_any_case_is_refused_at_the_field(app, staff, occupation_id):
    electrician = occupation_id(staff.sponsor_id)
    response = staff.post(
        f"/partners/occupations/{electrician}/edit", {"name": "  PLUMBER "}, htmx=True
    )
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#occupation-edit"
    assert "An occupation named “PLUMBER” already exists." in field_error(response, "name")
    assert _occupation(app, electrician).name == "Electrician"
    assert _actions(app, electrician) == []
    # Its own name in another case is a rename, not a clash.
    staff.post(f"/partners/occupations/{electrician}/edit", {"name": "ELECTRICIAN"})
    assert _occupation(app, electrician).name == "ELECTRICIAN"


def test_the_merge_dialog_names_what_moves(app, staff, make_org, occupation_id):
    org = make_org(staff.sponsor_id, "Volt Works")
    electrician, plumber = (
        occupation_id(staff.sponsor_id),
        occupation_id(staff.sponsor_id, "Plumber"),
    )
    _everything_with(app, staff, org, electrician)
    dialog = staff.get(
        f"/partners/occupations/{electrician}/merge?into={plumber}", htmx=True
    ).get_data(as_text=True)
    assert text_of(dialog, "#dialog-title") == "Merge Electrician into Plumber?"
    assert text_of(dialog, "#dialog-text").startswith(
        "Moving to Plumber: 1 user, 2 invitations, 1 public link, 1 person on an INVITE list."
    )
    assert element(dialog, 'input[name="into"]').get("value") == str(plumber)
    assert texts(dialog, "button") == ["Cancel", "Merge"]


def test_a_merge_moves_everything_then_the_occupation_is_gone(app, staff, make_org, occupation_id):
    org = make_org(staff.sponsor_id, "Volt Works")
    electrician, plumber = (
        occupation_id(staff.sponsor_id),
        occupation_id(staff.sponsor_id, "Plumber"),
    )
    ids = _everything_with(app, staff, org, electrician)
    response = staff.post(f"/partners/occupations/{electrician}/merge", {"into": plumber})
    assert response.headers["Location"] == f"/partners/occupations/{plumber}"
    page = staff.get(f"/partners/occupations/{plumber}").get_data(as_text=True)
    assert (
        "Electrician merged into Plumber: 1 user and 2 invitations and 1 public link and "
        "1 person on an INVITE list moved." in text_of(page, "#alerts")
    )
    assert _occupation(app, electrician) is None
    with app.app_context():
        assert db.session.get(User, ids["user"]).occupation_id == plumber
        for invitation in ids["invitations"]:
            assert db.session.get(Invitation, invitation).occupation_id == plumber
        assert db.session.get(WizardRow, ids["row"]).occupation_id == plumber
        assert db.session.get(PublicLink, ids["link"]).occupation_id == plumber
        assert db.session.get(WizardDraft, ids["draft"]).typed["occupation"] == str(plumber)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.subject_id == plumber))
        assert event.action == "occupation_merged" and event.actor_id == staff.user_id
        assert event.details["merged_name"] == "Electrician"
        assert event.details["moved"] == {
            "user_account": 1,
            "invitation": 2,
            "public_link": 1,
            "wizard_row": 1,
        }
    assert "Electrician" not in texts(staff.get("/partners/occupations"), "#occupation-rows a")


def test_a_merge_into_itself_a_retired_one_or_nothing_is_refused(app, staff, occupation_id):
    electrician, plumber = (
        occupation_id(staff.sponsor_id),
        occupation_id(staff.sponsor_id, "Plumber"),
    )
    page = f"/partners/occupations/{electrician}"
    dialog = staff.get(f"{page}/merge?into={electrician}", htmx=True)
    assert "Electrician cannot be merged into itself" in text_of(dialog, "[role=alert]")
    assert texts(dialog, "button") == ["Close"]
    staff.post(f"{page}/merge", {"into": electrician})
    assert "cannot be merged into itself" in text_of(staff.get(page), "#alerts")
    staff.post(f"/partners/occupations/{plumber}/retire")
    staff.post(f"{page}/merge", {"into": plumber})
    assert "Plumber is retired. Restore it first" in text_of(staff.get(page), "#alerts")
    staff.post(f"{page}/merge", {"into": "x"})
    assert "Choose the occupation to merge into." in text_of(staff.get(page), "#alerts")
    assert _occupation(app, electrician) is not None
    assert _actions(app, electrician) == []


def test_another_sponsors_occupation_is_not_found_either_side_of_a_merge(
    app, staff, make_sponsor, occupation_id
):
    other = make_sponsor("Elsewhere Sponsor")
    theirs = occupation_id(other)
    mine = occupation_id(staff.sponsor_id)
    for url, data in (
        (f"/partners/occupations/{mine}/merge", {"into": theirs}),
        (f"/partners/occupations/{theirs}/merge", {"into": mine}),
    ):
        assert staff.post(url, data).status_code == 404
        assert staff.get(url + f"?into={data['into']}").status_code == 404
    assert _occupation(app, theirs) is not None and _occupation(app, mine) is not None


def test_a_partner_administrator_cannot_rename_merge_or_retire(
    app, staff, make_user, make_org, occupation_id
):
    org = make_org(staff.sponsor_id, "Volt Works")
    make_user(
        "admin@volt.example",
        sponsor_id=staff.sponsor_id,
        user_type=UserType.ADMINISTRATOR,
        organization_id=org,
    )
    admin = login(app, "admin@volt.example")
    token = csrf_token(admin)
    electrician, plumber = (
        occupation_id(staff.sponsor_id),
        occupation_id(staff.sponsor_id, "Plumber"),
    )
    for action, data in (
        ("edit", {"name": "Sparky"}),
        ("merge", {"into": plumber}),
        ("retire", {}),
        ("delete", {}),
    ):
        response = admin.post(
            f"/partners/occupations/{electrician}/{action}",
            data=data,
            headers={"X-CSRFToken": token},
        )
        assert response.status_code == 403, action
    assert _occupation(app, electrician).name == "Electrician"
    assert _occupation(app, electrician).retired_at is None


def _options(page, name="occupation") -> list[str]:
    return [o.text_content() for o in elements(page, f'select[name="{name}"] option')]


def test_a_retired_occupation_leaves_every_picker_and_stays_on_its_people(
    app, staff, make_org, occupation_id
):
    org = make_org(staff.sponsor_id, "Volt Works")
    electrician = occupation_id(staff.sponsor_id)
    ids = _everything_with(app, staff, org, electrician)
    response = staff.post(f"/partners/occupations/{electrician}/retire")
    assert response.headers["Location"] == f"/partners/occupations/{electrician}"
    page = staff.get(f"/partners/occupations/{electrician}").get_data(as_text=True)
    assert "Electrician retired." in text_of(page, "#alerts")
    assert texts(page, ".occupation-lifecycle button") == ["Restore", "Delete"]
    listed = staff.get("/partners/occupations")
    assert "Retired" in text_of(listed, "#occupation-rows")

    # The wizard's row form, the public link form: not offered, and refused if sent.
    staff.post("/invite/external", {"organization": org}, htmx=True)
    assert "Electrician" not in _options(staff.get("/invite/external/users"))
    assert "Plumber" in _options(staff.get("/invite/external/users"))
    added = staff.post(
        "/invite/external/rows",
        {"user_type": "mentor", "email": "new@example.com", "occupation": electrician},
        htmx=True,
    )
    assert added.status_code == 422
    assert "“Electrician” is retired on the Occupations list." in text_of(
        added, "#occupation-error"
    )
    assert "Electrician" not in _options(staff.get("/invite/public-links/new"))
    # The profile of the mentor who has it keeps it (and may keep it); others are not offered it.
    profile = staff.get(f"/manage/users/{ids['user']}/edit").get_data(as_text=True)
    assert "Electrician" in _options(profile)
    other = staff.get(f"/manage/users/{staff.user_id}/edit").get_data(as_text=True)
    assert "Electrician" not in _options(other)
    assert "Electrician" in text_of(staff.get(f"/manage/users/{ids['user']}"))

    staff.post(f"/partners/occupations/{electrician}/restore")
    assert _occupation(app, electrician).retired_at is None
    assert "Electrician" in _options(staff.get("/invite/public-links/new"))
    assert _actions(app, electrician) == ["occupation_retired", "occupation_restored"]


def test_a_csv_naming_a_retired_occupation_says_it_is_retired(app, staff, make_org, occupation_id):
    org = make_org(staff.sponsor_id, "Volt Works")
    staff.post(f"/partners/occupations/{occupation_id(staff.sponsor_id)}/retire")
    staff.post("/invite/managed/organization", {"organization": org}, htmx=True)
    data = (
        b"User type,First name,Last name,Email,Occupation\n"
        b"Mentor,Ann,Lee,ann@example.com,electrician\n"
    )
    html = staff.post(
        "/invite/managed/upload",
        {"csv_file": (io.BytesIO(data), "people.csv")},
        htmx=True,
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "“electrician” is retired on the Occupations list." in html
    with app.app_context():
        assert db.session.scalar(select(func.count(WizardRow.id))) == 0


def test_retire_twice_or_restore_what_is_not_retired_is_refused(app, staff, occupation_id):
    electrician = occupation_id(staff.sponsor_id)
    page = f"/partners/occupations/{electrician}"
    staff.post(f"{page}/restore")
    assert "Electrician is not retired." in text_of(staff.get(page), "#alerts")
    staff.post(f"{page}/retire")
    staff.post(f"{page}/retire")
    assert "Electrician is already retired." in text_of(staff.get(page), "#alerts")
    assert _actions(app, electrician) == ["occupation_retired"]


def test_an_occupation_in_use_is_not_deleted(app, staff, make_org, occupation_id):
    org = make_org(staff.sponsor_id, "Volt Works")
    electrician = occupation_id(staff.sponsor_id)
    _everything_with(app, staff, org, electrician)
    response = staff.post(f"/partners/occupations/{electrician}/delete", htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/partners/occupations/{electrician}"
    assert _occupation(app, electrician) is not None
    alert = text_of(staff.get(f"/partners/occupations/{electrician}"), "#alerts")
    assert (
        "Electrician cannot be deleted: 1 user and 2 invitations and 1 public link and "
        "1 person on an INVITE list refer to it." in alert
    )


def test_an_occupation_nothing_refers_to_is_deleted_and_audited(app, staff, occupation_id):
    plumber = occupation_id(staff.sponsor_id, "Plumber")
    page = staff.get(f"/partners/occupations/{plumber}").get_data(as_text=True)
    forms = {text_of(f, "button"): f for f in element(page, ".occupation-lifecycle").iter("form")}
    assert forms["Retire"].get("data-confirm") == "Retire Plumber?"
    assert forms["Delete"].get("data-confirm") == "Delete Plumber?"
    response = staff.post(f"/partners/occupations/{plumber}/delete")
    assert response.headers["Location"] == "/partners/occupations"
    assert _occupation(app, plumber) is None
    assert "Plumber deleted." in text_of(staff.get("/partners/occupations"), "#alerts")
    assert _actions(app, plumber) == ["occupation_deleted"]


def test_a_profile_keeps_its_retired_occupation_and_no_other_takes_it(
    app, staff, make_org, make_user, occupation_id
):
    org = make_org(staff.sponsor_id, "Volt Works")
    electrician = occupation_id(staff.sponsor_id)
    people = {
        name: make_user(
            f"{name}@volt.example",
            sponsor_id=staff.sponsor_id,
            user_type=UserType.MENTOR,
            organization_id=org,
            occupation_id=occupation,
            first_name=name.title(),
            with_password=False,
        )
        for name, occupation in (
            ("ana", electrician),
            ("ben", occupation_id(staff.sponsor_id, "Plumber")),
        )
    }
    staff.post(f"/partners/occupations/{electrician}/retire")

    def edit(name):
        return staff.post(
            f"/manage/users/{people[name]}/edit",
            {
                "first_name": name.title(),
                "last_name": "Mentor",
                "email": f"{name}@volt.example",
                "user_type": "mentor",
                "organization": str(org),
                "occupation": str(electrician),
            },
            htmx=True,
        )

    assert edit("ana").status_code == 200
    refused = edit("ben")
    assert refused.status_code == 422
    assert "“Electrician” is retired on the Occupations list." in text_of(refused)
    with app.app_context():
        assert db.session.get(User, people["ana"]).occupation_id == electrician
        assert db.session.get(User, people["ben"]).occupation_id != electrician
