"""Ordering and slicing stages: ``$sort``, ``$limit``, ``$skip``, ``$sample`` and ``$count``.

    >>> from dongo.backends.memory.aggregate import run_pipeline
    >>> list(run_pipeline([{"$sort": {"a": -1}}, {"$limit": 1}], [{"a": 1}, {"a": 3}, {"a": 2}]))
    [{'a': 3}]
"""

from __future__ import annotations

import itertools
import random

from ..expressions import core as _core
from .pipeline import Stage, _Compile, _fail, _integral_value, _show, _stage


def _compile_sort(spec, collation):
    from ..sort import compile_sort

    return compile_sort(spec, collation=collation)


def _sort_stage(sorter, limit: int | None = None) -> Stage:
    return lambda docs, run: iter(sorter.sorted(list(docs), limit=limit))


@_stage("$sort")
def _sort(spec, c: _Compile) -> Stage:
    if not isinstance(spec, dict):
        raise _fail(15973, "the $sort key specification must be an object")
    if not spec:
        raise _fail(15976, "$sort stage must have at least one sort key")
    return _sort_stage(_compile_sort(spec, c.collation))


def _limit_value(spec) -> int:
    n = _integral_value(spec)
    if n is None:
        raise _fail(5107201, f"invalid argument to $limit stage: Expected a number in: $limit: {_show(spec)}"
                    if not isinstance(spec, (int, float)) or isinstance(spec, bool) else
                    f"invalid argument to $limit stage: Expected an integer: $limit: {_show(spec)}")
    if n < 0:
        raise _fail(5107201, f"invalid argument to $limit stage: Expected a non-negative number in: "
                             f"$limit: {n}")
    if n == 0:
        raise _fail(15958, "the limit must be positive")
    return n


@_stage("$limit")
def _limit(spec, c: _Compile) -> Stage:
    n = _limit_value(spec)
    return lambda docs, run: itertools.islice(docs, n)


@_stage("$skip")
def _skip(spec, c: _Compile) -> Stage:
    n = _integral_value(spec)
    if n is None:
        raise _fail(5107200, f"invalid argument to $skip stage: Expected a number in: $skip: {_show(spec)}"
                    if not isinstance(spec, (int, float)) or isinstance(spec, bool) else
                    f"invalid argument to $skip stage: Expected an integer: $skip: {_show(spec)}")
    if n < 0:
        raise _fail(5107200, f"invalid argument to $skip stage: Expected a non-negative number in: $skip: {n}")
    return lambda docs, run: itertools.islice(docs, n, None)


@_stage("$sample")
def _sample(spec, c: _Compile) -> Stage:
    _core._check_arguments("$sample", spec, ("size",), ("size",),
                           not_object=(28745, "the {name} stage specification must be an object"),
                           unknown=(28748, "unrecognized option to {name}: {key}"),
                           missing=(28749, "{name} stage must specify a size"))
    size = spec["size"]
    if isinstance(size, bool) or _integral_value(size) is None and not isinstance(size, float):
        raise _fail(28746, "size argument to $sample must be a number")
    n = int(size)
    if n < 0:
        raise _fail(28747, "size argument to $sample must not be negative")

    def sample(docs, run):
        pool = list(docs)
        rng = random.Random()
        if n >= len(pool):
            rng.shuffle(pool)
            return iter(pool)
        return iter(rng.sample(pool, n))

    return sample


@_stage("$count")
def _count(spec, c: _Compile) -> Stage:
    if not isinstance(spec, str) or not spec:
        raise _fail(40156, "the count field must be a non-empty string")
    if spec.startswith("$"):
        raise _fail(40158, "the count field cannot be a $-prefixed path")
    if "." in spec:
        raise _fail(40160, "the count field cannot contain '.'")

    def count(docs, run):
        n = sum(1 for _ in docs)
        if n:
            yield {spec: n}

    return count
