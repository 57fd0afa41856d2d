"""The templates' translations and number formats, which lms.i18n looks up once a page and
remembers per number and locale (issue 13), say what flask-babel would have said."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask import render_template_string
from flask_babel import force_locale, format_number, get_locale, refresh

from lms import i18n

LANGUAGES = ["en_GB", "ur", "ar", "bn", "pa", "pl", "ro"]
NUMBERS = [0, 1, 7, 42, 999, 1000, 1234567, -3, 2.5, 1.0, Decimal("12345.678")]


@pytest.mark.parametrize("language", LANGUAGES)
def test_numberformat_gives_what_flask_babel_gives_in_every_language(app, language):
    with app.test_request_context("/"), force_locale(language):
        template = "{% for n in numbers %}[{{ n|numberformat }}]{% endfor %}"
        expected = "".join(f"[{format_number(number)}]" for number in NUMBERS)
        assert render_template_string(template, numbers=NUMBERS) == expected
        # Asked again (now from the remembered answers), the same.
        assert render_template_string(template, numbers=NUMBERS) == expected


def test_a_remembered_number_is_not_given_in_another_locale(app):
    with app.test_request_context("/"):
        with force_locale("en_GB"):
            assert i18n.number_format(1234567) == "1,234,567"
        with force_locale("pl"):
            assert i18n.number_format(1234567) == format_number(1234567) != "1,234,567"


def test_a_page_is_translated_in_the_locale_in_force_when_each_string_is_drawn(app):
    template = "{{ _('Sign out') }}|{{ ngettext('%(num)d minute', '%(num)d minutes', 2) }}"
    with app.test_request_context("/", headers={"Accept-Language": "pl"}):
        polish = render_template_string(template)
        assert str(get_locale()) == "pl" and "Sign out" not in polish
        with force_locale("ur"):
            urdu = render_template_string(template)
        assert urdu != polish and "Sign out" not in urdu
        # Back in the request's own locale, and again after the locale is worked out afresh.
        assert render_template_string(template) == polish
        refresh()
        assert render_template_string(template) == polish
    with app.test_request_context("/"):
        assert render_template_string(template) == "Sign out|2 minutes"
