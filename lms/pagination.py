"""One page of a query's results, so long lists stay light on a phone."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

PER_PAGE = 50


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number(raw: str | None) -> int:
    """The page asked for in the URL; anything odd means the first page."""
    # isascii: str.isdigit() accepts characters such as "²" that int() refuses.
    return int(raw) if raw and raw.isascii() and raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def paginate(db: Session, query: Select, number: int, per_page: int = PER_PAGE) -> Page:
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    number = min(max(1, number), max(1, -(-total // per_page)))
    items = db.scalars(query.limit(per_page).offset((number - 1) * per_page)).unique().all()
    return Page(items=list(items), number=number, per_page=per_page, total=total)
