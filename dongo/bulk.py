"""Deferred writes: DongoBulk collects write models, DongoLazyUpdater records field changes.

Nothing is sent until ``save()``, which sends ONE ``bulk_write`` per
collection (pymongo write models, in the order they were added)::

    >>> from dongo import connect, DongoCollection
    >>> _ = connect("bulk_doctest", uri="memory://")
    >>> class Person(DongoCollection):
    ...     collection = "bulk_doctest_persons"
    >>> joe, jill = Person.new(name="joe", age=30), Person.new(name="jill", age=40)
    >>> bulk = Person.bulk()
    >>> _ = bulk.update_one(joe, name="joejoe")
    >>> _ = bulk.inc_one(jill, age=1)
    >>> bulk.save().modified_count
    2
    >>> Person.refresh_all_from_db([joe, jill])
    >>> joe["name"], jill["age"]
    ('joejoe', 41)
    >>> Person.get_collection().drop()
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from pymongo.operations import DeleteMany, DeleteOne, ReplaceOne, UpdateOne

from .errors import DongoCollectionError, DongoError
from .lookups import compile_filter, compile_update

if TYPE_CHECKING:  # pragma: no cover
    from .collection import DongoCollection

__all__ = ["DongoBulk", "DongoLazyUpdater"]

_WriteModel = Union[UpdateOne, DeleteOne, DeleteMany, ReplaceOne]


def _target(instance: "DongoCollection", what: str) -> Dict[str, Any]:
    _id = instance._data.get("_id")  # what instance.get("_id") reads, minus the call
    if _id is None:
        raise DongoCollectionError(
            f"cannot {what} a {type(instance).__name__} that has no _id; insert() it first"
        )
    return {"_id": _id}


class DongoBulk:
    """Write operations collected for one ``bulk_write`` per collection.

    ``ops`` may seed it with pymongo write models for ``klass``'s collection.
    ``bulk += other`` (or :meth:`take`) moves another bulk's or lazy
    updater's operations into this one; ``a + b`` moves both into a new bulk.
    """

    def __init__(self, klass: "type[DongoCollection]", ops: Optional[List[_WriteModel]] = None) -> None:
        self.klass = klass
        # (database, collection) → (class, write models); insertion ordered.
        self._groups: Dict[Tuple[Optional[str], str], Tuple[type, List[_WriteModel]]] = {}
        for op in ops or ():
            self.add(op)

    def _ops_for(self, klass: type) -> List[_WriteModel]:
        key = (klass.database, klass.get_collection_name())
        if key not in self._groups:
            self._groups[key] = (klass, [])
        return self._groups[key][1]

    def add(self, op: _WriteModel, klass: Optional[type] = None) -> _WriteModel:
        """Queue a ready pymongo write model for ``klass`` (default: the bulk's class)."""
        self._ops_for(klass or self.klass).append(op)
        return op

    def __len__(self) -> int:
        return sum(len(ops) for _, ops in self._groups.values())

    @property
    def ops(self) -> List[_WriteModel]:
        """All queued write models, in order within each collection."""
        return [op for _, ops in self._groups.values() for op in ops]

    def update_one(self, instance: "DongoCollection", **fields: Any) -> UpdateOne:
        """Queue ``$set`` of ``fields`` (``a__b`` is ``a.b``) on ``instance``'s document."""
        return self.add(UpdateOne(_target(instance, "update"), compile_update(fields)), type(instance))

    def inc_one(self, instance: "DongoCollection", **amounts: Any) -> UpdateOne:
        """Queue ``$inc`` of ``amounts`` on ``instance``'s document."""
        return self.add(UpdateOne(_target(instance, "inc"), compile_update(amounts, "$inc")), type(instance))

    def delete_one(self, instance: "DongoCollection") -> DeleteOne:
        """Queue deleting ``instance``'s document."""
        return self.add(DeleteOne(_target(instance, "delete")), type(instance))

    def delete_many(self, **lookups: Any) -> DeleteMany:
        """Queue deleting every document matching the lookups: ``bulk.delete_many(age__gt=30)``."""
        return self.add(DeleteMany(compile_filter(lookups)))

    def replace_one(
        self, instance: "DongoCollection", data: Optional[Mapping[str, Any]] = None, **fields: Any
    ) -> ReplaceOne:
        """Queue replacing ``instance``'s document by ``data``/``fields`` (its ``_uuid`` is kept)."""
        replacement = dict(data or {}, **fields)
        replacement.pop("_id", None)
        if "_uuid" not in replacement and instance.get("_uuid") is not None:
            replacement["_uuid"] = instance["_uuid"]  # keeps references to it valid
        return self.add(ReplaceOne(_target(instance, "replace"), replacement), type(instance))

    def take(self, other: Union["DongoBulk", "DongoLazyUpdater"]) -> "DongoBulk":
        """Move ``other``'s queued operations (a DongoBulk or DongoLazyUpdater) into this bulk.

        ``other`` is left empty, so saving it later sends only what is added
        to it afterwards.
        """
        source = other.bulk if isinstance(other, DongoLazyUpdater) else other
        if not isinstance(source, DongoBulk):
            raise DongoError(f"a DongoBulk can take a DongoBulk or DongoLazyUpdater, not {other!r}")
        if source is self:
            return self
        for klass, ops in source._groups.values():
            self._ops_for(klass).extend(ops)
        source._groups = {}
        return self

    def __iadd__(self, other: Union["DongoBulk", "DongoLazyUpdater"]) -> "DongoBulk":
        return self.take(other)

    def __add__(self, other: Union["DongoBulk", "DongoLazyUpdater"]) -> "DongoBulk":
        combined = DongoBulk(self.klass)
        combined.take(self)
        combined.take(other)
        return combined

    def save(self, ordered: bool = True, **kwargs: Any) -> Any:
        """Send the queued operations: one ``bulk_write`` per collection.

        Returns pymongo's BulkWriteResult (a list of them, in order, when the
        operations span several collections), or ``None`` if nothing was
        queued. A collection's operations leave the bulk when they are sent,
        even if that write fails, so a retry never repeats operations the
        server already applied; if a write fails, the other collections'
        operations not sent yet stay queued.
        """
        groups, self._groups = self._groups, {}
        pending = list(groups.items())
        results = []
        while pending:
            key, (klass, ops) = pending.pop(0)
            if not ops:
                continue
            try:
                results.append(klass.get_collection().bulk_write(ops, ordered=ordered, **kwargs))
            except BaseException:
                for unsent_key, group in pending:
                    self._groups.setdefault(unsent_key, (group[0], []))[1].extend(group[1])
                raise
        if not results:
            return None
        return results[0] if len(results) == 1 else results

    def __repr__(self) -> str:
        return f"<DongoBulk {self.klass.__name__}: {len(self)} operation(s)>"


class DongoLazyUpdater:
    """Field changes to one instance, applied in memory now and in the database on ``save()``.

        lazy = person.lazy()
        lazy['age'] = 100
        lazy.set(lastname='jimjim')
        lazy.save()            # one bulk_write

    If a save fails, call ``instance.refresh_from_db()`` to see what is stored.
    """

    def __init__(self, instance: "DongoCollection") -> None:
        self.instance = instance
        self.bulk = DongoBulk(type(instance))

    def __setitem__(self, key: str, value: Any) -> None:
        self.bulk.add(UpdateOne(_target(self.instance, "update"), {"$set": {key: value}}), type(self.instance))
        self.instance._apply_set({key: value})

    def set(self, **fields: Any) -> UpdateOne:
        """Defer ``$set`` of ``fields`` (``a__b`` is ``a.b``); memory changes at once."""
        update = compile_update(fields)
        op = self.bulk.add(UpdateOne(_target(self.instance, "update"), update), type(self.instance))
        self.instance._apply_set(update["$set"])
        return op

    def save(self, **kwargs: Any) -> Any:
        """Send the deferred updates as one ``bulk_write``; ``None`` if there are none."""
        return self.bulk.save(**kwargs)

    def __add__(self, other: Union["DongoBulk", "DongoLazyUpdater"]) -> DongoBulk:
        combined = DongoBulk(type(self.instance))
        combined.take(self)
        combined.take(other)
        return combined

    def __repr__(self) -> str:
        return f"<DongoLazyUpdater {self.instance!r}: {len(self.bulk)} operation(s)>"
