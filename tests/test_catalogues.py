"""The interface catalogues: one per community language, complete, current, and valid.

A test fails when a catalogue is stale against the source (run `make i18n`), when
`msgfmt --check` finds an error, when a message is untranslated, or when a translation
drops a placeholder such as %(name)s."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from tests.test_marked_for_translation import KEYWORDS, ROOT

COMMUNITY_LANGUAGES = {"ur", "ar", "bn", "pa", "pl", "ro"}
CATALOGUES = sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po"))
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")


def source_messages() -> set:
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {message if isinstance(message, str) else message[0]
            for _f, _l, message, _c, _ctx in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)}


def load(path: Path):
    with path.open("rb") as source:
        return read_po(source, locale=path.parent.parent.name)


def test_every_community_language_has_a_catalogue():
    assert {path.parent.parent.name for path in CATALOGUES} >= COMMUNITY_LANGUAGES


@pytest.fixture(scope="module")
def extracted():
    return source_messages()


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_catalogue_is_current_with_the_source(path, extracted):
    ids = {message.id if isinstance(message.id, str) else message.id[0] for message in load(path) if message.id}
    missing, stale = extracted - ids, ids - extracted
    assert not missing and not stale, f"run `make i18n`: missing {sorted(missing)[:5]}, stale {sorted(stale)[:5]}"


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_msgfmt_check_passes(path):
    checked = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_every_message_is_translated_with_its_placeholders_and_plural_forms(path):
    catalogue = load(path)
    expected_plurals = get_plural(path.parent.parent.name).num_plurals
    assert catalogue.num_plurals == expected_plurals
    for message in catalogue:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        source = message.id if isinstance(message.id, str) else message.id[1]
        translations = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(message.id, tuple):
            assert len(translations) == expected_plurals, message.id
        for translation in translations:
            assert translation, f"untranslated: {message.id!r}"
            wanted = sorted(set(PLACEHOLDER.findall(source)) - {"%(num)d"})
            assert sorted(set(PLACEHOLDER.findall(translation)) - {"%(num)d"}) == wanted, (message.id, translation)
