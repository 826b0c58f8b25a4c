"""What the comparison's counts, section list and "needs attention" list need of a whole
assignment, and a small per-process cache of it. Pure: no Flask, no database.

A long comparison shows one section at a time, but its counts by class, its section list and
its list of limit collisions and mismatches cover the whole questionnaire: every pair of every
desire item has to be classified for them (for six partners and the 202-item inventory, 3,000
pairs and about half of the page's CPU). Submitted answers do not change while a counselor
reads them, so the result is kept per process, keyed by everything it is computed from.

What is kept: per desire item, the classes of each pair (``"mismatch"``, ``"limit"``...) and
counts of them, and the overview's parts rendered from them alone (``Summary.derived``: the
counts by class, the section list, a couple's attention list). No answer, no note, no name:
an entry tells what the class filter tells, and nothing a partner typed. Why not stored in
the database at submit or release: that would be a second copy of data derived from answers,
to encrypt and keep in step with every reopen, answer upgrade, relationship change, key
rotation and erasure; a cache keyed by the inputs' versions is right by construction, and
costs one classification per worker process.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from counselor.questionnaires.engine import ANSWERABLE, Definition, walk
from counselor.reveal.matching import CLASS_ORDER, compare_item_pairs


@dataclass(frozen=True)
class Flagged:
    """A desire item with a class in at least one pair, and which pairs (their positions)."""

    link_id: str
    section_index: int
    pairs: tuple[int, ...]


@dataclass(frozen=True)
class Summary:
    """The classes of every desire item of an assignment, per pair, and counts of them."""

    #: per section index, its rows (answerable items)
    rows: Mapping[int, int]
    #: per desire item in document order: (link_id, section index, each pair's classes)
    desires: tuple[tuple[str, int, tuple[tuple[str, ...], ...]], ...]
    #: per class, the desire items with it in any pair (the number beside a class filter is
    #: the number of rows it shows)
    counts: Mapping[str, int]
    #: per class, per section index, its desire items with the class
    by_class: Mapping[str, Mapping[int, int]]
    #: what pages worked out from this summary alone, by name (``derived``): kept with it,
    #: and forgotten with it
    _derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def derived(self, name: Hashable, make: Callable[[], Any]) -> Any:
        """``make()``, worked out once per summary: a kept summary serves every request of
        its assignment until its answers, pairs or version change (callers must not mutate
        it, and ``name`` must hold whatever else the result depends on)."""
        if name not in self._derived:
            self._derived[name] = make()
        return self._derived[name]

    @property
    def row_count(self) -> int:
        """Rows of the whole comparison."""
        return sum(self.rows.values())

    def section_counts(self, wanted: str = "") -> Mapping[int, int]:
        """Per section index, its rows (with a class, its desire items that have it)."""
        return self.by_class.get(wanted, {}) if wanted else self.rows

    def flagged(self, cls: str) -> tuple[Flagged, ...]:
        """The desire items with ``cls`` in some pair, in document order."""
        return self._flagged.get(cls, ())

    @cached_property
    def _flagged(self) -> dict[str, tuple[Flagged, ...]]:
        # worked out once per summary (a summary is kept per process), not once per request
        out: dict[str, list[Flagged]] = {}
        for link_id, section_index, per_pair in self.desires:
            for cls in {c for classes in per_pair for c in classes}:
                pairs = tuple(n for n, classes in enumerate(per_pair) if cls in classes)
                out.setdefault(cls, []).append(Flagged(link_id, section_index, pairs))
        return {cls: tuple(items) for cls, items in out.items()}


def rows_of(defn: Definition) -> Mapping[int, int]:
    """Per section index, its rows (answerable items), for the sections that have any: the
    definition's alone, so worked out once per parsed definition (callers must not mutate it).
    How long a comparison is follows from it and the partners and pairs compared."""
    return defn.derived("comparison_rows", _count_rows)


def _count_rows(defn: Definition) -> dict[int, int]:
    rows: dict[int, int] = {}
    for section in defn.sections:
        for item in walk(section.items):
            if item["type"] in ANSWERABLE:
                rows[section.index] = rows.get(section.index, 0) + 1
    return rows


def summarize(
    defn: Definition, answers: Mapping[Any, Mapping[str, Any]], pairs: Iterable[tuple]
) -> Summary:
    """Classify every desire item of ``defn`` for ``pairs`` of partners (keys of ``answers``,
    each partner's visible answers), as the comparison's rows do."""
    pairs = list(pairs)
    rows = dict(rows_of(defn))
    desires = []
    counts = dict.fromkeys(CLASS_ORDER, 0)
    by_class: dict[str, dict[int, int]] = {c: {} for c in CLASS_ORDER}
    for section in defn.sections:
        for item in walk(section.items):
            if item["type"] != "desire":
                continue
            lid = item["link_id"]
            results = compare_item_pairs(item, {k: a.get(lid) for k, a in answers.items()}, pairs)
            per_pair = tuple(r.classes for r in results)
            desires.append((lid, section.index, per_pair))
            for c in {c for classes in per_pair for c in classes}:
                counts[c] += 1
                by_class[c][section.index] = by_class[c].get(section.index, 0) + 1
    return Summary(rows, tuple(desires), counts, by_class)


class SummaryCache:
    """A bounded, thread-safe LRU of summaries (or of other results derived from submitted
    answers, such as a partner view's outline) whose entries also expire after ``ttl``
    seconds (so that what is derived from a case's answers does not stay in a worker's memory
    long after the counselor stopped reading it, e.g. after the case was erased)."""

    def __init__(
        self, size: int = 256, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic
    ):
        self.size, self.ttl, self.clock = size, ttl, clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """The entry kept under ``key``, or ``make()``'s, kept from now on."""
        now = self.clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and now - hit[0] < self.ttl:
                self._entries.move_to_end(key)
                self.hits += 1
                return hit[1]
        made = make()  # outside the lock: two requests may both compute, both get the same
        with self._lock:
            self.misses += 1
            self._entries[key] = (now, made)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return made

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
