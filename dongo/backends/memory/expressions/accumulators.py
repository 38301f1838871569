"""``$group`` accumulators and their expression forms (``{$sum: [...]}`` in ``$project``).

:func:`compile_accumulator` returns a spec whose ``new()`` gives a state with
``add(doc, vars)`` and ``result()``.

    >>> acc = compile_accumulator("$push", "$a").new()
    >>> acc.add({"a": 1}, {}); acc.add({}, {}); acc.result()
    [1]
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Callable

from .. import bsontypes
from ..bsontypes import MISSING
from ..errors import BAD_VALUE
from .core import (INT32_MAX, INT32_MIN, _args, _as_int, _check_arguments, _COLLATION, _compile, _dec, _DEC_CTX,
                   _fail, _int_result, _num_kind, _OPERATORS, _show, _to_decimal, _to_float, _value_key,
                   _with_collation)
from .literals import _reject_javascript
from .objects import merge_objects


class _Sum:
    """Running sum with the server's widening: int32 -> long -> double, any decimal -> decimal."""

    # Doubles are summed with Neumaier compensation (``floats`` + ``comp``): the
    # server sums doubles in double-double precision, so naive addition would
    # differ from it in the last bits.
    __slots__ = ("kind", "ints", "floats", "comp", "dec", "count")

    def __init__(self):
        self.kind = 0
        self.ints = 0
        self.floats = 0.0
        self.comp = 0.0
        self.dec = None
        self.count = 0

    def add(self, v) -> None:
        t = type(v)
        if t is int and INT32_MIN <= v <= INT32_MAX:  # the common cases first
            self.ints += v
            self.count += 1
            return
        if t is float:
            self._add_float(v)
            self.count += 1
            if self.kind < 2:
                self.kind = 2
            return
        k = _num_kind(v)
        if k < 0:
            return  # non-numeric values are ignored by $sum/$avg
        self.count += 1
        if k > self.kind:
            self.kind = k
        if k <= 1:
            self.ints += int(v)
        else:
            d = v.to_decimal()
            self.dec = d if self.dec is None else _DEC_CTX.add(self.dec, d)

    def _add_float(self, x: float) -> None:
        s = self.floats
        total = s + x
        if math.isfinite(total):
            if abs(s) >= abs(x):
                self.comp += (s - total) + x
            else:
                self.comp += (x - total) + s
        self.floats = total

    def _float_total(self) -> float:
        total = self.floats + self.comp if math.isfinite(self.floats) else self.floats
        return total + self.ints if self.ints else total

    def total(self):
        if self.kind <= 1:
            return _int_result(self.ints, self.kind)
        if self.kind == 2:
            return self._float_total()
        d = self.dec if self.dec is not None else Decimal(0)
        d = _DEC_CTX.add(d, Decimal(self.ints))
        if self.floats:
            d = _DEC_CTX.add(d, _to_decimal(self.floats + self.comp))
        return _dec(d)

    def average(self):
        if not self.count:
            return None
        if self.kind == 3:
            return _dec(_DEC_CTX.divide(self.total().to_decimal(), Decimal(self.count)))
        if self.kind <= 1:
            return self.ints / self.count
        return self._float_total() / self.count


class _StdDev:
    __slots__ = ("n", "mean", "m2", "sample")

    def __init__(self, sample: bool):
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.sample = sample

    def add(self, v) -> None:
        if _num_kind(v) < 0:
            return
        x = _to_float(v)
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def result(self):
        if self.n == 0 or (self.sample and self.n < 2):
            return None
        return math.sqrt(self.m2 / (self.n - 1 if self.sample else self.n))


def _positional_or_array(values: list) -> list:
    """Expression-form accumulators: one array argument means its elements."""
    if len(values) == 1 and isinstance(values[0], list):
        return values[0]
    return values


def _sum_of(values):
    s = _Sum()
    for v in values:
        s.add(v)
    return s.total()


def _avg_of(values):
    s = _Sum()
    for v in values:
        s.add(v)
    return s.average()


def _extreme_of(values, sign: int, key: Callable[[Any], tuple] = bsontypes.sort_key):
    best = MISSING
    best_key = None
    for v in values:
        if v is None or v is MISSING:
            continue
        k = key(v)
        if best is MISSING or (k > best_key if sign > 0 else k < best_key):
            best, best_key = v, k
    return None if best is MISSING else best


