"""Sessions as iCalendar (.ics): one file per session, and a feed of the sessions a trainer
runs that calendar apps can subscribe to. Built with the icalendar library, which folds
long lines and escapes commas, semicolons and newlines as RFC 5545 requires."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from lms.models import Workshop


def calendar(workshops: Iterable[Workshop], *, name: str, title_of: Callable[[Workshop], str],
             page_of: Callable[[Workshop], str], base_url: str, now: datetime) -> bytes:
    host = urlsplit(base_url).hostname or "prevent-lms"
    feed = Calendar()
    feed.add("prodid", "-//Prevent LMS//Sessions//EN")
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("x-wr-calname", name)
    for workshop in workshops:
        event = Event()
        # Stable, so a calendar that imported the session updates it rather than adding a copy.
        event.add("uid", f"workshop-{workshop.id}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", workshop.starts_at)
        event.add("dtend", workshop.ends_at)
        event.add("summary", title_of(workshop))
        event.add("location", workshop.venue or workshop.online_link)
        event.add("url", page_of(workshop))
        details = [workshop.online_link] if workshop.online_link and workshop.venue else []
        if workshop.notes:
            details.append(workshop.notes)
        if details:
            event.add("description", "\n\n".join(details))
        event.add("status", "CANCELLED" if workshop.cancelled_at else "CONFIRMED")
        feed.add_component(event)
    return feed.to_ical()
