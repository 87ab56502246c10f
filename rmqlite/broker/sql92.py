"""RocketMQ's SQL92 message selector (``rocketmq-filter`` 4.9.4): expressions and their evaluation.

How it works:
1. ``compile_sql92(text)`` parses (``sql92_parser``) and returns a ``Selector``; a bad expression raises
   ``Sql92Error`` whose ``java_message`` is exactly what the Java broker puts in the CHECK_CLIENT_CONFIG remark
   (``MQFilterException.getMessage()`` = the cause's ``toString()``).
2. Values are Java-typed: ``JInt`` (Integer) and ``JLong`` (Long) are int subclasses, Double is ``float``,
   Boolean is ``bool``, String is ``str``, null is None. Literals: decimals become Integer when they fit in 32
   bits, else Long; floats are Double. Properties always evaluate to their String value (or null).
3. Comparison rules are ``ComparisonExpression.__compare`` with string conversion on: a String is converted
   to the other side's type (Integer.valueOf, Long.valueOf, Double.valueOf, Boolean.valueOf); numbers widen
   (Integer -> Long -> Double); unrelated types compare as -1. ``>``/``<`` on two Strings compare them as
   Doubles. A failed conversion raises ``Sql92EvalError`` (Java throws).
4. Three-valued logic: a null operand makes a comparison null; AND/OR follow Java (FALSE AND x = FALSE,
   TRUE OR x = TRUE, else null if a side is null); NOT null = null.
5. ``Selector.matches(props)`` is the broker's ``ExpressionMessageFilter.isMatchedByCommitLog``: True only
   when evaluation returns TRUE; null, non-Boolean and errors (Java logs them) do not match.
6. ``str(expr)`` is Java's ``toString`` (it appears in error remarks), e.g. ``((a > 5) && (b == 'x'))``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "Expr",
    "JInt",
    "JLong",
    "Selector",
    "Sql92Error",
    "Sql92EvalError",
    "compile_sql92",
    "java_double_str",
]


class Sql92Error(ValueError):
    """The expression does not compile; ``java_message`` is Java's MQFilterException message."""

    def __init__(self, java_message: str) -> None:
        super().__init__(java_message)
        self.java_message = java_message


class Sql92EvalError(Exception):
    """Evaluation threw in Java (the broker then treats the message as not matching)."""


class _NumberFormatError(Sql92EvalError):
    """java.lang.NumberFormatException (wrapped in a RuntimeException where Java wraps it)."""


class JInt(int):
    """java.lang.Integer."""


class JLong(int):
    """java.lang.Long."""


_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


def java_double_str(d: float) -> str:
    """``Double.toString``."""
    if math.isnan(d):
        return "NaN"
    if math.isinf(d):
        return "Infinity" if d > 0 else "-Infinity"
    if d == 0:
        return "-0.0" if math.copysign(1.0, d) < 0 else "0.0"
    sign = "-" if d < 0 else ""
    digits, exp = _shortest_digits(abs(d))
    if 1e-3 <= abs(d) < 1e7:
        point = exp + 1
        if point <= 0:
            text = "0." + "0" * -point + digits
        elif point >= len(digits):
            text = digits + "0" * (point - len(digits)) + ".0"
        else:
            text = digits[:point] + "." + digits[point:]
        return sign + text
    frac = digits[1:] or "0"
    return f"{sign}{digits[0]}.{frac}E{exp}"


