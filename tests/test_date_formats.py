"""One clinic date format everywhere (issue 11, C22): ISO dates and 24-hour times in TIME_ZONE,
never the locale's "7 Dec 2026, 2:05 p.m." nor a browser's US default."""

import re
from datetime import UTC, datetime
from pathlib import Path

from django.template import Context, Template
from django.utils import formats

import fundushub

WHEN = datetime(2026, 12, 7, 14, 5, tzinfo=UTC)
SRC = Path(fundushub.__file__).parent


def test_default_date_and_datetime_formats_are_iso(settings):
    settings.TIME_ZONE = "UTC"
    assert formats.date_format(WHEN, "DATETIME_FORMAT") == "2026-12-07 14:05"
    assert formats.date_format(WHEN, "SHORT_DATETIME_FORMAT") == "2026-12-07 14:05"
    assert formats.date_format(WHEN.date()) == "2026-12-07"
    assert formats.time_format(WHEN.time()) == "14:05"


def test_a_template_shows_a_bare_datetime_in_the_sites_time_zone(settings):
    settings.TIME_ZONE = "Africa/Gaborone"  # UTC+2
    text = Template("{{ d }} | {{ d|date }}").render(Context({"d": WHEN}))
    assert text == "2026-12-07 16:05 | 2026-12-07"


def test_no_script_formats_dates_with_the_browsers_locale():
    scripts = (SRC / "static" / "fundushub").glob("*.js")
    found = [
        p.name for p in scripts if re.search(r"toLocale\w*String|Intl\.DateTime", p.read_text())
    ]
    assert found == []


def test_no_page_uses_the_browsers_date_picker():
    # <input type="date"> shows mm/dd/yyyy in a US browser whatever the page asks.
    templates = SRC.rglob("templates/**/*.html")
    assert [p.name for p in templates if 'type="date"' in p.read_text()] == []


def test_form_fields_show_dates_in_the_clinic_format_and_accept_the_local_one(settings):
    from django import forms

    settings.TIME_ZONE = "UTC"

    class Form(forms.Form):
        day = forms.DateField()
        at = forms.DateTimeField()

    rendered = str(Form(initial={"day": WHEN.date(), "at": WHEN})["day"])
    assert 'value="2026-12-07"' in rendered
    assert 'value="2026-12-07 14:05:00"' in str(Form(initial={"at": WHEN})["at"])
    form = Form({"day": "07/12/2026", "at": "2026-12-07 14:05"})
    assert form.is_valid() and form.cleaned_data["day"] == WHEN.date()
