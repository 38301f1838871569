"""MongoDB regular expressions (PCRE2) translated to Python's ``re``.

Since 6.1 the server compiles every ``$regex`` / ``$regexMatch`` pattern with
PCRE2 in UTF mode *without* UCP.  That differs from Python's ``re`` on ``str``
patterns in many small ways; this module reads a PCRE2 pattern token by token
and writes the Python pattern that matches the same strings:

* ``\\d \\w \\s`` (and ``\\b``, POSIX classes such as ``[[:alpha:]]``) are
  ASCII-only, and case-insensitive matching never widens them (``\\w`` with
  ``i`` does not match KELVIN SIGN, ``\\p{Lu}`` with ``i`` stays upper case);
* PCRE-only escapes: ``\\h \\H \\v \\V \\R \\N \\x{..} \\o{..} \\Q..\\E \\p{..}
  \\g{..} \\k<..> \\z \\Z \\e \\cX``; PCRE's ``\\v`` is a class, not VT;
* PCRE-only groups: ``(?<name>``, ``(?'name'``, ``(?#..)``, flags switched
  mid-pattern (``a(?i)b``), ``(*FAIL)``;
* the ``x`` option is applied here (PCRE2's rules, not Python's), and ``^``
  under ``m`` does not match after a newline that ends the subject;
* Python-only spellings (``\\u``, ``\\U``, ``{,n}``, ``(?a)`` ...) keep their
  PCRE meaning or are rejected the way PCRE2 rejects them.

Constructs Python's ``re`` cannot express (recursion, ``\\K``, ``\\G``, branch
reset, script properties ...) raise ``NotImplementedError`` naming them.
The tests compare the translation with the real libpcre2 on random patterns.

    >>> compile_pcre(r"^\\w+(?i)X$", "").search("abcx") is not None
    True
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

from .errors import ServerError

__all__ = ["compile_pcre", "translate_pcre", "PcreError", "VALID_FLAGS"]

VALID_FLAGS = "imsxu"  # the $regex page: i m x s u ("u" is accepted, UTF is always on)

# Atomic groups and possessive quantifiers exist in ``re`` from 3.11 only.
_HAS_ATOMIC = sys.version_info >= (3, 11)

_MAX_CHAR = 0x10FFFF
_MAX_REPEAT = 65535  # PCRE2: "number too big in {} quantifier"
_MAX_NAME = 32  # PCRE2's MAX_NAME_SIZE
_MAX_PATTERN_BYTES = 32764  # the server's limit on a pattern's UTF-8 length

# PCRE2 in extended mode skips these outside classes (Pattern_White_Space).
_EXTENDED_SPACE = frozenset(" \t\n\x0b\x0c\r\x85\u200e\u200f\u2028\u2029")

# Character sets as sorted lists of inclusive code-point ranges.
_DIGIT = [(0x30, 0x39)]
_UPPER = [(0x41, 0x5A)]
_LOWER = [(0x61, 0x7A)]
_ALPHA = _UPPER + _LOWER
_WORD = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
_SPACE = [(0x09, 0x0D), (0x20, 0x20)]  # \s includes VT since PCRE 8.34
_HSPACE = [(0x09, 0x09), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x180E, 0x180E),
           (0x2000, 0x200A), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000)]
_VSPACE = [(0x0A, 0x0D), (0x85, 0x85), (0x2028, 0x2029)]

_ESCAPE_SETS = {"d": _DIGIT, "w": _WORD, "s": _SPACE, "h": _HSPACE, "v": _VSPACE}

# POSIX classes: ASCII only, since the server does not set UCP.
_POSIX = {
    "alpha": _ALPHA,
    "digit": _DIGIT,
    "alnum": [(0x30, 0x39)] + _ALPHA,
    "space": _SPACE,
    "upper": _UPPER,
    "lower": _LOWER,
    "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
    "word": _WORD,
    "blank": [(0x09, 0x09), (0x20, 0x20)],
    "cntrl": [(0x00, 0x1F), (0x7F, 0x7F)],
    "graph": [(0x21, 0x7E)],
    "print": [(0x20, 0x7E)],
    "ascii": [(0x00, 0x7F)],
}

# Zero-width escapes: they take no quantifier.  \z is Python's \Z; PCRE's \Z
# also matches before a final newline.
# \b and \B use ASCII word characters (Python's scoped ASCII mode gives exactly
# that, whatever the i flag); Python's own \B never matches in an empty string.
_ASSERTIONS = {"A": r"\A", "z": r"\Z", "Z": r"(?=\n?\Z)", "b": r"(?a:\b)", "B": r"(?!(?a:\b))"}
_UNSUPPORTED_ESCAPES = frozenset("GKXC")  # \G start of match, \K reset, \X grapheme, \C code unit
_SIMPLE_ESCAPES = {"a": 0x07, "e": 0x1B, "f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09}
_QUANTIFIER = re.compile(r"\{(\d+)(?:(,)(\d*))?\}")  # PCRE2 10.40: no {,n}, no spaces
_GROUP_NAME = re.compile(r"[A-Za-z_]\w*", re.ASCII)
_FLAG_LETTERS = frozenset("imsx")
# Characters whose case folding differs between Python and PCRE2 (Python's
# ``re`` folds i/I together with dotless i and dotted I; PCRE2 does not).
_TURKISH_I = {0x49: [(0x49, 0x49), (0x69, 0x69)], 0x69: [(0x49, 0x49), (0x69, 0x69)],
              0x130: [(0x130, 0x130)], 0x131: [(0x131, 0x131)]}


class PcreError(ValueError):
    """A pattern PCRE2 itself rejects; the message is PCRE2's wording."""