def _shortest_digits(d: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of ``d`` > 0 and the exponent of the first digit."""
    text = repr(d)
    m = re.fullmatch(r"(\d+)(?:\.(\d+))?(?:e([+-]\d+))?", text)
    assert m is not None, text
    whole, frac, exp = m.group(1), m.group(2) or "", int(m.group(3) or 0)
    digits = (whole + frac).lstrip("0")
    lead_zeros = len(whole + frac) - len((whole + frac).lstrip("0"))
    first_exp = len(whole) - 1 + exp - lead_zeros
    return digits.rstrip("0") or "0", first_exp


def java_str(value: Any) -> str:
    """``String.valueOf`` of a Java value."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is float:
        return java_double_str(value)
    return str(int(value)) if isinstance(value, int) else str(value)


# ---------------------------------------------------------------------------------------------- conversions
def _nfe(text: str) -> Sql92EvalError:
    return _NumberFormatError(f'java.lang.NumberFormatException: For input string: "{text}"')


def java_parse_integral(text: str, lo: int, hi: int) -> int:
    """``Integer.parseInt`` / ``Long.parseLong`` (radix 10; Unicode decimal digits allowed)."""
    body = text[1:] if text[:1] in "+-" else text
    if not body or not all(c.isdecimal() for c in body):
        raise _nfe(text)
    value = int(text)
    if not lo <= value <= hi:
        raise _nfe(text)
    return value


_DOUBLE_RE = re.compile(r"[+-]?(?:NaN|Infinity|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?)", re.ASCII)


def java_parse_double(text: str) -> float:
    """``Double.valueOf(String)`` (decimal and NaN/Infinity forms; surrounding blanks trimmed)."""
    trimmed = _java_trim(text)
    if not trimmed:
        raise _NumberFormatError("java.lang.NumberFormatException: empty String")
    if not _DOUBLE_RE.fullmatch(trimmed):
        raise _nfe(trimmed)
    core = trimmed.rstrip("fFdD") if trimmed[-1:] in "fFdD" and "Infinity" not in trimmed else trimmed
    return float(core.replace("Infinity", "inf"))


def _java_trim(text: str) -> str:
    start, end = 0, len(text)
    while start < end and ord(text[start]) <= 32:
        start += 1
    while end > start and ord(text[end - 1]) <= 32:
        end -= 1
    return text[start:end]


def _kind(value: Any) -> str:
    t = type(value)
    if t is bool:
        return "Boolean"
    if t is JInt:
        return "Integer"
    if t is JLong:
        return "Long"
    if t is float:
        return "Double"
    if t is str:
        return "String"
    return t.__name__


def _from_string(text: str, kind: str) -> Any:
    if kind == "Boolean":
        return text.lower() == "true"
    if kind == "Integer":
        return JInt(java_parse_integral(text, _INT_MIN, _INT_MAX))
    if kind == "Long":
        return JLong(java_parse_integral(text, _LONG_MIN, _LONG_MAX))
    if kind == "Double":
        return java_parse_double(text)
    return None


def _widen(value: Any, kind: str) -> Any:
    return JLong(value) if kind == "Long" else float(value)


def java_compare(lv: Any, rv: Any) -> int:
    """``ComparisonExpression.__compare(lv, rv, true)``: sign of lv.compareTo(rv) after conversion."""
    lk, rk = _kind(lv), _kind(rv)
    if lk != rk:
        order = ("Integer", "Long", "Double")
        if lk == "Boolean":
            if rk == "String":
                raise Sql92EvalError("java.lang.ClassCastException: class java.lang.Boolean cannot be cast to "
                                     "class java.lang.String (java.lang.Boolean and java.lang.String are in module "
                                     "java.base of loader 'bootstrap')")
            return -1
        if lk in order:
            if rk in order:
                if order.index(lk) < order.index(rk):
                    lv = _widen(lv, rk)
                else:
                    rv = _widen(rv, lk)
            elif rk == "String":
                rv = _from_string(rv, lk)
            else:
                return -1
        elif lk == "String" and rk in ("Boolean",) + order:
            lv = _from_string(lv, rk)
        else:
            return -1
    return _compare_to(lv, rv)


def _compare_to(lv: Any, rv: Any) -> int:
    if type(lv) is float:
        if math.isnan(lv) or math.isnan(rv):
            return 0 if math.isnan(lv) and math.isnan(rv) else (1 if math.isnan(lv) else -1)
        if lv == rv == 0.0:
            return (math.copysign(1, lv) > 0) - (math.copysign(1, rv) > 0)
    if type(lv) is str:
        a, b = lv.encode("utf-16-be", "surrogatepass"), rv.encode("utf-16-be", "surrogatepass")
        return (a > b) - (a < b)
    return (lv > rv) - (lv < rv)


def java_equals(lv: Any, rv: Any) -> bool:
    """``lv.equals(rv)``."""
    if _kind(lv) != _kind(rv):
        return False
    if type(lv) is float:
        return (math.isnan(lv) and math.isnan(rv)) or (lv == rv and math.copysign(1, lv) == math.copysign(1, rv))
    return bool(lv == rv)


# ---------------------------------------------------------------------------------------------- expressions
Context = Mapping[str, str]


class Expr:
    """An expression node; ``boolean`` marks Java's BooleanExpression."""

    boolean = False

    def evaluate(self, ctx: Context) -> Any:
        raise NotImplementedError


class Constant(Expr):
    def __init__(self, value: Any, boolean: bool = False) -> None:
        self.value, self.boolean = value, boolean

    def evaluate(self, ctx: Context) -> Any:
        return self.value

    def __str__(self) -> str:
        v = self.value
        if v is None:
            return "NULL"
        if type(v) is bool:
            return "TRUE" if v else "FALSE"
        if type(v) is str:
            return "'" + v.replace("'", "''") + "'"
        return java_str(v)


class Property(Expr):
    def __init__(self, name: str) -> None:
        self.name = name

    def evaluate(self, ctx: Context) -> Any:
        return ctx.get(self.name)

    def __str__(self) -> str:
        return self.name


class Binary(Expr):
    boolean = True

    def __init__(self, left: Expr, right: Expr, symbol: str, fn: Callable[[Expr, Expr, Context], Any]) -> None:
        self.left, self.right, self.symbol, self.fn = left, right, symbol, fn

    def evaluate(self, ctx: Context) -> Any:
        return self.fn(self.left, self.right, ctx)

    def __str__(self) -> str:
        return f"({self.left} {self.symbol} {self.right})"


class Unary(Expr):
    def __init__(self, operand: Expr, symbol: str, fn: Callable[[Any], Any], boolean: bool) -> None:
        self.operand, self.symbol, self.fn, self.boolean = operand, symbol, fn, boolean

    def evaluate(self, ctx: Context) -> Any:
        return self.fn(self.operand.evaluate(ctx))

    def __str__(self) -> str:
        return self.operand.__str__() if self.symbol == "" else f"({self.symbol} {self.operand})"


class InList(Expr):
    boolean = True

    def __init__(self, prop: Property, items: list[str], negated: bool) -> None:
        self.prop, self.negated = prop, negated
        self.items = items if len(items) < 5 else _java_hashset_order(items)

    def evaluate(self, ctx: Context) -> Any:
        value = self.prop.evaluate(ctx)
        if value is None or type(value) is not str:
            return None
        return (value in self.items) != self.negated

    def __str__(self) -> str:
        op = "NOT IN" if self.negated else "IN"
        return f"{self.prop} {op} ( {', '.join(self.items)} )"


def _java_hashset_order(items: list[str]) -> list[str]:
    """Iteration order of ``new HashSet<>(items)`` (Java HashMap buckets, insertion order within one)."""
    from rmqlite.common.message import java_string_hash
    cap = 1
    while cap < max(int(len(items) / 0.75) + 1, 16):
        cap <<= 1
    buckets: dict[int, list[str]] = {}
    for item in items:
        h = java_string_hash(item) & 0xFFFFFFFF
        slot = (h ^ (h >> 16)) & (cap - 1)
        bucket = buckets.setdefault(slot, [])
        if item not in bucket:
            bucket.append(item)
    return [item for slot in sorted(buckets) for item in buckets[slot]]


# ---------------------------------------------------------------------------------------------- builders
def _fail(text: str) -> Sql92Error:
    return Sql92Error("java.lang.RuntimeException: " + text)


def _is_const(e: Expr) -> bool:
    return isinstance(e, Constant)


def check_less_than_operand(e: Expr) -> None:
    if _is_const(e):
        value = e.value  # type: ignore[attr-defined]
        if type(value) in (JInt, JLong, float):
            return
        raise _fail(f"Value '{e}' cannot be compared.")
    if e.boolean:
        raise _fail(f"Value '{e}' cannot be compared.")


def _eval_equal(left: Expr, right: Expr, ctx: Context) -> Any:
    lv, rv = left.evaluate(ctx), right.evaluate(ctx)
    if (lv is None) != (rv is None):
        return None if lv is None else False
    if lv is None or java_equals(lv, rv):
        return True
    return java_compare(lv, rv) == 0


def create_equal(left: Expr, right: Expr, checked: bool = True) -> Expr:
    """``ComparisonExpression.createEqual`` (``checked=False``: doCreateEqual, used by IS NULL)."""
    if checked:
        for side in (left, right):
            if _is_const(side) and side.value is None:  # type: ignore[attr-defined]
                raise _fail(f"'{side}' cannot be compared.")
        if _is_const(left) and _is_const(right) and left.boolean and not right.boolean:
            raise _fail(f"'{left}' cannot be compared with '{right}'")
    return Binary(left, right, "==", _eval_equal)


_ORDER_TESTS: dict[str, Callable[[int], bool]] = {
    ">": lambda c: c > 0, ">=": lambda c: c >= 0, "<": lambda c: c < 0, "<=": lambda c: c <= 0}


def create_order(symbol: str, left: Expr, right: Expr) -> Expr:
    """``createGreaterThan`` / ``GreaterThanEqual`` / ``LessThan`` / ``LessThanEqual``."""
    check_less_than_operand(left)
    check_less_than_operand(right)
    test = _ORDER_TESTS[symbol]

    def evaluate(le: Expr, re_: Expr, ctx: Context) -> Any:
        lv = le.evaluate(ctx)
        if lv is None:
            return None
        rv = re_.evaluate(ctx)
        if rv is None:
            return None
        if type(lv) is str and type(rv) is str:
            try:
                lv, rv = java_parse_double(lv), java_parse_double(rv)
            except Sql92EvalError:
                raise Sql92EvalError("java.lang.RuntimeException: It's illegal to compare string by '>=', '>', "
                                     f"'<', '<='. lv={lv}, rv={rv}") from None
        return test(java_compare(lv, rv))

    return Binary(left, right, symbol, evaluate)


def _eval_and(left: Expr, right: Expr, ctx: Context) -> Any:
    lv = left.evaluate(ctx)
    if lv is False:
        return False
    rv = right.evaluate(ctx)
    if rv is False:
        return False
    return None if lv is None or rv is None else True


def _eval_or(left: Expr, right: Expr, ctx: Context) -> Any:
    lv = left.evaluate(ctx)
    if lv is True:
        return True
    rv = right.evaluate(ctx)
    if rv is True:
        return True
    return None if lv is None or rv is None else False


def create_and(left: Expr, right: Expr) -> Expr:
    return Binary(left, right, "&&", _eval_and)


def create_or(left: Expr, right: Expr) -> Expr:
    return Binary(left, right, "||", _eval_or)


def _not(value: Any) -> Any:
    if value is None:
        return None
    if type(value) is not bool:
        raise Sql92EvalError(f"java.lang.ClassCastException: {_kind(value)} cannot be cast to Boolean")
    return not value


def create_not(operand: Expr) -> Expr:
    return Unary(operand, "NOT", _not, True)


def _negate(value: Any) -> Any:
    t = type(value)
    if t is JInt:
        v = -int(value)
        return JInt(v - (1 << 32) if v > _INT_MAX else v)
    if t is JLong:
        v = -int(value)
        return JLong(v - (1 << 64) if v > _LONG_MAX else v)
    if t is float:
        return -value
    return None


def create_negate(operand: Expr) -> Expr:
    return Unary(operand, "-", _negate, False)


def create_boolean_cast(operand: Expr) -> Expr:
    return Unary(operand, "", lambda v: None if v is None else (v if type(v) is bool else False), True)


def create_between(value: Expr, low: Expr, high: Expr) -> Expr:
    if _is_const(low) and _is_const(high):
        lv, hv = low.value, high.value  # type: ignore[attr-defined]
        if lv is None or hv is None:
            raise _fail("Illegal values of between, values can not be null!")
        try:
            ret = java_compare(hv, lv)
        except _NumberFormatError as exc:
            raise _fail(str(exc)) from None
        except Sql92EvalError as exc:
            raise Sql92Error(str(exc)) from None
        if ret < 0:
            raise _fail(f"Illegal values of between, left value({java_str(lv)}) must less than or equal to "
                        f"right value({java_str(hv)})")
    return create_and(create_order(">=", value, low), create_order("<=", value, high))


def create_not_between(value: Expr, low: Expr, high: Expr) -> Expr:
    return create_or(create_order("<", value, low), create_order(">", value, high))


def create_in(left: Expr, items: list[str], negated: bool) -> Expr:
    if not isinstance(left, Property):
        raise _fail(f"Expected a property for In expression, got: {left}")
    return InList(left, items, negated)


# ---------------------------------------------------------------------------------------------- public API
class Selector:
    """A compiled SQL92 selector."""

    def __init__(self, text: str, expr: Expr) -> None:
        self.text, self.expr = text, expr

    def evaluate(self, props: Context) -> Any:
        """Java ``evaluate``: True / False / None; raises Sql92EvalError where Java throws."""
        try:
            return self.expr.evaluate(props)
        except RecursionError:
            raise Sql92EvalError("java.lang.StackOverflowError") from None

    def matches(self, props: Context) -> bool:
        """The broker's decision for one message's properties."""
        try:
            return self.evaluate(props) is True
        except Sql92EvalError:
            return False

    def __str__(self) -> str:
        return str(self.expr)


def compile_sql92(text: str | None) -> Selector:
    """Parse ``text`` as RocketMQ does (``SqlFilter.compile``). Raises Sql92Error with Java's message."""
    from rmqlite.broker.sql92_parser import parse
    if text is None:
        raise Sql92Error("java.lang.NullPointerException")
    try:
        return Selector(text, parse(text))
    except RecursionError:
        raise Sql92Error("java.lang.StackOverflowError") from None
