"""Date operators: time zones, parts (``$year`` ...), ``$dateFromParts``/``$dateToParts``,
``$dateAdd``/``$dateSubtract``, ``$dateDiff`` and ``$dateTrunc``.

Dates are naive UTC ``datetime`` values (as pymongo decodes them); time zones
are Olson names or ``+hh:mm`` offsets, applied only while computing.  Dates as
text (``$dateToString``/``$dateFromString``) are in :mod:`.date_strings`.

    >>> import datetime
    >>> from dongo.backends.memory.expressions import compile_expression
    >>> compile_expression({"$year": "$d"})({"d": datetime.datetime(2024, 5, 1)}, {})
    2024
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.timestamp import Timestamp

from ..bsontypes import MISSING
from ..errors import FAILED_TO_PARSE
from .core import (Evaluator, INT64_MAX, INT64_MIN, _MS, _OPERATORS, _UTC, _args, _as_int, _check_arguments,
                   _compile, _date_to_ms, _fail, _is_constant, _ms_to_date, _nullish, _num_kind, _operator, _show,
                   _to_datetime, _type_name, is_operator_object)


_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})?$")
_tz_cache: dict = {}


def _parse_timezone(tz: Any) -> Any:
    """A tzinfo for an Olson name or a ``±HH``, ``±HHMM``, ``±HH:MM`` offset; None means UTC."""
    if tz is None or tz is MISSING:
        return None
    if not isinstance(tz, str):
        raise _fail(40517, f"timezone must evaluate to a string, found {_type_name(tz)}")
    cached = _tz_cache.get(tz)
    if cached is not None:
        return cached
    m = _OFFSET.match(tz)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
        zone = _dt.timezone(_dt.timedelta(minutes=-minutes if m.group(1) == "-" else minutes))
    elif tz in ("UTC", "GMT", "Z"):
        zone = _UTC
    else:
        try:
            import zoneinfo

            zone = zoneinfo.ZoneInfo(tz)
        except Exception:
            raise _fail(40485, f'unrecognized time zone identifier: "{tz}"') from None
    _tz_cache[tz] = zone
    return zone


def _to_local(date: _dt.datetime, tz: Any) -> _dt.datetime:
    """Naive local wall-clock time of the naive-UTC ``date`` in ``tz``."""
    if tz is None or tz is _UTC:
        return date
    return date.replace(tzinfo=_UTC).astimezone(tz).replace(tzinfo=None)


def _from_local(local: _dt.datetime, tz: Any) -> _dt.datetime:
    """Naive UTC instant of the naive local wall-clock time ``local`` in ``tz``."""
    if tz is None or tz is _UTC:
        return local
    return local.replace(tzinfo=tz).astimezone(_UTC).replace(tzinfo=None)


def _utc_offset_minutes(date: _dt.datetime, tz: Any) -> int:
    if tz is None:
        return 0
    return int(date.replace(tzinfo=_UTC).astimezone(tz).utcoffset().total_seconds() // 60)


def _date_arg(v: Any, code: int = 16006) -> _dt.datetime:
    """A date operand: a date, an ObjectId (its timestamp) or a Timestamp."""
    if isinstance(v, _dt.datetime):
        return _to_datetime(v)
    if isinstance(v, ObjectId):
        return v.generation_time.replace(tzinfo=None)
    if isinstance(v, Timestamp):
        return _ms_to_date(v.time * 1000)
    raise _fail(code, f"can't convert from BSON type {_type_name(v)} to Date")


def _sunday_week(d: _dt.datetime) -> int:
    """Week of the year with weeks starting on Sunday (``%U``): 0 before the first Sunday."""
    yday = d.timetuple().tm_yday - 1
    wday = (d.weekday() + 1) % 7  # Sunday = 0
    return (yday + 7 - wday) // 7


_DATE_PARTS = {
    "$year": lambda d: d.year,
    "$month": lambda d: d.month,
    "$dayOfMonth": lambda d: d.day,
    "$hour": lambda d: d.hour,
    "$minute": lambda d: d.minute,
    "$second": lambda d: d.second,
    "$millisecond": lambda d: d.microsecond // 1000,
    "$dayOfYear": lambda d: d.timetuple().tm_yday,
    "$dayOfWeek": lambda d: (d.weekday() + 1) % 7 + 1,
    "$week": _sunday_week,
    "$isoWeek": lambda d: d.isocalendar()[1],
    "$isoWeekYear": lambda d: d.isocalendar()[0],
    "$isoDayOfWeek": lambda d: d.isocalendar()[2],
}


def _compile_date_part(name: str, part):
    def compile_part(spec, scope):
        if isinstance(spec, dict) and not is_operator_object(spec):
            _check_arguments(name, spec, ("date", "timezone"), ("date",), not_object=None,
                             unknown=(40535, 'unrecognized option to {name}: "{key}"'),
                             missing=(40539, "missing '{key}' argument to {name}, provided: {spec}"))
            f_date = _compile(spec["date"], scope)
            f_tz = _compile(spec["timezone"], scope) if "timezone" in spec else None
        else:
            (f_date,) = _args(name, spec, scope, n=1)
            f_tz = None

        def date_part(doc, vars):
            v = f_date(doc, vars)
            if _nullish(v):
                return None
            tz = None
            if f_tz is not None:
                tzv = f_tz(doc, vars)
                if _nullish(tzv):
                    return None
                tz = _parse_timezone(tzv)
            return part(_to_local(_date_arg(v), tz))

        return date_part

    _OPERATORS[name] = compile_part


for _name, _part in _DATE_PARTS.items():
    _compile_date_part(_name, _part)


def _optional(spec: dict, key: str, scope: frozenset) -> Evaluator | None:
    return _compile(spec[key], scope) if key in spec else None


def _check_named(name: str, spec: Any, allowed: tuple, required: tuple, code: Any) -> None:
    """Validate a document-shaped argument.

    ``code`` is either a base code (not an object: base, unknown field: base+1,
    missing field: base+2) or a tuple ``(not_object, unknown, {field: missing_code})``.
    """
    if isinstance(code, tuple):
        not_object, unknown, missing = code
    else:
        not_object, unknown = code, code + 1
        missing = {key: code + 2 for key in required}
    _check_arguments(name, spec, allowed, required,
                     not_object=(not_object, "{name} only supports an object as its argument"),
                     unknown=(unknown, "Unrecognized argument to {name}: {key}. Expected arguments are {allowed}"),
                     missing=(missing, "Missing '{key}' parameter to {name}"))


def _timezone_of(f_tz: Evaluator | None, doc, vars) -> tuple[bool, Any]:
    """(ok, tzinfo); ok is False when the timezone expression is null/missing."""
    if f_tz is None:
        return True, None
    v = f_tz(doc, vars)
    if _nullish(v):
        return False, None
    return True, _parse_timezone(v)


_NATURAL_PARTS = ("year", "month", "day", "hour", "minute", "second", "millisecond")
_ISO_PARTS = ("isoWeekYear", "isoWeek", "isoDayOfWeek", "hour", "minute", "second", "millisecond")


@_operator("$dateFromParts")
def _c_date_from_parts(spec, scope):
    if not isinstance(spec, dict):
        raise _fail(40519, "$dateFromParts only supports an object as its argument")
    for key in spec:
        if key not in _NATURAL_PARTS and key not in _ISO_PARTS and key != "timezone":
            raise _fail(40518, f"Unrecognized argument to $dateFromParts: {key}")
    natural = any(k in spec for k in ("year", "month", "day"))
    iso = any(k in spec for k in ("isoWeekYear", "isoWeek", "isoDayOfWeek"))
    if natural and iso:
        raise _fail(40489, "$dateFromParts does not allow mixing natural dates with ISO dates")
    if not natural and not iso or (natural and "year" not in spec) or (iso and "isoWeekYear" not in spec):
        raise _fail(40516, "$dateFromParts requires either 'year' or 'isoWeekYear' to be present")
    names = _ISO_PARTS if iso else _NATURAL_PARTS
    fns = [(name, _compile(spec[name], scope)) for name in names if name in spec]
    f_tz = _optional(spec, "timezone", scope)

    def date_from_parts(doc, vars):
        parts = {}
        for name, f in fns:
            v = f(doc, vars)
            if _nullish(v):
                return None
            i = _as_int(v)
            if i is None:
                raise _fail(40515, f"'{name}' must evaluate to an integer, found {_type_name(v)} with value "
                                   f"{_show(v)}")
            if name in ("year", "isoWeekYear"):
                if not 1 <= i <= 9999:
                    raise _fail(40523, f"'{name}' must evaluate to an integer in the range 1 to 9999, found {i}")
            elif name not in ("second", "millisecond") and not -32768 <= i <= 32767:
                raise _fail(31034, f"'{name}' must evaluate to a value in the range [-32768, 32767]; value {i} "
                                   "is not in range")
            parts[name] = i
        ok, tz = _timezone_of(f_tz, doc, vars)
        if not ok:
            return None
        try:
            if iso:
                base = _dt.datetime.fromisocalendar(parts["isoWeekYear"], 1, 1) + _dt.timedelta(
                    weeks=parts.get("isoWeek", 1) - 1, days=parts.get("isoDayOfWeek", 1) - 1)
            else:
                months = parts["year"] * 12 + parts.get("month", 1) - 1
                base = _dt.datetime(months // 12, months % 12 + 1, 1) + _dt.timedelta(days=parts.get("day", 1) - 1)
            local = base + _dt.timedelta(hours=parts.get("hour", 0), minutes=parts.get("minute", 0),
                                         seconds=parts.get("second", 0), milliseconds=parts.get("millisecond", 0))
        except (ValueError, OverflowError):
            raise _fail(40523, "'year' must evaluate to an integer in the range 1 to 9999") from None
        return _from_local(local, tz)

    return date_from_parts


@_operator("$dateToParts")
def _c_date_to_parts(spec, scope):
    _check_named("$dateToParts", spec, ("date", "timezone", "iso8601"), ("date",), 40524)
    f_date = _compile(spec["date"], scope)
    f_tz = _optional(spec, "timezone", scope)
    f_iso = _optional(spec, "iso8601", scope)

    def date_to_parts(doc, vars):
        v = f_date(doc, vars)
        ok, tz = _timezone_of(f_tz, doc, vars)
        iso = False
        if f_iso is not None:
            iso_v = f_iso(doc, vars)
            if _nullish(iso_v):
                return None
            if not isinstance(iso_v, bool):
                raise _fail(40521, f"iso8601 must evaluate to a bool, found {_type_name(iso_v)}")
            iso = iso_v
        if not ok or _nullish(v):
            return None
        d = _to_local(_date_arg(v), tz)
        if iso:
            y, w, wd = d.isocalendar()
            head = {"isoWeekYear": y, "isoWeek": w, "isoDayOfWeek": wd}
        else:
            head = {"year": d.year, "month": d.month, "day": d.day}
        head.update(hour=d.hour, minute=d.minute, second=d.second, millisecond=d.microsecond // 1000)
        return head

    return date_to_parts


_UNIT_MS = {"millisecond": 1, "second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000,
            "week": 7 * 86_400_000}
_UNITS = ("year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond")
_WEEKDAYS = {"monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "wednesday": 2, "wed": 2, "thursday": 3, "thu": 3,
             "friday": 4, "fri": 4, "saturday": 5, "sat": 5, "sunday": 6, "sun": 6}


def _unit(name: str, v: Any, type_code: int = 5439013, value_code: int = 5439014) -> str:
    if not isinstance(v, str):
        raise _fail(type_code, f"{name} requires 'unit' to be a string, but got {_type_name(v)}")
    if v not in _UNITS:
        raise _fail(value_code, f"{name} parameter 'unit' value cannot be recognized as a time unit: {v}")
    return v


def _start_of_week(name: str, v: Any) -> int:
    if not isinstance(v, str):
        raise _fail(5439015, f"{name} requires 'startOfWeek' to be a string, but got {_type_name(v)}")
    if v.lower() not in _WEEKDAYS:
        raise _fail(5439016, f"{name} parameter 'startOfWeek' value cannot be recognized as a day of a week: "
                             f"{v}")
    return _WEEKDAYS[v.lower()]


def _present(*values) -> bool:
    """True when no argument is null/missing (date operators answer null first, then validate)."""
    return not any(v is None or v is MISSING for v in values)


def _optional_value(f: Evaluator | None, doc, vars, default: Any) -> Any:
    return default if f is None else f(doc, vars)


def _add_months(local: _dt.datetime, months: int) -> _dt.datetime:
    """Calendar month addition; the day is clamped to the target month's length."""
    total = local.year * 12 + local.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise _fail(5166406, "$dateAdd overflowed")
    import calendar

    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def date_add(date: _dt.datetime, unit: str, amount: int, tz: Any) -> _dt.datetime:
    """``date`` plus ``amount`` ``unit`` s, calendar units computed in ``tz``."""
    if unit in ("year", "quarter", "month"):
        months = amount * {"year": 12, "quarter": 3, "month": 1}[unit]
        return _from_local(_add_months(_to_local(date, tz), months), tz)
    if unit in ("day", "week") and tz is not None:
        days = amount * (7 if unit == "week" else 1)
        return _from_local(_to_local(date, tz) + _dt.timedelta(days=days), tz)
    return _ms_to_date(_date_to_ms(date) + amount * _UNIT_MS[unit])


