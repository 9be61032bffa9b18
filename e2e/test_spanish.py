"""A partner's journey in Spanish: staff pick Español for an invitation, the person reads the
email, signs up and finds My account in Spanish, on a phone as well as a desktop. And a staff
member who chose Español walks MANAGE, Notifications and Sponsor settings in Spanish."""

import re
import secrets

from helpers import (
    create_employer,
    create_managed_users,
    nav,
    new_password,
    pick_organization,
    unique_email,
)
from playwright.sync_api import Page, expect


def words(text: str) -> str:
    return " ".join(text.split())


def test_a_partner_invited_in_spanish_signs_up_in_spanish(
    page: Page, create_staff, login, mail, new_context, shot
):
    staff = create_staff(first_name="Morgan", last_name="Lee")
    login(page, staff.email, staff.password)
    organization = f"Electricidad del Valle {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    person_email = unique_email("lucia")

    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()
    pick_organization(page, organization)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("User type").select_option(label="Administrator")
    page.get_by_label("Email").fill(person_email)
    page.get_by_role("button", name="Add+").click()
    expect(page.get_by_role("table", name="People to invite")).to_contain_text(person_email)
    language = page.get_by_label("Language")
    expect(language).to_have_value("en")  # the sponsor's, until staff pick another
    language.select_option(label="Español")
    shot(page, "wizard-language")
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("1 invitation sent.")).to_be_visible()

    # The email, as the SMTP server received it, is in Spanish.
    message = mail.wait_for_mail_to(person_email)
    assert message.subject == f"{staff.sponsor} le invita a Scope"
    text = words(message.text)
    assert "Morgan Lee le invitó a unirse a " + organization in text
    assert "con el rol de Administrador" in text
    assert "Este enlace funciona hasta el" in text
    [link] = message.links()

    # A browser that prefers English: the invitation's language wins.
    person = new_context(locale="en-US").new_page()
    person.goto(link)
    expect(person.locator("html")).to_have_attribute("lang", "es")
    expect(person.get_by_role("heading", name="Cree su cuenta de Scope")).to_be_visible()
    expect(person.get_by_role("navigation", name="Idioma")).to_contain_text("English")
    shot(person, "sign-up")

    person.get_by_label("Nombre").fill("Lucía")
    person.get_by_label("Apellido").fill("Peña")
    password = new_password()
    person.get_by_label("Contraseña", exact=True).fill(password)
    person.get_by_label("Confirmar contraseña").fill("otra contraseña distinta")
    person.get_by_role("button", name="Crear cuenta").click()
    expect(
        person.get_by_text("Las contraseñas no coinciden. Escriba la misma contraseña dos veces.")
    ).to_be_visible()
    shot(person, "sign-up-refused")
    person.get_by_label("Contraseña", exact=True).fill(password)
    person.get_by_label("Confirmar contraseña").fill(password)
    person.get_by_role("button", name="Crear cuenta").click()

    expect(person.get_by_role("heading", name="Mi organización", exact=True)).to_be_visible()
    expect(person.get_by_role("term").filter(has_text="Tipo de organización")).to_be_visible()
    shot(person, "my-organization")
    person.get_by_role("navigation", name="Principal").get_by_role("link", name="Mi cuenta").click()
    expect(person.get_by_role("heading", name="Mi cuenta", exact=True)).to_be_visible()
    expect(person.get_by_role("definition").filter(has_text="Administrador")).to_have_count(1)
    expect(person.get_by_role("heading", name="Idioma")).to_be_visible()
    expect(person.get_by_role("button", name="Cambiar contraseña")).to_be_visible()
    shot(person, "my-account")

    # The person's own choice comes first: English, then the page answers in English.
    person.locator("#account-language").get_by_role("link", name="Editar").click()
    person.get_by_role("combobox", name="Idioma").select_option(label="English")
    person.get_by_role("button", name="Guardar").click()
    expect(person.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    shot(person, "my-account-english")


def test_a_spanish_browser_logs_in_and_recovers_in_spanish(new_context, shot):
    person = new_context(locale="es-MX").new_page()
    person.goto("/login")
    expect(person.locator("html")).to_have_attribute("lang", "es")
    expect(person.get_by_role("heading", name="Iniciar sesión en Scope")).to_be_visible()
    person.get_by_role("button", name="Iniciar sesión").click()
    expect(person.get_by_text("Escriba su correo electrónico.")).to_be_visible()
    shot(person, "login")
    person.get_by_role("link", name="¿Olvidó su contraseña?").click()
    expect(person.get_by_role("heading", name="¿Olvidó su contraseña?")).to_be_visible()
    person.get_by_label("Correo electrónico").fill(unique_email("nadie"))
    person.get_by_role("button", name="Enviar enlace de recuperación").click()
    expect(person.get_by_text("Si existe una cuenta con esa dirección")).to_be_visible()
    expect(person.get_by_text("Funciona durante una hora.")).to_be_visible()
    shot(person, "recovery-sent")
    # The switch, without scripts: a link that remembers the choice.
    person.goto("/login")
    person.get_by_role("navigation", name="Idioma").get_by_role("link", name="English").click()
    expect(person.get_by_role("heading", name="Log in to Scope")).to_be_visible()
    person.reload()
    expect(person.get_by_role("heading", name="Log in to Scope")).to_be_visible()
    shot(person, "login-english")


def test_a_person_signs_up_through_a_public_link_in_spanish_on_a_phone(
    page: Page, create_staff, login, mail, new_context, shot
):
    staff = create_staff(first_name="Morgan", last_name="Lee")
    login(page, staff.email, staff.password)
    organization = f"Construcciones del Norte {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Public links").click()
    page.get_by_role("link", name="Create public link").click()
    pick_organization(page, organization, label="Organization")
    page.get_by_label("User type").select_option(label="Supervisor")
    page.get_by_label("Require approval").check()
    page.get_by_role("button", name="Create public link").click()
    expect(page.get_by_text(f"Public link created for {organization}.")).to_be_visible()
    url = page.get_by_label("Link", exact=True).first.input_value()

    # A phone whose browser prefers Spanish.
    person = new_context(locale="es-MX", viewport={"width": 375, "height": 812}).new_page()
    person.goto(url)
    expect(person.locator("html")).to_have_attribute("lang", "es")
    expect(person.get_by_role("heading", name="Cree su cuenta de Scope")).to_be_visible()
    expect(person.get_by_role("navigation", name="Idioma")).to_contain_text("English")
    shot(person, "public-sign-up")
    address = unique_email("rosa")
    password = new_password()
    person.get_by_label("Nombre").fill("Rosa")
    person.get_by_label("Apellido").fill("Díaz")
    person.get_by_label("Correo electrónico").fill(address)
    person.get_by_label("Contraseña", exact=True).fill(password)
    person.get_by_label("Confirmar contraseña").fill(password)
    person.get_by_role("button", name="Crear cuenta").click()
    expect(person.get_by_role("heading", name="Revise su correo")).to_be_visible()
    shot(person, "check-email")

    message = mail.wait_for_mail_to(address)
    assert message.subject == f"Confirme su correo electrónico para {staff.sponsor}"
    text = words(message.text)
    assert text.startswith("Hola, Rosa:")
    assert f"unirse a {organization} con el rol de Supervisor" in text
    [link] = [link for link in message.links() if "/p/confirm/" in link]
    person.goto(link)
    expect(person.get_by_role("heading", name="Confirme su correo electrónico")).to_be_visible()
    shot(person, "confirm")
    person.get_by_role("button", name="Confirmar y crear la cuenta").click()
    expect(person.get_by_role("heading", name="Su dirección está confirmada")).to_be_visible()
    shot(person, "awaiting-approval")

    # Staff, in English, approve; the person is told in Spanish and logs in in Spanish.
    nav(page).get_by_role("link", name="Manage").click()
    queue = page.get_by_role("region", name="Awaiting approval")
    queue.get_by_role("row").filter(has_text=address).get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Rosa Díaz approved; they can log in now.")).to_be_visible()
    approved = mail.wait_for(lambda m: address in m.recipients and "lista" in m.subject)[-1]
    assert approved.subject == f"Su cuenta de Scope con {staff.sponsor} está lista"
    assert f"{staff.sponsor} aprobó su registro" in words(approved.text)
    person.goto("/login")
    person.get_by_label("Correo electrónico").fill(address)
    person.get_by_label("Contraseña").fill(password)
    person.get_by_role("button", name="Iniciar sesión").click()
    expect(person.get_by_role("heading", name="Mi organización", exact=True)).to_be_visible()
    shot(person, "logged-in")


