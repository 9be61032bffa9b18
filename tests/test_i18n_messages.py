"""Languages, what Python says: refusals, flash messages, form labels, bulk results, notices
and history read in the reader's language; English readers keep English."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from scope.extensions import db, limiter
from scope.models import MailMessage, Notice, PublicLink, User, UserStatus, UserType
from scope.notices.services import notify, queue_digests
from tests.helpers import csrf_token, field_error, parse, text_of, texts

STRONG = "lantern meadow quartz saddle"
ES = {"Accept-Language": "es-MX,es;q=0.9"}


@pytest.fixture(autouse=True)
def _no_rate_limits():
    limiter.enabled = False
    yield
    limiter.enabled = True


def _speaks(staff, language: str) -> None:
    """The staff member picks Language on My account."""
    assert staff.post("/my/account/language", {"language": language}).status_code == 302


def _wizard_for(staff, make_org, name="Keystone Electric") -> int:
    org = make_org(staff.sponsor_id, name)
    assert staff.post("/invite/external", {"organization": org}, htmx=True).status_code == 200
    return org


def test_a_staff_member_who_chose_spanish_gets_the_wizard_in_spanish(app, staff, make_org):
    _speaks(staff, "es")
    _wizard_for(staff, make_org)
    page = staff.get("/invite/external/users")
    labels = texts(page, "#invite-wizard label")
    assert {"Tipo de usuario", "Correo electrónico", "Ocupación", "Direcciones"} <= set(labels)
    assert "Mensaje personal (opcional)" in labels
    options = parse(page).cssselect("select[name=user_type] option")
    assert [o.text_content() for o in options] == [
        "Elija…",
        "Administrador",
        "Supervisor",
        "Mentor",
        "Instructor",
    ]

    # ADD+ refuses a row in Spanish, beside its field, and keeps nothing.
    row = {"user_type": "staff", "email": "ana@example.org"}
    refused = staff.post("/invite/external/rows", row, htmx=True)
    assert refused.status_code == 422
    assert text_of(refused, "#user_type-error") == (
        "Elija un tipo de usuario. Los tipos son Administrador, Supervisor, Mentor y Instructor."
    )
    row["user_type"] = "supervisor"
    assert staff.post("/invite/external/rows", row, htmx=True).status_code == 200
    again = staff.post("/invite/external/rows", row, htmx=True)
    assert again.status_code == 422
    assert "Esta dirección ya está en la lista." in text_of(again)
    pasted = staff.post("/invite/external/addresses", {"addresses": " "}, htmx=True)
    assert "Pegue uno o más correos electrónicos." in text_of(pasted)


def test_an_english_staff_member_keeps_the_wizard_in_english(app, staff, make_org):
    _wizard_for(staff, make_org)
    _speaks(staff, "en")  # a choice on My account beats the browser
    page = staff.get("/invite/external/users", headers=ES)
    assert {"User type", "Email", "Occupation", "Addresses"} <= set(
        texts(page, "#invite-wizard label")
    )
    refused = staff.post(
        "/invite/external/rows", {"user_type": "staff", "email": "ana@example.org"}, htmx=True
    )
    assert text_of(refused, "#user_type-error") == (
        "Choose a user type. The types are Administrator, Supervisor, Mentor and Provider."
    )


def test_a_flash_message_reads_in_spanish(app, staff, make_org):
    _speaks(staff, "es")
    org = make_org(staff.sponsor_id, "Acme Robotics")
    response = staff.post(f"/partners/organizations/{org}/archive")
    assert response.status_code == 302
    page = staff.get(response.headers["Location"])
    assert (
        "Se archivó Acme Robotics. Se conservan sus usuarios y su historial; "
        "restáurela desde su página."
    ) in text_of(page)
    # A refusal flashed on the same way says why in Spanish too.
    staff.post(f"/partners/organizations/{org}/archive")
    assert "Acme Robotics ya está archivada." in text_of(
        staff.get(f"/partners/organizations/{org}")
    )


def test_bulk_results_count_in_spanish(app, staff, make_user):
    _speaks(staff, "es")
    ids = [make_user(sponsor_id=staff.sponsor_id) for _ in range(2)]
    response = staff.post(
        "/manage/users/bulk/deactivate", {"user_id": [*ids, staff.user_id]}, htmx=True
    )
    assert "2 usuarios desactivados, 1 omitido: su propia cuenta" in text_of(response)
    with app.app_context():
        assert all(db.session.get(User, i).status is UserStatus.DEACTIVATED for i in ids)


def test_numbers_in_messages_follow_the_language(app, staff, make_org):
    org = make_org(staff.sponsor_id, "Acme Robotics")
    link = {"organization": org, "user_type": "supervisor", "max_signups": "0"}
    english = staff.post("/invite/public-links/new", link)
    assert field_error(english, "max_signups") == (
        "Use a number from 1 to 100,000, or leave it blank."
    )
    _speaks(staff, "es")
    spanish = staff.post("/invite/public-links/new", link)
    assert spanish.status_code == 422
    assert field_error(spanish, "max_signups") == (
        "Use un número del 1 al 100.000 o déjelo en blanco."
    )
    assert "Vence el" in texts(spanish, "label")
    with app.app_context():
        assert db.session.scalar(select(PublicLink.id)) is None


def test_a_spanish_speaking_partner_is_refused_in_spanish_on_a_public_link(app, staff, make_org):
    org = make_org(staff.sponsor_id, "Acme Robotics")
    fields = {"organization": org, "user_type": "supervisor"}
    staff.post("/invite/public-links/new", {**fields, "allowed_domains": "acmerobotics.com"})
    page = staff.get("/invite/public-links")
    url = parse(page).cssselect('input[id^="public-link-url-"]')[0].get("value")
    path = "/" + url.split("/", 3)[3]

    person = app.test_client()
    form = person.get(path, headers=ES)
    assert "Su dirección del trabajo en acmerobotics.com." in text_of(form)
    assert {"Nombre", "Apellido", "Correo electrónico"} <= set(texts(form, "label"))
    data = {
        "first_name": "Lucía",
        "last_name": "Peña",
        "email": "lucia@gmail.com",
        "password": STRONG,
        "confirm_password": STRONG,
        "csrf_token": csrf_token(form),
    }
    refused = person.post(path, data=data, headers=ES)
    assert refused.status_code == 422
    assert field_error(refused, "email") == (
        "Use su correo electrónico del trabajo (en acmerobotics.com)."
    )
    weak = person.post(
        path,
        data={**data, "email": "lucia@acmerobotics.com", "password": "password1234"},
        headers=ES,
    )
    assert "Elija una contraseña menos común" in field_error(weak, "password")


def test_a_notice_reads_in_the_language_of_whoever_reads_it(app, staff):
    with app.test_request_context():
        notify(
            staff.user_id,
            staff.sponsor_id,
            "expiring",
            {"count": 3},
        )
        notify(
            staff.user_id,
            staff.sponsor_id,
            "undeliverable",
            {"email": "kai@example.org", "error": None},
        )
        db.session.commit()
    english = texts(staff.get("/notifications"), "#notices li button")
    assert english == [
        "The invitation to kai@example.org could not be delivered.",
        "3 invitations you sent expire tomorrow",
    ]
    _speaks(staff, "es")
    spanish = texts(staff.get("/notifications"), "#notices li button")
    assert spanish == [
        "No se pudo entregar la invitación a kai@example.org.",
        "3 invitaciones que usted envió vencen mañana",
    ]
    with app.app_context():
        # Kept in English with its details: worded again for each reader.
        stored = db.session.scalars(select(Notice.text).order_by(Notice.id)).all()
        assert stored == [
            "3 invitations you sent expire tomorrow",
            "The invitation to kai@example.org could not be delivered.",
        ]


def test_a_notice_from_before_details_were_kept_shows_its_text(app, staff):
    with app.app_context():
        db.session.add(
            Notice(
                sponsor_id=staff.sponsor_id,
                user_id=staff.user_id,
                kind="accepted",
                text="Ana Ruiz accepted your invitation (Staff)",
            )
        )
        db.session.commit()
    _speaks(staff, "es")
    assert texts(staff.get("/notifications"), "#notices li button") == [
        "Ana Ruiz accepted your invitation (Staff)"
    ]


def test_a_profiles_history_reads_in_spanish(app, staff, make_user, make_org):
    org = make_org(staff.sponsor_id, "Acme Robotics")
    user_id = make_user(
        sponsor_id=staff.sponsor_id, user_type=UserType.SUPERVISOR, organization_id=org
    )
    staff.post(f"/manage/users/{user_id}/deactivate", htmx=True)
    _speaks(staff, "es")
    history = text_of(staff.get(f"/manage/users/{user_id}"))
    assert "Desactivado por Sam" in history


def test_the_bulk_dialog_names_why_rows_are_skipped_in_spanish(app, staff, make_user):
    _speaks(staff, "es")
    active = make_user(sponsor_id=staff.sponsor_id)
    dialog = staff.get(
        "/manage/users/bulk/reactivate", query_string={"user_id": [active]}, htmx=True
    )
    assert "no desactivado" in " ".join(texts(dialog, "li"))


@pytest.mark.real_commits
def test_the_daily_notices_email_is_worded_in_its_readers_language(app, staff):
    with app.app_context():
        reader = db.session.get(User, staff.user_id)
        reader.language, reader.notice_digest = "es", True
        db.session.commit()
    with app.test_request_context():
        notify(staff.user_id, staff.sponsor_id, "expiring", {"count": 2})
        db.session.commit()
    with app.app_context():
        assert queue_digests() == 1
        digest = db.session.scalar(select(MailMessage).where(MailMessage.kind == "notice_digest"))
        assert digest.subject == "Scope: 1 aviso nuevo"
        assert "2 invitaciones que usted envió vencen mañana" in digest.body_text