def _compile_date_add(name: str, sign: int):
    def compile_add(spec, scope):
        required = ("startDate", "unit", "amount")
        _check_named(name, spec, required + ("timezone",), required,
                     (5166400, 5166401, {key: 5166402 for key in required}))
        f_start = _compile(spec["startDate"], scope)
        f_unit = _compile(spec["unit"], scope)
        f_amount = _compile(spec["amount"], scope)
        f_tz = _optional(spec, "timezone", scope)
        if _is_constant(f_unit) and not _nullish(f_unit.constant):
            _unit(name, f_unit.constant, 5166404, FAILED_TO_PARSE)

        def add(doc, vars):
            start, unit, amount = f_start(doc, vars), f_unit(doc, vars), f_amount(doc, vars)
            tz = _optional_value(f_tz, doc, vars, MISSING)
            if not _present(start, unit, amount) or (f_tz is not None and _nullish(tz)):
                return None
            if not isinstance(start, (_dt.datetime, ObjectId, Timestamp)):
                raise _fail(5166403, f"{name} requires startDate to be convertible to a date")
            unit = _unit(name, unit, 5166404, FAILED_TO_PARSE)
            n = _as_int(amount) if _num_kind(amount) >= 0 else None
            if n is None or not INT64_MIN <= n <= INT64_MAX:
                raise _fail(5166405, f"{name} expects integer amount of time units")
            return date_add(_date_arg(start), unit, sign * n, _parse_timezone(tz))

        return add

    _OPERATORS[name] = compile_add


