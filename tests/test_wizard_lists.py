"""The INVITE wizards' lists: kept per organization, nothing typed is lost, quick in batches.

Each rule here was a silent data error or a slow step: Change re-labelled rows to another
employer, SEND dropped a person typed and not added, a reload dropped what was typed, the
row form forgot the user type after every ADD+, unsent lists could not be found again, and
conflicts did not say what they conflicted with.
"""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scope.emails import split_addresses
from scope.extensions import db
from scope.invites import drafts
from scope.models import (
    Invitation,
    MailMessage,
    User,
    UserStatus,
    UserType,
    WizardDraft,
    WizardRow,
)
from tests.helpers import committed_soon_by_another, csrf_token, element, text_of

STRONG = "lantern meadow quartz saddle"


@pytest.fixture
def orgs(staff, make_org):
    return {
        "acme": make_org(staff.sponsor_id, "Acme Robotics"),
        "bluewater": make_org(staff.sponsor_id, "Bluewater Marine"),
    }


def choose(staff, org_id, slug="external"):
    step = "/invite/external" if slug == "external" else "/invite/managed/organization"
    return staff.post(step, {"organization": org_id}, htmx=True)


def add(staff, slug="external", **row):
    return staff.post(f"/invite/{slug}/rows", row, htmx=True)


