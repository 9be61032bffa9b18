"""Spanish beyond the partner pages: the INVITE wizard, Partners and public links for staff
who chose Español, the public-link sign-up in the browser's language, and the emails of
public-link sign-ups and reminders in their recipient's language."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from scope.extensions import db, limiter
from scope.invites.reminders import queue_due_reminders
from scope.models import (
    Invitation,
    InvitationState,
    MailMessage,
    PublicLink,
    PublicSignup,
    User,
    UserType,
    utcnow,
)
from tests.helpers import csrf_token, element, parse, text_of, texts

STRONG = "lantern meadow quartz saddle"
ES = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en-US,en;q=0.9"}
SPONSOR = "Riverbend Apprenticeship Alliance"


@pytest.fixture(autouse=True)
def _no_rate_limits():
    limiter.enabled = False  # the public form's limits have tests of their own
    yield
    limiter.enabled = True


@pytest.fixture
def employer(staff, make_org):
    return make_org(staff.sponsor_id, "Acme Robotics")


def _public_link(staff, employer, **fields) -> str:
    data = {"organization": employer, "user_type": "supervisor", **fields}
    assert staff.post("/invite/public-links/new", data).status_code in (200, 302)
    url = element(staff.get("/invite/public-links"), 'input[id^="public-link-url-"]').get("value")
    return "/" + url.split("/", 3)[3]


def _sign_up(client, path, email, headers, first="Dana"):
    token = csrf_token(client.get(path, headers=headers))
    form = {"first_name": first, "last_name": "Reyes", "email": email, "password": STRONG}
    form.update(confirm_password=STRONG, csrf_token=token)
    return client.post(path, data=form, headers=headers)


def _last_mail(app, kind: str) -> MailMessage:
    with app.app_context():
        message = db.session.scalar(
            select(MailMessage).where(MailMessage.kind == kind).order_by(MailMessage.id.desc())
        )
        db.session.expunge(message)
        return message


def _path_in(text: str) -> str:
    return "/" + re.search(r"(https?://\S+)", text).group(1).split("/", 3)[3]


def _confirm(client, path, headers):
    token = csrf_token(client.get(path, headers=headers))
    return client.post(path, data={"csrf_token": token}, headers=headers)


def _choose_spanish(staff):
    token = csrf_token(staff.get("/my/account"))
    answer = staff.post("/my/account/language", {"language": "es", "csrf_token": token})
    assert answer.status_code == 302


# --- the public-link sign-up ----------------------------------------------------------------


def test_a_public_link_sign_up_in_spanish_gets_spanish_pages_and_emails(app, staff, employer):
    path = _public_link(staff, employer, require_approval="y")
    person = app.test_client()
    page = person.get(path, headers=ES)
    assert parse(page).get("lang") == "es"
    assert text_of(page, "h1") == "Cree su cuenta de Scope"
    assert texts(page, ".invitation-summary dt") == [
        "Patrocinador",
        "Organización",
        "Tipo de usuario",
    ]
    assert "Supervisor" in texts(page, ".invitation-summary dd")
    assert texts(page, "button[type=submit]") == ["Crear cuenta"]
    assert texts(page, "label")[:3] == ["Nombre", "Apellido", "Correo electrónico"]
    assert "Le enviamos un enlace para confirmarlo" in text_of(page, "#email ~ .hint")
    assert "¿Ya tiene una cuenta?" in text_of(page, "p.muted")

    answer = _sign_up(person, path, "dana@example.com", ES)
    assert answer.status_code == 200
    assert text_of(answer, "h1") == "Revise su correo"
    assert f"y {SPONSOR} la aprueba antes" in text_of(answer, "main")
    with app.app_context():
        signup = db.session.scalar(select(PublicSignup))
        assert signup.language == "es"

    message = _last_mail(app, "public_signup_confirm")
    assert message.subject == f"Confirme su correo electrónico para {SPONSOR}"
    assert message.body_text.startswith("Hola, Dana:")
    assert "con el rol de Supervisor" in message.body_text
    assert "Confirme su dirección:" in message.body_text
    assert re.search(r"hasta el \d+ de \w+ de \d{4} a las \d\d:\d\d", message.body_text)
    assert f"{SPONSOR} aprueba cada registro" in message.body_text
    html = parse(message.body_html)
    assert html.get("lang") == "es" and "Confirme su dirección" in html.text_content()
    assert "Someone" not in message.body_text + message.body_html

    # The emailed link opens in the sign-up's language, whatever browser opens it.
    confirm_path = _path_in(message.body_text)
    opened = person.get(confirm_path, headers=EN)
    assert text_of(opened, "h1") == "Confirme su correo electrónico"
    assert texts(opened, "button[type=submit]") == ["Confirmar y crear la cuenta"]
    waiting = _confirm(person, confirm_path, EN)
    assert text_of(waiting, "h1") == "Su dirección está confirmada"
    assert "Le escribiremos a dana@example.com" in text_of(waiting, "main")

    # Staff approve in English; the person is told in Spanish.
    with app.app_context():
        signup_id = db.session.scalar(select(PublicSignup.id))
    assert staff.post(f"/manage/signups/{signup_id}/approve", htmx=True).status_code == 200
    approved = _last_mail(app, "public_signup_approved")
    assert approved.subject == f"Su cuenta de Scope con {SPONSOR} está lista"
    assert approved.body_text.startswith("Hola, Dana:")
    assert f"{SPONSOR} aprobó su registro" in approved.body_text
    assert "Iniciar sesión:" in approved.body_text

    # The account made from it speaks Spanish until the person chooses otherwise.
    token = csrf_token(person.get("/login", headers=EN))
    form = {"email": "dana@example.com", "password": STRONG, "csrf_token": token}
    assert person.post("/login", data=form, headers=EN).status_code == 302
    assert text_of(person.get("/my/account", headers=EN), "h1") == "Mi cuenta"
    with app.app_context():
        language = select(User.language).where(User.email == "dana@example.com")
        assert db.session.scalar(language) is None  # not chosen: the sign-up's counts


def test_a_link_for_some_domains_says_so_in_spanish(app, staff, employer):
    path = _public_link(staff, employer, allowed_domains="acme.example")
    page = app.test_client().get(path, headers=ES)
    assert text_of(page, "#email ~ .hint").startswith("Su dirección del trabajo en acme.example.")


def test_a_declined_spanish_sign_up_is_told_in_spanish(app, staff, employer):
    path = _public_link(staff, employer, require_approval="y")
    person = app.test_client()
    _sign_up(person, path, "leo@example.com", ES, first="Leo")
    _confirm(person, _path_in(_last_mail(app, "public_signup_confirm").body_text), ES)
    with app.app_context():
        signup_id = db.session.scalar(select(PublicSignup.id))
    assert staff.post(f"/manage/signups/{signup_id}/decline", htmx=True).status_code == 200
    declined = _last_mail(app, "public_signup_declined")
    assert declined.subject == f"Su registro con {SPONSOR}"
    assert declined.body_text.startswith("Hola, Leo:")
    assert f"{SPONSOR} no aprobó su registro en Acme Robotics" in declined.body_text
    assert "no se creó ninguna cuenta" in parse(declined.body_html).text_content()


def test_a_known_address_is_told_in_the_language_of_the_page_or_its_owners_choice(
    app, staff, employer, make_user
):
    path = _public_link(staff, employer)
    make_user("ana@example.com", sponsor_id=staff.sponsor_id, user_type=UserType.SUPERVISOR)
    _sign_up(app.test_client(), path, "ana@example.com", ES)
    known = _last_mail(app, "public_signup_known")
    assert known.subject == f"Su cuenta de Scope con {SPONSOR}"
    assert "Usted ya tiene una cuenta" in known.body_text
    # The owner chose English: their choice ranks first.
    with app.app_context():
        db.session.scalar(select(User).where(User.email == "ana@example.com")).language = "en"
        db.session.commit()
    _sign_up(app.test_client(), path, "ana@example.com", ES)
    assert "You already have an account" in _last_mail(app, "public_signup_known").body_text


def test_an_english_browser_gets_the_sign_up_in_english_and_the_switch_changes_it(
    app, staff, employer
):
    path = _public_link(staff, employer)
    person = app.test_client()
    page = person.get(path, headers=EN)
    assert text_of(page, "h1") == "Create your Scope account"
    switch = parse(page).cssselect("nav.language-switch a")
    assert [(a.text_content(), a.get("href")) for a in switch] == [
        ("Español", f"/language/es?next={path}")
    ]
    back = person.get(switch[0].get("href"), headers=EN)
    assert back.status_code == 302 and back.headers["Location"] == path
    assert text_of(person.get(path, headers=EN), "h1") == "Cree su cuenta de Scope"
    assert text_of(_sign_up(person, path, "eve@example.com", EN), "h1") == "Revise su correo"
    assert _last_mail(app, "public_signup_confirm").subject.startswith("Confirme su correo")

    english = app.test_client()
    assert text_of(_sign_up(english, path, "max@example.com", EN), "h1") == "Check your email"
    message = _last_mail(app, "public_signup_confirm")
    assert message.subject == f"Confirm your email address for {SPONSOR}"
    assert message.body_text.startswith("Hello Dana,")


def test_closed_and_problem_pages_speak_the_browsers_language(app, staff, employer):
    person = app.test_client()
    closed = person.get("/p/not-a-link", headers=ES)
    assert closed.status_code == 404
    assert text_of(closed, "h1") == "Este enlace no funciona"
    problem = person.get("/p/confirm/not-a-token", headers=ES)
    assert problem.status_code == 404
    assert text_of(problem, "h1") == "Este enlace no funciona"
    assert text_of(person.get("/p/confirm/not-a-token", headers=EN), "h1") == (
        "This link does not work"
    )


# --- reminders ----------------------------------------------------------------------------


@pytest.mark.real_commits
def test_a_reminder_of_a_spanish_invitation_is_in_spanish(app, make_sponsor, make_user):
    sponsor_id = make_sponsor(SPONSOR)
    staff_id = make_user(sponsor_id=sponsor_id, first_name="Jordan", last_name="Park")
    sent = utcnow() - timedelta(days=4)
    with app.app_context():
        for email, language in (("lucia@example.org", "es"), ("ada@example.org", "en")):
            db.session.add(
                Invitation(
                    sponsor_id=sponsor_id,
                    email=email,
                    pending_email=email,
                    user_type=UserType.STAFF,
                    invited_by_id=staff_id,
                    state=InvitationState.PENDING,
                    nonce=uuid.uuid4().hex,
                    sent_at=sent,
                    expires_at=sent + timedelta(days=14),
                    resend_count=0,
                    language=language,
                )
            )
        db.session.commit()
        assert queue_due_reminders() == 2
        reminders = {
            m.recipient: m
            for m in db.session.scalars(
                select(MailMessage).where(MailMessage.kind == "invitation_reminder")
            )
        }
    spanish = reminders["lucia@example.org"]
    assert spanish.subject == f"Recordatorio: {SPONSOR} le invita a Scope"
    assert spanish.body_text.startswith("Hola:")
    assert re.search(r"Jordan Park le invitó el \d+ \w+ \d{4} a unirse", spanish.body_text)
    assert "como miembro del personal de" in spanish.body_text
    assert "Es el mismo enlace de la invitación" in spanish.body_text
    assert parse(spanish.body_html).get("lang") == "es"
    english = reminders["ada@example.org"]
    assert english.subject == f"Reminder: {SPONSOR} invites you to Scope"
    assert "Jordan Park invited you on" in english.body_text


# --- staff who chose Español --------------------------------------------------------------


def test_staff_who_chose_spanish_see_the_invite_wizard_in_spanish(app, staff):
    _choose_spanish(staff)
    index = staff.get("/invite/", headers=EN)
    assert text_of(index, "h1") == "Invitar"
    assert texts(index, "[role=tab]") == ["Autenticado", "Gestionado"]
    assert texts(index, ".choice h2") == [
        "Invitar a compañeros de equipo",
        "Invitar a usuarios externos",
        "Enlaces públicos",
    ]
    wizard = staff.get("/invite/teammates", headers=EN)
    assert text_of(wizard, "#wizard-title") == "Invitar a compañeros de equipo"
    assert "Aún no hay nadie" in text_of(wizard, ".empty")
    for email in ("kim@example.org", "lee@example.org"):
        staff.post("/invite/teammates/rows", {"email": email}, htmx=True)
    wizard = staff.get("/invite/teammates", headers=EN)
    assert text_of(wizard, ".actions .muted") == "2 personas en la lista"
    assert texts(wizard, "#invite-wizard thead th")[0] == "Correo electrónico"
    assert element(wizard, ".cell-action button").get("aria-label") == "Quitar a kim@example.org"
    sent = staff.post("/invite/teammates/send", htmx=True)
    assert "2 invitaciones enviadas." in text_of(sent)
    assert "Ver invitaciones" in texts(sent, "a")
    managed = staff.get("/invite/managed", headers=EN)
    assert text_of(managed, "#managed-title") == "Agregar usuarios gestionados"
    external = staff.get("/invite/external", headers=EN)
    assert text_of(external, "#wizard-title") == "Invitar a usuarios externos"
    assert texts(external, "#invite-wizard button[type=submit]") == ["Continuar"]


def test_staff_who_chose_spanish_see_the_partners_pages_in_spanish(app, staff, employer):
    _choose_spanish(staff)
    employers = staff.get("/partners/employers", headers=EN)
    assert text_of(employers, "h1") == "Empleadores"
    assert text_of(employers, "label[for=organization-search]") == "Buscar empleadores"
    assert text_of(employers, ".page-head .button") == "Crear+"
    assert texts(employers, "thead th a")[:2] == ["Nombre ▲", "Ciudad"]
    dialog = staff.get("/partners/employers/new", htmx=True)
    assert text_of(dialog, "#dialog-title") == "Nuevo empleador"
    providers = staff.get("/partners/providers?q=zzz", headers=EN)
    assert text_of(providers, "h1") == "Proveedores"
    assert "No hay proveedores que coincidan con “zzz”" in text_of(providers, ".empty-row")

    page = staff.get(f"/partners/organizations/{employer}", headers=EN)
    assert text_of(page, "#details-title") == "Datos del empleador"
    assert text_of(page, "#invitations-title") == "Invitaciones pendientes"
    assert text_of(page, "#lifecycle-title") == "Archivar o eliminar"
    assert "Invitar a personas a esta organización" in texts(page, "button")
    assert element(page, "form[data-confirm-button=Archivar]").get("data-confirm") == (
        "¿Archivar Acme Robotics?"
    )
    assert text_of(staff.get("/partners/occupations", headers=EN), "h1") == "Ocupaciones"
    links = staff.get("/invite/public-links", headers=EN)
    assert text_of(links, "#public-links-title") == "Enlaces públicos"
    assert "Aún no hay enlaces públicos." in text_of(links)


def test_staff_who_keep_english_see_english(app, staff, employer):
    assert text_of(staff.get("/invite/", headers=ES), "h1") == "Invitar"  # the browser's
    token = csrf_token(staff.get("/my/account"))
    staff.post("/my/account/language", {"language": "en", "csrf_token": token})
    assert text_of(staff.get("/invite/", headers=ES), "h1") == "Invite"
    page = staff.get(f"/partners/organizations/{employer}", headers=ES)
    assert text_of(page, "#details-title") == "Employer details"


def test_a_links_last_day_and_its_flyer_read_in_spanish(app, staff, employer):
    _choose_spanish(staff)
    _public_link(staff, employer, expires_on="2099-12-31", max_signups="1200")
    page = staff.get("/invite/public-links")
    details = dict(zip(texts(page, ".public-link dt"), texts(page, ".public-link dd"), strict=True))
    assert details["Vence el"] == "31 dic 2099"
    assert details["Registros"] == "0 de 1.200"
    assert details["Requerir aprobación"] == "No"
    # What Copy link announces once the link is on the clipboard (scope.js reads it).
    note = element(page, '.public-link [role="status"]')
    assert note.get("data-copied") == "Enlace copiado al portapapeles."
    with app.app_context():
        link_id = db.session.scalar(select(PublicLink.id))
    flyer = staff.get(f"/invite/public-links/{link_id}/flyer")
    assert parse(flyer).get("lang") == "es"
    assert text_of(flyer, "h1") == "Únase a Acme Robotics en Scope"
    assert "Regístrese con el rol de Supervisor." in text_of(flyer)
    assert "Regístrese a más tardar el 31 de diciembre de 2099." in text_of(flyer)
    # In English the day reads the English way.
    token = csrf_token(staff.get("/my/account"))
    staff.post("/my/account/language", {"language": "en", "csrf_token": token})
    assert "Sign up by December 31, 2099." in text_of(
        staff.get(f"/invite/public-links/{link_id}/flyer")
    )
