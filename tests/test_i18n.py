"""Languages: the catalogs are complete, translated templates hold no stray English, and a
page or an email is in the language its reader asked for (choice > invitation > browser)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from flask_babel import force_locale

from scope import i18n
from scope.extensions import db
from scope.models import Invitation, MailMessage, User, UserType
from scope.templating import format_date, format_datetime
from tests.helpers import Auth, csrf_token, field_error, login, parse, text_of, texts

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "scope" / "templates"
STRONG = "lantern meadow quartz saddle"

# Every template under scope/templates, whoever adds it: none may show English outside
# translation calls.
TRANSLATED_TEMPLATES = sorted(
    str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*") if path.is_file()
)
# Words that are the same in every language: the product's name.
ALLOWED_WORDS = {"Scope"}


# --- the catalogs -------------------------------------------------------------------------------


def _extract(tmp_path) -> Path:
    """What `pybabel extract` finds today (the command README.md documents)."""
    pot = tmp_path / "messages.pot"
    CommandLineInterface().run(
        [
            "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"),
            "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2",
            "-o", str(pot), str(ROOT),
        ]
    )  # fmt: skip
    return pot


def _catalog(path: Path):
    with path.open("rb") as file:
        return read_po(file)


def test_the_spanish_catalog_translates_every_message_and_none_is_fuzzy(tmp_path):
    extracted = _catalog(_extract(tmp_path))
    spanish = _catalog(ROOT / "scope/translations/es/LC_MESSAGES/messages.po")
    ids = {message.id if isinstance(message.id, str) else message.id[0] for message in extracted}
    ids.discard("")
    assert len(ids) > 200
    missing, untranslated, fuzzy = [], [], []
    for message_id in sorted(ids):
        message = spanish.get(message_id)
        if message is None:
            missing.append(message_id)
            continue
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if not all(strings):
            untranslated.append(message_id)
        if message.fuzzy:
            fuzzy.append(message_id)
    assert not missing, f"not in es/messages.po (run pybabel update): {missing}"
    assert not untranslated, f"no Spanish for: {untranslated}"
    assert not fuzzy, f"fuzzy in es/messages.po: {fuzzy}"
    assert not spanish.fuzzy
    assert spanish.num_plurals == len(spanish.get("one day", context=None).string)


def test_the_catalogs_keep_placeholders_and_compile(tmp_path):
    for language in i18n.LANGUAGES:
        catalog = _catalog(ROOT / f"scope/translations/{language}/LC_MESSAGES/messages.po")
        problems = [(m.id, errors) for m, errors in catalog.check() if errors]
        assert not problems, problems
    copy = tmp_path / "translations" / "es" / "LC_MESSAGES"
    copy.mkdir(parents=True)
    po = ROOT / "scope/translations/es/LC_MESSAGES/messages.po"
    (copy / "messages.po").write_bytes(po.read_bytes())
    assert i18n.compile_catalogs(tmp_path / "translations") == [copy / "messages.mo"]
    assert i18n.compile_catalogs(tmp_path / "translations") == []  # up to date: left alone


# --- no English outside translation calls -------------------------------------------------------

_COMMENT = re.compile(r"\{#.*?#\}", re.S)
# A class name, not words: {% block main_class %}narrow{% endblock %}.
_CLASS_BLOCK = re.compile(r"\{%\s*block main_class\s*%\}.*?\{%\s*endblock\s*%\}")
_TRANS = re.compile(r"\{%-?\s*trans\b.*?%\}.*?\{%-?\s*endtrans\s*-?%\}", re.S)
_GETTEXT = re.compile(r"""_\(\s*(["'])(?:\\.|(?!\1).)*\1\s*\)""", re.S)
_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
_STATEMENT = re.compile(r"\{%.*?%\}", re.S)
_SHOWN_ATTRIBUTE = re.compile(
    r"""\b(?:aria-label|title|placeholder|alt)\s*=\s*(["'])(.*?)\1""", re.S | re.I
)
_TAG = re.compile(r"<[^>]*>", re.S)
_ENTITY = re.compile(r"&[#a-zA-Z0-9]+;")
_WORD = re.compile(r"[^\W\d_]+")


def untranslated_words(source: str) -> list[str]:
    """The words a reader would see that no translation call covers."""
    text = _COMMENT.sub(" ", source)
    text = _CLASS_BLOCK.sub(" ", text)
    text = _TRANS.sub(" ", text)
    text = _GETTEXT.sub(" ", text)
    text = _EXPRESSION.sub(" ", text)
    text = _STATEMENT.sub(" ", text)
    shown = [value for _, value in _SHOWN_ATTRIBUTE.findall(text)]
    text = _TAG.sub(" ", text)
    text = _ENTITY.sub(" ", text)
    return [w for w in _WORD.findall(" ".join([text, *shown])) if w not in ALLOWED_WORDS]


@pytest.mark.parametrize("name", TRANSLATED_TEMPLATES)
def test_a_translated_template_shows_no_english_outside_translation_calls(name):
    assert untranslated_words((TEMPLATES / name).read_text("utf-8")) == []


def test_every_template_is_checked_including_mail_text_parts():
    assert len(TRANSLATED_TEMPLATES) > 90
    folders = {name.split("/")[0] for name in TRANSLATED_TEMPLATES if "/" in name}
    assert {"manage", "invites", "partners", "public_links", "mail", "notices"} <= folders
    assert {"base.html", "mail/invitation.txt", "manage/users.html"} <= set(TRANSLATED_TEMPLATES)


def test_the_template_check_finds_english_left_behind():
    assert untranslated_words('<p>{{ _("Hello") }} world</p>') == ["world"]
    assert untranslated_words('<a aria-label="Edit">{{ icon("pencil") }}</a>') == ["Edit"]
    assert untranslated_words("{% trans %}Hi {{ name }}{% endtrans %}<b>Scope</b>") == []


# --- which language --------------------------------------------------------------------------


def _invite(staff, email: str, language: str | None = None):
    data = {"email": email}
    if language:
        data["language"] = language
    assert staff.post("/invite/teammates/rows", data, htmx=True).status_code == 200
    assert staff.post("/invite/teammates/send", htmx=True).status_code == 200


def _invitation_mail(app, email: str) -> MailMessage:
    with app.app_context():
        return db.session.scalar(
            db.select(MailMessage).where(
                MailMessage.kind == "invitation", MailMessage.recipient == email
            )
        )


def _link(message: MailMessage) -> str:
    return re.search(r"http://scope\.test(/join/\S+)", message.body_text).group(1)


def _sign_up(client, path, **data):
    token = csrf_token(client.get(path))
    form = {"first_name": "Lucía", "last_name": "Peña", "password": STRONG}
    form["confirm_password"] = STRONG
    form.update(data)
    form["csrf_token"] = token
    return client.post(path, data=form)


ES = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def test_the_login_page_follows_the_browser(client):
    english = client.get("/login", headers=EN)
    assert parse(english).get("lang") == "en"
    assert text_of(english, "h1") == "Log in to Scope"
    spanish = client.get("/login", headers=ES)
    assert parse(spanish).get("lang") == "es"
    assert text_of(spanish, "h1") == "Iniciar sesión en Scope"
    assert texts(spanish, "label") == ["Correo electrónico", "Contraseña"]
    assert "¿Olvidó su contraseña?" in texts(spanish, "a")
    assert text_of(client.get("/login", headers={"Accept-Language": "fr"}), "h1") == (
        "Log in to Scope"
    )


def test_the_language_switch_on_login_is_remembered_and_stays_on_this_site(client):
    page = client.get("/login", headers=ES)
    switch = parse(page).cssselect("nav.language-switch")[0]
    assert switch.get("aria-label") == "Idioma"
    links = {a.text_content(): a.get("href") for a in switch.cssselect("a")}
    assert links == {"English": "/language/en?next=/login"}  # Español is the page's own
    response = client.get(links["English"], headers=ES)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert text_of(client.get("/login", headers=ES), "h1") == "Log in to Scope"
    client.get("/language/es?next=/login")
    assert text_of(client.get("/login", headers=EN), "h1") == "Iniciar sesión en Scope"
    # Validation messages follow the switch too.
    refused = client.post("/login", data={"csrf_token": csrf_token(page)}, headers=EN)
    assert refused.status_code == 422
    assert field_error(refused, "email") == "Escriba su correo electrónico."
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        away = client.get("/language/en", query_string={"next": target})
        assert away.headers["Location"] == "/login", target
    assert client.get("/language/fr").status_code == 404


def test_a_spanish_invitation_is_emailed_and_signed_up_in_spanish(app, staff):
    client = app.test_client()
    _invite(staff, "lucia@example.org", "es")
    with app.app_context():
        invitation = db.session.scalar(
            db.select(Invitation).where(Invitation.email == "lucia@example.org")
        )
        assert invitation.language == "es"
    message = _invitation_mail(app, "lucia@example.org")
    assert message.subject == "Riverbend Apprenticeship Alliance le invita a Scope"
    assert "Hola:" in message.body_text
    assert "le invitó a unirse a Riverbend Apprenticeship Alliance en Scope" in message.body_text
    assert "Cree su cuenta aquí:" in message.body_text
    assert re.search(r"hasta el \d+ de \w+ de \d{4} a las \d\d:\d\d", message.body_text)
    html = parse(message.body_html)
    assert html.get("lang") == "es"
    assert "Cree su cuenta" in html.text_content()
    assert "If you were not expecting" not in message.body_text + message.body_html

    # The sign-up page is in the invitation's language, whatever the browser says.
    path = _link(message)
    page = client.get(path, headers=EN)
    assert text_of(page, "h1") == "Cree su cuenta de Scope"
    assert texts(page, ".invitation-summary dt") == ["Patrocinador", "Tipo de usuario"]
    assert "Personal (compañero de equipo)" in texts(page, ".invitation-summary dd")
    assert [b.text_content() for b in parse(page).cssselect("button[type=submit]")] == [
        "Crear cuenta"
    ]
    refused = _sign_up(client, path, confirm_password="otra cosa distinta", headers=EN)
    assert refused.status_code == 422
    assert field_error(refused, "confirm_password") == (
        "Las contraseñas no coinciden. Escriba la misma contraseña dos veces."
    )
    weak = _sign_up(client, path, password="password1234", confirm_password="password1234")
    assert "Elija una contraseña menos común" in field_error(weak, "password")
    assert _sign_up(client, path).status_code == 302
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == "lucia@example.org"))
        assert user.language is None  # not chosen by the person: the invitation's still counts