_compile_date_add("$dateAdd", 1)
_compile_date_add("$dateSubtract", -1)


def _week_start_ordinal(local: _dt.datetime, start_of_week: int) -> int:
    ordinal = local.toordinal()
    return ordinal - (local.weekday() - start_of_week) % 7


def date_diff(start: _dt.datetime, end: _dt.datetime, unit: str, tz: Any, start_of_week: int = 6) -> int:
    """Number of ``unit`` boundaries crossed from ``start`` to ``end`` (the server's $dateDiff)."""
    if unit in ("millisecond", "second", "minute", "hour"):
        off_s = _utc_offset_minutes(start, tz) * 60_000
        off_e = _utc_offset_minutes(end, tz) * 60_000
        size = _UNIT_MS[unit]
        return (_date_to_ms(end) + off_e) // size - (_date_to_ms(start) + off_s) // size
    ls, le = _to_local(start, tz), _to_local(end, tz)
    if unit == "day":
        return le.toordinal() - ls.toordinal()
    if unit == "week":
        return (_week_start_ordinal(le, start_of_week) - _week_start_ordinal(ls, start_of_week)) // 7
    if unit == "month":
        return (le.year * 12 + le.month) - (ls.year * 12 + ls.month)
    if unit == "quarter":
        return (le.year * 4 + (le.month - 1) // 3) - (ls.year * 4 + (ls.month - 1) // 3)
    return le.year - ls.year


@_operator("$dateDiff")
def _c_date_diff(spec, scope):
    required = ("startDate", "endDate", "unit")
    _check_named("$dateDiff", spec, required + ("timezone", "startOfWeek"), required,
                 (5166301, 5166302, {"startDate": 5166303, "endDate": 5166304, "unit": 5166305}))
    f_start = _compile(spec["startDate"], scope)
    f_end = _compile(spec["endDate"], scope)
    f_unit = _compile(spec["unit"], scope)
    f_tz = _optional(spec, "timezone", scope)
    f_sow = _optional(spec, "startOfWeek", scope)
    if _is_constant(f_unit) and not _nullish(f_unit.constant):
        _unit("$dateDiff", f_unit.constant)

    def diff(doc, vars):
        start, end, unit = f_start(doc, vars), f_end(doc, vars), f_unit(doc, vars)
        tz = _optional_value(f_tz, doc, vars, MISSING)
        sow = _optional_value(f_sow, doc, vars, "sunday")
        if not _present(start, end, unit, sow) or (f_tz is not None and _nullish(tz)):
            return None
        for v, what in ((start, "startDate"), (end, "endDate")):
            if not isinstance(v, (_dt.datetime, ObjectId, Timestamp)):
                raise _fail(5166307, f"$dateDiff requires '{what}' to be a date, but got {_type_name(v)}")
        unit = _unit("$dateDiff", unit)
        zone = _parse_timezone(tz)
        week_start = _start_of_week("$dateDiff", sow) if unit == "week" else 6
        return Int64(date_diff(_date_arg(start), _date_arg(end), unit, zone, week_start))

    return diff


def date_trunc(date: _dt.datetime, unit: str, bin_size: int, tz: Any, start_of_week: int = 6) -> _dt.datetime:
    """Truncate ``date`` to a bin of ``bin_size`` ``unit`` s, bins counted from 2000-01-01 in ``tz``."""
    local = _to_local(date, tz)
    if unit in ("year", "quarter", "month"):
        months = {"year": 12, "quarter": 3, "month": 1}[unit] * bin_size
        since = (local.year - 2000) * 12 + local.month - 1
        start = since - since % months
        year, month = divmod(2000 * 12 + start, 12)
        return _from_local(_dt.datetime(year, month + 1, 1), tz)
    if unit == "week":
        ref = _dt.datetime(2000, 1, 1)
        ref = ref + _dt.timedelta(days=(start_of_week - ref.weekday()) % 7)  # first week start in 2000
        days = (local.toordinal() - ref.toordinal())
        start = days - days % (7 * bin_size)
        return _from_local(ref + _dt.timedelta(days=start), tz)
    size = _UNIT_MS[unit] * bin_size
    ref = _dt.datetime(2000, 1, 1)
    local_ms = (local - ref) // _MS
    return _from_local(ref + _dt.timedelta(milliseconds=local_ms - local_ms % size), tz)


@_operator("$dateTrunc")
def _c_date_trunc(spec, scope):
    _check_named("$dateTrunc", spec, ("date", "unit", "binSize", "timezone", "startOfWeek"), ("date", "unit"),
                 (5439007, 5439008, {"date": 5439009, "unit": 5439010}))
    f_date = _compile(spec["date"], scope)
    f_unit = _compile(spec["unit"], scope)
    f_bin = _optional(spec, "binSize", scope)
    f_tz = _optional(spec, "timezone", scope)
    f_sow = _optional(spec, "startOfWeek", scope)
    if _is_constant(f_unit) and not _nullish(f_unit.constant):
        _unit("$dateTrunc", f_unit.constant)

    def trunc(doc, vars):
        v, unit = f_date(doc, vars), f_unit(doc, vars)
        bin_v = _optional_value(f_bin, doc, vars, 1)
        tz = _optional_value(f_tz, doc, vars, MISSING)
        sow = _optional_value(f_sow, doc, vars, "sunday")
        if not _present(v, unit, bin_v, sow) or (f_tz is not None and _nullish(tz)):
            return None
        if not isinstance(v, (_dt.datetime, ObjectId, Timestamp)):
            raise _fail(5439012, f"$dateTrunc requires 'date' to be a date, but got {_type_name(v)}")
        unit = _unit("$dateTrunc", unit)
        size = _as_int(bin_v) if _num_kind(bin_v) >= 0 else None
        if size is None or not INT64_MIN <= size <= INT64_MAX:
            raise _fail(5439017, f"$dateTrunc requires 'binSize' to be a 64-bit integer, but got value "
                                 f"'{_show(bin_v)}' of type {_type_name(bin_v)}")
        if size <= 0:
            raise _fail(5439018, f"$dateTrunc requires 'binSize' to be greater than 0, but got value {size}")
        zone = _parse_timezone(tz)
        week_start = _start_of_week("$dateTrunc", sow) if unit == "week" else 6
        return date_trunc(_date_arg(v), unit, size, zone, week_start)

    return trunc