def html_of(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def rows_by_org(app) -> dict[int, list[str]]:
    with app.app_context():
        rows = db.session.scalars(db.select(WizardRow).order_by(WizardRow.id)).all()
        found: dict[int, list[str]] = {}
        for row in rows:
            found.setdefault(row.partner_organization_id, []).append(row.email)
        return found


def invited(app) -> list[tuple[str, int]]:
    with app.app_context():
        return sorted(
            db.session.execute(db.select(Invitation.email, Invitation.partner_organization_id))
        )


# Rows belong to the organization they were added for ---------------------------------------


def test_change_never_moves_rows_to_another_organization(app, staff, orgs):
    choose(staff, orgs["acme"])
    for n in range(3):
        add(staff, user_type="supervisor", email=f"a{n}@acme.example")
    page = html_of(choose(staff, orgs["bluewater"]))
    assert "Organization: <strong>Bluewater Marine</strong>" in page
    assert "a0@acme.example" not in page  # not shown under Bluewater...
    assert "3 people for <strong>Acme Robotics</strong> not yet invited" in page  # ...but kept
    add(staff, user_type="mentor", email="b@bluewater.example", occupation="")
    add(staff, user_type="supervisor", email="b@bluewater.example")
    sent = html_of(staff.post("/invite/external/send", htmx=True))
    assert "1 invitation sent." in sent
    assert invited(app) == [("b@bluewater.example", orgs["bluewater"])]
    assert rows_by_org(app) == {orgs["acme"]: [f"a{n}@acme.example" for n in range(3)]}
    # The INVITE page leads back to Acme's list, which SEND sends to Acme.
    index = html_of(staff.get("/invite/"))
    assert "3 people for <strong>Acme Robotics</strong> not yet invited" in index
    continued = staff.post("/invite/external", {"organization": orgs["acme"]})
    assert continued.headers["Location"] == "/invite/external/users"
    assert "a2@acme.example" in html_of(staff.get("/invite/external/users"))
    assert "3 invitations sent." in html_of(staff.post("/invite/external/send", htmx=True))
    assert [org for _, org in invited(app)].count(orgs["acme"]) == 3
    assert rows_by_org(app) == {}
    assert "not yet invited" not in html_of(staff.get("/invite/"))


def test_one_address_is_in_one_list_at_a_time(app, staff, orgs):
    choose(staff, orgs["acme"])
    add(staff, user_type="supervisor", email="pat@example.org")
    choose(staff, orgs["bluewater"])
    refused = add(staff, user_type="supervisor", email="pat@example.org")
    assert refused.status_code == 422
    assert "already in the list for Acme Robotics" in html_of(refused)


def test_unsent_managed_lists_show_on_the_managed_tab(app, staff, orgs):
    choose(staff, orgs["acme"], "managed")
    add(staff, "managed", user_type="supervisor", first_name="Ana", last_name="Ruiz", email="")
    assert "1 person for <strong>Acme Robotics</strong> not yet created" in html_of(
        staff.get("/invite/managed")
    )


# Nothing typed is lost -------------------------------------------------------------------


def test_send_adds_a_person_typed_and_not_added_first(app, staff, orgs):
    choose(staff, orgs["acme"])
    add(staff, user_type="supervisor", email="one@acme.example")
    data = {"user_type": "administrator", "email": "typed@acme.example", "occupation": ""}
    answer = html_of(staff.post("/invite/external/send", data, htmx=True))
    assert "2 invitations sent." in answer
    assert [email for email, _ in invited(app)] == ["one@acme.example", "typed@acme.example"]


def test_send_with_a_typed_person_who_is_refused_sends_nothing(app, staff, orgs, make_user):
    make_user("taken@acme.example", sponsor_id=staff.sponsor_id)
    choose(staff, orgs["acme"])
    add(staff, user_type="supervisor", email="one@acme.example")
    response = staff.post(
        "/invite/external/send", {"user_type": "supervisor", "email": "taken@acme.example"}
    )
    assert response.status_code == 422
    html = html_of(response)
    assert "already has an account with this address" in html
    assert 'value="taken@acme.example"' in html  # the row form keeps what was typed
    assert invited(app) == [] and rows_by_org(app) == {orgs["acme"]: ["one@acme.example"]}


def test_a_half_typed_row_survives_a_reload(app, staff, orgs):
    choose(staff, orgs["acme"])
    typed = {"user_type": "mentor", "email": "half@acme.e", "occupation": "", "message": "Hi"}
    assert staff.post("/invite/external/typed", typed, htmx=True).status_code == 204
    page = html_of(staff.get("/invite/external/users"))
    assert 'value="half@acme.e"' in page
    assert re.search(r'<option selected value="mentor">|<option value="mentor" selected', page)
    assert re.search(r">\s*Hi</textarea>", page)


def test_a_keep_sent_before_send_answered_brings_nothing_back(app, staff, orgs):
    """The page's last keep can reach the server after SEND (it waited for the keep before
    it): it holds the person and message just sent, and must not restore them."""
    choose(staff, orgs["acme"])
    page = html_of(staff.get("/invite/external/users"))
    assert 'name="sent_batches" value="0"' in page
    person = {"user_type": "supervisor", "email": "sent@acme.example", "message": "Welcome aboard"}
    answer = html_of(staff.post("/invite/external/send", person, htmx=True))
    assert "1 invitation sent." in answer and 'name="sent_batches" value="1"' in answer
    late = {**person, "sent_batches": "0"}
    assert staff.post("/invite/external/typed", late, htmx=True).status_code == 204
    with app.app_context():
        draft = db.session.scalar(db.select(WizardDraft))
        assert (draft.typed, draft.message, draft.sent_batches) == (
            {"user_type": "supervisor"},  # kept for the next person, as SEND left it
            None,
            1,
        )
    page = html_of(staff.get("/invite/external/users"))
    assert "sent@acme.example" not in page.split('id="row-form"', 1)[1].split("</form>")[0]
    assert "Welcome aboard" not in page
    # A count no page could carry changes nothing either, without an error.
    for forged in ("9" * 30, "-1", "x", "²", ""):
        answer = staff.post("/invite/external/typed", {**late, "sent_batches": forged}, htmx=True)
        assert answer.status_code == 204
    with app.app_context():
        assert db.session.scalar(db.select(WizardDraft.typed)) == {"user_type": "supervisor"}
    # What the page drawn after SEND keeps is kept.
    now = {"user_type": "supervisor", "email": "next@acme.e", "message": "Hi", "sent_batches": "1"}
    assert staff.post("/invite/external/typed", now, htmx=True).status_code == 204
    page = html_of(staff.get("/invite/external/users"))
    assert 'value="next@acme.e"' in page and re.search(r">\s*Hi</textarea>", page)


@pytest.mark.real_commits  # a second connection competes
def test_a_keep_read_before_a_send_commits_waits_for_it_and_changes_nothing(app, staff, orgs):
    """The count is compared as the draft is stored when the keep writes, not as it was read:
    a SEND committing meanwhile (SQLite takes no row lock on a read) makes the keep stale."""
    choose(staff, orgs["acme"])
    staff.get("/invite/external/users")
    with app.app_context():
        draft = db.session.scalar(db.select(WizardDraft))
        assert draft.sent_batches == 0
        send = db.update(WizardDraft).values(sent_batches=WizardDraft.sent_batches + 1)
        with committed_soon_by_another(send):
            assert drafts.hold_if_current(draft, "0") is False
        db.session.rollback()
        assert drafts.hold_if_current(db.session.scalar(db.select(WizardDraft)), "1") is True
        db.session.rollback()


def test_add_keeps_the_user_type_and_occupation_for_the_next_person(app, staff, orgs):
    electrician = _occupation(app, staff)
    choose(staff, orgs["acme"])
    page = html_of(add(staff, user_type="mentor", email="m1@acme.example", occupation=electrician))
    form = page.split('id="row-form"', 1)[1].split("</form>", 1)[0]
    assert (
        re.search(r'<option (selected )?value="mentor"( selected)?>', form)
        .group(0)
        .count("selected")
    )
    assert (
        re.search(rf'<option (selected )?value="{electrician}"( selected)?>', form)
        .group(0)
        .count("selected")
    )
    assert 'name="email"' in form and 'value="m1@acme.example"' not in form
    # The first field of the row form takes the focus for the next person.
    first = re.search(r"<(select|input)[^>]*>", form.split('class="row-fields"', 1)[1]).group(0)
    assert 'name="user_type"' in first and "data-autofocus" in first


def _occupation(app, staff) -> str:
    from scope.models import Occupation

    with app.app_context():
        return str(
            db.session.scalar(
                db.select(Occupation.id).where(
                    Occupation.sponsor_id == staff.sponsor_id, Occupation.name == "Electrician"
                )
            )
        )


# Conflicts say what they conflict with ---------------------------------------------------


def test_a_deactivated_account_says_so_and_offers_reactivate(app, staff, orgs, make_user):
    user_id = make_user(
        "gone@acme.example",
        sponsor_id=staff.sponsor_id,
        user_type=UserType.SUPERVISOR,
        status=UserStatus.DEACTIVATED,
        organization_id=orgs["acme"],
    )
    choose(staff, orgs["acme"])
    html = html_of(add(staff, user_type="supervisor", email="gone@acme.example"))
    assert "account with this address is deactivated" in html and "already has" not in html
    assert (
        f'hx-post="/manage/users/{user_id}/reactivate"' in html and ">Reactivate</button>" in html
    )
    answer = staff.post(f"/manage/users/{user_id}/reactivate", {"view": "notice"}, htmx=True)
    assert answer.status_code == 200 and "reactivated." in html_of(answer)
    assert "<tr" not in html_of(answer)


@pytest.mark.parametrize(
    "typed", ["ana@acme.example, ben@acme.example", "ana@acme.example ben@acme.example"]
)
def test_several_addresses_in_email_point_to_addresses(staff, orgs, typed):
    choose(staff, orgs["acme"])
    response = add(staff, user_type="supervisor", email=typed)
    assert response.status_code == 422
    html = html_of(response)
    assert "Enter one address here" in html and "paste them into Addresses" in html
    assert "invalid characters" not in html


# Many at once ----------------------------------------------------------------------------


def test_a_pasted_list_of_twenty_with_two_bad_adds_eighteen(app, staff, orgs):
    choose(staff, orgs["acme"])
    good = [f"Person {n} <p{n}@acme.example>" for n in range(17)] + ['"Lopez, Maria" <m@acme.e>']
    bad = ["not-an-address", "p3@acme.example"]  # the second is a duplicate of the list
    text = "\n".join(good[:9]) + "\n" + ", ".join(good[9:]) + "; " + "; ".join(bad)
    response = staff.post(
        "/invite/external/addresses",
        {"user_type": "provider", "occupation": "", "addresses": text},
        htmx=True,
    )
    assert response.status_code == 200  # some were added: a refusal would change nothing
    html = html_of(response)
    assert "18 people added." in html and "2 addresses were not added" in html
    assert "<strong>not-an-address</strong>: Enter a valid email address." in html
    assert "<strong>p3@acme.example</strong>: This address is already in the list." in html
    textarea = re.search(r"<textarea[^>]*name=\"addresses\"[^>]*>(.*?)</textarea>", html, re.S)
    assert textarea.group(1).split() == bad
    with app.app_context():
        rows = db.session.scalars(db.select(WizardRow)).all()
        assert len(rows) == 18 and {r.user_type for r in rows} == {UserType.PROVIDER}
        assert "m@acme.e" in {r.email for r in rows}


def test_an_empty_pasted_list_says_what_to_do(staff, orgs):
    choose(staff, orgs["acme"])
    response = staff.post(
        "/invite/external/addresses", {"user_type": "provider", "addresses": " ,; \n"}, htmx=True
    )
    assert response.status_code == 422
    assert "Paste one or more email addresses." in html_of(response)


def test_a_list_with_nothing_to_add_changes_nothing_and_keeps_the_message_shown(app, staff, orgs):
    choose(staff, orgs["acme"])
    response = staff.post(
        "/invite/external/addresses",
        {"user_type": "provider", "addresses": "-253\n8190715", "message": "See you Monday"},
        htmx=True,
    )
    assert response.status_code == 422
    html = html_of(response)
    assert "2 addresses were not added" in html and "See you Monday" in html
    with app.app_context():
        assert db.session.scalar(db.select(WizardRow.id)) is None
        assert db.session.scalars(db.select(WizardDraft.message)).all() == [None]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300))