def _unsupported(feature: str) -> NotImplementedError:
    return NotImplementedError(f"{feature} is not supported by the memory engine")


# ==========================================================================
# Public API
# ==========================================================================


@functools.lru_cache(maxsize=2048)
def compile_pcre(pattern: str, flags: str = "", operator: str | None = None) -> re.Pattern:
    """Compile a MongoDB (PCRE2) regular expression with ``$options`` ``flags``.

    Errors follow the server, in the server's order.  For a query ``$regex``
    (``operator`` None): an unknown option letter is 51108 (the message
    starts with a space: the server formats an empty operator name into it),
    a pattern over 32764 bytes or with a NUL byte is BadValue (2), and a
    pattern PCRE2 rejects is 51091.  For ``$regexMatch`` / ``$regexFind`` /
    ``$regexFindAll`` (``operator`` names it): a NUL byte is 51109 (51110 in
    the options), an unknown letter 51108 and a rejected pattern 51111.  Results are cached,
    so compiling the same pattern again is a dict lookup.

        >>> compile_pcre(r"[[:digit:]]+\\z", "").search("a12").group()
        '12'
    """
    if operator is not None:
        if "\x00" in pattern:
            raise ServerError(51109, f"{operator}: regular expression cannot contain an embedded null byte")
        if "\x00" in flags:
            raise ServerError(
                51110, f"{operator}: regular expression options cannot contain an embedded null byte")
    for letter in flags:
        if letter not in VALID_FLAGS:
            raise ServerError(51108, f"{operator or ''} invalid flag in regex options: {letter}")
    too_long = _utf8_length(pattern) > _MAX_PATTERN_BYTES
    if operator is None:
        if too_long:
            raise ServerError(2, "Regular expression is too long")
        if "\x00" in pattern:
            raise ServerError(2, "Regular expression cannot contain an embedded null byte")
    try:
        if too_long:
            raise PcreError("pattern string is longer than the limit set by the application")
        source, bits = translate_pcre(pattern, flags)
        return re.compile(source, bits)
    except (PcreError, re.error) as exc:
        reason = str(exc)
        if isinstance(exc, re.error) and "look-behind requires fixed-width" in reason:
            # PCRE2 accepts alternatives of different fixed lengths; Python does not.
            raise _unsupported("a lookbehind whose alternatives differ in length") from None
        if operator is None:
            raise ServerError(51091, f"Regular expression is invalid: {reason}") from None
        raise ServerError(51111, f"Invalid Regex in {operator}: {reason}") from None


def _utf8_length(text: str) -> int:
    if len(text) * 4 <= _MAX_PATTERN_BYTES:  # cannot be too long: skip the encode
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def translate_pcre(pattern: str, flags: str = "") -> tuple[str, int]:
    """Return ``(python_pattern, re_flags)`` equivalent to a PCRE2 pattern.

    Raises ``PcreError`` (a pattern PCRE2 rejects) or ``NotImplementedError``;
    most callers want :func:`compile_pcre`.  Linear in the pattern length
    (plus a one-off ~0.5 s table build on the first ``\\p{..}``).

        >>> translate_pcre(r"(?<y>\\d{4})", "")
        ('(?P<y>[0-9]{4})', 0)
    """
    return _Translator(pattern, flags).run()


# ==========================================================================
# Character sets
# ==========================================================================