def test_staff_who_chose_spanish_invite_and_manage_partners_in_spanish(
    page: Page, create_staff, login, shot
):
    staff = create_staff(first_name="Morgan", last_name="Lee")
    login(page, staff.email, staff.password)
    organization = f"Taller Morales {secrets.token_hex(2)}"
    create_employer(page, organization, shot)
    page.goto("/my/account")
    page.locator("#account-language").get_by_role("link", name="Edit").click()
    page.get_by_role("combobox", name="Language").select_option(label="Español")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Mi cuenta", exact=True)).to_be_visible()

    page.goto("/invite/")
    expect(page.get_by_role("heading", name="Invitar", exact=True)).to_be_visible()
    shot(page, "invite")
    page.get_by_role("link", name="Invitar a usuarios externos").first.click()
    # The picker's label is the form's own ("Employer", or its translation).
    box = page.get_by_role("combobox", name=re.compile("^(Employer|Empleador)$"))
    box.fill(organization)
    option = page.get_by_role("option", name=f"{organization} Empleador")
    expect(option).to_be_visible()
    box.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value(organization)
    page.get_by_role("button", name="Continuar").click()
    expect(page.get_by_role("heading", name="Invitar a usuarios externos")).to_be_visible()
    page.locator("#row-form select[name=user_type]").select_option(value="supervisor")
    page.locator("#row-form input[name=email]").fill(unique_email("ana"))
    page.get_by_role("button", name="Agregar+").click()
    expect(page.get_by_text("1 persona en la lista")).to_be_visible()
    shot(page, "wizard")
    page.get_by_role("button", name="Enviar invitaciones").click()
    expect(page.get_by_text("1 invitación enviada.")).to_be_visible()
    shot(page, "wizard-sent")

    page.goto("/partners/employers")
    expect(page.get_by_role("heading", name="Empleadores", exact=True)).to_be_visible()
    shot(page, "employers")
    page.get_by_role("link", name=organization).click()
    expect(page.get_by_role("heading", name="Datos del empleador")).to_be_visible()
    expect(page.get_by_role("heading", name="Invitaciones pendientes")).to_be_visible()
    shot(page, "organization")
    page.goto("/invite/public-links")
    expect(page.get_by_role("heading", name="Enlaces públicos")).to_be_visible()
    shot(page, "public-links")


