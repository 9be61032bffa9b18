"""Staff pages in Spanish: a staff member who chose Español on My account reads MANAGE
(Users, Invitations, their dialogs), Notifications and Sponsor settings in Spanish, with no
English left from those templates; one who did not still reads English."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from sqlalchemy import select, update

from scope.extensions import db
from scope.models import Invitation, MailMessage, User, UserStatus, utcnow
from scope.notices import services as notices
from tests.helpers import csrf_token, element, elements, parse, text_of, texts

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "scope" / "templates"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|<[^>]+>")
# Attributes whose words a person reads or hears.
SHOWN = ("aria-label", "title", "placeholder", "data-label", "data-confirm", "data-confirm-text")
SHOWN += ("data-confirm-button", "data-name", "data-one", "data-other", "data-all", "data-copied")
SHOWN += ("data-sort-label",)


@cache
def _spanish():
    with (ROOT / "scope/translations/es/LC_MESSAGES/messages.po").open("rb") as file:
        return read_po(file)


@cache
def english_phrases(*names: str) -> frozenset[str]:
    """The English words of these templates' messages (each piece between placeholders and
    tags) that read differently in Spanish."""
    phrases = set()
    for name in names:
        for _line, message, _comments, _context in extract_from_file(
            "jinja2", str(TEMPLATES / name)
        ):
            ids = [message] if isinstance(message, str) else [m for m in message if m]
            entry = _spanish().get(ids[0])
            spanish = [entry.string] if isinstance(entry.string, str) else list(entry.string)
            for english in ids:
                for piece in PLACEHOLDER.split(english):
                    piece = piece.strip(" .,:;()“”…×?")
                    if re.search(r"[A-Za-z]{2}", piece) and not any(piece in s for s in spanish):
                        phrases.add(piece)
    return frozenset(phrases)


def shown_words(source) -> str:
    """What a person reads on a page or a fragment: its text and its spoken attributes."""
    document = parse(source)
    for hidden in document.cssselect("script, style, template"):
        # A <template>'s words are checked on their own (they become a menu).
        if hidden.tag != "template":
            hidden.drop_tree()
    parts = [document.text_content()]
    for node in document.iter():
        if not isinstance(node.tag, str):
            continue
        parts.extend(node.get(name) for name in SHOWN if node.get(name))
    return " ".join(" ".join(parts).split())


def english_left(source, *templates: str) -> list[str]:
    words = shown_words(source)
    return sorted(
        phrase
        for phrase in english_phrases(*templates)
        if re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", words)
    )


MANAGE = ("manage/_tabs.html", "manage/_actions.html", "manage/_skipped.html", "_confirm.html")


def _choose_spanish(staff) -> None:
    token = csrf_token(staff.get("/my/account"))
    chosen = staff.post("/my/account/language", {"language": "es", "csrf_token": token})
    assert chosen.status_code == 302


def _invite(staff, *emails: str) -> None:
    for email in emails:
        row = staff.post("/invite/teammates/rows", {"email": email}, htmx=True)
        assert row.status_code == 200
    assert staff.post("/invite/teammates/send", htmx=True).status_code == 200


@pytest.fixture
def people(app, staff, make_user):
    sponsor = staff.sponsor_id
    return {
        "managed": make_user(
            "ines@example.org",
            sponsor_id=sponsor,
            first_name="Inés",
            last_name="Ruiz",
            status=UserStatus.MANAGED,
            with_password=False,
        ),
        "nameless": make_user(
            "", sponsor_id=sponsor, status=UserStatus.MANAGED, with_password=False
        ),
        "gone": make_user("leo@example.org", sponsor_id=sponsor, status=UserStatus.DEACTIVATED),
    }


def test_manage_users_reads_in_spanish_for_staff_who_chose_it(app, staff, people):
    _choose_spanish(staff)
    page = staff.get("/manage/users")
    assert parse(page).get("lang") == "es"
    assert text_of(page, "h1") == "Administrar"
    assert texts(page, "[role=tab]") == ["Usuarios", "Invitaciones"]
    assert "Buscar usuarios" in texts(page, "label")
    headers = [header.rstrip(" ▲▼") for header in texts(page, "#users th")]
    assert {"Nombre", "Correo electrónico", "Estado", "Último acceso"} <= set(headers)
    assert texts(page, "#bulk-menu [role=menuitem]") == [
        "Convertir en autenticado",
        "Desactivar",
        "Reactivar",
        "Eliminar",
    ]
    row = element(page, f"#user-{people['managed']}")
    assert [td.get("data-label") for td in row.cssselect("td[data-label]")][:3] == [
        "Nombre",
        "Correo electrónico",
        "Tipo de usuario",
    ]
    assert element(page, "#user-actions").get("id")  # the row menu's words, checked below
    menu = parse(page).cssselect("#user-actions")[0]
    menu_words = " ".join(menu.itertext()) + " ".join(
        b.get("data-confirm", "") for b in menu.iter() if isinstance(b.tag, str)
    )
    assert "Ver perfil" in menu_words and "¿Desactivar a {name}?" in menu_words
    assert english_left(page, "manage/users.html", *MANAGE) == []

    profile = staff.get(f"/manage/users/{people['managed']}")
    assert text_of(profile, ".breadcrumb") == "Usuarios"
    assert "AUTENTICAR envía a ines@example.org" in text_of(profile, ".profile-note")
    assert {"Datos del perfil", "Historial"} <= set(texts(profile, "h2"))
    assert "Nunca" in texts(profile, "dd")
    assert english_left(profile, "manage/user.html", *MANAGE) == []

    ids = {"user_id": list(people.values())}
    for kind, title in (
        ("convert", "Convertir en autenticado"),
        ("deactivate", "¿Desactivar 3 usuarios seleccionados?"),
        ("reactivate", "¿Reactivar 3 usuarios seleccionados?"),
        ("delete", "¿Eliminar 3 usuarios seleccionados?"),
    ):
        dialog = staff.get(f"/manage/users/bulk/{kind}", query_string=ids, htmx=True)
        assert text_of(dialog, "#dialog-title") == title, kind
        assert "Cancelar" in texts(dialog, "button"), kind
        template = {"convert": "bulk_convert", "deactivate": "bulk_deactivate"}.get(
            kind, "bulk_users"
        )
        assert english_left(dialog, f"manage/{template}.html", *MANAGE) == [], kind
    convert = staff.get("/manage/users/bulk/convert", query_string=ids, htmx=True)
    assert "1 usuario seleccionado recibirá un correo" in text_of(convert)
    delete = staff.get(f"/manage/users/{people['managed']}/delete", htmx=True)
    assert text_of(delete, "#dialog-title") == "¿Eliminar a Inés Ruiz?"
    assert texts(delete, "button") == ["Cancelar", "Eliminar"]
    deleted = staff.post(f"/manage/users/{people['managed']}/delete", htmx=True)
    assert "Se eliminó Inés Ruiz." in text_of(deleted)


def test_manage_invitations_and_its_bulk_dialog_read_in_spanish(app, staff):
    _invite(staff, "ana@example.org", "beto@example.org", "caro@example.org")
    _choose_spanish(staff)
    page = staff.get("/manage/invitations", query_string={"status": "all"})
    assert text_of(page, "h1") == "Administrar"
    assert {"Buscar invitaciones", "Invitado por", "Enviadas desde", "Filas por página"} <= set(
        texts(page, "label")
    )
    assert texts(page, "#invitations-bulk-menu [role=menuitem]") == ["Reenviar", "Revocar"]
    assert {"Entrega", "Invitado por"} <= set(texts(page, "#invitations th"))
    assert texts(page, "#invitation-actions [role=menuitem]") == [
        "Revocar",
        "Reenviar",
        "Copiar enlace de invitación",
    ]
    assert "Personal (compañero de equipo)" in texts(page, "td[data-label=Organización]")
    assert english_left(page, "manage/invitations.html", "manage/_filters.html", *MANAGE) == []

    with app.app_context():
        ids = list(db.session.scalars(select(Invitation.id).order_by(Invitation.id)))
    resend = staff.get(
        "/manage/invitations/bulk/resend", query_string={"invitation_id": ids}, htmx=True
    )
    assert text_of(resend, "#dialog-title") == "¿Reenviar 3 invitaciones seleccionadas?"
    assert "3 personas recibirán un correo nuevo" in text_of(resend)
    assert text_of(resend, ".bulk-progress") == "Enviando 3 invitaciones…"
    assert texts(resend, "button") == ["Cancelar", "Reenviar"]
    assert english_left(resend, "manage/bulk_invitations.html", *MANAGE) == []
    revoke = staff.get(
        "/manage/invitations/bulk/revoke", query_string={"invitation_id": ids[:1]}, htmx=True
    )
    assert text_of(revoke, "#dialog-title") == "¿Revocar 1 invitación seleccionada?"
    assert "1 invitación dejará de funcionar de inmediato" in text_of(revoke)

    one = staff.get(f"/manage/invitations/{ids[0]}/revoke", htmx=True)
    assert text_of(one, "#dialog-title") == "¿Revocar la invitación?"
    assert english_left(one, "manage/confirm_revoke.html", *MANAGE) == []
    link = staff.get(f"/manage/invitations/{ids[0]}/link", htmx=True)
    assert text_of(link, "#dialog-title") == "Enlace de invitación para ana@example.org"
    assert texts(link, "button") == ["Copiar", "Cerrar"]
    assert english_left(link, "manage/invitation_link.html", *MANAGE) == []


def test_notifications_and_sponsor_settings_read_in_spanish(app, staff):
    _choose_spanish(staff)
    dialog = staff.get("/notifications", htmx=True)
    assert text_of(dialog, "#dialog-title") == "Notificaciones"
    assert text_of(dialog, ".notices-head [role=status]") == "Nada sin leer."
    assert text_of(dialog, "legend") == "Cómo recibe los avisos"
    assert texts(dialog, "button") == ["Marcar todo como leído", "Guardar", "Cerrar"]
    assert english_left(dialog, "notices/index.html", "notices/_count.html") == []
    with app.app_context():
        notices.notify(staff.user_id, staff.sponsor_id, "accepted", "—")
        notices.notify(staff.user_id, staff.sponsor_id, "accepted", "—")
        db.session.commit()
    count = staff.get("/notifications/count", htmx=True)
    assert text_of(count, "#notice-count") == "2 sin leer"
    dialog = staff.get("/notifications", htmx=True)
    assert text_of(dialog, ".notices-head [role=status]") == "2 avisos sin leer"
    assert "Sin leer" in texts(dialog, ".notice strong")

    page = staff.get("/settings")
    assert text_of(page, "h1") == "Configuración del patrocinador"
    assert texts(page, "section h2") == [
        "Zona horaria",
        "Idioma",
        "Recordatorios de invitación",
        "Administradores de socios",
    ]
    reminders = text_of(page, "#sponsor-invitation-reminders")
    assert "recibe un correo de recordatorio 3 y 10 días después de enviada" in reminders
    assert english_left(page, "settings/index.html") == []
    # The Edit pencil and the form it opens follow the language too.
    assert {a.get("aria-label") for a in elements(page, "section .icon-button")} == {"Editar"}


def test_staff_who_chose_nothing_read_manage_in_english(app, staff, people):
    page = staff.get("/manage/users", headers={"Accept-Language": "en-US"})
    assert text_of(page, "h1") == "Manage"
    assert texts(page, "[role=tab]") == ["Users", "Invitations"]
    assert "Search users" in texts(page, "label")
    # The check itself finds English where it is left.
    assert "Search users" in english_left(page, "manage/users.html")


@pytest.mark.real_commits
def test_the_notice_digest_is_written_in_its_readers_language(app, make_sponsor, make_user):
    sponsor_id = make_sponsor()
    reader = make_user("lectora@example.com", sponsor_id=sponsor_id, first_name="Rosa")
    with app.app_context():
        db.session.execute(
            update(User).where(User.id == reader).values(notice_digest=True, language="es")
        )
        db.session.commit()
        notices.notify(reader, sponsor_id, "accepted", "Eva Núñez aceptó su invitación")
        db.session.commit()
        db.session.execute(
            update(User)
            .where(User.id == reader)
            .values(notice_digest_at=utcnow() - timedelta(days=2))
        )
        db.session.commit()
        assert notices.queue_digests() == 1
        digest = db.session.scalar(select(MailMessage).where(MailMessage.kind == "notice_digest"))
    assert digest.subject == "Scope: 1 aviso nuevo"
    assert digest.body_text.startswith("Hola, Rosa:")
    assert "Lo que pasó con las invitaciones que usted envió" in digest.body_text
    assert "Eva Núñez aceptó su invitación" in digest.body_text
    assert "elija “Mostrarlas en Scope” allí" in digest.body_text
    html = parse(digest.body_html)
    assert html.get("lang") == "es"
    assert "Verlas en Scope" in html.text_content()
    assert english_left(digest.body_html, "mail/notice_digest.html") == []
    assert english_left(digest.body_text, "mail/notice_digest.txt") == []


def test_the_development_mailbox_reads_in_spanish(app, staff):
    _invite(staff, "ana@example.org")
    _choose_spanish(staff)
    page = staff.get("/mail/mailbox")
    assert text_of(page, "h1") == "Buzón de desarrollo"
    assert texts(page, "th") == ["Destinatario", "Asunto", "Tipo", "Estado", "Creado"]
    assert english_left(page, "mail/mailbox.html") == []
    link = element(page, "#mailbox tbody a").get("href")
    message = staff.get(link)
    assert text_of(message, "p a") == "Volver al buzón"
    assert {"Para", "De", "Tipo", "Creado"} <= set(texts(message, "dt"))
    assert {"Sobre", "Texto", "HTML"} <= set(texts(message, "h2"))
    assert element(message, "iframe").get("title") == "Parte HTML del correo"
    assert english_left(message, "mail/message.html") == []