def test_any_pasted_text_is_split_without_error(text):
    for address in split_addresses(text):
        assert address == address.strip() and address
        assert not any(separator in address for separator in "\n\r")


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    text=st.lists(
        st.one_of(
            st.emails(),
            st.text(max_size=30),
            st.builds(lambda n, e: f"{n} <{e}>", st.text(max_size=10), st.emails()),
        ),
        max_size=8,
    ).map(lambda parts: ",".join(parts))
)
def test_any_pasted_list_is_added_or_refused_never_a_500(app, staff, orgs, text):
    choose(staff, orgs["acme"])
    response = staff.post(
        "/invite/external/addresses", {"user_type": "supervisor", "addresses": text}, htmx=True
    )
    assert response.status_code in (200, 422)
    with app.app_context():
        db.session.execute(db.delete(WizardRow))
        db.session.commit()


# A personal message ----------------------------------------------------------------------


def test_a_personal_message_goes_with_the_batch_escaped_everywhere(app, staff, orgs):
    choose(staff, orgs["acme"])
    add(staff, user_type="supervisor", email="pat@acme.example")
    message = 'Welcome! <script>alert("x")</script>\nSee you Monday & bring boots.'
    answer = staff.post("/invite/external/send", {"message": message}, htmx=True)
    assert "1 invitation sent." in html_of(answer)
    with app.app_context():
        mail = db.session.scalar(db.select(MailMessage))
        assert db.session.scalar(db.select(Invitation.message)) == message
    assert message in mail.body_text
    assert "<script>" not in mail.body_html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in mail.body_html
    path = re.search(r"http://scope\.test(/join/\S+)", mail.body_text).group(1)
    page = app.test_client().get(path).get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "See you Monday &amp; bring boots." in page
    # The message went with that batch: the next one starts without it.
    assert "Welcome!" not in html_of(staff.get("/invite/external/users"))


