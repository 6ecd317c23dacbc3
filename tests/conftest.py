"""Shared fixtures for the whole suite."""

import pytest

from tests.factories import make_staff_user


@pytest.fixture
def staff_client(client, db):
    """A test client logged in as a staff member with every permission."""
    client.force_login(make_staff_user())
    return client
