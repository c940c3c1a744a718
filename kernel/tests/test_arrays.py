"""The array literal the history queries send instead of a 10,000-element list parameter."""

import pytest
from django.db import connection

from kernel.arrays import text_array

AWKWARD = ["plain", 'quote"inside', "back\\slash", "comma,here", "{braces}", "NULL", " spaced ", "", "日本", '\\"']


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_value_comes_back_unchanged_from_postgresql():
    with connection.cursor() as cursor:
        cursor.execute("SELECT unnest(%s::text[])", [text_array(AWKWARD)])
        assert [row[0] for row in cursor.fetchall()] == AWKWARD


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_empty_list_is_an_empty_array():
    with connection.cursor() as cursor:
        cursor.execute("SELECT cardinality(%s::text[])", [text_array([])])
        assert cursor.fetchone()[0] == 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_none_is_null_and_the_text_null_stays_text():
    with connection.cursor() as cursor:
        cursor.execute("SELECT unnest(%s::text[])", [text_array([None, "NULL", "x"])])
        assert [row[0] for row in cursor.fetchall()] == [None, "NULL", "x"]