def _std_dev_of(values, sample: bool):
    acc = _StdDev(sample)
    for v in values:
        acc.add(v)
    return acc.result()


def _expression_accumulator(name: str, fn) -> None:
    def compile_acc(spec, scope):
        fns = _args(name, spec, scope)

        def evaluate(doc, vars):
            values = _positional_or_array([f(doc, vars) for f in fns])
            return fn(values)

        return evaluate

    _OPERATORS[name] = compile_acc


_expression_accumulator("$sum", _sum_of)
_expression_accumulator("$avg", _avg_of)
def _extreme_expression(name: str, sign: int) -> None:
    def compile_extreme(spec, scope):
        fns = _args(name, spec, scope)
        key = _value_key()
        return lambda doc, vars: _extreme_of(_positional_or_array([f(doc, vars) for f in fns]), sign, key)

    _OPERATORS[name] = compile_extreme


_extreme_expression("$max", 1)
_extreme_expression("$min", -1)
_expression_accumulator("$stdDevPop", lambda values: _std_dev_of(values, False))
_expression_accumulator("$stdDevSamp", lambda values: _std_dev_of(values, True))


def _n_value(name: str, v: Any) -> int:
    if _num_kind(v) < 0 or _as_int(v) is None:
        raise _fail(5787902, f"Value for 'n' must be of integral type, but found {_show(v)}")
    n = _as_int(v)
    if n <= 0:
        raise _fail(5787908, f"'n' must be greater than 0, found {n}")
    return n


def _array_n_expression(name: str, pick) -> None:
    """$firstN/$lastN/$maxN/$minN as expressions: {n, input} over an array."""

    def compile_n(spec, scope):
        _check_arguments(name, spec, ("n", "input"), ("n", "input"),
                         not_object=(5787801, "specification must be an object; found {spec}"),
                         unknown=(5787901, "Unknown argument for 'n' operator: {key}"),
                         missing=({"n": 5787906, "input": 5787907}, "Missing value for '{key}'"))
        f_n = _compile(spec["n"], scope)
        f_input = _compile(spec["input"], scope)

        def evaluate(doc, vars):
            n = _n_value(name, f_n(doc, vars))
            arr = f_input(doc, vars)
            if not isinstance(arr, list):
                raise _fail(5788200, f"Input must be an array")
            return pick(arr, n)

        return evaluate

    _OPERATORS[name] = compile_n


def _sorted_present(arr, reverse: bool):
    present = [v for v in arr if v is not None and v is not MISSING]
    return sorted(present, key=bsontypes.sort_key, reverse=reverse)


_array_n_expression("$firstN", lambda arr, n: arr[:n])
_array_n_expression("$lastN", lambda arr, n: arr[-n:])
_array_n_expression("$maxN", lambda arr, n: _sorted_present(arr, True)[:n])
_array_n_expression("$minN", lambda arr, n: _sorted_present(arr, False)[:n])


def _percentile_spec(name: str, spec: Any, scope: frozenset):
    """(input evaluator, list of p values or None for $median) of $percentile / $median."""
    allowed = ("input", "p", "method") if name == "$percentile" else ("input", "method")
    _check_arguments(name, spec, allowed, allowed,
                     not_object=(7436100, "specification must be an object; found {spec}"),
                     unknown=(40415, "BSON field '{name}.{key}' is an unknown field."),
                     missing=(40414, "BSON field '{name}.{key}' is missing but a required field"))
    if spec["method"] not in ("approximate", "discrete", "continuous"):
        raise _fail(BAD_VALUE, f"Enumeration value '{spec['method']}' for field '{name}.method' is not a "
                               "valid value.")
    if spec["method"] == "continuous":
        raise NotImplementedError(f"{name} method 'continuous' is not supported by the memory engine")
    ps = None
    if name == "$percentile":
        ps = spec["p"]
        if not isinstance(ps, list) or not ps or not all(
                _num_kind(p) >= 0 and 0 <= _to_float(p) <= 1 for p in ps):
            raise _fail(7750301, f"The $percentile 'p' field must be an array of numbers from [0.0, 1.0], "
                                 f"but found: {_show(ps)}")
        ps = [_to_float(p) for p in ps]
    return _compile(spec["input"], scope), ps


