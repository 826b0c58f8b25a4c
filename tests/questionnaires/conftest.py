"""Fixtures of the questionnaire, assignment, link and portal tests (issue 3).

The helpers these tests call live in ``tests.support``.
"""

from __future__ import annotations

import pytest

from tests.support import sync


@pytest.fixture
def library(app):
    """The built-in library, loaded."""
    sync()
