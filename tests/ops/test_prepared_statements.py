"""``config.rows.execute_prepared``: a hot statement planned once per connection, same answers."""

import pytest
from django.db import connection, transaction

from config.rows import execute_prepared
from tests.factories import BrandFactory

SQL = "SELECT id, name FROM counterfeits_brand WHERE id = ANY(%s) AND name <> %s ORDER BY id"


def run(sql: str, params: list, *, prepared: bool) -> list:
    with connection.cursor() as cursor:
        if prepared:
            execute_prepared(cursor, sql, params)
        else:
            cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.mark.django_db
def test_a_prepared_statement_answers_as_the_statement_does():
    brands = [BrandFactory(name=name) for name in ("Acme", "O'Brien %s", "Zeta")]
    params = [[b.pk for b in brands], "Zeta"]

    assert run(SQL, params, prepared=True) == run(SQL, params, prepared=False)
    assert run(SQL, params, prepared=True) == [(b.pk, b.name) for b in brands[:2]]
    assert run(SQL, [[], "Zeta"], prepared=True) == []


@pytest.mark.django_db
def test_it_is_prepared_once_per_connection():
    brand = BrandFactory()
    sent: list[str] = []

    def note(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        sent.append(sql.split(" ", 1)[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        for _ in range(3):
            assert run(SQL, [[brand.pk], ""], prepared=True) == [(brand.pk, brand.name)]

    assert sent.count("PREPARE") <= 1  # none if an earlier test on this connection prepared it
    assert sent.count("EXECUTE") == 3


@pytest.mark.django_db(transaction=True)
def test_it_survives_a_rolled_back_transaction_and_a_new_connection():
    brand = BrandFactory()
    expected = [(brand.pk, brand.name)]

    # prepared inside a transaction that rolls back: still there afterwards
    with transaction.atomic():
        assert run(SQL, [[brand.pk], "x"], prepared=True) == expected
        transaction.set_rollback(True)
    assert run(SQL, [[brand.pk], "x"], prepared=True) == expected

    # a new connection has nothing prepared: it is prepared again there
    connection.close()
    assert run(SQL, [[brand.pk], "x"], prepared=True) == expected


@pytest.mark.django_db
def test_with_prepared_statements_off_the_statement_is_sent_as_it_is(settings):
    settings.DB_PREPARED_STATEMENTS = False
    brand = BrandFactory()
    sent: list[str] = []

    def note(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        assert run(SQL, [[brand.pk], ""], prepared=True) == [(brand.pk, brand.name)]

    assert sent == [SQL]


@pytest.mark.django_db
def test_a_statement_with_a_literal_percent_is_refused_not_mangled(settings):
    settings.DB_PREPARED_STATEMENTS = True
    sql = "SELECT id FROM counterfeits_brand WHERE name LIKE 'a%%' AND id = %s"

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    with connection.cursor() as cursor, pytest.raises(ValueError, match="literal %"):
        execute_prepared(cursor, sql, [1])


PROBE = "SELECT v FROM rows_probe WHERE v > %s ORDER BY v"


@pytest.fixture
def probe_table():
    """A table of this connection's own (TEMP): the test may change its column's type."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE rows_probe (v integer)")
        cursor.execute("INSERT INTO rows_probe VALUES (1), (2), (3)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS rows_probe")


@pytest.mark.django_db(transaction=True)
def test_a_statement_dropped_on_the_server_is_prepared_again(probe_table):
    # DEALLOCATE ALL (or DISCARD ALL, as a pooler sends) drops what this process thinks it has.
    assert run(PROBE, [1], prepared=True) == [(2,), (3,)]
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert run(PROBE, [1], prepared=True) == [(2,), (3,)]
    assert run(PROBE, [2], prepared=True) == [(3,)]


@pytest.mark.django_db(transaction=True)
def test_a_statement_whose_result_type_changed_is_planned_again(probe_table):
    # A migration that changes a returned column's type: PostgreSQL refuses the old plan
    # ("cached plan must not change result type") on every connection that prepared it.
    assert run(PROBE, [1], prepared=True) == [(2,), (3,)]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE rows_probe ALTER COLUMN v TYPE bigint")
    assert run(PROBE, [1], prepared=True) == [(2,), (3,)]


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_failure_is_raised_and_the_next_use_recovers(probe_table):
    from django.db import DatabaseError

    assert run(PROBE, [1], prepared=True) == [(2,), (3,)]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE rows_probe ALTER COLUMN v TYPE bigint")
    # The transaction is already aborted by the failed EXECUTE: nothing may be retried in it.
    with pytest.raises(DatabaseError), transaction.atomic():
        run(PROBE, [1], prepared=True)
    assert run(PROBE, [1], prepared=True) == [(2,), (3,)]
    with transaction.atomic():
        assert run(PROBE, [2], prepared=True) == [(3,)]