def _percentiles(values: list, ps: list | None):
    """Discrete percentiles (the value at rank ceil(p*n)), as doubles; $median when ``ps`` is None."""
    numbers = sorted(_to_float(v) for v in values if _num_kind(v) >= 0 and not (
        isinstance(v, float) and math.isnan(v)))
    wanted = [0.5] if ps is None else ps
    if not numbers:
        return None
    n = len(numbers)
    out = [numbers[min(n - 1, max(0, math.ceil(p * n) - 1))] for p in wanted]
    return out[0] if ps is None else out


def _percentile_expression(name: str):
    def compile_percentile(spec, scope):
        f_input, ps = _percentile_spec(name, spec, scope)

        def percentile(doc, vars):
            v = f_input(doc, vars)
            return _percentiles(v if isinstance(v, list) else [v], ps)

        return percentile

    _OPERATORS[name] = compile_percentile


_percentile_expression("$percentile")
_percentile_expression("$median")


class Accumulator:
    """One group's running state; ``add(doc, vars)`` then ``result()``."""

    __slots__ = ()

    def add(self, doc, vars) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def result(self):  # pragma: no cover - interface
        raise NotImplementedError


class _AccSpec:
    """A compiled accumulator: ``new()`` makes the per-group state."""

    __slots__ = ("name", "factory")

    def __init__(self, name, factory):
        self.name = name
        self.factory = factory

    def new(self) -> Accumulator:
        return self.factory()


class _CountingSumAcc(Accumulator):
    """``{$sum: 1}``: counts documents (an int32 count widening to long)."""

    __slots__ = ("n",)

    def __init__(self):
        self.n = 0

    def add(self, doc, vars):
        self.n += 1

    def result(self):
        return _int_result(self.n, 0)


def _simple_acc(name: str, arg: Any, scope: frozenset, make):
    if name == "$sum" and type(arg) is int and arg == 1:
        return _AccSpec(name, _CountingSumAcc)
    f = _compile(arg, scope)
    if isinstance(arg, list) and name not in ("$push", "$addToSet", "$first", "$last", "$mergeObjects"):
        raise _fail(40237, f"The {name} accumulator is a unary operator")
    return _AccSpec(name, lambda: make(f))


class _SumAcc(_Sum):
    """$sum / $avg over the group (a _Sum fed by an expression)."""

    __slots__ = ("f", "avg")

    def __init__(self, f, avg=False):
        _Sum.__init__(self)
        self.f = f
        self.avg = avg

    def add(self, doc, vars):
        v = self.f(doc, vars)
        if type(v) is int and INT32_MIN <= v <= INT32_MAX:
            self.ints += v
            self.count += 1
        else:
            _Sum.add(self, v)

    def result(self):
        return self.average() if self.avg else self.total()


class _ExtremeAcc(Accumulator):
    __slots__ = ("f", "best", "best_key", "sign", "key")

    def __init__(self, f, sign, key=bsontypes.sort_key):
        self.f = f
        self.best = MISSING
        self.best_key = None
        self.sign = sign
        self.key = key

    def add(self, doc, vars):
        v = self.f(doc, vars)
        if v is None or v is MISSING:
            return
        k = self.key(v)
        if self.best is MISSING or (k > self.best_key if self.sign > 0 else k < self.best_key):
            self.best, self.best_key = v, k

    def result(self):
        return None if self.best is MISSING else self.best


class _FirstAcc(Accumulator):
    __slots__ = ("f", "value", "seen")

    def __init__(self, f):
        self.f = f
        self.value = None
        self.seen = False

    def add(self, doc, vars):
        if not self.seen:
            self.seen = True
            v = self.f(doc, vars)
            self.value = None if v is MISSING else v

    def result(self):
        return self.value


class _LastAcc(_FirstAcc):
    __slots__ = ()

    def add(self, doc, vars):
        v = self.f(doc, vars)
        self.value = None if v is MISSING else v


class _PushAcc(Accumulator):
    __slots__ = ("f", "items")

    def __init__(self, f):
        self.f = f
        self.items = []

    def add(self, doc, vars):
        v = self.f(doc, vars)
        if v is not MISSING:
            self.items.append(v)

    def result(self):
        return self.items


