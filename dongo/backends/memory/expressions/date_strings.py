"""Dates as text: ``$dateToString`` (%-format specifiers) and ``$dateFromString`` (parsing).

    >>> import datetime
    >>> from dongo.backends.memory.expressions import compile_expression
    >>> compile_expression({"$dateToString": {"date": "$d", "format": "%d/%m/%Y"}})(
    ...     {"d": datetime.datetime(2024, 5, 1)}, {})
    '01/05/2024'
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from typing import Any, Callable

from ..errors import CONVERSION_FAILURE, ServerError
from .core import Evaluator, _compile, _fail, _is_constant, _nullish, _operator, _show, _type_name
from .dates import (_check_named, _date_arg, _from_local, _optional, _sunday_week, _timezone_of, _to_local,
                    _utc_offset_minutes)


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]


def _offset_text(date: _dt.datetime, tz: Any, signed: bool) -> str:
    """%z ("+hhmm") or %Z (minutes: "60", "-240", no sign for positive offsets, as the server jstest shows)."""
    minutes = _utc_offset_minutes(date, tz)
    if not signed:
        return str(minutes)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


# $dateToString's %-specifiers: (local time, naive UTC date, tz) -> text.
_FORMATTERS: dict[str, Callable[[_dt.datetime, _dt.datetime, Any], str]] = {
    "Y": lambda local, date, tz: f"{local.year:04d}",
    "m": lambda local, date, tz: f"{local.month:02d}",
    "d": lambda local, date, tz: f"{local.day:02d}",
    "H": lambda local, date, tz: f"{local.hour:02d}",
    "M": lambda local, date, tz: f"{local.minute:02d}",
    "S": lambda local, date, tz: f"{local.second:02d}",
    "L": lambda local, date, tz: f"{local.microsecond // 1000:03d}",
    "j": lambda local, date, tz: f"{local.timetuple().tm_yday:03d}",
    "w": lambda local, date, tz: str((local.weekday() + 1) % 7 + 1),
    "u": lambda local, date, tz: str(local.isocalendar()[2]),
    "U": lambda local, date, tz: f"{_sunday_week(local):02d}",
    "V": lambda local, date, tz: f"{local.isocalendar()[1]:02d}",
    "G": lambda local, date, tz: f"{local.isocalendar()[0]:04d}",
    "z": lambda local, date, tz: _offset_text(date, tz, signed=True),
    "Z": lambda local, date, tz: _offset_text(date, tz, signed=False),
    "b": lambda local, date, tz: _MONTHS[local.month - 1][:3],
    "B": lambda local, date, tz: _MONTHS[local.month - 1],
    "%": lambda local, date, tz: "%",
}
_FORMAT_SPECIFIERS = set(_FORMATTERS)


def _check_format(fmt: str) -> None:
    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            if i + 1 >= len(fmt):
                raise _fail(18535, "Unmatched '%' at end of format string")
            if fmt[i + 1] not in _FORMAT_SPECIFIERS:
                raise _fail(18536, f"Invalid format character '%{fmt[i + 1]}' in format string")
            i += 2
        else:
            i += 1


@functools.lru_cache(maxsize=256)
def _format_plan(fmt: str) -> tuple:
    """``fmt`` as literal text runs and %-specifier formatters, parsed once per format string."""
    plan: list = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            if plan and type(plan[-1]) is str:
                plan[-1] += ch
            else:
                plan.append(ch)
            i += 1
            continue
        spec = fmt[i + 1]
        i += 2
        formatter = _FORMATTERS.get(spec)
        if formatter is not None:
            plan.append(formatter)
    return tuple(plan)


def _format_date(date: _dt.datetime, fmt: str, tz: Any) -> str:
    """``$dateToString`` formatting of the naive-UTC ``date`` in ``tz``."""
    local = _to_local(date, tz)
    return "".join([part if type(part) is str else part(local, date, tz) for part in _format_plan(fmt)])


def _format_and_timezone(name: str, code: int, f_format: Evaluator | None, f_tz: Evaluator | None,
                         doc, vars) -> tuple[bool, Any, Any]:
    """(ok, format string or None, tzinfo) of $dateToString/$dateFromString.

    ok is False when the format or the timezone is null/missing (the result is
    then null); a format that is not a string raises ``code``.
    """
    fmt = None
    if f_format is not None:
        fmt = f_format(doc, vars)
        if _nullish(fmt):
            return False, None, None
        if not isinstance(fmt, str):
            raise _fail(code, f"{name} requires that 'format' be a string, found: "
                              f"{_type_name(fmt)} with value {_show(fmt)}")
        _check_format(fmt)
    ok, tz = _timezone_of(f_tz, doc, vars)
    return ok, fmt, tz


@_operator("$dateToString")
def _c_date_to_string(spec, scope):
    _check_named("$dateToString", spec, ("date", "format", "timezone", "onNull"), ("date",),
                 (18629, 18534, {"date": 18628}))
    f_date = _compile(spec["date"], scope)
    f_format = _optional(spec, "format", scope)
    f_tz = _optional(spec, "timezone", scope)
    f_on_null = _optional(spec, "onNull", scope)
    if f_format is not None and _is_constant(f_format):
        if not isinstance(f_format.constant, str) and not _nullish(f_format.constant):
            raise _fail(18533, f"$dateToString requires that 'format' be a string, found: "
                               f"{_type_name(f_format.constant)} with value {_show(f_format.constant)}")
        if isinstance(f_format.constant, str):
            _check_format(f_format.constant)

    def date_to_string(doc, vars):
        v = f_date(doc, vars)
        ok, fmt, tz = _format_and_timezone("$dateToString", 18533, f_format, f_tz, doc, vars)
        if not ok:
            return None
        if _nullish(v):
            return f_on_null(doc, vars) if f_on_null is not None else None
        if fmt is None:
            # MongoDB 7.0 always appends "Z" (7.1+ drops it for a non-UTC timezone, not backported).
            fmt = "%Y-%m-%dT%H:%M:%S.%LZ"
        return _format_date(_date_arg(v), fmt, tz)

    return date_to_string


# --- $dateFromString parsing ---------------------------------------------------
#
# Without a format the server parses with timelib, which accepts ISO 8601 and a
# range of "wacky" human formats; the common ones are reproduced here.  A zone
# written in the string (Z, +hh[:mm], GMT+hh:mm, an abbreviation such as EST or a
# military letter) may not be combined with the 'timezone' argument.

# Time zone abbreviations timelib knows (minutes east of UTC), plus military letters.
_ZONE_ABBREVIATIONS = {
    "UTC": 0, "UT": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 60, "BST": 60, "CET": 60, "CEST": 120, "MET": 60,
    "MEST": 120, "EET": 120, "EEST": 180, "MSK": 180, "IST": 330, "JST": 540, "KST": 540, "HKT": 480,
    "AEST": 600, "AEDT": 660, "ACST": 570, "AWST": 480, "NZST": 720, "NZDT": 780, "EST": -300, "EDT": -240,
    "CST": -360, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480,
    "HST": -600,
}
_ZONE_ABBREVIATIONS.update({letter: 60 * (i + 1) for i, letter in enumerate("ABCDEFGHI")})
_ZONE_ABBREVIATIONS.update({"K": 600, "L": 660, "M": 720})
_ZONE_ABBREVIATIONS.update({letter: -60 * (i + 1) for i, letter in enumerate("NOPQRSTUVWXY")})

_ZONE = r"(?P<zone>\s*(?:(?P<abbr>[A-Za-z]{1,5})(?P<aoff>[+-]\d{1,2}(?::?\d{2})?)?|(?P<off>[+-]\d{1,2}(?::?\d{2})?)))"

# Parsing: each format specifier as a regex group.
_PARSE_SPECIFIERS = {
    "Y": r"(?P<Y>\d{1,4})", "m": r"(?P<m>\d{1,2})", "d": r"(?P<d>\d{1,2})", "H": r"(?P<H>\d{1,2})",
    "M": r"(?P<M>\d{1,2})", "S": r"(?P<S>\d{1,2})", "L": r"(?P<L>\d{1,3})", "j": r"(?P<j>\d{1,3})",
    "z": _ZONE, "Z": r"(?P<Z>[+-]?\d+)", "G": r"(?P<G>\d{1,4})", "V": r"(?P<V>\d{1,2})",
    "u": r"(?P<u>\d)", "w": r"(?P<w>\d)", "U": r"(?P<U>\d{1,2})",
    "b": r"(?P<b>[A-Za-z]{3})", "B": r"(?P<B>[A-Za-z]+)", "%": "%",
}

_TIME = (r"(?:(?:[T ]|\s+)(?P<H>\d{1,2})(?::(?P<M>\d{2})(?:[:.](?P<S>\d{2})(?:\.(?P<L>\d+))?)?)?"
         r"\s*(?P<ampm>[aApP][mM])?)?")
_DEFAULT_FORMATS = [re.compile("^" + pattern + "$") for pattern in (
    r"(?P<Y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME + _ZONE + "?",
    r"(?P<Y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})" + _TIME + _ZONE + "?",
    r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{2}|\d{4})" + _TIME + _ZONE + "?",
    r"(?P<d>\d{1,2})-(?P<m>\d{1,2})-(?P<Y>\d{4})" + _TIME + _ZONE + "?",
    r"(?P<Y>\d{4})-(?P<b>[A-Za-z]{3,9})-(?P<d>\d{1,2})(?:\s+(?P<word>noon|midnight))?" + _TIME + _ZONE + "?",
    r"(?P<b>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<Y>\d{4})" + _TIME + _ZONE + "?",
    r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?P<b>[A-Za-z]{3,9})\.?,?\s+(?P<Y>\d{4})" + _TIME + _ZONE + "?",
)]
# Strings with a time or a month but no year: timelib's "incomplete" error.
_INCOMPLETE = re.compile(r"^\s*(?:\d{1,2}:\d{2}(?::\d{2})?|[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?)\s*$")


def _format_regex(fmt: str):
    parts = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            parts.append(_PARSE_SPECIFIERS[fmt[i + 1]])
            i += 2
        else:
            parts.append(re.escape(fmt[i]))
            i += 1
    return re.compile("^" + "".join(parts) + "$")


def _offset_minutes(text: str) -> int:
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (digits, "0") if len(digits) <= 2 else (digits[:-2], digits[-2:])
    return sign * (int(hours) * 60 + int(minutes))


def _zone_offset(g: dict) -> int | None:
    """Minutes east of UTC written in the parsed string, or None."""
    if g.get("off"):
        return _offset_minutes(g["off"])
    if g.get("abbr"):
        base = _ZONE_ABBREVIATIONS.get(g["abbr"].upper())
        if base is None:
            raise ValueError(f"unknown time zone abbreviation {g['abbr']}")
        return base + (_offset_minutes(g["aoff"]) if g.get("aoff") else 0)
    if "Z" in g:
        return int(g["Z"])
    return None


def _month_number(name: str) -> int:
    names = [n[:3].lower() for n in _MONTHS]
    key = name[:3].lower()
    if key not in names or (len(name) > 3 and not _MONTHS[names.index(key)].lower().startswith(name.lower())):
        raise ValueError(f"invalid month name {name}")
    return names.index(key) + 1


def _parse_date_string(s: str, fmt: str | None, tz: Any) -> _dt.datetime:
    """Parse ``s`` like ``$dateFromString``; returns a naive UTC datetime."""
    def bad(reason: str) -> ServerError:
        return _fail(CONVERSION_FAILURE, f"Error parsing date string '{s}'; {reason}")

    if fmt is None:
        text = s.strip()
        m = next((m for m in (rx.match(text) for rx in _DEFAULT_FORMATS) if m), None)
        if m is None:
            if _INCOMPLETE.match(text):
                raise _fail(CONVERSION_FAILURE, f"an incomplete date/time string has been found, with elements "
                                                f"missing: '{s}'")
            raise bad("The string does not match a known date format")
    else:
        m = _format_regex(fmt).match(s)
        if m is None:
            raise bad("Data missing or trailing data: the string does not match the format")
    g = {k: v for k, v in m.groupdict().items() if v is not None}
    if ({"G", "V", "u"} & set(g)) and ({"Y", "m", "d", "j", "b", "B"} & set(g)):
        raise bad("Mixing of ISO dates with natural dates is not allowed")
    try:
        offset = _zone_offset(g)
    except ValueError as exc:
        raise bad(str(exc)) from None
    if offset is not None and tz is not None:
        raise _fail(CONVERSION_FAILURE, "you cannot pass in a date/time string with GMT offset together with a "
                                        "timezone argument")
    try:
        if "G" in g:  # week and day overflow into the next year, as timelib does
            base = _dt.datetime.fromisocalendar(int(g["G"]), 1, 1) + _dt.timedelta(
                weeks=int(g.get("V", 1)) - 1, days=int(g.get("u", 1)) - 1)
        elif {"V", "u"} & set(g):
            raise bad("The parsed date was invalid")
        elif "j" in g and "Y" in g:
            base = _dt.datetime(int(g["Y"]), 1, 1) + _dt.timedelta(days=int(g["j"]) - 1)
        else:
            if "y" in g:  # two-digit years: 70-99 are 19xx, 00-69 are 20xx
                year = int(g["y"])
                g["Y"] = str(year + (1900 if 70 <= year <= 99 else 2000) if len(g["y"]) == 2 else year)
            if "Y" not in g:
                raise bad("The parsed date was invalid")
            month = _month_number(g.get("B") or g["b"]) if ("b" in g or "B" in g) else int(g.get("m", 1))
            base = _dt.datetime(int(g["Y"]), month, int(g.get("d", 1)))
        hour = int(g.get("H", 0))
        if g.get("ampm"):
            if not 1 <= hour <= 12:
                raise bad("invalid 12-hour time")
            hour = hour % 12 + (12 if g["ampm"].lower() == "pm" else 0)
        if g.get("word") == "noon":
            hour = 12
        ms = int((g.get("L", "0") + "00")[:3])
        local = base.replace(hour=hour, minute=int(g.get("M", 0)), second=int(g.get("S", 0)),
                             microsecond=ms * 1000)
    except (ValueError, OverflowError) as exc:
        raise bad(f"The parsed date was invalid ({exc})") from None
    if offset is not None:
        return local - _dt.timedelta(minutes=offset)
    return _from_local(local, tz)


@_operator("$dateFromString")
def _c_date_from_string(spec, scope):
    _check_named("$dateFromString", spec, ("dateString", "format", "timezone", "onError", "onNull"),
                 ("dateString",), 40540)
    f_string = _compile(spec["dateString"], scope)
    f_format = _optional(spec, "format", scope)
    f_tz = _optional(spec, "timezone", scope)
    f_on_error = _optional(spec, "onError", scope)
    f_on_null = _optional(spec, "onNull", scope)
    if f_format is not None and _is_constant(f_format) and isinstance(f_format.constant, str):
        _check_format(f_format.constant)

    def date_from_string(doc, vars):
        s = f_string(doc, vars)
        ok, fmt, tz = _format_and_timezone("$dateFromString", 40684, f_format, f_tz, doc, vars)
        if not ok:
            return None
        if _nullish(s):
            return f_on_null(doc, vars) if f_on_null is not None else None
        try:
            if not isinstance(s, str):
                raise _fail(CONVERSION_FAILURE, f"$dateFromString requires that 'dateString' be a string, "
                                                f"found: {_type_name(s)} with value {_show(s)}")
            return _parse_date_string(s, fmt, tz)
        except ServerError as exc:
            if f_on_error is not None and exc.code == CONVERSION_FAILURE:
                return f_on_error(doc, vars)
            raise

    return date_from_string
