"""How dates, times and counts read on every page and in every email: one format each."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache, lru_cache

from babel import Locale, dates, lists, numbers
from flask import Flask, current_app
from flask_babel import gettext
from jinja2 import Environment, Template, pass_context
from markupsafe import Markup, escape

from . import htmx, i18n, zones

_EXTENDS = re.compile(r"""\{%-?\s*extends\s+["']([^"']+)["']""")

# CLDR's formats: English "Nov 30, 2026" / "November 30, 2026", Spanish "30 nov 2026" /
# "30 de noviembre de 2026".
_DATE = {False: "medium", True: "long"}


def format_date(value: date, long: bool = False, zone: str | None = None) -> str:
    """ "Nov 30, 2026" in the reader's zone and language; long (emails): "November 30, 2026".
    A calendar day (a link's last day) is no moment: no zone moves it."""
    day = zones.local(value, zone).date() if isinstance(value, datetime) else value
    return _day(day, long)


def format_datetime(value: datetime, long: bool = False, zone: str | None = None) -> str:
    """ "Nov 30, 2026 at 09:05 EST": in the reader's zone, which it names."""
    moment = zones.local(value, zone)
    day = _day(moment.date(), long)
    clock = moment.strftime("%H:%M")
    return gettext("%(date)s at %(time)s %(zone)s", date=day, time=clock, zone=moment.tzname())


def _day(day: date, long: bool) -> str:
    """Babel's format_date, with the language's pattern looked up once (a table of dates asks
    for it on every row), and each day worded once per language: a page's dates repeat."""
    return _worded_day(i18n.current(), day, long)


@lru_cache(maxsize=4096)
def _worded_day(language: str, day: date, long: bool) -> str:
    locale, pattern = _date_pattern(language, long)
    return pattern.apply(day, locale)


@cache
def _date_pattern(language: str, long: bool) -> tuple[Locale, dates.DateTimePattern]:
    locale = Locale.parse(language)
    return locale, dates.get_date_format(_DATE[long], locale=locale)


@pass_context
def _date_filter(context, value: date, long: bool = False) -> str:
    return format_date(value, long, context.get("time_zone"))


@pass_context
def _datetime_filter(context, value: datetime, long: bool = False) -> str:
    return format_datetime(value, long, context.get("time_zone"))


@pass_context
def _when_filter(context, value: date, style: str = "date") -> Markup:
    """`{{ user.last_login_at | when }}`: a date (or with "datetime", a moment) as people read
    it, in a <time> element that says it as machines read it."""
    zone = context.get("time_zone")
    machine = (
        value.isoformat(timespec="seconds") if isinstance(value, datetime) else value.isoformat()
    )
    shown = format_date(value, zone=zone) if style == "date" else format_datetime(value, zone=zone)
    return Markup(f'<time datetime="{machine}">{escape(shown)}</time>')


def pluralize(count: int, singular: str, plural: str | None = None) -> str:
    """ "1 person", "1,200 people": the count and the word that goes with it."""
    word = singular if count == 1 else (plural or singular + "s")
    return f"{format_number(count)} {word}"


def format_number(value: int) -> str:
    """ "1,200" in English, "1.200" in Spanish: Babel's format_decimal, with the language's
    pattern looked up once (a table asks for a count on every row). Below 1,000 a whole
    number has no separator to place in any language (Latin digits): its digits."""
    if type(value) is int and 0 <= value < 1000:
        return str(value)
    locale, pattern = _number_pattern(i18n.current())
    return pattern.apply(value, locale, numbering_system="latn")


@cache
def _number_pattern(language: str) -> tuple[Locale, numbers.NumberPattern]:
    locale = Locale.parse(language)
    return locale, numbers.parse_pattern(locale.decimal_formats[None])


def format_list(items) -> str:
    """ "A, B, and C" in English, "A, B y C" in Spanish."""
    return lists.format_list([str(item) for item in items], locale=i18n.current())


def joined_by_and(items) -> str:
    """ "A and B and C" in English, "A y B y C" in Spanish."""
    words = [str(item) for item in items]
    text = words[0] if words else ""
    for word in words[1:]:
        text = gettext("%(first)s and %(then)s", first=text, then=word)
    return text


def render_block(template_name: str, block: str, **context) -> str:
    """One block of a page, found in the page or in a template it extends.

    The block sees every block of the chain, as it does when the whole page is drawn, so a
    dialog's body defined by a child is drawn by the "dialog" block of its parent.
    """
    app = current_app._get_current_object()
    app.update_template_context(context)
    template = app.jinja_env.get_template(template_name)
    ctx = template.new_context(context)
    for ancestor in _ancestors(template):
        for name, function in ancestor.blocks.items():
            ctx.blocks.setdefault(name, []).append(function)
    return app.jinja_env.concat(ctx.blocks[block][0](ctx))


def _ancestors(template: Template) -> list[Template]:
    """The templates this one extends, nearest first."""
    chain = []
    while parent := _parent_name(template.environment, template.name):
        template = template.environment.get_template(parent)
        chain.append(template)
    return chain


@cache
def _parent_name(env: Environment, name: str) -> str | None:
    """What a template extends, read once from its source (Jinja keeps no note of it)."""
    parent = _EXTENDS.search(env.loader.get_source(env, name)[0])
    return parent.group(1) if parent else None


def register(app: Flask) -> None:
    # A page is read in its viewer's zone, found once per page rather than for every date; an
    # email sets time_zone (its sponsor's) in its context, which wins over this.
    app.context_processor(lambda: {"time_zone": zones.viewer()})
    app.add_template_filter(_date_filter, "date")
    app.add_template_filter(_datetime_filter, "datetime")
    app.add_template_filter(_when_filter, "when")
    app.add_template_filter(pluralize, "pluralize")
    app.add_template_filter(format_number, "number")
    app.add_template_global(zones.label, "zone_label")
    app.add_template_global(zones.clock, "zone_clock")
    app.add_template_global(zones.of, "zone_of")
    # Templates ask the htmx module, never the request's headers.
    app.add_template_global(htmx.is_htmx)
