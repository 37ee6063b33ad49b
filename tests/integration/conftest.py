"""Fixtures the integration tests share."""

import pytest

from ..factories import signed_in


@pytest.fixture
def reception(client):
    """The test client, signed in as a member of the Reception group."""
    return signed_in(client, "Reception")
