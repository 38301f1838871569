"""QuerySet: a lazy, chainable selection of documents of one DongoCollection class.

Nothing touches the database until the QuerySet is evaluated (iterated,
counted, sliced to one element, updated …)::

    >>> from dongo import connect, DongoCollection
    >>> _ = connect("qs_doctest", uri="memory://")
    >>> class Person(DongoCollection):
    ...     collection = "qs_doctest_persons"
    >>> _ = Person.bulk_create([{"name": "ann", "age": 30}, {"name": "bob", "age": 40}])
    >>> qs = Person.filter(age__gte=21).order_by("-age")
    >>> qs.query
    {'age': {'$gte': 21}}
    >>> [p["name"] for p in qs]
    ['bob', 'ann']
    >>> Person.get_collection().drop()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Generic,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from .errors import DongoError, DongoResultError
from .lookups import compile_filter, compile_update, merge_filters

if TYPE_CHECKING:  # pragma: no cover
    from .collection import DongoCollection

__all__ = ["QuerySet", "normalize_sort", "SortSpec"]

T = TypeVar("T", bound="DongoCollection")

#: A field name (``'-age'`` for descending) or a list of (field, direction) pairs.
SortSpec = Union[str, Sequence[Union[str, Tuple[str, int]]], None]

_NOTHING = {"_id": {"$in": []}}  # matches no document: every document has an _id


def normalize_sort(sort: SortSpec) -> Optional[List[Tuple[str, Any]]]:
    """Turn a dongo sort spec into pymongo's list of ``(field, direction)`` pairs.

        >>> normalize_sort("name")
        [('name', 1)]
        >>> normalize_sort(["-age", ("name", 1)])
        [('age', -1), ('name', 1)]
        >>> normalize_sort({"age": -1}), normalize_sort(("age", -1))
        ([('age', -1)], [('age', -1)])
        >>> normalize_sort(None) is None
        True
    """
    if sort is None:
        return None
    if isinstance(sort, str):
        sort = [sort]
    elif isinstance(sort, Mapping):
        sort = list(sort.items())  # {'age': -1}: iterating it would drop the directions
    elif isinstance(sort, tuple) and len(sort) == 2 and isinstance(sort[0], str) and not isinstance(sort[1], str):
        sort = [sort]  # one ('age', -1) pair
    result: List[Tuple[str, Any]] = []
    for item in sort:
        if isinstance(item, str):
            if not item or item in ("-", "+"):
                raise DongoError(f"empty field name in sort {sort!r}")
            if item[0] == "-":
                result.append((item[1:], -1))
            else:
                result.append((item.lstrip("+"), 1))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            result.append((item[0], item[1]))
        else:
            raise DongoError(
                f"cannot sort by {item!r}: use a field name, '-field' for descending, "
                f"or a list of (field, direction) pairs like [('age', -1)]"
            )
    return result


class QuerySet(Generic[T]):
    """The documents of ``klass`` matching ``query``, fetched lazily.

    Build them with ``Model.filter(...)``; combine with ``|``, ``&`` and
    ``~``; refine with :meth:`filter`, :meth:`exclude`, :meth:`order_by` and
    slicing. ``Model.filter_or()``/``Model.filter_and()`` start an empty
    ``$or``/``$and`` that ``+=`` appends to.
    """

    def __init__(
        self,
        klass: "type[T]",
        query: Optional[Mapping[str, Any]] = None,
        *,
        combine: Optional[str] = None,
        sort: Optional[List[Tuple[str, Any]]] = None,
        skip: int = 0,
        limit: Optional[int] = None,
    ) -> None:
        self.klass = klass
        self._query: Dict[str, Any] = dict(query or {})
        self._combine = combine  # "$or"/"$and" for filter_or()/filter_and()
        self._parts: List[Dict[str, Any]] = []
        self._sort = sort
        self._skip = skip
        self._limit = limit

    @classmethod
    def _of(cls, klass: "type[T]", query: Dict[str, Any]) -> "QuerySet[T]":
        """A plain QuerySet on ``query``, which it takes over (no copy): the
        per-call path of ``Model.filter(...)``, so it skips ``__init__``'s work."""
        qs = cls.__new__(cls)
        qs.klass = klass
        qs._query = query
        qs._combine = None
        qs._parts = []
        qs._sort = None
        qs._skip = 0
        qs._limit = None
        return qs

    # ------------------------------------------------------------------ shape
    @property
    def query(self) -> Dict[str, Any]:
        """The MongoDB filter document this QuerySet sends."""
        if self._combine is None:
            return self._query
        if not self._parts:
            # An empty $and is "everything", an empty $or is "nothing"; the
            # server rejects empty arrays, so say it directly.
            return {} if self._combine == "$and" else dict(_NOTHING)
        if len(self._parts) == 1:
            return self._parts[0]
        return {self._combine: list(self._parts)}

    def _clone(self, query: Optional[Mapping[str, Any]] = None, **changes: Any) -> "QuerySet[T]":
        state = {"sort": self._sort, "skip": self._skip, "limit": self._limit}
        state.update(changes)
        return QuerySet(self.klass, self.query if query is None else query, **state)

    def _check_same(self, other: Any, op: str) -> "QuerySet[T]":
        if not isinstance(other, QuerySet):
            return NotImplemented  # type: ignore[return-value]
        if other.klass.get_collection_name() != self.klass.get_collection_name() or (
            other.klass.database != self.klass.database
        ):
            raise DongoError(
                f"cannot combine QuerySets of {self.klass.__name__} and "
                f"{other.klass.__name__} with {op}: they query different collections"
            )
        self._no_slice(op)
        other._no_slice(op)
        return other

    def __or__(self, other: "QuerySet[T]") -> "QuerySet[T]":
        other = self._check_same(other, "|")
        if other is NotImplemented:
            return NotImplemented
        return self._clone({"$or": _flatten("$or", self.query) + _flatten("$or", other.query)})

    def __and__(self, other: "QuerySet[T]") -> "QuerySet[T]":
        other = self._check_same(other, "&")
        if other is NotImplemented:
            return NotImplemented
        return self._clone(merge_filters(self.query, other.query))

    def __invert__(self) -> "QuerySet[T]":
        self._no_slice("~")
        return self._clone({"$nor": [self.query]})

    def __iadd__(self, other: "QuerySet[T]") -> "QuerySet[T]":
        if self._combine is None:
            raise DongoError(
                "+= appends to Model.filter_or() or Model.filter_and(); "
                "to combine two filters use qs1 | qs2 or qs1 & qs2"
            )
        other = self._check_same(other, "+=")
        if other is NotImplemented:
            return NotImplemented
        self._parts.append(other.query)
        return self

    def filter(self, **lookups: Any) -> "QuerySet[T]":
        """Narrow the selection: ``Person.filter(age__gte=21).filter(color='red')``."""
        self._no_slice("filter")
        return self._clone(merge_filters(self.query, compile_filter(lookups)))

    def exclude(self, **lookups: Any) -> "QuerySet[T]":
        """Drop documents matching all the lookups: ``Person.filter().exclude(color='red')``."""
        self._no_slice("exclude")
        if not lookups:
            return self._clone()  # excluding nothing (as in Django), not "everything"
        return self._clone(merge_filters(self.query, {"$nor": [compile_filter(lookups)]}))

    def order_by(self, *fields: Union[str, Tuple[str, int]]) -> "QuerySet[T]":
        """Sort by fields, ``-field`` descending: ``qs.order_by('-age', 'name')``."""
        self._no_slice("order_by")  # the slice was taken in the old order
        return self._clone(sort=normalize_sort(list(fields)) or None)

    def _no_slice(self, what: str) -> None:
        # A slice selects by position, which a filter document cannot express.
        if self._skip or self._limit is not None:
            raise DongoError(f"cannot use {what} on a sliced QuerySet; {what} first, then slice")

    def __getitem__(self, item: Union[int, slice]) -> Any:
        """``qs[5]`` is one instance (IndexError if absent); ``qs[:10]`` a limited QuerySet."""
        if isinstance(item, slice):
            if item.step not in (None, 1):
                raise DongoError("QuerySet slices cannot have a step")
            start = item.start or 0
            if start < 0 or (item.stop is not None and item.stop < 0):
                raise DongoError("QuerySets do not support negative indexes; order_by('-field') instead")
            skip = self._skip + start
            limit = None if item.stop is None else max(item.stop - start, 0)
            if self._limit is not None:
                room = max(self._limit - start, 0)
                limit = room if limit is None else min(limit, room)
            if limit == 0:
                return self._clone(dict(_NOTHING), skip=0, limit=None)
            return self._clone(skip=skip, limit=limit)
        if not isinstance(item, int):
            raise TypeError(
                f"QuerySet indexes must be int or slice, not {type(item).__name__}; to look "
                f"documents up by id use Model.map_by_ids([...]) or Model.map_by_uuids([...])"
            )
        if item < 0:
            raise DongoError("QuerySets do not support negative indexes; order_by('-field') instead")
        if self._limit is not None and item >= self._limit:
            raise IndexError("QuerySet index out of range")
        found = list(self.iter(skip=item, limit=1))
        if not found:
            raise IndexError("QuerySet index out of range")
        return found[0]

    # ------------------------------------------------------------- evaluation
    def _window(self, skip: Optional[int], limit: Optional[int]) -> Tuple[int, Optional[int]]:
        """The absolute (skip, limit) of ``skip``/``limit`` taken *within* this QuerySet's slice.

        ``Person.filter()[2:7].iter(skip=1, limit=10)`` reads documents 3..6:
        a skip counts from the slice's start and a limit never reaches past
        its end. A ``limit`` of 0 or None means none (as in pymongo); the
        returned limit is None for "unbounded" and 0 for "nothing left".
        """
        skip = skip or 0
        limit = limit or None
        if self._limit is not None:
            room = max(self._limit - skip, 0)
            limit = room if limit is None else min(limit, room)
        return self._skip + skip, limit

    def _find_kwargs(
        self, sort: SortSpec = None, limit: Optional[int] = None, skip: Optional[int] = None
    ) -> Optional[Dict[str, Any]]:
        """pymongo ``find`` options, or None when the slice leaves nothing to read."""
        options: Dict[str, Any] = {}
        order = normalize_sort(sort) if sort is not None else self._sort
        if order:
            options["sort"] = order
        skip, limit = self._window(skip, limit)
        if limit == 0:
            return None
        if skip:
            options["skip"] = skip
        if limit is not None:
            options["limit"] = limit
        return options

    def iter(
        self,
        timeout: bool = True,
        sort: SortSpec = None,
        limit: Optional[int] = None,
        skip: Optional[int] = None,
        projection: Optional[Union[Mapping[str, Any], Sequence[str]]] = None,
        **kwargs: Any,
    ) -> Iterator[T]:
        """Run the query and yield instances.

        ``timeout=False`` keeps the server cursor alive (pymongo's
        ``no_cursor_timeout``); ``sort`` is ``'name'``, ``'-age'`` or
        ``[('age', -1), ('name', 1)]``; other keywords go to ``find``.

            for p in Person.filter().iter(limit=10, sort='name'): ...
        """
        options = self._find_kwargs(sort, limit, skip)
        if options is None:
            return
        if not timeout:
            options["no_cursor_timeout"] = True
        if projection is not None:
            options["projection"] = projection
        options.update(kwargs)
        make = self.klass._from_db
        cursor = self.klass.get_collection().find(self.query, **options)
        try:
            for document in cursor:
                yield make(document)
        finally:
            cursor.close()

    def __iter__(self) -> Iterator[T]:
        return self.iter()

    def list(self, timeout: bool = True, **kwargs: Any) -> List[T]:
        """The results as a list: ``Person.filter(age=21).list(sort='-age')``."""
        return list(self.iter(timeout=timeout, **kwargs))

    def count(self, **kwargs: Any) -> int:
        """How many documents match (honouring slices): ``Person.filter(color='red').count()``."""
        skip, limit = self._window(kwargs.pop("skip", None), kwargs.pop("limit", None))
        if limit == 0:
            return 0
        if skip:
            kwargs["skip"] = skip
        if limit is not None:
            kwargs["limit"] = limit
        return self.klass.get_collection().count_documents(self.query, **kwargs)

    def exists(self) -> bool:
        """Whether at least one document matches (fetches at most one ``_id``)."""
        return bool(list(self.iter(limit=1, projection={"_id": 1})))

    def __bool__(self) -> bool:
        return self.exists()

    def first(self, sort: SortSpec = None, **kwargs: Any) -> Optional[T]:
        """The first match (by ``sort`` or the QuerySet's order) or ``None``.

            oldest = Person.filter().first(sort='-age')
        """
        if sort is None and not kwargs and self._sort is None and not self._skip and self._limit is None:
            # The commonest call, Model.filter(...).first(): no options to
            # build, and find_one's own fast path when it takes none.
            klass = self.klass
            query = self._query if self._combine is None else self.query
            document = klass.get_collection().find_one(query)
            return None if document is None else klass._from_db(document)
        options = self._find_kwargs(sort, skip=kwargs.pop("skip", None))
        if options is None:
            return None
        options.pop("limit", None)
        options.update(kwargs)
        document = self.klass.get_collection().find_one(self.query, **options)
        return None if document is None else self.klass._from_db(document)

    def first_or_die(self, sort: SortSpec = None, **kwargs: Any) -> T:
        """Like :meth:`first` but raises :class:`DongoResultError` when nothing matches."""
        found = self.first(sort=sort, **kwargs)
        if found is None:
            raise DongoResultError(
                f"no {self.klass.__name__} matches {self.query!r}; use first() to get None instead"
            )
        return found

    def _no_slice_write(self, what: str) -> None:
        if self._skip or self._limit is not None:
            raise DongoError(
                f"cannot {what} a sliced QuerySet: MongoDB updates/deletes take no skip/limit; "
                f"select the documents by a filter instead"
            )

    def update(self, **updates: Any) -> Any:
        """``$set`` fields on every match; returns pymongo's UpdateResult.

            Person.filter(age=21).update(drinking=True, nested__flag=1)
        """
        self._no_slice_write("update")
        return self.klass.get_collection().update_many(self.query, compile_update(updates))

    def inc(self, **amounts: Any) -> Any:
        """``$inc`` fields on every match: ``Person.filter().inc(age=1)``."""
        self._no_slice_write("inc")
        return self.klass.get_collection().update_many(self.query, compile_update(amounts, "$inc"))

    def delete(self, **kwargs: Any) -> Any:
        """Delete every match; returns pymongo's DeleteResult."""
        self._no_slice_write("delete")
        return self.klass.get_collection().delete_many(self.query, **kwargs)

    def map(self, term: str, **kwargs: Any) -> Dict[Any, List[T]]:
        """Group matches by the value of ``term`` (dotted paths allowed).

            Person.filter(age__gt=25).map('color')
            # {'red': [Person(...), Person(...)], 'blue': [Person(...)]}
        """
        groups: Dict[Any, List[T]] = {}
        for instance in self.iter(**kwargs):
            groups.setdefault(_hashable(instance.get(term)), []).append(instance)
        return groups

    def distinct(self, field: str) -> List[Any]:
        """The distinct values of ``field`` among matches (the server's ``distinct``)."""
        self._no_slice("distinct")  # the server's distinct takes no skip/limit
        return list(self.klass.get_collection().distinct(field, self.query))

    def values(self, *fields: str) -> List[Dict[str, Any]]:
        """Plain dicts of the given fields (all fields if none): ``qs.values('name', 'age')``."""
        projection: Optional[Dict[str, Any]] = None
        if fields:
            projection = {field: 1 for field in fields}
            if "_id" not in fields:
                projection["_id"] = 0
        options = self._find_kwargs()
        if options is None:
            return []
        if projection is not None:
            options["projection"] = projection
        return list(self.klass.get_collection().find(self.query, **options))

    def aggregate(self, pipeline: Sequence[Mapping[str, Any]], **kwargs: Any) -> List[Dict[str, Any]]:
        """Run ``pipeline`` on the selected documents (after its $match, sort and slice).

            Person.filter(age__gte=18).aggregate([{'$group': {'_id': '$color', 'n': {'$sum': 1}}}])
        """
        stages: List[Mapping[str, Any]] = []
        if self.query:
            stages.append({"$match": self.query})
        if self._sort:
            stages.append({"$sort": dict(self._sort)})
        if self._skip:
            stages.append({"$skip": self._skip})
        if self._limit is not None:
            stages.append({"$limit": self._limit})
        stages.extend(pipeline)
        return list(self.klass.get_collection().aggregate(stages, **kwargs))

    def __repr__(self) -> str:
        extra = ""
        if self._sort:
            extra += f" sort={self._sort!r}"
        if self._skip:
            extra += f" skip={self._skip}"
        if self._limit is not None:
            extra += f" limit={self._limit}"
        return f"<QuerySet {self.klass.__name__} {self.query!r}{extra}>"


def _flatten(op: str, query: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The branches of ``query`` if it is nothing but ``{op: [...]}``, else ``[query]``."""
    if len(query) == 1 and op in query:
        return list(query[op])
    return [query]


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, Mapping):
        return tuple((k, _hashable(v)) for k, v in value.items())
    return value
