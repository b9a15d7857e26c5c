"""Queries the ORM builds once per process.

On a hot path the ORM spends longer building and compiling a small query than the database
spends running it (on the booking check, about a millisecond against a tenth). A
``QueryTemplate`` builds its queryset once for each *shape* (whatever changes the SQL: which
filters apply, how many ids a list has), keeps the SQL, and runs it again with new values.
The values stand in the queryset as ``Param``s; everything else in it is fixed when the
shape is first built, so a value that changes from call to call must be a ``Param``.

On PostgreSQL the kept SQL also runs as a prepared statement (server-side binding; with
``DB_PREPARED_STATEMENTS``, the default, psycopg prepares it on its first run on each
connection): parsing and planning a small query cost the database more than running it.
"""

from collections.abc import Callable, Hashable
from contextlib import nullcontext
from functools import cached_property
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import BigIntegerField, Expression, Field, Model, QuerySet
from django.db.models.query import get_related_populators

from caresync.core.policy import Actor

ID = BigIntegerField()  # the type of a primary or foreign key ``Param``


class _Slot(NamedTuple):
    """Where a ``Param``'s value goes among a compiled query's parameters."""

    name: str
    field: Field
    index: int | None  # the position in a list value (``Param(many=...)``)

    def value(self, values: dict[str, Any], connection) -> Any:
        value = values[self.name]
        if self.index is not None:
            value = value[self.index]
        return self.field.get_db_prep_value(value, connection)


class Param(Expression):
    """A value given when the template runs: ``name`` in ``QueryTemplate.rows``, of the type
    ``output_field``; with ``many``, a list of that many values (for ``__in``)."""

    def __init__(self, name: str, output_field: Field, *, many: int | None = None):
        if many is not None and many < 1:
            raise ValueError("A list parameter has at least one value (the shape says so).")
        super().__init__(output_field=output_field)
        self.name = name
        self.many = many

    def as_sql(self, compiler, connection):
        if self.many is None:
            return "%s", [_Slot(self.name, self.output_field, None)]
        slots = [_Slot(self.name, self.output_field, index) for index in range(self.many)]
        return ", ".join(["%s"] * self.many), slots


class _Compiled:
    """One shape's SQL, its parameters (constants and ``_Slot``s) and the compiler, which
    converts the rows as the queryset would (dates from SQLite's text, say)."""

    def __init__(self, queryset: QuerySet, using: str):
        self.using = using
        self.compiler = queryset.query.get_compiler(using)
        try:
            self.sql, self.params = self.compiler.as_sql()
        except EmptyResultSet:  # the shape can match nothing (an empty list)
            self.sql, self.params = None, ()

    @cached_property
    def _layout(self) -> tuple[type[Model], slice, list[str], list]:
        """Where a row's model columns are, their attribute names and the populators of the
        ``select_related`` instances (as Django's ``ModelIterable`` reads them)."""
        compiler = self.compiler
        if compiler.annotation_col_map:
            raise ValueError("A template of model instances has no annotations.")
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        span = slice(fields[0], fields[-1] + 1)
        names = [column[0].target.attname for column in select[span]]
        return (
            klass_info["model"],
            span,
            names,
            get_related_populators(klass_info, select, self.using),
        )

    def parameters(self, values: dict[str, Any], connection) -> list:
        return [
            param.value(values, connection) if isinstance(param, _Slot) else param
            for param in self.params
        ]

    @cached_property
    def _converters(self) -> dict | None:
        """The converters of the selected columns, which ``results_iter`` would work out again
        on every call (None: composite fields, left to ``results_iter``)."""
        compiler = self.compiler
        columns = [column[0] for column in compiler.select[: compiler.col_count]]
        if compiler.has_composite_fields(columns):
            return None
        return compiler.get_converters(columns)

    def converted(self, fetched: list[tuple]) -> list[tuple]:
        """Fetched rows converted as the queryset converts them."""
        compiler = self.compiler
        if compiler.has_extra_select:
            fetched = [row[: compiler.col_count] for row in fetched]
        converters = self._converters
        if converters is None:
            return list(compiler.results_iter(results=[fetched], tuple_expected=True))
        if converters:
            fetched = compiler.apply_converters(fetched, converters)
        return [tuple(row) for row in fetched]

    def instances(self, fetched: list[tuple]) -> list[Model]:
        """Fetched rows as model instances, with their ``select_related`` ones."""
        model, span, names, populators = self._layout
        found = []
        for row in self.converted(fetched):
            instance = model.from_db(self.using, names, row[span])
            for populator in populators:
                populator.populate(row, instance)
            found.append(instance)
        return found


