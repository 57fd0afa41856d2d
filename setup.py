"""Build step for the wheel: the folders that sit beside `lms/` in a checkout (migrations,
courses, certificate designs, interface catalogues) go into the package as `lms/shipped/`,
and the catalogues are compiled to .mo here, so an installed copy needs no checkout.
Everything else about the package is in pyproject.toml."""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED_FOLDERS = ("migrations", "courses", "certificates", "translations")
SHIPPED_FILES = ("alembic.ini",)
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", ".*")


def compile_catalogues(translations: Path) -> None:
    # Babel is a build requirement (pyproject.toml), so a wheel is the same wherever it is built.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in sorted(translations.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file, locale=po_path.parent.parent.name)
        with po_path.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, catalogue)


class BuildWithShippedFolders(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's own folders
            return
        shipped = Path(self.build_lib) / "lms" / "shipped"
        shutil.rmtree(shipped, ignore_errors=True)
        for name in SHIPPED_FOLDERS:
            shutil.copytree(ROOT / name, shipped / name, ignore=LEFT_OUT)
        for name in SHIPPED_FILES:
            shutil.copy2(ROOT / name, shipped / name)
        compile_catalogues(shipped / "translations")


setup(cmdclass={"build_py": BuildWithShippedFolders})
