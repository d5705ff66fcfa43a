"""Bearer tokens: one statement finds the token with everything a request asks of it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from counterfeits.roles import is_analyst, is_brand_owner
from referrals.authentication import find_token, hash_token
from referrals.choices import AccessAction
from referrals.models import AccessLogEntry
from referrals.services import issue_token, log_access
from tests.factories import UserFactory

# The roles that come with the token, the one-round-trip log line: PostgreSQL's, not SQLite's.
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL-only statement"
)


def test_an_authority_token_comes_with_its_client_and_authority_in_one_statement(
    django_assert_num_queries, us_token
):
    # Given an authority's token
    token, raw = us_token

    # When it is looked up by its hash
    with django_assert_num_queries(1):
        found = find_token(hash_token(raw))

        # Then its client and authority are in hand, with every field of each
        assert found.pk == token.pk
        assert found.client.authority.code == "US-IPRC"
        assert found.client.authority.active is True
        assert found.client.user is None
        assert found.is_usable()
    assert found.key_hash == token.key_hash
    assert found.created_at == token.created_at


@postgresql_only
@pytest.mark.django_db
def test_a_users_token_comes_with_the_user_and_their_roles(django_assert_num_queries):
    # Given a brand owner's and an analyst's tokens
    owner = UserFactory(groups=["brand_owner"])
    analyst = UserFactory(groups=["analyst", "reviewer"])
    _, owner_raw = issue_token(user=owner)
    _, analyst_raw = issue_token(user=analyst)

    # When each is looked up
    with django_assert_num_queries(2):
        owner_token = find_token(hash_token(owner_raw))
        analyst_token = find_token(hash_token(analyst_raw))

        # Then the user and their role groups came with it: a permission check asks nothing
        assert owner_token.client.user == owner
        assert owner_token.client.authority is None
        assert is_brand_owner(owner_token.client.user)
        assert not is_analyst(owner_token.client.user)
        assert is_analyst(analyst_token.client.user)
    assert owner_token.client.user.password == owner.password
    assert owner_token.client.user.is_active is True


@postgresql_only
@pytest.mark.django_db
def test_a_user_in_no_group_has_no_roles_without_asking_again(django_assert_num_queries):
    # Given a token of a user in no group
    _, raw = issue_token(user=UserFactory())

    # When it is looked up and the roles are checked
    with django_assert_num_queries(1):
        user = find_token(hash_token(raw)).client.user
        roles = (is_analyst(user), is_brand_owner(user))

    # Then the user has none
    assert roles == (False, False)


@pytest.mark.django_db
def test_an_unknown_token_is_not_found():
    assert find_token(hash_token("no-such-token")) is None


@postgresql_only
@pytest.mark.django_db(transaction=True)  # no transaction open, as in a request
def test_a_list_reads_the_token_and_the_page_and_writes_its_log_line_in_three_statements(
    bearer, us_token, make_referral
):
    # Given an authority with a referral whose token was used a moment ago
    make_referral("US")
    client = bearer(us_token[1])
    client.get("/api/v1/referrals/")  # last_used_at is written at most once a minute

    # When it lists its referrals
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/referrals/?page_size=100")

    # Then: the token (with client and authority), the page, the log line
    assert response.status_code == 200
    assert len(ctx.captured_queries) == 3, [q["sql"][:80] for q in ctx.captured_queries]
    assert ctx.captured_queries[-1]["sql"].startswith("SET LOCAL synchronous_commit TO OFF;")
    entry = AccessLogEntry.objects.filter(action=AccessAction.LIST).latest("id")
    assert entry.token_id == us_token[0].pk
    assert entry.client_id == us_token[0].client_id


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_list_log_line_outside_a_transaction_commits_without_changing_the_session(us_token):
    # Given no transaction open (as in a request)
    token, _ = us_token
    assert connection.get_autocommit()

    # When a list's log line is written without waiting for the WAL flush
    entry = log_access(
        action=AccessAction.LIST,
        referral=None,
        ip="2001:db8::1",
        user_agent="puller/1.0",
        token=token,
        durable=False,
    )

    # Then it is stored as an ordinary log line, and later statements commit durably again
    stored = AccessLogEntry.objects.get(pk=entry.pk)
    assert (stored.action, stored.ip, stored.user_agent) == (
        AccessAction.LIST,
        "2001:db8::1",
        "puller/1.0",
    )
    assert (stored.token_id, stored.client_id, stored.user_id) == (token.pk, token.client_id, None)
    assert stored.at == entry.at
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone()[0] == "on"


@postgresql_only
@pytest.mark.django_db
def test_a_list_log_line_inside_a_transaction_leaves_its_durability_alone(us_token):
    # Given a transaction open around the log line (a caller's own writes in it)
    token, _ = us_token
    assert connection.in_atomic_block

    # When a list's log line is written "without waiting for the WAL flush"
    entry = log_access(
        action=AccessAction.LIST, referral=None, ip="2001:db8::1", user_agent="", token=token,
        durable=False,
    )  # fmt: skip

    # Then it is stored, and the caller's transaction still commits durably
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone()[0] == "on"
