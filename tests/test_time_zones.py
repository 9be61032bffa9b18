"""Local time: stored in UTC, shown in the reader's zone (their own, else their sponsor's),
named where it matters; emails in the sponsor's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from scope import zones
from scope.accounts import link_emails
from scope.extensions import db
from scope.models import AccountToken, MailMessage, Sponsor, User, UserType
from scope.refusals import Refused
from scope.templating import format_date, format_datetime
from tests.helpers import element, elements, field_error, login, text_of, texts

HTMX = {"HX-Request": "true"}


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- the rule ----------------------------------------------------------------------------------


def test_times_cross_the_spring_change_in_the_zone_they_are_read_in():
    # New York moved its clocks from 02:00 EST to 03:00 EDT on March 8, 2026 (07:00 UTC).
    assert format_datetime(at(2026, 3, 8, 6, 30), zone="America/New_York") == (
        "Mar 8, 2026 at 01:30 EST"
    )
    assert format_datetime(at(2026, 3, 8, 7, 30), zone="America/New_York") == (
        "Mar 8, 2026 at 03:30 EDT"
    )
    # Europe changed three weeks later, and back on October 25.
    assert format_datetime(at(2026, 3, 29, 0, 30), zone="Europe/Madrid") == (
        "Mar 29, 2026 at 01:30 CET"
    )
    assert format_datetime(at(2026, 3, 29, 1, 30), zone="Europe/Madrid") == (
        "Mar 29, 2026 at 03:30 CEST"
    )
    assert format_datetime(at(2026, 10, 25, 0, 30), zone="Europe/Madrid", long=True) == (
        "October 25, 2026 at 02:30 CEST"
    )
    assert format_datetime(at(2026, 10, 25, 1, 30), zone="Europe/Madrid", long=True) == (
        "October 25, 2026 at 02:30 CET"
    )


def test_a_date_is_the_day_it_was_where_it_is_read():
    late_evening_in_california = at(2026, 11, 30, 3, 0)
    assert format_date(late_evening_in_california, zone="America/Los_Angeles") == "Nov 29, 2026"
    assert format_date(late_evening_in_california, zone="UTC") == "Nov 30, 2026"
    assert format_date(late_evening_in_california, zone="Asia/Tokyo") == "Nov 30, 2026"
    assert format_date(at(2026, 12, 31, 20, 0), zone="Pacific/Auckland", long=True) == (
        "January 1, 2027"
    )


def test_the_zones_offered_are_places_and_only_those_are_accepted():
    offered = zones.names()
    assert offered[0] == "UTC"
    assert {"America/New_York", "America/Chicago", "Europe/Madrid", "America/Puerto_Rico"} <= set(
        offered
    )
    assert not {"US/Eastern", "EST5EDT", "Etc/GMT+5", "posixrules"} & set(offered)
    assert zones.check("America/Chicago") == "America/Chicago" and zones.check("") is None
    for bad in ("US/Eastern", "Mars/Olympus", "../../etc/passwd", "america/chicago"):
        with pytest.raises(Refused):
            zones.check(bad)


def test_a_person_reads_their_own_zone_else_their_sponsors(app, make_sponsor, make_user):
    with app.app_context():
        sponsor = db.session.get(Sponsor, make_sponsor())
        user = db.session.get(User, make_user(sponsor_id=sponsor.id))
        assert zones.of(user) == "UTC"
        sponsor.time_zone = "America/Chicago"
        assert zones.of(user) == "America/Chicago"
        user.time_zone = "Europe/Madrid"
        assert zones.of(user) == "Europe/Madrid"
        db.session.rollback()


# --- staff set the sponsor's zone -------------------------------------------------------------


def sponsor_zone(app, sponsor_id) -> str:
    with app.app_context():
        return db.session.get(Sponsor, sponsor_id).time_zone


@pytest.mark.parametrize("htmx", [False, True])
def test_staff_set_the_sponsors_time_zone(app, staff, htmx):
    page = staff.get("/settings", htmx=False)
    assert page.status_code == 200
    assert "Time zone" in texts(page, "h2") and "UTC" in text_of(page, "#sponsor-time-zone")
    form = staff.get("/settings/time-zone")
    select = element(form, "select[name=time_zone]")
    assert element(form, "label[for=time_zone]").text_content().strip() == "Time zone"
    assert "America" in [group.get("label") for group in select.cssselect("optgroup")]
    assert select.cssselect("option[selected]")[0].get("value") == "UTC"

    response = staff.post("/settings/time-zone", {"time_zone": "America/Chicago"}, htmx=htmx)
    if htmx:
        assert response.status_code == 200
        assert "America/Chicago" in text_of(response, "#sponsor-time-zone")
    else:
        assert response.status_code == 302 and response.headers["Location"] == "/settings"
    assert sponsor_zone(app, staff.sponsor_id) == "America/Chicago"
    assert re.search(r"now \d\d:\d\d C[SD]T", text_of(staff.get("/settings"), "#sponsor-time-zone"))


@pytest.mark.parametrize("choice", ["Mars/Olympus", "US/Eastern", "", "x" * 5000])
def test_a_zone_not_on_the_list_is_refused_beside_the_field(app, staff, choice):
    response = staff.post("/settings/time-zone", {"time_zone": choice})
    assert response.status_code == 422
    assert field_error(response, "time_zone") in {
        "Choose a time zone from the list.",
        "Choose a time zone.",
    }
    assert sponsor_zone(app, staff.sponsor_id) == "UTC"


def test_the_settings_are_on_the_staff_account_menu_only(app, staff, make_user, make_org):
    menu = [a.text_content() for a in elements(staff.get("/settings"), "#account-menu a")]
    assert "Sponsor settings" in menu
    org = make_org(staff.sponsor_id)
    make_user(
        "sue@partner.test",
        sponsor_id=staff.sponsor_id,
        organization_id=org,
        user_type=UserType.SUPERVISOR,
    )
    partner = login(app, "sue@partner.test")
    assert "Sponsor settings" not in partner.get("/my/account").get_data(as_text=True)
    assert partner.get("/settings").status_code == 403
    assert partner.post("/settings/time-zone", data={"time_zone": "Asia/Tokyo"}).status_code in {
        400,
        403,
    }
    assert sponsor_zone(app, staff.sponsor_id) == "UTC"


# --- pages read in the viewer's zone ---------------------------------------------------------


def set_last_login(app, user_id, moment):
    with app.app_context():
        db.session.get(User, user_id).last_login_at = moment
        db.session.commit()


def test_staff_pages_show_dates_in_the_sponsors_zone_or_the_viewers_own(app, staff, make_user):
    person = make_user("late@riverbend.test", sponsor_id=staff.sponsor_id, first_name="Lee")
    set_last_login(app, person, at(2026, 11, 30, 3, 0))  # Nov 29 in California

    def last_login_shown() -> tuple[str, str]:
        moment = element(staff.get("/manage/users?q=late", htmx=False), "tr time")
        return moment.text_content(), moment.get("datetime")

    assert last_login_shown() == ("Nov 30, 2026", "2026-11-30T03:00:00+00:00")
    staff.post("/settings/time-zone", {"time_zone": "America/Los_Angeles"})
    assert last_login_shown() == ("Nov 29, 2026", "2026-11-30T03:00:00+00:00")
    staff.post("/my/account/time-zone", {"time_zone": "Asia/Tokyo"})
    assert last_login_shown() == ("Nov 30, 2026", "2026-11-30T03:00:00+00:00")


# --- a person's own zone on My account -------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_a_person_chooses_their_zone_and_can_go_back_to_the_sponsors(app, staff, htmx):
    staff.post("/settings/time-zone", {"time_zone": "America/Chicago"})
    card = text_of(staff.get("/my/account", htmx=False), "#account-time-zone")
    assert "America/Chicago (your sponsor's)" in card
    form = staff.get("/my/account/time-zone")
    first = element(form, "select[name=time_zone] option")
    assert (first.get("value"), first.text_content()) == ("", "Your sponsor's: America/Chicago")

    response = staff.post("/my/account/time-zone", {"time_zone": "America/New_York"}, htmx=htmx)
    assert response.status_code == (200 if htmx else 302)
    card = text_of(staff.get("/my/account", htmx=False), "#account-time-zone")
    assert "America/New York" in card and "sponsor" not in card
    with app.app_context():
        assert db.session.get(User, staff.user_id).time_zone == "America/New_York"

    staff.post("/my/account/time-zone", {"time_zone": ""}, htmx=htmx)
    with app.app_context():
        assert db.session.get(User, staff.user_id).time_zone is None


def test_a_person_cannot_choose_a_zone_off_the_list(app, staff):
    response = staff.post("/my/account/time-zone", {"time_zone": "Europe/Atlantis"})
    assert response.status_code == 422
    assert field_error(response, "time_zone") == "Choose a time zone from the list."
    with app.app_context():
        assert db.session.get(User, staff.user_id).time_zone is None


# --- emails state expiry in the sponsor's zone -----------------------------------------------


def test_an_email_states_its_expiry_in_the_sponsors_zone(app, staff, make_user, make_org):
    org = make_org(staff.sponsor_id)
    person = make_user(
        "pat@partner.test",
        sponsor_id=staff.sponsor_id,
        organization_id=org,
        user_type=UserType.SUPERVISOR,
        with_password=False,
    )
    staff.post("/settings/time-zone", {"time_zone": "America/Chicago"})
    staff.post("/my/account/time-zone", {"time_zone": "Asia/Tokyo"})  # the sender's own: unused
    with app.app_context():
        user = db.session.get(User, person)
        link_emails.send_set_password_link(user, actor_id=staff.user_id)
        db.session.commit()
        message = db.session.scalars(
            db.select(MailMessage).where(MailMessage.kind == "set_password")
        ).one()
        token = db.session.scalars(
            db.select(AccountToken).where(AccountToken.user_id == person)
        ).one()
        expected = format_datetime(token.expires_at, long=True, zone="America/Chicago")
    assert re.search(r"at \d\d:\d\d C[SD]T$", expected)
    assert f"until {expected}" in message.body_text
    assert f"until {expected}" in message.body_html