def _sign_up_partner(app, staff, make_org, email: str, language: str):
    org = make_org(staff.sponsor_id, "Keystone Electric")
    staff.post("/invite/external", {"organization": org}, htmx=True)
    row = {"user_type": "administrator", "email": email, "language": language}
    assert staff.post("/invite/external/rows", row, htmx=True).status_code == 200
    assert staff.post("/invite/external/send", htmx=True).status_code == 200
    person = app.test_client()
    assert _sign_up(person, _link(_invitation_mail(app, email))).status_code == 302
    return person


def test_precedence_choice_then_invitation_then_browser(app, staff, make_org):
    person = _sign_up_partner(app, staff, make_org, "ana@keystone.example", "es")
    # No choice: the invitation's language beats the browser's.
    page = person.get("/my/account", headers=EN)
    assert text_of(page, "h1") == "Mi cuenta"
    assert "Administrador" in texts(page, "dd")
    assert text_of(person.get("/my/organization", headers=EN), "h1") == "Mi organización"
    # The person's choice beats both.
    token = csrf_token(page)
    chosen = person.post("/my/account/language", data={"language": "en", "csrf_token": token})
    assert chosen.status_code == 302
    page = person.get("/my/account", headers=ES)
    assert text_of(page, "h1") == "My account"
    assert text_of(page, "#account-language p") == "English"
    with app.app_context():
        assert (
            db.session.scalar(db.select(User.language).where(User.email == "ana@keystone.example"))
            == "en"
        )
    # Back to "not chosen": the invitation's again.
    person.post("/my/account/language", data={"language": "", "csrf_token": token})
    assert text_of(person.get("/my/account", headers=EN), "h1") == "Mi cuenta"


