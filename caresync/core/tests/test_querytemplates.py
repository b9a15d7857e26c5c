from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import BigIntegerField, CharField, DateTimeField, F, Q

from caresync.accounts.models import Membership, User
from caresync.accounts.tests.factories import MembershipFactory, UserFactory
from caresync.core.querytemplates import Param, QueryTemplate, together

pytestmark = pytest.mark.django_db

JOINED = datetime(2026, 3, 29, 1, 30, 15, 250, tzinfo=UTC)


def _users(count: int | None, active_only: bool):
    """Users who joined before ``joined`` (of the ``count`` ids ``ids``), oldest first."""
    users = User.objects.filter(date_joined__lt=Param("joined", DateTimeField()))
    if count is not None:
        users = users.filter(pk__in=Param("ids", BigIntegerField(), many=count))
    if active_only:
        users = users.filter(is_active=True)
    return users.order_by("date_joined", "pk").values_list("email", "date_joined", "is_active")


@pytest.fixture
def users():
    return [
        UserFactory(email=f"u{n}@example.test", date_joined=JOINED + timedelta(days=n))
        for n in range(4)
    ]


def test_rows_are_the_querysets_rows_converted_alike(users):
    User.objects.filter(pk=users[1].pk).update(is_active=False)
    template = QueryTemplate(_users)
    joined = JOINED + timedelta(days=3)
    ids = [users[0].pk, users[1].pk, users[3].pk]

    rows = template.rows(len(ids), False, joined=joined, ids=ids)

    expected = list(
        User.objects.filter(date_joined__lt=joined, pk__in=ids)
        .order_by("date_joined", "pk")
        .values_list("email", "date_joined", "is_active")
    )
    assert (
        rows
        == expected
        == [
            ("u0@example.test", JOINED, True),
            ("u1@example.test", JOINED + timedelta(days=1), False),
        ]
    )
    assert template.rows(None, True, joined=joined) == [
        ("u0@example.test", JOINED, True),
        ("u2@example.test", JOINED + timedelta(days=2), True),
    ]


def test_each_shape_is_built_once_and_run_with_new_values(users, django_assert_num_queries):
    built = []

    def build(count, active_only):
        built.append((count, active_only))
        return _users(count, active_only)

    template = QueryTemplate(build)
    with django_assert_num_queries(3):
        first = template.rows(1, False, joined=JOINED + timedelta(days=9), ids=[users[2].pk])
        second = template.rows(1, False, joined=JOINED + timedelta(days=9), ids=[users[3].pk])
        none_yet = template.rows(1, False, joined=JOINED, ids=[users[3].pk])

    assert [email for email, *_ in first + second] == ["u2@example.test", "u3@example.test"]
    assert none_yet == []
    assert built == [(1, False)]


def test_a_shape_that_matches_nothing_runs_no_query(django_assert_num_queries):
    template = QueryTemplate(
        lambda: User.objects.filter(Q(pk__in=[]), email=Param("email", CharField()))
    )
    with django_assert_num_queries(0):
        assert template.rows(email="anyone@example.test") == []


def test_a_list_parameter_has_a_value():
    with pytest.raises(ValueError, match="at least one"):
        Param("ids", BigIntegerField(), many=0)


def test_a_missing_value_is_an_error(users):
    template = QueryTemplate(_users)
    with pytest.raises(KeyError, match="ids"):
        template.rows(2, False, joined=JOINED)


def test_instances_come_with_their_select_related_ones(django_assert_num_queries):
    memberships = [MembershipFactory(role=role) for role in ("patient", "staff")]
    template = QueryTemplate(
        lambda: Membership.objects.select_related("organization", "user").filter(
            user_id=Param("user", BigIntegerField())
        )
    )
    user = memberships[1].user
    with django_assert_num_queries(1):
        (found,) = template.instances(user=user.pk)
        assert (found.role, found.organization.slug, found.user.email) == (
            "staff",
            memberships[1].organization.slug,
            user.email,
        )
    assert found == memberships[1]
    assert not found._state.adding


def test_instances_refuse_annotations(users):
    template = QueryTemplate(
        lambda: User.objects.filter(pk=Param("pk", BigIntegerField())).annotate(twice=F("pk") * 2)
    )
    with pytest.raises(ValueError, match="no annotations"):
        template.instances(pk=users[0].pk)


def test_on_postgresql_a_template_runs_as_a_statement_prepared_once_per_connection(users):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    template = QueryTemplate(_users)
    for day in range(1, 4):
        template.rows(None, False, joined=JOINED + timedelta(days=day))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            ['%"accounts_user"."date_joined" < ($1)%'],
        )
        assert cursor.fetchall() == [(3,)]  # one statement, parsed once, run three times


def test_reads_together_give_what_each_gives_alone(users, django_assert_num_queries):
    User.objects.filter(pk=users[1].pk).update(is_active=False)
    template = QueryTemplate(_users)
    nobody = QueryTemplate(lambda: User.objects.filter(pk__in=[]).values_list("email"))
    joined = JOINED + timedelta(days=3)
    ids = [users[1].pk, users[2].pk]
    with django_assert_num_queries(2):  # each read is still a query of its own
        found = together(
            template.read(None, True, joined=joined),
            None,
            template.read(len(ids), False, joined=joined, ids=ids).then(len),
            nobody.read(),
        )
    assert found == [
        template.rows(None, True, joined=joined),
        None,
        len(template.rows(len(ids), False, joined=joined, ids=ids)),
        [],
    ]


def test_on_postgresql_reads_together_share_one_round_trip(users, monkeypatch):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("psycopg's pipeline mode is PostgreSQL's")
    connection.ensure_connection()
    raw = type(connection.connection)
    pipelines = []
    real = raw.pipeline

    def counted(self):
        pipelines.append(self)
        return real(self)

    monkeypatch.setattr(raw, "pipeline", counted)
    template = QueryTemplate(_users)
    first, second = together(
        template.read(None, False, joined=JOINED + timedelta(days=1)),
        template.read(None, False, joined=JOINED + timedelta(days=2)),
    )
    assert len(pipelines) == 1
    assert [email for email, *_ in first] == ["u0@example.test"]
    assert [email for email, *_ in second] == ["u0@example.test", "u1@example.test"]


def test_on_postgresql_a_failing_read_together_with_others_raises_and_spoils_nothing(users):
    from django.db import DatabaseError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("psycopg's pipeline mode is PostgreSQL's")
    template = QueryTemplate(_users)
    broken = QueryTemplate(  # a text value for a number column: the database refuses it
        lambda: User.objects.filter(pk=Param("pk", CharField())).values_list("email")
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        together(
            template.read(None, False, joined=JOINED),
            broken.read(pk="not a number"),
            template.read(None, False, joined=JOINED),
        )
    assert template.rows(None, False, joined=JOINED + timedelta(days=1)) == [
        ("u0@example.test", JOINED, True)
    ]
