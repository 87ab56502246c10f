"""Random SQL92 selector texts and property maps, for the differential test against Java's rocketmq-filter.

How it works: ``expressions(rng, n)`` mixes well-formed expressions from a small grammar (all operators,
literal kinds, nesting, odd spacing/case/comments) with mutated ones (tokens dropped, swapped or garbled)
so that both evaluation semantics and error messages are exercised. ``property_maps`` gives values that hit
the conversion rules (ints, longs, doubles, blanks, NaN, booleans, non-numbers, missing).
"""

from __future__ import annotations

import random

NAMES = ["a", "b", "c", "TAGS", "x_1", "$v"]
VALUES = ["5", "5.0", "-3", "abc", "", " 5", "NaN", "Infinity", "true", "TRUE", "false", "2147483648",
          "9223372036854775808", "1e3", "x'y", "0", "-0.0", "3.5", "٣", "+7", "1L", "0x10", "1f", "é"]
LITERALS = ["5", "0", "7L", "2147483648", "9223372036854775807", "99999999999999999999", "1.5", "0.5", ".5",
            "5.", "1e3", "1E-2", "0.0", "1e400", "'abc'", "'5'", "''", "'it''s'", "TRUE", "false", "NULL",
            "'true'", "'é'"]
OPS = ["=", "<>", ">", ">=", "<", "<="]


def _atom(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:
        return rng.choice(NAMES)
    if r < 0.8:
        return rng.choice(LITERALS)
    if r < 0.9:
        return "-" + _atom(rng)
    return "+" + _atom(rng)


def _predicate(rng: random.Random, depth: int) -> str:
    r = rng.random()
    if depth > 2 or r < 0.35:
        return f"{_atom(rng)} {rng.choice(OPS)} {_atom(rng)}"
    if r < 0.45:
        return f"{_atom(rng)} {rng.choice(['BETWEEN', 'NOT BETWEEN'])} {_atom(rng)} AND {_atom(rng)}"
    if r < 0.55:
        items = ", ".join(rng.choice(["'abc'", "'5'", "'x'", "''", "'true'"]) for _ in range(rng.randint(1, 6)))
        return f"{rng.choice(NAMES)} {rng.choice(['IN', 'NOT IN', 'in'])} ({items})"
    if r < 0.62:
        return f"{_atom(rng)} IS {rng.choice(['', 'NOT '])}NULL"
    if r < 0.7:
        return "NOT " + _predicate(rng, depth + 1)
    if r < 0.78:
        return "(" + _predicate(rng, depth + 1) + ")"
    if r < 0.84:
        return rng.choice(NAMES + ["TRUE", "FALSE", "NULL", "5"])
    return f"{_predicate(rng, depth + 1)} {rng.choice(['AND', 'OR', 'and', 'Or'])} {_predicate(rng, depth + 1)}"


def _mutate(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    r = rng.random()
    if r < 0.25 and len(words) > 1:
        del words[rng.randrange(len(words))]
    elif r < 0.45:
        words.insert(rng.randrange(len(words) + 1), rng.choice(["#", "!", "/", ".", "'", "/*", "--", "&&", "==",
                                                                 "(", ")", ",", "IS", "NOT", "AND", "\t", "\n"]))
    elif r < 0.6 and len(words) > 1:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif r < 0.7:
        return text[: rng.randrange(len(text) + 1)]
    else:
        return text.replace(" ", rng.choice(["", "  ", "\t", "\r\n", " /* c */ "]), 1)
    return " ".join(words)


def expressions(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        text = _predicate(rng, 0)
        if rng.random() < 0.4:
            text = _mutate(rng, text)
        out.append(text)
    return out


def property_maps(rng: random.Random, n: int = 4) -> list[dict[str, str]]:
    maps = [{}]
    for _ in range(n - 1):
        maps.append({name: rng.choice(VALUES) for name in NAMES if rng.random() < 0.7})
    return maps
