"""SQL92 selector engine (rmqlite.broker.sql92): Java's semantics and error texts.

The fixed cases below were checked against rocketmq-filter 4.9.4; ``test_matches_java_rocketmq_filter`` re-checks
thousands of random expressions (valid, broken and garbled) against the real Java library through
FeatureOracle (skipped without java/mvn): compile error text, Java ``toString`` of the compiled expression, and the
evaluation result (TRUE / FALSE / NULL / exception) on several property maps.
"""

from __future__ import annotations

import random

import pytest
from feat_java import Oracle, interop_jar
from feat_sql92_fuzz import expressions, property_maps

from rmqlite.broker.sql92 import (
    Sql92Error,
    Sql92EvalError,
    compile_sql92,
    java_double_str,
)


def outcome(expr: str, props: dict[str, str]) -> str:
    try:
        r = compile_sql92(expr).evaluate(props)
    except Sql92EvalError:
        return "EXC"
    return {True: "TRUE", False: "FALSE", None: "NULL"}[r]


@pytest.mark.parametrize("expr,props,want", [
    ("a > 5 AND b = 'x'", {"a": "7", "b": "x"}, "TRUE"),
    ("a > 5", {"a": "7.5"}, "EXC"),               # Integer.valueOf("7.5") throws
    ("a > 5.0", {"a": "7.5"}, "TRUE"),
    ("a > 5", {}, "NULL"),
    ("a = 5", {"a": "5"}, "TRUE"),
    ("a = 5.0", {"a": "5"}, "TRUE"),
    ("a = 5", {"a": " 5"}, "EXC"),
    ("a > b", {"a": "10", "b": "9"}, "TRUE"),     # two strings compare as doubles
    ("a > b", {"a": "x", "b": "9"}, "EXC"),
    ("a = b", {"a": "x", "b": "x"}, "TRUE"),
    ("a <> 'x'", {"a": "y"}, "TRUE"),
    ("a <> 'x'", {}, "NULL"),
    ("a IS NULL", {}, "TRUE"),
    ("a IS NOT NULL", {"a": ""}, "TRUE"),
    ("a IN ('x', 'y')", {"a": "y"}, "TRUE"),
    ("a NOT IN ('x', 'y')", {"a": "y"}, "FALSE"),
    ("a IN ('x')", {}, "NULL"),
    ("a BETWEEN 1 AND 3", {"a": "3"}, "TRUE"),
    ("a NOT BETWEEN 1 AND 3", {"a": "4"}, "TRUE"),
    ("a > 2147483648", {"a": "2147483649"}, "TRUE"),   # Long literal: Long.valueOf
    ("a > 5", {"a": "2147483648"}, "EXC"),             # Integer.valueOf overflow
    ("a = TRUE", {"a": "TRUE"}, "TRUE"),
    ("TRUE = a", {"a": "true"}, "EXC"),                # Boolean vs String: ClassCastException in Java
    ("a", {"a": "true"}, "FALSE"),                     # a bare property is never Boolean
    ("TRUE", {}, "TRUE"),
    ("FALSE OR a > 1", {"a": "2"}, "TRUE"),
    ("FALSE AND a > 1", {"a": "junk"}, "FALSE"),       # short-circuit: the right side is not evaluated
    ("NOT (a > 1)", {}, "NULL"),
    ("a > 5.0", {"a": "NaN"}, "TRUE"),                 # Double.compare puts NaN above everything
    ("a = 1 b #", {"a": "1"}, "TRUE"),                 # trailing text after a complete expression is ignored
    ("a = 007", {"a": "0"}, "TRUE"),                   # lexed as 0, 07 ...
    ("-a > 1", {"a": "5"}, "NULL"),                    # negating a String gives null
    ("a > -1", {"a": "0"}, "TRUE"),
])
def test_semantics(expr: str, props: dict[str, str], want: str) -> None:
    assert outcome(expr, props) == want