class _AddToSetAcc(Accumulator):
    __slots__ = ("f", "items", "keys", "key")

    def __init__(self, f, key=bsontypes.sort_key):
        self.f = f
        self.items = []
        self.keys = set()
        self.key = key

    def add(self, doc, vars):
        v = self.f(doc, vars)
        if v is MISSING:
            return
        k = self.key(v)
        if k not in self.keys:
            self.keys.add(k)
            self.items.append(v)

    def result(self):
        return self.items


class _MergeAcc(Accumulator):
    __slots__ = ("f", "out")

    def __init__(self, f):
        self.f = f
        self.out = {}

    def add(self, doc, vars):
        v = self.f(doc, vars)
        self.out.update(merge_objects([v]))

    def result(self):
        return self.out


class _StdDevAcc(Accumulator):
    __slots__ = ("f", "s")

    def __init__(self, f, sample):
        self.f = f
        self.s = _StdDev(sample)

    def add(self, doc, vars):
        self.s.add(self.f(doc, vars))

    def result(self):
        return self.s.result()


class _PercentileAcc(Accumulator):
    __slots__ = ("f", "ps", "values")

    def __init__(self, f, ps):
        self.f = f
        self.ps = ps
        self.values = []

    def add(self, doc, vars):
        v = self.f(doc, vars)
        if _num_kind(v) >= 0:
            self.values.append(v)

    def result(self):
        return _percentiles(self.values, self.ps)


class _CountAcc(_CountingSumAcc):
    """``$count``: counts like ``{$sum: 1}`` but gives the plain Python int."""

    __slots__ = ()

    def result(self):
        return self.n


class _NAcc(Accumulator):
    """$firstN/$lastN/$maxN/$minN/$topN/$bottomN/$top/$bottom over the group."""

    __slots__ = ("spec", "items", "n", "seq")

    def __init__(self, spec):
        self.spec = spec
        self.items = []
        self.n = None
        self.seq = 0

    def add(self, doc, vars):
        spec = self.spec
        if self.n is None:
            self.n = 1 if spec.single else _n_value(spec.name, spec.f_n(doc, vars))
        v = spec.f_value(doc, vars)
        if spec.skip_null and (v is None or v is MISSING):
            return
        if v is MISSING:
            v = None
        if spec.mode == "first":
            if len(self.items) < self.n:
                self.items.append(v)
            return
        if spec.mode == "last":
            self.items.append(v)
            if len(self.items) > self.n:
                del self.items[0]
            return
        key = spec.key(doc, v)
        self.seq += 1
        self.items.append((key, self.seq, v))
        if len(self.items) > 4 * self.n + 16:  # keep memory bounded: trim to the best n now and then
            self._trim()

    def _trim(self):
        spec = self.spec
        self.items.sort(key=lambda t: (t[0], t[1]), reverse=False)
        del self.items[self.n:]

    def result(self):
        spec = self.spec
        if spec.mode in ("first", "last"):
            out = self.items
        else:
            if self.n is not None:
                self._trim()
            if spec.name in ("$bottom", "$bottomN"):
                # Chosen from the end (ties keep the earlier input), output in sort order.
                self.items.sort(key=lambda t: (t[0].k, t[1]))
            out = [v for _, _, v in self.items]
        if spec.single:
            return out[0] if out else None
        return out


class _NSpec:
    __slots__ = ("name", "mode", "single", "f_n", "f_value", "skip_null", "key")