def test_a_personal_message_past_a_thousand_characters_is_refused(app, staff, orgs):
    choose(staff, orgs["acme"])
    add(staff, user_type="supervisor", email="pat@acme.example")
    response = staff.post("/invite/external/send", {"message": "x" * 1001}, htmx=True)
    assert response.status_code == 422
    assert "Use at most 1,000 characters." in html_of(response)
    assert invited(app) == []


def test_the_sign_up_page_shows_who_wrote_the_message(app, staff, orgs):
    choose(staff, orgs["acme"])
    add(staff, user_type="supervisor", email="pat@acme.example")
    staff.post("/invite/external/send", {"message": "Glad to have you."}, htmx=True)
    with app.app_context():
        body = db.session.scalar(db.select(MailMessage.body_text))
    path = re.search(r"http://scope\.test(/join/\S+)", body).group(1)
    client = app.test_client()
    page = client.get(path).get_data(as_text=True)
    assert "Glad to have you." in page and "— Sam " in page
    form = {
        "first_name": "Pat",
        "last_name": "Lee",
        "password": STRONG,
        "confirm_password": STRONG,
        "csrf_token": csrf_token(page),
    }
    assert client.post(path, data=form).status_code == 302


def test_send_right_after_add_does_not_add_the_same_person_twice(app, staff, orgs):
    """SEND clicked before the page showed ADD+'s cleared form posts that person again."""
    choose(staff, orgs["acme"])
    row = {"user_type": "supervisor", "email": "Pat@Acme.example"}
    add(staff, **row)
    answer = html_of(staff.post("/invite/external/send", row, htmx=True))
    assert "1 invitation sent." in answer
    assert invited(app) == [("pat@acme.example", orgs["acme"])]