def test_without_choice_or_invitation_the_browser_decides(app, make_user, make_sponsor):
    sponsor_id = make_sponsor()
    make_user("pat@example.org", sponsor_id=sponsor_id, user_type=UserType.SUPERVISOR)
    person = login(app, "pat@example.org")
    assert text_of(person.get("/my/account", headers=ES), "h1") == "Mi cuenta"
    assert text_of(person.get("/my/account", headers=EN), "h1") == "My account"


def test_staff_follow_their_own_choice_else_their_browser(app, staff):
    assert text_of(staff.get("/my/account", headers=ES), "h1") == "Mi cuenta"
    token = csrf_token(staff.get("/my/account"))
    staff.post("/my/account/language", data={"language": "en", "csrf_token": token})
    assert text_of(staff.get("/my/account", headers=ES), "h1") == "My account"


def test_the_switch_beats_the_invitation_on_the_sign_up_page(app, staff):
    client = app.test_client()
    _invite(staff, "leo@example.org", "es")
    path = _link(_invitation_mail(app, "leo@example.org"))
    client.get("/language/en")
    assert text_of(client.get(path, headers=ES), "h1") == "Create your Scope account"


def test_a_language_scope_does_not_speak_is_refused_and_changes_nothing(app, staff):
    token = csrf_token(staff.get("/my/account"))
    response = staff.post("/my/account/language", data={"language": "fr", "csrf_token": token})
    assert response.status_code == 422
    assert field_error(response, "language") == "Choose a language from the list."
    with app.app_context():
        assert db.session.get(User, staff.user_id).language is None
    wizard = staff.post(
        "/invite/teammates/rows", {"email": "kim@example.org", "language": "fr"}, htmx=True
    )
    assert wizard.status_code == 422
    assert text_of(wizard, "#language-error") == "Choose a language from the list."
    with app.app_context():
        assert db.session.scalar(db.select(Invitation.id)) is None


