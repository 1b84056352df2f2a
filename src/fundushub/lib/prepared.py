"""Querysets the ORM compiles to SQL once, which hot paths then run with new values.

On the camera API Django spent far longer compiling each small lookup than the database took to
answer it, five times per request (bench/RESULTS.md). A PreparedQuery builds its queryset once per
database with marker values and keeps the SQL the ORM wrote and the fields it selects; later runs
execute that SQL with the real values (prepared by the same fields) in the markers' places, apply
the same field converters and make the same model instances (`Model.from_db`). The SQL is always
the ORM's own, so it stays right for SQLite and PostgreSQL.

    DEVICE = PreparedQuery(
        CameraDevice,
        lambda token: CameraDevice.objects.filter(token_hash=token)[:1],
        token="token_hash",  # each value: the lookup path, from the model, it is compared to
    )
    device = DEVICE.first(token=digest)

Values must not be None (the ORM writes `IS NULL` for None: different SQL); querysets must
select one model's own columns (no select_related, values() or annotations).

This is the only module that reaches into the ORM's compiler. What it relies on is refused here
at compile time when it no longer holds, or caught by tests/camera/test_prepared_queries.py (each
prepared query runs exactly the SQL the ORM runs and gives the instances the ORM gives):
`query.get_compiler().as_sql()` with the markers, prepared by `Field.get_db_prep_value`, among its
parameters; `compiler.select` and `compiler.klass_info` after it; the columns selected in the
model's field order (`Model.from_db` matches deferred rows to fields by it);
the converters being the backend's and the column's (`get_db_converters` of each), as the
compiler's `get_converters` has them; and `connection.ops.integer_field_range` being the range
outside which the ORM writes other SQL for an integer.
"""

import itertools
import threading
import uuid
import weakref
from datetime import UTC, datetime, timedelta
from functools import cached_property

from django.db import DEFAULT_DB_ALIAS, connections

_serial = itertools.count(1)


def _field(model, path: str):
    """The field at the end of a lookup path such as "subject__subject_identifier" or "pk"."""
    field = None
    for part in path.split("__"):
        field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        model = field.related_model
    return field


def _target(field):
    """The field whose column a lookup on `field` compares: a foreign key's target's."""
    return field.target_field if field.is_relation else field


def _marker(field, connection):
    """A value no real query uses, of the type the field expects, unique to this call."""
    n = next(_serial)
    kind = _target(field).get_internal_type()
    if kind == "UUIDField":
        return uuid.UUID(int=(0xF00D << 112) + n)
    if kind.endswith(("AutoField", "IntegerField")):
        # Inside the range the ORM checks integers against: it writes other SQL for one outside.
        _, high = connection.ops.integer_field_range(kind)
        return (2**31 - 1 if high is None else high) - n
    if kind == "DateTimeField":
        return datetime(1901, 1, 1, tzinfo=UTC) + timedelta(microseconds=n)
    return f"\x1fprepared-marker-{n}\x1f"


class PreparedQuery:
    def __init__(self, model, build, **lookups: str):
        """build(**values) -> QuerySet of model; lookups: each value's lookup path from model."""
        self.model = model
        self.build = build
        self.lookups = lookups
        self._compiled = {}
        self._lock = threading.Lock()
        # weak keys: a connection closed and replaced takes its converters with it
        self._converters_by_connection = weakref.WeakKeyDictionary()

    @cached_property
    def fields(self) -> dict:
        """Resolved on first use: when a query is declared, a related model may not be loaded."""
        return {name: _field(self.model, path) for name, path in self.lookups.items()}

    def _prepare(self, name, value, connection):
        return _target(self.fields[name]).get_db_prep_value(value, connection, prepared=False)

    def _compile(self, alias: str):
        connection = connections[alias]
        markers = {name: _marker(field, connection) for name, field in self.fields.items()}
        queryset = self.build(**markers)
        if queryset.model is not self.model:
            raise ValueError(
                f"the query gives {queryset.model.__name__}, not {self.model.__name__}"
            )
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        columns = [expression for expression, _, _ in compiler.select]
        if compiler.klass_info is None or any(
            getattr(c, "target", None) is None or c.target.model is not queryset.model
            for c in columns
        ):
            raise ValueError("a prepared query selects one model's own columns only")
        by_value = {self._prepare(name, m, connection): name for name, m in markers.items()}
        slots = []
        for param in params:
            try:
                slots.append((by_value.get(param), param))
            except TypeError:  # an unhashable constant (a list) is never a marker
                slots.append((None, param))
        found = [name for name, _ in slots if name]
        if sorted(found) != sorted(self.fields):
            raise ValueError(f"each value must appear once in the query's parameters: {found}")
        attnames = [column.target.attname for column in columns]
        in_order = [f.attname for f in self.model._meta.concrete_fields if f.attname in attnames]
        if attnames != in_order:  # from_db matches a deferred row's values to fields by order
            raise ValueError(f"the ORM selected {attnames}, not in the model's field order")
        return self.model, sql, slots, columns, attnames

    def _converters(self, connection, columns) -> list:
        """Per connection (each thread has its own): what the ORM would apply to each column."""
        found = self._converters_by_connection.get(connection)
        if found is None:
            found = []
            for i, column in enumerate(columns):
                functions = connection.ops.get_db_converters(column)
                functions += column.get_db_converters(connection)  # as the compiler does
                if functions:
                    found.append((i, functions, column))
            with self._lock:
                self._converters_by_connection[connection] = found
        return found

    def all(self, using: str = DEFAULT_DB_ALIAS, **values) -> list:
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(using) or self._compile(using)
                self._compiled[using] = compiled
        model, sql, slots, columns, attnames = compiled
        connection = connections[using]
        params = [
            self._prepare(name, values[name], connection) if name else constant
            for name, constant in slots
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        converters = self._converters(connection, columns)
        objects = []
        for row in rows:
            if converters:
                row = list(row)
                for i, functions, column in converters:
                    for convert in functions:
                        row[i] = convert(row[i], column, connection)
            objects.append(model.from_db(using, attnames, row))
        return objects

    def first(self, using: str = DEFAULT_DB_ALIAS, **values):
        found = self.all(using, **values)
        return found[0] if found else None
