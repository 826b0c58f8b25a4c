"""Fixtures of the questionnaire, assignment, link and portal tests (issue 3).

The helpers these tests call live in ``tests.support``.
"""

from __future__ import annotations

import pytest

from tests.support import new_case, sync


@pytest.fixture
def library(app):
    """The built-in library, loaded."""
    sync()


@pytest.fixture
def couple(app, counselor_a):
    """A new case of two partners (Sam Rivera and Alex Novak) with the library loaded."""
    sync()
    return new_case(counselor_a)