def test_the_wizard_offers_language_with_the_sponsors_default(app, staff):
    page = staff.get("/invite/teammates")
    select = parse(page).cssselect("select[name=language]")
    assert select and select[0].get("form") == "row-form"
    assert [o.text_content() for o in select[0].cssselect("option")] == ["English", "Español"]
    with app.app_context():
        from scope.models import Sponsor

        db.session.get(Sponsor, staff.sponsor_id).language = "es"
        db.session.commit()
    page = staff.get("/invite/teammates")
    chosen = parse(page).cssselect("select[name=language] option[selected]")
    assert [o.get("value") for o in chosen] == ["es"]
    _invite(staff, "kai@example.org")  # the field left as it is: the sponsor's language
    assert _invitation_mail(app, "kai@example.org").subject.endswith("le invita a Scope")


def test_emails_to_an_account_follow_its_language(app, staff, make_user):
    client = app.test_client()
    user_id = make_user("rosa@example.org", sponsor_id=staff.sponsor_id)
    with app.app_context():
        db.session.get(User, user_id).language = "es"
        db.session.commit()
    page = client.get("/forgot-password", headers=EN)  # the asker's browser does not count
    client.post(
        "/forgot-password",
        data={"email": "rosa@example.org", "csrf_token": csrf_token(page)},
        headers=EN,
    )
    with app.app_context():
        message = db.session.scalar(
            db.select(MailMessage).where(MailMessage.recipient == "rosa@example.org")
        )
    assert message.subject == "Restablezca su contraseña de Scope"
    assert message.body_text.startswith("Hola, Test:")
    assert "durante una hora" in message.body_text


def test_dates_and_numbers_read_in_the_language(app):
    moment = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
    with app.test_request_context():
        assert format_date(moment, zone="America/New_York") == "Nov 30, 2026"
        assert format_datetime(moment, long=True, zone="America/New_York") == (
            "November 30, 2026 at 09:05 EST"
        )
        with force_locale("es"):
            assert format_date(moment, zone="America/New_York") == "30 nov 2026"
            assert format_datetime(moment, long=True, zone="America/Mexico_City") == (
                "30 de noviembre de 2026 a las 08:05 CST"
            )


def test_error_pages_are_translated(client):
    page = client.get("/no-such-page", headers=ES)
    assert page.status_code == 404
    assert text_of(page, "h1") == "No encontrado"


def test_the_my_account_language_form_is_labelled(app, staff):
    form = staff.get("/my/account/language", htmx=True)
    assert texts(form, "label") == ["Language"]
    options = parse(form).cssselect("select[name=language] option")
    assert [o.get("lang") for o in options] == [None, "en", "es"]


def test_the_switch_carries_to_the_recovery_page(app):
    browser = app.test_client()
    browser.get("/language/es")
    assert text_of(browser.get("/forgot-password"), "h1") == "¿Olvidó su contraseña?"


def test_a_language_switched_to_before_logging_in_becomes_the_persons_choice(app, make_user):
    make_user("noor@example.org", user_type=UserType.SUPERVISOR)
    browser = Auth(app.test_client(), app)
    browser.client.get("/language/es")
    assert browser.login("noor@example.org").status_code == 302
    assert text_of(browser.client.get("/my/account", headers=EN), "h1") == "Mi cuenta"
    with app.app_context():
        assert (
            db.session.scalar(db.select(User.language).where(User.email == "noor@example.org"))
            == "es"
        )
    # Logged in, the switch no longer overrides the choice made on My account.
    browser.client.get("/language/en")
    assert text_of(browser.client.get("/my/account", headers=EN), "h1") == "Mi cuenta"


def test_choosing_a_language_redraws_the_whole_page(app, staff):
    token = csrf_token(staff.get("/my/account"))
    response = staff.post(
        "/my/account/language", {"language": "es", "csrf_token": token}, htmx=True
    )
    assert response.headers["HX-Redirect"] == "/my/account"
    assert text_of(staff.get("/my/account"), "h1") == "Mi cuenta"