def _compile_n_accumulator(name: str, arg: Any, scope: frozenset) -> _AccSpec:
    spec = _NSpec()
    spec.name = name
    spec.single = name in ("$top", "$bottom")
    sort_based = name in ("$top", "$bottom", "$topN", "$bottomN")
    allowed = {"n", "sortBy", "output"} if sort_based else {"n", "input"}
    if spec.single:
        allowed.discard("n")
    _check_arguments(name, arg, allowed, sorted(allowed),
                     not_object=(5787801, "specification must be an object; found {spec}"),
                     unknown=(5788002 if sort_based else 5787901, "Unknown argument to {name} '{key}'"),
                     missing=(5788003 if sort_based else 5787906, "Missing value for '{key}'"))
    spec.f_n = None if spec.single else _compile(arg["n"], scope)
    if sort_based:
        spec.f_value = _compile(arg["output"], scope)
        spec.skip_null = False
        spec.mode = "sort"
        if not isinstance(arg["sortBy"], dict):
            raise _fail(5788604, f"{name} requires 'sortBy' to be an object")
        from ..sort import compile_sort

        current = _COLLATION.get()
        sorter = compile_sort(arg["sortBy"], collation=current[0] if current is not None else None)
        descending = name in ("$bottom", "$bottomN")
        if descending:
            # bottom = the last n in sort order: reverse each key component.
            spec.key = lambda doc, v, k=sorter.sort_key: _Reversed(k(doc))
        else:
            spec.key = lambda doc, v, k=sorter.sort_key: k(doc)
    else:
        spec.f_value = _compile(arg["input"], scope)
        spec.skip_null = name in ("$maxN", "$minN")
        if name == "$firstN":
            spec.mode = "first"
        elif name == "$lastN":
            spec.mode = "last"
        else:
            spec.mode = "sort"
            if name == "$maxN":
                spec.key = lambda doc, v: _Reversed(bsontypes.sort_key(v))
            else:
                spec.key = lambda doc, v: bsontypes.sort_key(v)
    return _AccSpec(name, lambda: _NAcc(spec))


class _Reversed:
    """Inverts the order of a sort key (for $bottomN/$maxN)."""

    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __lt__(self, other):
        return other.k < self.k

    def __gt__(self, other):
        return other.k > self.k

    def __eq__(self, other):
        return self.k == other.k


ACCUMULATORS = frozenset({
    "$sum", "$avg", "$min", "$max", "$first", "$last", "$push", "$addToSet", "$count", "$mergeObjects",
    "$stdDevPop", "$stdDevSamp", "$top", "$bottom", "$topN", "$bottomN", "$firstN", "$lastN", "$maxN", "$minN",
    "$median", "$percentile",
})


def compile_accumulator(name: str, arg: Any, *, variables: frozenset | set = frozenset(),
                        collation: Any = None) -> _AccSpec:
    """Compile a ``$group`` accumulator; ``.new()`` gives a state with ``add``/``result``.

        >>> acc = compile_accumulator("$sum", "$qty").new()
        >>> for d in ({"qty": 2}, {"qty": 3}, {}):
        ...     acc.add(d, {})
        >>> acc.result()
        5
    """
    return _with_collation(collation, lambda: _compile_accumulator(name, arg, frozenset(variables)))


def _compile_accumulator(name: str, arg: Any, scope: frozenset) -> _AccSpec:
    key = _value_key()
    if name == "$sum":
        return _simple_acc(name, arg, scope, lambda f: _SumAcc(f))
    if name == "$avg":
        return _simple_acc(name, arg, scope, lambda f: _SumAcc(f, avg=True))
    if name == "$max":
        return _simple_acc(name, arg, scope, lambda f: _ExtremeAcc(f, 1, key))
    if name == "$min":
        return _simple_acc(name, arg, scope, lambda f: _ExtremeAcc(f, -1, key))
    if name == "$first":
        return _simple_acc(name, arg, scope, _FirstAcc)
    if name == "$last":
        return _simple_acc(name, arg, scope, _LastAcc)
    if name == "$push":
        return _simple_acc(name, arg, scope, _PushAcc)
    if name == "$addToSet":
        return _simple_acc(name, arg, scope, lambda f: _AddToSetAcc(f, key))
    if name == "$mergeObjects":
        return _simple_acc(name, arg, scope, _MergeAcc)
    if name == "$stdDevPop":
        return _simple_acc(name, arg, scope, lambda f: _StdDevAcc(f, False))
    if name == "$stdDevSamp":
        return _simple_acc(name, arg, scope, lambda f: _StdDevAcc(f, True))
    if name == "$count":
        if arg != {}:
            raise _fail(BAD_VALUE, "$count takes no arguments, i.e. $count:{}")
        return _AccSpec(name, _CountAcc)
    if name in ("$top", "$bottom", "$topN", "$bottomN", "$firstN", "$lastN", "$maxN", "$minN"):
        return _compile_n_accumulator(name, arg, scope)
    if name == "$accumulator":
        _reject_javascript(name)(arg, scope)
    if name in ("$median", "$percentile"):
        f_input, ps = _percentile_spec(name, arg, scope)
        return _AccSpec(name, lambda: _PercentileAcc(f_input, ps))
    raise _fail(15952, f"unknown group operator '{name}'")