class Read(NamedTuple):
    """One run of a template: its compiled shape, the values, and what to make of the
    fetched rows. ``together`` runs reads; ``QueryTemplate.rows`` and ``instances`` run one."""

    compiled: _Compiled
    values: dict[str, Any]
    result: Callable[[list[tuple]], Any]

    def then(self, function: Callable[[Any], Any]) -> "Read":
        """This read, its result passed through ``function``."""
        return self._replace(result=lambda fetched: function(self.result(fetched)))


def together(*reads: Read | None) -> list[Any]:
    """The results of ``reads`` that do not depend on one another, in order (None for a
    None read). On PostgreSQL they go to the database at once and come back in one round
    trip (psycopg's pipeline mode), instead of one round trip each."""
    pending = [read for read in reads if read is not None and read.compiled.sql is not None]
    fetched: dict[int, list[tuple]] = {}
    if pending:
        connection = connections[pending[0].compiled.using]
        cursors = [_cursor(connection) for _ in pending]
        try:
            with connection.wrap_database_errors, _pipeline(connection, len(pending)):
                for cursor, read in zip(cursors, pending, strict=True):
                    cursor.execute(
                        read.compiled.sql, read.compiled.parameters(read.values, connection)
                    )
                for cursor, read in zip(cursors, pending, strict=True):
                    fetched[id(read)] = cursor.fetchall()
        finally:
            for cursor in cursors:
                cursor.close()
    return [None if read is None else read.result(fetched.get(id(read), [])) for read in reads]


def _pipeline(connection, count: int):
    """psycopg's pipeline mode for more than one query on PostgreSQL."""
    if count > 1 and connection.vendor == "postgresql":
        return connection.connection.pipeline()
    return nullcontext()


def _cursor(connection):
    """Django's cursor; on PostgreSQL one binding values on the server, whose statements
    psycopg prepares (when the connection's ``prepare_threshold`` says so)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.validate_thread_sharing()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


class QueryTemplate:
    """``build(*shape)`` returns a queryset whose changing values are ``Param``s.
    ``rows(*shape, **values)`` runs that shape with those values and returns the rows as
    tuples, as a ``values_list`` queryset would; ``instances(...)``, the model instances of a
    model queryset (``select_related`` included; no annotations, no prefetching). Shapes are
    few by design (each is kept)."""

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._compiled: dict[tuple[str, tuple[Hashable, ...]], _Compiled] = {}

    def _shape(self, shape: tuple[Hashable, ...], using: str) -> _Compiled:
        compiled = self._compiled.get((using, shape))
        if compiled is None:
            compiled = self._compiled[(using, shape)] = _Compiled(self.build(*shape), using)
        return compiled

    def read(self, *shape: Hashable, using: str = DEFAULT_DB_ALIAS, **values: Any) -> Read:
        """The rows of that shape with those values, as tuples, when run (``together``)."""
        compiled = self._shape(shape, using)
        return Read(compiled, values, compiled.converted)

    def read_instances(
        self, *shape: Hashable, using: str = DEFAULT_DB_ALIAS, **values: Any
    ) -> Read:
        """The model instances of that shape with those values, when run (``together``)."""
        compiled = self._shape(shape, using)
        return Read(compiled, values, compiled.instances)

    def rows(self, *shape: Hashable, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple]:
        return together(self.read(*shape, using=using, **values))[0]

    def instances(self, *shape: Hashable, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list:
        return together(self.read_instances(*shape, using=using, **values))[0]


_ID_RANGE = range(1, 2**63)  # a primary key outside it matches no row


class ScopedLookup:
    """One row by primary key among those a listing selector (``listing(actor=...)``) lets
    an actor see, from a query template: the listing's own scoping, built once for each set
    of roles, with the actor's organization and user as values. ``filters``: fixed further
    conditions. Prefetches of the listing are dropped; ``select_related`` ones are kept."""

    def __init__(self, listing: Callable[..., QuerySet], **filters: Any):
        def build(roles: frozenset[str]) -> QuerySet:
            actor = Actor(
                user=Param("user", ID), organization=Param("organization", ID), roles=roles
            )
            return (
                listing(actor=actor)
                .prefetch_related(None)
                .filter(pk=Param("pk", ID), **filters)
                .order_by("pk")[:1]
            )

        self._template = QueryTemplate(build)

    def read(self, *, actor: Actor, pk: int) -> Read | None:
        """The row, or None, when run (``together``); None when none can match."""
        if actor.organization is None or pk not in _ID_RANGE:
            return None
        return self._template.read_instances(
            actor.roles,
            user=getattr(actor.user, "pk", None),
            organization=actor.organization.pk,
            pk=pk,
        ).then(_first)

    def get(self, *, actor: Actor, pk: int) -> Model | None:
        return together(self.read(actor=actor, pk=pk))[0]


def _first(found: list[Model]) -> Model | None:
    return found[0] if found else None