def test_staff_set_the_sponsors_language_which_invitations_follow(app, staff):
    page = staff.get("/settings")
    assert text_of(page, "#sponsor-language p") == "English"
    form = staff.get("/settings/language", htmx=True)
    assert texts(form, "#sponsor-language label") == ["Language"]
    refused = staff.post("/settings/language", {"language": "fr"}, htmx=True)
    assert refused.status_code == 422
    assert field_error(refused, "language") == "Choose a language from the list."
    saved = staff.post("/settings/language", {"language": "es"}, htmx=True)
    assert saved.status_code == 200 and text_of(saved, "#sponsor-language p") == "Español"
    _invite(staff, "mateo@example.org")
    assert _invitation_mail(app, "mateo@example.org").subject.endswith("le invita a Scope")
    # A batch may still go out in English.
    _invite(staff, "mia@example.org", "en")
    assert _invitation_mail(app, "mia@example.org").subject.endswith("invites you to Scope")


def test_the_batchs_language_survives_a_reload_and_goes_with_its_batch(app, staff):
    staff.post("/invite/teammates/typed", {"email": "ivy@example.org", "language": "es"})
    chosen = parse(staff.get("/invite/teammates")).cssselect(
        "select[name=language] option[selected]"
    )
    assert [o.get("value") for o in chosen] == ["es"]
    _invite(staff, "ivy@example.org", "es")
    assert _invitation_mail(app, "ivy@example.org").subject.endswith("le invita a Scope")
    # The next batch starts from the sponsor's language again.
    chosen = parse(staff.get("/invite/teammates")).cssselect(
        "select[name=language] option[selected]"
    )
    assert [o.get("value") for o in chosen] == ["en"]


@pytest.mark.parametrize("autoescape", [True, False])
@pytest.mark.parametrize("language", ["en", "es"])
def test_templates_translate_as_jinjas_own_gettext_does(app, language, autoescape):
    """Scope's template callables (which skip copying the context) say exactly what Jinja's
    new-style gettext says: escaped or not, formatted always (%% is a percent sign), plurals
    with num, inside loops and scoped blocks, and in {% trans %}."""
    from jinja2.ext import _make_new_gettext, _make_new_ngettext

    source = (
        "{% for n in [1, 2] %}{% block b scoped %}"
        "{{ _('Select %(name)s', name=who) }}|{{ _('Never') }}|{{ _('100%%') }}|"
        "{{ ngettext('%(num)s person', '%(num)s people', n) }}|"
        "{% trans count=n %}{{ count }} user{% pluralize %}{{ count }} users{% endtrans %}|"
        "{% trans %}Users{% endtrans %}{% endblock %}{% endfor %}"
    )
    assert app.jinja_env.globals["_"] is i18n._template_gettext
    with app.test_request_context(), force_locale(language):
        translations = i18n._translations()
        ours = app.jinja_env.overlay(autoescape=autoescape)
        jinjas = app.jinja_env.overlay(autoescape=autoescape)
        jinjas.globals = dict(
            jinjas.globals,
            gettext=_make_new_gettext(translations.ugettext),
            ngettext=_make_new_ngettext(translations.ungettext),
        )
        jinjas.globals["_"] = jinjas.globals["gettext"]
        context = {"who": "<Ana & Bo>"}
        said = ours.from_string(source).render(context)
        assert said == jinjas.from_string(source).render(context)
    assert ("&lt;Ana &amp; Bo&gt;" in said) is autoescape
    assert "100%|" in said
    if language == "es":
        assert "Nunca" in said


@pytest.mark.parametrize("language", ["en", "es"])
def test_numbers_and_dates_read_as_babel_formats_them(app, language):
    """format_number and format_date keep each language's pattern instead of asking Babel to
    find it for every value: what they write is what Babel writes."""
    from babel import dates, numbers

    from scope.templating import format_date, format_number

    with app.test_request_context(), force_locale(language):
        for value in (0, 1, 7, 999, 1000, 1200, 12345, 1_000_000, -5):
            assert format_number(value) == numbers.format_decimal(value, locale=language)
        for day in (datetime(2026, 1, 1, 12, tzinfo=UTC), datetime(2026, 11, 30, 12, tzinfo=UTC)):
            for long, style in ((False, "medium"), (True, "long")):
                shown = format_date(day, long, zone="UTC")
                assert shown == dates.format_date(day.date(), style, locale=language)