# A page that no longer shows the list as it is -----------------------------------------------


def _shown(page) -> dict[str, str]:
    """The hidden fields a wizard page posts with its row form: which list it showed."""
    return {
        name: element(page, f'#row-form input[name="{name}"]').get("value")
        for name in ("sent_batches", "organization_shown")
    }


def _typed(page, field: str) -> str | None:
    return element(page, f'#row-form input[name="{field}"]').get("value")


def test_a_page_of_one_organization_adds_and_sends_nothing_after_another_page_changed_it(
    app, staff, orgs
):
    choose(staff, orgs["acme"])
    tab_a = _shown(staff.get("/invite/external/users"))
    assert tab_a == {"sent_batches": "0", "organization_shown": str(orgs["acme"])}
    choose(staff, orgs["bluewater"])  # a second tab
    tab_b = _shown(add(staff, user_type="supervisor", email="b1@blue.example"))
    assert tab_b["organization_shown"] == str(orgs["bluewater"])

    typed = {"user_type": "supervisor", "email": "a1@acme.example", "message": "Hi", **tab_a}
    for answer in (
        add(staff, **typed),
        staff.post("/invite/external/addresses", {**typed, "addresses": "a2@acme.e"}, htmx=True),
        staff.post("/invite/external/send", typed, htmx=True),
    ):
        assert answer.status_code == 409
        assert text_of(answer, "[role=alert]") == (
            "The organization was changed to Bluewater Marine on another page. Nothing was "
            "added or sent: check the list below, then try again."
        )
        # The page is drawn as the list is now, with what was typed still in the form.
        assert "b1@blue.example" in text_of(answer, "table")
        assert _typed(answer, "email") == "a1@acme.example"
        assert _shown(answer) == tab_b
    assert staff.post("/invite/external/typed", typed, htmx=True).status_code == 204
    assert rows_by_org(app) == {orgs["bluewater"]: ["b1@blue.example"]}
    assert invited(app) == []
    with app.app_context():
        draft = db.session.scalar(db.select(WizardDraft).where(WizardDraft.kind == "external"))
        assert (draft.typed, draft.message) == ({"user_type": "supervisor"}, None)

    # Drawn again, the page works: its post says which list it showed.
    answer = staff.post("/invite/external/send", {**typed, **tab_b}, htmx=True)
    assert "2 invitations sent." in text_of(answer)
    assert invited(app) == [
        ("a1@acme.example", orgs["bluewater"]),
        ("b1@blue.example", orgs["bluewater"]),
    ]


