"""A partner's "What you share" page a section at a time: the portal's page and the
counselor's preview of it are paged the same way, from the same partner view.

The partner view's filter (``views.partner_reader``, what ``views.partner_view`` builds a whole
view from) decides every item here: paging never filters anything, it only chooses which of
the view's items a page shows. Which sections have items, how many, and whether the view is
long enough to be paged come from its outline, which builds no line and, once everyone has
submitted, is kept per process (``services.OUTLINES``); a page then builds the items of its
one section only, from the parts of the answers that section reads (a partner's page of the
inventory with five others holds some 1,700 lines, a section's a tenth of them). A short
result stays on one page; a long one opens with a list of the sections that have shared items
(``?section=N``, N as in the portal's ``/s/N``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from counselor.questionnaires.engine import Definition
from counselor.reveal.views import PartnerReader, SharedItem

#: a view with more lines than this (each shared item's heading plus its match and answer
#: lines) is shown a section at a time. On a phone (390 px) an item of one line is about
#: 150 px tall, so 80 lines are some 40 items, about eight screens: a couple's 30-item
#: exercise or the intake stays on one page, as does a triad's short exercise, while the
#: desire inventory (202 items) is 400 lines for a couple and some 1,700 for six partners
PAGE_LINES = 80


class NoSuchSection(LookupError):
    """A ``section`` asked for that names no section with shared items."""


@dataclass(frozen=True)
class SectionLink:
    """A section with shared items, as the contents list and the pager name it."""

    #: its place in the questionnaire, from 1 (``?section=N``)
    number: int
    title: str
    #: how many of the view's items are in it
    count: int


@dataclass
class SharedPage:
    """What one page of a partner's shared view shows."""

    #: the items on this page: every item of the view, one section's, or none (the contents)
    items: list[SharedItem]
    #: how many items the whole view shows
    total: int = 0
    #: whether the view is long enough to be shown a section at a time
    paged: bool = False
    #: the sections with shared items, in questionnaire order (only when paged)
    sections: list[SectionLink] = field(default_factory=list)
    #: the section shown, or None (the whole view, or the contents of a paged one)
    current: SectionLink | None = None
    previous: SectionLink | None = None
    next: SectionLink | None = None

    @property
    def contents(self) -> bool:
        """The first page of a paged view: the own scores and the list of sections."""
        return self.paged and self.current is None


def shared_page(view: PartnerReader, defn: Definition, asked: str, missing: str = "") -> SharedPage:
    """The page of ``view`` that ``asked`` (the ``section`` query value, "" for none) names.

    ``defn`` is the definition the view reads. Raises NoSuchSection(``missing``, the sentence
    its reader is shown) for a value that is not the number of a section with shared items (a
    section with none is neither listed nor reachable), paged or not; a short view is shown
    whole for any good value. Only the items the page shows are built."""
    outline = view.outline(PAGE_LINES)
    sections = [
        SectionLink(s.index + 1, s.title or defn.title, outline.counts[s.index])
        for s in defn.sections
        if s.index in outline.counts
    ]
    total = sum(outline.counts.values())
    current = None
    if asked:
        current = next((s for s in sections if asked == str(s.number)), None)
        if current is None:
            raise NoSuchSection(missing or f"no section {asked!r} with shared items")
    if outline.lines <= PAGE_LINES or len(sections) < 2:
        return SharedPage(view.items(), total)
    if current is None:
        return SharedPage([], total, True, sections)
    at = sections.index(current)
    return SharedPage(
        view.items({current.number - 1}),
        total,
        True,
        sections,
        current,
        sections[at - 1] if at > 0 else None,
        sections[at + 1] if at + 1 < len(sections) else None,
    )