def _normalise(ranges: list) -> list:
    """Sort and merge overlapping or adjacent ranges."""
    merged: list = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _complement(ranges: list) -> list:
    out = []
    nxt = 0
    for lo, hi in _normalise(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= _MAX_CHAR:
        out.append((nxt, _MAX_CHAR))
    return out


def _char_source(cp: int) -> str:
    """A code point spelled safely for use inside a Python class."""
    ch = chr(cp)
    if ch.isascii() and (ch.isalnum() or ch == "_"):
        return ch
    if cp < 0x100:
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def _class_body(ranges: list) -> str:
    parts = []
    for lo, hi in ranges:
        if lo == hi:
            parts.append(_char_source(lo))
        elif hi == lo + 1:
            parts.append(_char_source(lo) + _char_source(hi))
        else:
            parts.append(f"{_char_source(lo)}-{_char_source(hi)}")
    return "".join(parts)


def _python_class(ranges: list, negated: bool) -> str:
    ranges = _normalise(ranges)
    if not ranges:
        return "(?s:.)" if negated else "(?!)"
    return ("[^" if negated else "[") + _class_body(ranges) + "]"


@functools.lru_cache(maxsize=1)
def _category_table() -> dict:
    """General category → ranges, built once on the first ``\\p`` (~0.3 s)."""
    table: dict = {}
    category = unicodedata.category
    start, current = 0, category("\x00")
    for cp in range(1, _MAX_CHAR + 2):
        cat = category(chr(cp)) if cp <= _MAX_CHAR else None
        if cat != current:
            table.setdefault(current, []).append((start, cp - 1))
            start, current = cp, cat
    return table


_CATEGORY_NAMES = {"c", "cc", "cf", "cn", "co", "cs", "l", "ll", "lm", "lo", "lt", "lu", "m", "mc",
                   "me", "mn", "n", "nd", "nl", "no", "p", "pc", "pd", "pe", "pf", "pi", "po", "ps",
                   "s", "sc", "sk", "sm", "so", "z", "zl", "zp", "zs"}


def _property_ranges(name: str) -> list:
    """The ranges of ``\\p{name}`` (general categories and PCRE's specials)."""
    key = re.sub(r"[\s_-]", "", name).lower()  # PCRE2 10.40 matches names loosely
    table = _category_table()
    if key == "any":
        return [(0, _MAX_CHAR)]
    if key in ("l&", "lc"):
        return _normalise(table["Lu"] + table["Ll"] + table["Lt"])
    if key in _CATEGORY_NAMES:
        if len(key) == 2:
            return list(table.get(key.capitalize(), []))
        return _normalise([r for cat, rs in table.items() if cat[0] == key.upper() for r in rs])
    if key in ("xan", "xwd"):
        extra = [(0x5F, 0x5F)] if key == "xwd" else []
        return _normalise(_property_ranges("L") + _property_ranges("N") + extra)
    if key in ("xsp", "xps"):
        return _normalise(_property_ranges("Z") + _SPACE)
    raise _unsupported(f"\\p{{{name}}} (scripts and properties other than general categories)")


# ==========================================================================
# The translator
# ==========================================================================


class _Frame:
    """One open group: the flags in force inside it and outside it.

    A flag change such as ``(?i)`` inside a group lasts to the end of that
    group (and carries into its later alternatives); Python needs it spelled
    as a scoped ``(?i:...)``.  ``wraps`` counts those scoped groups, which
    are closed at every ``|`` and at the group's ``)``.
    """

    __slots__ = ("flags", "outer", "wraps", "number", "start", "bars", "lookbehind")

    def __init__(self, flags: frozenset, outer: frozenset, number: int | None, start: int = 0) -> None:
        self.flags = flags  # what Python has in force right inside the group
        self.outer = outer  # restored at the group's ")"
        self.wraps = 0
        self.number = number  # capture group number, None if not capturing
        self.start = start  # index in the output where the group's body begins
        self.bars: list = []  # output indices of this group's top-level "|"
        self.lookbehind = False


class _Translator:
    def __init__(self, pattern: str, flags: str) -> None:
        self.p = pattern
        self.i = 0
        self.out: list = []
        self.flags = frozenset(f for f in flags if f in _FLAG_LETTERS)
        # Python sees i, m and s through re flags; x is applied here.
        self.bits = 0
        for letter, bit in (("i", re.I), ("m", re.M), ("s", re.S)):
            if letter in flags:
                self.bits |= bit
        self.stack = [_Frame(self.flags, self.flags, None)]
        self.opened = 0  # capture groups opened so far
        self.closed: set = set()
        self.names: dict = {}  # name -> group number
        self.closed_names: set = set()
        self.later_refs: list = []  # (number or name) referenced before it closed
        self.later_conditions: list = []  # group numbers tested before they opened
        # whether the last item can take a quantifier (PCRE2 rejects "\\b*", "^+", "(?i)?")
        self.repeatable = False

    # -- helpers -------------------------------------------------------------

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.p[j] if j < len(self.p) else ""

    def icase(self) -> bool:
        return "i" in self.flags

    def skip_ignored(self) -> None:
        """In extended mode, skip white space and ``#`` comments."""
        p, n = self.p, len(self.p)
        while "x" in self.flags and self.i < n:
            if p[self.i] in _EXTENDED_SPACE:
                self.i += 1
            elif p[self.i] == "#":
                end = p.find("\n", self.i)
                self.i = n if end < 0 else end + 1
            else:
                break
        # (?#...) comments are skipped in every mode
        while p.startswith("(?#", self.i):
            end = p.find(")", self.i)
            if end < 0:
                raise PcreError("missing ) after (?# comment")
            self.i = end + 1
            if "x" in self.flags:
                self.skip_ignored()

    def emit_set(self, nofold: list, negated: bool = False, fold: list = ()) -> None:
        """Emit a class: ``fold`` members follow ``i``, ``nofold`` ones never do."""
        fold = _normalise(fold)
        if self.icase():
            hits = [cp for cp in _TURKISH_I if any(lo <= cp <= hi for lo, hi in fold)]
            if hits:  # fold them the PCRE2 way, without Python's dotless/dotted i
                fold = _subtract(fold, [(cp, cp) for cp in hits])
                nofold = nofold + [r for cp in hits for r in _TURKISH_I[cp]]
        if not self.icase() or not nofold:
            self.out.append(_python_class(fold + nofold, negated))
            return
        strict = "(?-i:" + _python_class(nofold, False) + ")"
        if not fold:
            self.out.append("(?-i:" + _python_class(nofold, negated) + ")")
        elif negated:
            self.out.append(f"(?:(?!{strict}){_python_class(fold, True)})")
        else:
            self.out.append(f"(?:{strict}|{_python_class(fold, False)})")

    def emit_char(self, cp: int) -> None:
        if self.icase() and cp in _TURKISH_I:
            self.emit_set(_TURKISH_I[cp])
        else:
            self.out.append(re.escape(chr(cp)))

    # -- main loop -----------------------------------------------------------

    def run(self) -> tuple[str, int]:
        p = self.p
        while True:
            self.skip_ignored()
            if self.i >= len(p):
                break
            ch = p[self.i]
            if ch == "\\":
                self.escape_outside()
            elif ch == "[":
                self.char_class()
                self.repeatable = True
            elif ch == "(":
                self.open_group()
            elif ch == ")":
                self.close_group()
                self.repeatable = True  # PCRE2 accepts quantified assertions too
            elif ch == "|":
                self.i += 1
                self.alternative()
                self.repeatable = False
            elif ch in "*+?":
                self.i += 1
                self.quantifier(ch)
            elif ch == "{":
                self.brace()
            elif ch == "^":
                self.i += 1
                # PCRE2's multiline ^ does not match after a newline that ends the subject
                self.out.append(r"(?:\A|(?<=\n)(?!\Z))" if "m" in self.flags else "^")
                self.repeatable = False
            elif ch == "$":
                self.i += 1
                self.out.append("$")  # same as Python under both m and not m
                self.repeatable = False
            elif ch == ".":
                self.i += 1
                self.out.append(".")  # newline is LF in both; s handled by re.S
                self.repeatable = True
            else:
                self.i += 1
                self.emit_char(ord(ch))
                self.repeatable = True
        if len(self.stack) > 1:
            raise PcreError("missing closing parenthesis")
        self.out.append(")" * self.stack[0].wraps)
        if any(number > self.opened for number in self.later_conditions):
            raise PcreError("reference to non-existent subpattern")
        for ref in self.later_refs:
            known = ref in self.names if isinstance(ref, str) else ref <= self.opened
            if not known:
                raise PcreError("reference to non-existent subpattern")
            raise _unsupported("a reference to a group that is not yet closed")
        return "".join(self.out), self.bits

    # -- quantifiers ---------------------------------------------------------

    def quantifier(self, text: str) -> None:
        """Emit a quantifier and its lazy ``?`` or possessive ``+`` suffix."""
        if not self.repeatable:
            raise PcreError("quantifier does not follow a repeatable item")
        self.out.append(text)
        self.repeatable = False
        self.skip_ignored()
        nxt = self.peek()
        if nxt == "?":
            self.i += 1
            self.out.append("?")
        elif nxt == "+":
            if not _HAS_ATOMIC:
                raise _unsupported("possessive quantifiers (a++) before Python 3.11")
            self.i += 1
            self.out.append("+")

    def brace(self) -> None:
        m = _QUANTIFIER.match(self.p, self.i)
        if m is None:  # not a quantifier: a literal brace in PCRE2
            self.i += 1
            self.out.append(r"\{")
            self.repeatable = True
            return
        low = int(m.group(1))
        high = None if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
        if low > _MAX_REPEAT or (high is not None and high > _MAX_REPEAT):
            raise PcreError("number too big in {} quantifier")
        if high is not None and high < low:
            raise PcreError("numbers out of order in {} quantifier")
        self.i = m.end()
        self.quantifier(m.group(0))

    # -- groups and flags ----------------------------------------------------

    def close_group(self) -> None:
        self.i += 1
        if len(self.stack) == 1:
            raise PcreError("unmatched closing parenthesis")
        frame = self.stack.pop()
        if frame.lookbehind:
            self.close_lookbehind(frame)
        else:
            self.out.append(")" * frame.wraps + ")")
        self.flags = frame.outer
        if frame.number is not None:
            self.closed.add(frame.number)
            for name, number in self.names.items():
                if number == frame.number:
                    self.closed_names.add(name)

    def alternative(self) -> None:
        frame = self.stack[-1]
        self.out.append(")" * frame.wraps)
        frame.bars.append(len(self.out))
        self.out.append("|")
        frame.wraps = 0
        if self.flags != frame.flags:  # a mid-branch (?i) carries into later branches
            self.out.append(_scoped(frame.flags, self.flags))
            frame.wraps = 1

    def close_lookbehind(self, frame: _Frame) -> None:
        """Close ``(?<=...)`` / ``(?<!...)`` the way PCRE2 (10.42) reads it.

        PCRE2 wants each top-level branch of a lookbehind fixed-length, Python
        the whole assertion.  A variable-length branch is PCRE2's error; when
        the branches only differ in length, each gets its own lookbehind:
        ``(?<=a|bc)`` → ``(?:(?<=a)|(?<=bc))``, ``(?<!a|bc)`` → ``(?:(?<!a)(?<!bc))``.
        """
        edges = [frame.start] + [b + 1 for b in frame.bars]
        ends = frame.bars + [len(self.out)]
        branches = []
        for lo, hi in zip(edges, ends):
            branch = "".join(self.out[lo:hi]) + (")" * frame.wraps if hi == len(self.out) else "")
            if _fixed_width_error(f"(?<={branch})", self.bits):
                raise PcreError("lookbehind assertion is not fixed length")
            branches.append(branch)
        opener = self.out[frame.start - 1]
        whole = "".join(self.out[frame.start:]) + ")" * frame.wraps
        if len(branches) == 1 or not _fixed_width_error(f"{opener}{whole})", self.bits):
            self.out.append(")" * frame.wraps + ")")
            return
        del self.out[frame.start - 1:]
        joiner = "|" if opener == "(?<=" else ""
        self.out.append("(?:" + joiner.join(f"{opener}{b})" for b in branches) + ")")

    def set_flags(self, new: frozenset) -> None:
        """``(?i)`` and friends: wrap the rest of the group in a scoped group."""
        if new != self.flags:
            self.out.append(_scoped(self.flags, new))
            self.stack[-1].wraps += 1
        self.flags = new
        self.repeatable = False

    def open_group(self) -> None:
        p = self.p
        if p.startswith("(*", self.i):
            self.verb()
            return
        if not p.startswith("(?", self.i):
            self.i += 1
            self.opened += 1
            self.push_group("(", self.opened)
            return
        j = self.i + 2
        c = self.peek(2)
        two = p[j:j + 2]
        if c in (":", "=", "!") or two in ("<=", "<!"):
            width = 1 if c in (":", "=", "!") else 2
            self.i = j + width
            self.push_group(p[self.i - width - 2:self.i], None)
            self.stack[-1].lookbehind = two in ("<=", "<!")
        elif c == ">":
            if not _HAS_ATOMIC:
                raise _unsupported("atomic groups (?>...) before Python 3.11")
            self.i = j + 1
            self.push_group("(?>", None)
        elif c == "|":
            raise _unsupported("branch reset groups (?|...)")
        elif c == "<" or c == "'" or two == "P<":
            self.named_group(j + (2 if two == "P<" else 1), ">" if c != "'" else "'")
        elif two == "P=":
            end = p.find(")", j)
            if end < 0:
                raise PcreError("syntax error in subpattern name (missing terminator?)")
            self.i = end + 1
            self.backref_name(p[j + 2:end])
        elif two == "P>" or c == "&":
            raise _unsupported("subroutine calls (?&name)")
        elif c == "R" or c.isdigit() or (c in "+-" and self.peek(3).isdigit()):
            raise _unsupported("recursion and subroutine calls (?R), (?1)")
        elif c == "(":
            self.conditional(j + 1)
        elif c == "C":
            raise _unsupported("callouts (?C)")
        else:
            self.inline_flags(j)

    def push_group(self, text: str, number: int | None, flags: frozenset | None = None) -> None:
        inner = self.flags if flags is None else flags
        self.repeatable = False
        self.out.append(text)
        self.stack.append(_Frame(inner, self.flags, number, len(self.out)))
        self.flags = inner

    def named_group(self, start: int, terminator: str) -> None:
        m = _GROUP_NAME.match(self.p, start)
        if m is None or self.p[m.end():m.end() + 1] != terminator:
            raise PcreError("syntax error in subpattern name (missing terminator?)")
        name = m.group()
        if len(name) > _MAX_NAME:
            raise PcreError("subpattern name is too long (maximum 32 code units)")
        if name in self.names:
            raise PcreError("two named subpatterns have the same name (PCRE2_DUPNAMES not set)")
        self.opened += 1
        self.names[name] = self.opened
        self.i = m.end() + 1
        self.push_group(f"(?P<{name}>", self.opened)

    def conditional(self, start: int) -> None:
        p = self.p
        end = p.find(")", start)
        if end < 0:
            raise PcreError("malformed number or name after (?(")
        cond = p[start:end]
        if re.fullmatch(r"[+-]?\d+", cond):
            number = int(cond)
            if cond[0] == "-":
                number = self.opened + 1 + number
            elif cond[0] == "+":
                number = self.opened + number
            ref = str(number)
            if number <= 0:
                raise PcreError("reference to non-existent subpattern")
        else:
            m = re.fullmatch(r"<(\w+)>|'(\w+)'|([A-Za-z_]\w*)", cond)
            if m is None or cond == "DEFINE" or re.fullmatch(r"R(\d*|&\w+)", cond):
                raise _unsupported("conditions other than a group number or name in (?(...)")
            ref = next(g for g in m.groups() if g)
            if ref not in self.names:  # Python needs the name defined first
                self.later_refs.append(ref)
        if ref.isdigit() and int(ref) > self.opened:  # Python allows these; check existence
            self.later_conditions.append(int(ref))
        self.i = end + 1
        self.push_group(f"(?({ref})", None)

    def inline_flags(self, start: int) -> None:
        p = self.p
        j = start
        on = set(self.flags)
        sign = True
        caret = p[j:j + 1] == "^"
        if caret:  # (?^) unsets i m n s x
            on -= set("imsx")
            j += 1
        while j < len(p) and p[j] not in ":)":
            c = p[j]
            if c == "-" and caret:
                raise PcreError("invalid hyphen in option setting")
            if c == "-" and sign:
                sign = False
            elif c in _FLAG_LETTERS:
                (on.add if sign else on.discard)(c)
            elif c in "nJU":
                raise _unsupported(f"the inline option (?{c})")
            else:
                raise PcreError("unrecognized character after (? or (?-")
            j += 1
        if j >= len(p):
            raise PcreError("missing closing parenthesis")
        new = frozenset(on)
        self.i = j + 1
        if p[j] == ")":
            self.set_flags(new)
        else:
            self.push_group(_scoped(self.flags, new), None, new)

    def verb(self) -> None:
        m = re.compile(r"\(\*([A-Z_]*)(?::[^)]*)?\)").match(self.p, self.i)
        if m and m.group(1) in ("F", "FAIL"):
            self.i = m.end()
            self.out.append("(?!)")
            self.repeatable = False
            return
        if m is None:
            raise PcreError("(*VERB) not recognized or malformed")
        raise _unsupported(f"the (*{m.group(1)}) verb")

    # -- escapes -------------------------------------------------------------

    def escape_outside(self) -> None:
        p = self.p
        if self.i + 1 >= len(p):
            raise PcreError("\\ at end of pattern")
        c = p[self.i + 1]
        self.i += 2
        if c in _UNSUPPORTED_ESCAPES:
            raise _unsupported(f"\\{c}")
        if c in _ASSERTIONS:
            self.out.append(_ASSERTIONS[c])
            self.repeatable = False
            return
        if c == "E":  # a stray \E is ignored
            return
        if c == "Q":
            quoted: list = []
            self.quoted(quoted.append)
            for cp in quoted:
                self.emit_char(cp)
            self.repeatable = self.repeatable or bool(quoted)
            return
        self.repeatable = True
        if c == "R":
            body = "\\r\\n|[\\n\\x0b\\x0c\\r\\x85\\u2028\\u2029]"
            self.out.append(f"(?>{body})" if _HAS_ATOMIC else f"(?:{body})")
        elif c == "N" and (not p.startswith("{", self.i) or _QUANTIFIER.match(p, self.i)):
            self.out.append("[^\\n]")  # any character but newline; \N{2} is \N repeated
        elif c == "g" or c == "k":
            self.backref_escape(c)
        elif c.isdigit() and c != "0":
            self.numeric_escape(c)
        else:
            self.i -= 2
            kind, value = self.escape_value(in_class=False)
            if kind == "set":
                ranges, negated = value
                self.emit_set(ranges, negated)
            else:
                self.emit_char(value)

    def quoted(self, each) -> None:
        end = self.p.find("\\E", self.i)
        text = self.p[self.i:] if end < 0 else self.p[self.i:end]
        self.i = len(self.p) if end < 0 else end + 2
        for ch in text:
            each(ord(ch))

    def numeric_escape(self, first: str) -> None:
        m = re.compile(r"\d+").match(self.p, self.i - 1)
        digits = m.group()
        number = int(digits)
        if number < 10 or first in "89" or number <= self.opened:
            self.i = m.end()
            self.backref_number(number)
            return
        octal = re.compile(r"[0-7]{1,3}").match(self.p, self.i - 1)
        self.i = octal.end()
        self.emit_char(int(octal.group(), 8))

    def backref_escape(self, c: str) -> None:
        p = self.p
        if c == "g":
            m = re.compile(r"\{([+-]?\d+)\}|([+-]?\d+)|\{([A-Za-z_]\w*)\}").match(p, self.i)
            if m is None:
                if p[self.i:self.i + 1] in ("<", "'"):
                    raise _unsupported("subroutine calls \\g<...>")
                raise PcreError("a numbered reference must not be zero")
            self.i = m.end()
            if m.group(3):
                self.backref_name(m.group(3))
                return
            text = m.group(1) or m.group(2)
            number = int(text)
            if text[0] == "-":
                number = self.opened + 1 + number
            elif text[0] == "+":  # a forward reference to a later group
                number = self.opened + number
            if number <= 0:
                raise PcreError("a numbered reference must not be zero")
            self.backref_number(number)
        else:
            m = re.compile(r"<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)'|\{([A-Za-z_]\w*)\}").match(p, self.i)
            if m is None:
                raise PcreError("\\k is not followed by a braced, angle-bracketed, or quoted name")
            self.i = m.end()
            self.backref_name(next(g for g in m.groups() if g))

    def backref_number(self, number: int) -> None:
        if number not in self.closed:
            self.later_refs.append(number)
        if number > 99:
            raise _unsupported("backreferences to groups numbered above 99")
        self.out.append(f"(?:\\{number})")

    def backref_name(self, name: str) -> None:
        if name not in self.closed_names:
            self.later_refs.append(name)
        self.out.append(f"(?P={name})")

    def escape_value(self, in_class: bool):
        """Read one escape that stands for a character or a set of them.

        Returns ``("char", code_point)`` or ``("set", (ranges, negated))``.
        """
        p = self.p
        if self.i + 1 >= len(p):
            raise PcreError("\\ at end of pattern")
        c = p[self.i + 1]
        self.i += 2
        lower = c.lower()
        if lower in _ESCAPE_SETS and c.isalpha():
            return "set", (_ESCAPE_SETS[lower], c.isupper())
        if c in _SIMPLE_ESCAPES:
            return "char", _SIMPLE_ESCAPES[c]
        if c == "b":  # only reached inside a class: backspace
            return "char", 0x08
        if c in "pP":
            return "set", self.property(c == "P")
        if c == "x":
            m = re.compile(r"\{([0-9A-Fa-f]+)\}|[0-9A-Fa-f]{0,2}").match(p, self.i)
            self.i = m.end()
            if m.group(1) is not None:
                return "char", _code_point(int(m.group(1), 16))
            if not m.group() and p[self.i:self.i + 1] == "{":
                raise PcreError("non-hex character in \\x{} (closing brace missing?)")
            return "char", int(m.group() or "0", 16)
        if c == "o":
            m = re.compile(r"\{([0-7]+)\}").match(p, self.i)
            if m is None:
                raise PcreError("missing opening brace after \\o")
            self.i = m.end()
            return "char", _code_point(int(m.group(1), 8))
        if c == "0" or (in_class and c in "1234567"):
            m = re.compile(r"[0-7]{1,3}" if c != "0" else r"0[0-7]{0,2}").match(p, self.i - 1)
            self.i = m.end()
            return "char", int(m.group(), 8)
        if in_class and c in "89":
            return "char", ord(c)
        if c == "c":
            if self.i >= len(p) or not (0x20 <= ord(p[self.i]) < 0x7F):
                raise PcreError("\\c must be followed by a printable ASCII character")
            self.i += 1
            return "char", ord(p[self.i - 1].upper()) ^ 0x40
        if c == "N":
            m = re.compile(r"\{U\+([0-9A-Fa-f]+)\}").match(p, self.i)
            if m is None:
                raise PcreError("PCRE2 does not support \\F, \\L, \\l, \\N{name}, \\U, or \\u")
            self.i = m.end()
            return "char", _code_point(int(m.group(1), 16))
        if c in "uUlLF":
            raise PcreError("PCRE2 does not support \\F, \\L, \\l, \\N{name}, \\U, or \\u")
        if c.isascii() and c.isalnum():
            raise PcreError("unrecognized character follows \\")
        return "char", ord(c)

    def property(self, negated: bool) -> tuple:
        p = self.p
        if p[self.i:self.i + 1] == "{":
            end = p.find("}", self.i)
            if end < 0:
                raise PcreError("malformed \\P or \\p sequence")
            name = p[self.i + 1:end]
            self.i = end + 1
            if name.startswith("^"):
                negated, name = not negated, name[1:]
        elif self.i < len(p):
            name = p[self.i]
            self.i += 1
        else:
            raise PcreError("malformed \\P or \\p sequence")
        return _property_ranges(name), negated

    # -- character classes ---------------------------------------------------

    def char_class(self) -> None:
        p = self.p
        posix = re.compile(r"\[([:.=])\^?[a-z]*\1\]").match(p, self.i)
        if posix:
            if posix.group(1) == ":":
                raise PcreError("POSIX named classes are supported only within a class")
            raise PcreError("POSIX collating elements are not supported")
        self.i += 1
        negated = p[self.i:self.i + 1] == "^"
        if negated:
            self.i += 1
        fold: list = []
        nofold: list = []
        first = True
        while True:
            if self.i >= len(p):
                raise PcreError("missing terminating ] for character class")
            ch = p[self.i]
            if ch == "]" and not first:
                self.i += 1
                break
            item = self.class_item()
            if item is None:  # \E or an empty \Q\E: a "]" after it is still the first
                continue
            first = False
            kind, value = item
            if kind == "set":
                if p[self.i:self.i + 1] == "-" and p[self.i + 1:self.i + 2] not in ("]", ""):
                    raise PcreError("invalid range in character class")  # [\d-z]
                nofold.extend(value)
                continue
            if kind == "chars":
                fold.extend((cp, cp) for cp in value)
                continue
            low = value
            if p[self.i:self.i + 1] == "-" and p[self.i + 1:self.i + 2] not in ("]", ""):
                save = self.i
                self.i += 1
                high_item = self.class_item()
                if high_item is None or high_item[0] == "chars":
                    # "\Q\E" or a quoted run after the hyphen: keep it simple
                    self.i = save
                    fold.append((low, low))
                    continue
                if high_item[0] == "set":
                    raise PcreError("invalid range in character class")
                if high_item[1] < low:
                    raise PcreError("range out of order in character class")
                fold.append((low, high_item[1]))
            else:
                fold.append((low, low))
        self.emit_set(nofold, negated, fold)

    def class_item(self):
        """One member of a class: ``("char", cp)``, ``("set", ranges)``, ``("chars", [cp])`` or None."""
        p = self.p
        ch = p[self.i]
        if ch == "[":
            m = re.compile(r"\[([:.=])(\^?)([a-z]*)\1\]").match(p, self.i)
            if m:
                if m.group(1) != ":":
                    raise PcreError("POSIX collating elements are not supported")
                name = m.group(3)
                if name not in _POSIX:
                    raise PcreError("unknown POSIX class name")
                if name in ("upper", "lower") and self.icase():
                    name = "alpha"  # PCRE2: caseless upper and lower mean alpha
                self.i = m.end()
                ranges = _POSIX[name]
                return "set", (_complement(ranges) if m.group(2) else list(ranges))
        if ch != "\\":
            self.i += 1
            return "char", ord(ch)
        c = p[self.i + 1:self.i + 2]
        if c == "Q":
            self.i += 2
            chars: list = []
            self.quoted(chars.append)
            return ("chars", chars) if chars else None
        if c == "E":
            self.i += 2
            return None
        if c == "g":  # PCRE2 reads [\g] as a literal g
            self.i += 2
            return "char", ord("g")
        if c in ("B", "R", "X", "N", "A", "z", "Z", "G", "K", "k"):
            raise PcreError(f"escape sequence \\{c} is invalid in a character class")
        kind, value = self.escape_value(in_class=True)
        if kind == "set":
            ranges, negated = value
            return "set", (_complement(ranges) if negated else list(ranges))
        return "char", value


def _fixed_width_error(source: str, bits: int) -> bool:
    """Whether Python refuses ``source`` for a lookbehind of variable width."""
    try:
        re.compile(source, bits)
    except re.error as exc:  # other errors (a group reference out of context) are not ours
        return "look-behind requires fixed-width" in str(exc)
    return False


def _subtract(ranges: list, remove: list) -> list:
    return _complement(_complement(ranges) + remove) if ranges else []


def _code_point(cp: int) -> int:
    if cp > _MAX_CHAR:
        raise PcreError("character code point value in \\x{} or \\o{} is too large")
    if 0xD800 <= cp <= 0xDFFF:
        raise PcreError("disallowed Unicode code point (>= 0xd800 && <= 0xdfff)")
    return cp


def _scoped(old: frozenset, new: frozenset) -> str:
    """A Python scoped-flags group opening that turns ``old`` into ``new``."""
    on = "".join(f for f in "ims" if f in new and f not in old)
    off = "".join(f for f in "ims" if f in old and f not in new)
    if not on and not off:
        return "(?:"
    return f"(?{on}-{off}:" if off else f"(?{on}:"