@pytest.mark.parametrize("expr,message", [
    ("a >", 'org.apache.rocketmq.filter.parser.ParseException: Encountered "<EOF>" at line 1, column 3.\n'
            'Was expecting one of:\n    "NOT" ...\n    "TRUE" ...\n    "FALSE" ...\n    "NULL" ...\n'
            '    <DECIMAL_LITERAL> ...\n    <FLOATING_POINT_LITERAL> ...\n    <STRING_LITERAL> ...\n    <ID> ...\n'
            '    "(" ...\n    "-" ...\n    '),
    ("a IS 5", 'org.apache.rocketmq.filter.parser.ParseException: Encountered " <DECIMAL_LITERAL> "5 "" at line 1, '
               'column 6.\nWas expecting:\n    "NOT" ...\n    '),
    ("a IN ('x' 'y')", 'org.apache.rocketmq.filter.parser.ParseException: Encountered " <STRING_LITERAL> "\\\'y\\\' "" '
                       'at line 1, column 11.\nWas expecting one of:\n    "," ...\n    ")" ...\n    '),
    ("a = 1 #", 'org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 8.  Encountered: '
                '<EOF> after : ""'),
    ("a\t\t# x", 'org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 17.  Encountered: '
                 '"#" (35), after : ""'),
    ("'abc", 'org.apache.rocketmq.filter.parser.TokenMgrError: Lexical error at line 1, column 5.  Encountered: <EOF> '
             'after : "\\\'abc"'),
    ("a > 'x'", "java.lang.RuntimeException: Value ''x'' cannot be compared."),
    ("a = NULL", "java.lang.RuntimeException: 'NULL' cannot be compared."),
    ("TRUE = 'x'", "java.lang.RuntimeException: 'TRUE' cannot be compared with ''x''"),
    ("5", "org.apache.rocketmq.filter.parser.ParseException: Expression will not result in a boolean value: 5"),
    ("a > 0.0", "java.lang.RuntimeException: 0.0 is less than 4.9E-324"),
    ("a = 99999999999999999999", 'java.lang.NumberFormatException: For input string: "99999999999999999999"'),
    ("a BETWEEN 2.5 AND 1.5", "java.lang.RuntimeException: Illegal values of between, left value(2.5) must less "
                              "than or equal to right value(1.5)"),
    ("(a IN ('x')) > 5", "java.lang.RuntimeException: Value 'a IN ( x )' cannot be compared."),
])
def test_compile_errors_are_javas(expr: str, message: str) -> None:
    with pytest.raises(Sql92Error) as info:
        compile_sql92(expr)
    assert info.value.java_message == message


def test_java_to_string() -> None:
    sel = compile_sql92("a > 0.001 AND a < 12345678.9 AND a > 1e-5 OR b IS NOT NULL")
    assert str(sel) == "((((a > 0.001) && (a < 1.23456789E7)) && (a > 1.0E-5)) || (NOT (b == NULL)))"
    assert java_double_str(1e10) == "1.0E10" and java_double_str(-0.0) == "-0.0" and java_double_str(100.0) == "100.0"


def test_matches_is_the_broker_decision() -> None:
    sel = compile_sql92("a > 5")
    assert sel.matches({"a": "6"}) and not sel.matches({"a": "x"}) and not sel.matches({})


def _java_shape(answer: dict) -> dict:
    if answer.get("compile") is not None:
        return {"compile": answer["compile"]}
    return {"compile": None, "str": answer.get("str"),
            "results": ["EXC" if r.startswith("EXC:") else r for r in answer.get("results", [])]}


def _our_shape(expr: str, props: list[dict[str, str]]) -> dict:
    try:
        sel = compile_sql92(expr)
    except Sql92Error as exc:
        return {"compile": exc.java_message}
    return {"compile": None, "str": str(sel), "results": [outcome(expr, p) for p in props]}


def _soup(rng: random.Random, n: int) -> list[str]:
    toks = ["a", "b", "NOT", "AND", "OR", "IS", "NULL", "IN", "BETWEEN", "(", ")", ",", "=", "<>", ">", "<=", "'x'",
            "5", "1.5", ".", "/", "/*", "*/", "--", "\n", "\t", "\r", " ", "#", '"', "\U0001f600", "é", "\x7f", "'",
            "+", "-", "1e", "5.e3", "$", "_z", "TRUE", "''"]
    return ["".join(rng.choice(toks) + rng.choice(["", " "]) for _ in range(rng.randint(0, 9))) for _ in range(n)]


@pytest.fixture(scope="module")
def oracle():
    try:
        jar = interop_jar()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    if jar is None:
        pytest.skip("the Java oracle needs java and mvn")
    o = Oracle(jar)
    yield o
    o.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_java_rocketmq_filter(oracle: Oracle, seed: int) -> None:
    rng = random.Random(seed)
    cases = [(e, property_maps(rng)) for e in expressions(rng, 600)] + [(e, [{"a": "5"}]) for e in _soup(rng, 600)]
    answers = oracle.ask_many([{"op": "sql", "expr": e, "props": p} for e, p in cases])
    mismatches = [(e, p, _our_shape(e, p), _java_shape(a)) for (e, p), a in zip(cases, answers)
                  if _our_shape(e, p) != _java_shape(a)]
    assert not mismatches, f"{len(mismatches)} of {len(cases)} differ; first: {mismatches[:3]}"