def test_a_csv_checked_on_a_page_of_another_organization_adds_nothing(app, staff, orgs):
    choose(staff, orgs["acme"])
    tab_a = _shown(staff.get("/invite/external/users"))["organization_shown"]
    choose(staff, orgs["bluewater"])
    csv = b"user_type,email,occupation\nsupervisor,c@acme.example,\n"

    def upload(shown: str):
        return staff.post(
            "/invite/external/upload",
            {"csv_file": (io.BytesIO(csv), "people.csv"), "organization_shown": shown},
            htmx=True,
            content_type="multipart/form-data",
        )

    refused = upload(tab_a)
    assert refused.status_code == 409
    assert "changed to Bluewater Marine on another page" in text_of(refused, "[role=alert]")
    held = {"held": "anything", "organization_shown": tab_a}
    assert staff.post("/invite/external/upload/valid", held, htmx=True).status_code == 409
    assert rows_by_org(app) == {}
    # The same file from a page of the organization chosen now is added.
    assert upload(str(orgs["bluewater"])).status_code == 200
    assert rows_by_org(app) == {orgs["bluewater"]: ["c@acme.example"]}


@pytest.mark.parametrize("slug", ["external", "managed"])
def test_a_second_send_of_a_page_already_sent_sends_nothing(app, staff, orgs, slug):
    """A double click, or SEND from a second tab drawn before the first tab's SEND."""
    choose(staff, orgs["acme"], slug)
    page = _shown(staff.get(f"/invite/{slug}/users"))
    person = {"user_type": "supervisor", "first_name": "Ana", "last_name": "Ruiz", **page}
    person["email"] = "ana@acme.example" if slug == "external" else ""
    first = staff.post(f"/invite/{slug}/send", person, htmx=True)
    assert ("1 managed user created." if slug == "managed" else "1 invitation sent.") in (
        text_of(first)
    )

    again = staff.post(f"/invite/{slug}/send", person, htmx=True)
    assert again.status_code == 409
    said = "already created" if slug == "managed" else "already sent"
    assert said in text_of(again, "[role=alert]")
    assert _typed(again, "first_name" if slug == "managed" else "email") in ("Ana", person["email"])
    made = User.first_name == "Ana" if slug == "managed" else Invitation.email == person["email"]
    with app.app_context():
        model = User if slug == "managed" else Invitation
        assert db.session.scalar(db.select(db.func.count()).select_from(model).where(made)) == 1


def test_a_second_person_of_the_same_name_typed_under_the_first_is_created_too(app, staff, orgs):
    choose(staff, orgs["acme"], "managed")
    ana = {"user_type": "supervisor", "first_name": "Ana", "last_name": "Ruiz", "email": ""}
    page = add(staff, "managed", **ana)
    listed = element(page, '#row-form input[name="listed_up_to"]').get("value")
    assert listed != "0"
    answer = staff.post(
        "/invite/managed/send", {**ana, **_shown(page), "listed_up_to": listed}, htmx=True
    )
    assert "2 managed users created." in text_of(answer)
    with app.app_context():
        count = db.select(db.func.count()).select_from(User).where(User.last_name == "Ruiz")
        assert db.session.scalar(count) == 2


def test_send_right_after_add_from_the_page_before_it_creates_the_person_once(app, staff, orgs):
    """The page ADD+ was clicked on listed no one; SEND from it posts the person again."""
    choose(staff, orgs["acme"], "managed")
    before = staff.get("/invite/managed/users")
    shown = {**_shown(before), "listed_up_to": "0"}
    assert element(before, '#row-form input[name="listed_up_to"]').get("value") == "0"
    ana = {"user_type": "supervisor", "first_name": "Ana", "last_name": "Ruiz", "email": ""}
    add(staff, "managed", **ana, **shown)
    answer = staff.post("/invite/managed/send", {**ana, **shown}, htmx=True)
    assert "1 managed user created." in text_of(answer)
    with app.app_context():
        count = db.select(db.func.count()).select_from(User).where(User.last_name == "Ruiz")
        assert db.session.scalar(count) == 1