def no_shot(page: Page, name: str) -> None:
    """Setting up in English: those pages have screenshots of their own elsewhere."""


def test_staff_who_chose_spanish_walk_manage_in_spanish(page: Page, create_staff, login, shot):
    staff = create_staff(first_name="Morgan", last_name="Lee")
    login(page, staff.email, staff.password)
    organization = f"Construcciones del Sur {secrets.token_hex(2)}"
    create_employer(page, organization, no_shot)
    people = [
        ("Supervisor", "María Fernanda", "Echeverría Villalobos", unique_email("mfernanda")),
        ("Supervisor", "José", "Núñez", unique_email("jose")),
    ]
    create_managed_users(page, organization, people, no_shot)
    invited = [unique_email("invitada"), unique_email("invitado")]
    nav(page).get_by_role("link", name="Invite").click()
    page.get_by_role("link", name="Invite External Users").click()
    pick_organization(page, organization)
    page.get_by_role("button", name="Continue").click()
    for email in invited:
        page.get_by_label("User type").select_option(label="Supervisor")
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Add+").click()
        expect(page.get_by_role("table", name="People to invite")).to_contain_text(email)
    page.get_by_role("button", name="Send Invitations").click()
    expect(page.get_by_text("2 invitations sent.")).to_be_visible()

    # Staff choose their language on My account; every staff page follows it.
    nav(page).get_by_role("button", name=re.compile("Morgan Lee")).click()
    page.get_by_role("menuitem", name="My account").click()
    page.locator("#account-language").get_by_role("link", name="Edit").click()
    page.get_by_role("combobox", name="Language").select_option(label="Español")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Mi cuenta", exact=True)).to_be_visible()

    main = page.get_by_role("navigation", name="Principal")
    main.get_by_role("link", name="Administrar").click()
    expect(page.get_by_role("heading", name="Administrar", exact=True)).to_be_visible()
    tabs = page.get_by_role("tablist", name="Administrar")
    expect(tabs.get_by_role("tab", name="Usuarios")).to_have_attribute("aria-selected", "true")
    users = page.get_by_role("table", name="Usuarios")
    expect(users.get_by_role("link", name="José Núñez")).to_be_visible()
    expect(page.get_by_label("Buscar usuarios")).to_be_visible()
    shot(page, "manage-users")

    bulk = page.get_by_role("button", name="Acciones en lote")
    expect(bulk).to_be_disabled()
    page.get_by_label("Seleccionar José Núñez").check()
    expect(page.get_by_text("1 elemento seleccionado")).to_be_visible()
    page.get_by_label("Seleccionar todos los usuarios de esta página").check()
    expect(page.get_by_text("3 elementos seleccionados")).to_be_visible()
    bulk.click()
    expect(page.get_by_role("menuitem", name="Convertir en autenticado")).to_be_visible()
    shot(page, "manage-users-bulk-menu")
    page.get_by_role("menuitem", name="Desactivar").click()
    dialog = page.get_by_role("dialog", name="¿Desactivar 3 usuarios seleccionados?")
    expect(dialog).to_contain_text("Se omiten los usuarios ya desactivados y su propia cuenta.")
    shot(page, "manage-users-bulk-deactivate")
    dialog.get_by_role("button", name="Cancelar").click()
    expect(dialog).to_have_count(0)

    row = users.get_by_role("row").filter(has_text="Núñez")
    row.get_by_role("button", name="Acciones").click()
    menu = row.get_by_role("menu")
    expect(menu.get_by_role("menuitem", name="Ver perfil")).to_be_visible()
    expect(menu.get_by_role("menuitem", name="Eliminar")).to_be_visible()
    shot(page, "manage-users-row-menu")
    menu.get_by_role("menuitem", name="Eliminar").click()
    dialog = page.get_by_role("dialog", name="¿Eliminar a José Núñez?")
    expect(dialog).to_contain_text("Esto no se puede deshacer.")
    shot(page, "manage-users-delete")
    dialog.get_by_role("button", name="Cancelar").click()

    users.get_by_role("link", name="María Fernanda Echeverría Villalobos").click()
    expect(page.get_by_role("heading", name="Datos del perfil")).to_be_visible()
    expect(page.get_by_role("button", name="Autenticar")).to_be_visible()
    expect(page.get_by_role("heading", name="Historial")).to_be_visible()
    shot(page, "manage-user-profile")

    page.get_by_role("link", name="Usuarios", exact=True).click()
    page.get_by_role("tablist", name="Administrar").get_by_role("tab", name="Invitaciones").click()
    invitations = page.get_by_role("table", name=re.compile("^Invitaciones"))
    expect(invitations.get_by_role("row").filter(has_text=invited[0])).to_be_visible()
    expect(page.get_by_label("Invitado por")).to_be_visible()
    shot(page, "manage-invitations")
    page.get_by_label("Seleccionar todas las invitaciones de esta página").check()
    expect(page.get_by_text("2 elementos seleccionados")).to_be_visible()
    # On a phone the longer Spanish words wrap the table's bar: Export stays on the screen.
    page.set_viewport_size({"width": 375, "height": 812})
    export = page.get_by_role("link", name="Exportar CSV").bounding_box()
    assert export["x"] >= 0 and export["x"] + export["width"] <= 375, export
    sort_bar = page.locator("#invitations thead tr")
    expect(sort_bar).to_have_attribute("data-sort-label", "Ordenar por")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.get_by_role("button", name="Acciones en lote").click()
    page.get_by_role("menuitem", name="Reenviar").click()
    dialog = page.get_by_role("dialog", name="¿Reenviar 2 invitaciones seleccionadas?")
    expect(dialog).to_contain_text("2 personas recibirán un correo nuevo")
    shot(page, "manage-invitations-bulk-resend")
    dialog.get_by_role("button", name="Cancelar").click()
    expect(dialog).to_have_count(0)
    row = invitations.get_by_role("row").filter(has_text=invited[0])
    row.get_by_role("button", name="Acciones").click()
    row.get_by_role("menuitem", name="Copiar enlace de invitación").click()
    dialog = page.get_by_role("dialog", name=f"Enlace de invitación para {invited[0]}")
    expect(dialog.get_by_label("Enlace de invitación")).to_be_visible()
    shot(page, "manage-invitation-link")
    dialog.get_by_role("button", name="Cerrar").click()

    main.get_by_role("button", name="Notificaciones").click()
    dialog = page.get_by_role("dialog", name="Notificaciones")
    expect(dialog.get_by_text("Nada sin leer.")).to_be_visible()
    expect(dialog.get_by_role("group", name="Cómo recibe los avisos")).to_be_visible()
    shot(page, "notifications")
    dialog.get_by_role("button", name="Cerrar").click()

    main.get_by_role("button", name=re.compile("Morgan Lee")).click()
    page.get_by_role("menuitem", name="Configuración del patrocinador").click()
    expect(page.get_by_role("heading", name="Configuración del patrocinador")).to_be_visible()
    expect(page.get_by_role("heading", name="Recordatorios de invitación")).to_be_visible()
    shot(page, "sponsor-settings")
