"""A partner's journey in Spanish: staff pick Español for an invitation, the person reads the
email, signs up and finds My account in Spanish, on a phone as well as a desktop."""

import re
import secrets

from helpers import create_employer, nav, new_password, pick_organization, unique_email
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
