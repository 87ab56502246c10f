"""Lexer and parser of RocketMQ's SQL92 selector grammar (``SelectorParser.jj``, 4.9.4), with Java's errors.

How it works:
1. Text is handled as UTF-16 code units (as Java's Reader does); positions are JavaCC ``SimpleCharStream``
   line/column numbers (tab stops of 8, ``\\r\\n`` one line break). Tokens are lexed lazily, only when the
   parser (or a lookahead) asks for the next one, so a lexical error after the point where parsing stops is
   never seen - and text after a complete expression is ignored (the grammar has no EOF at the end).
2. Lexing is longest match over the token kinds of the grammar (ties go to the earlier kind, so keywords
   beat identifiers). With no match at all, the error text is ``TokenMgrError``'s: the position of the last
   character read, what was read so far, and ``<EOF>`` when input ended.
3. Parsing is recursive descent with the grammar's choices and its four syntactic lookaheads: ``IS NULL``,
   ``NOT BETWEEN`` and ``NOT IN`` (2 tokens) and ``"+" unaryExpr`` (unbounded, a backtracking scan). Every
   choice that falls through records the consumed-token count ("generation"); a syntax error lists, in token
   order, the tokens of the choices recorded at the current generation plus the token being consumed - which
   is what JavaCC's ``ParseException`` prints.
4. Expressions are built while parsing (``sql92`` builders), so a semantic error (e.g. ``a > 'x'``) raised
   before a later syntax error wins, as in Java.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rmqlite.broker import sql92 as s

__all__ = ["parse"]

EOF, NOT, AND, OR, BETWEEN, IN, TRUE, FALSE, NULL, IS = 0, 8, 9, 10, 11, 12, 13, 14, 15, 16
DECIMAL, FLOAT, STRING, ID = 17, 18, 20, 21
EQ, NE, GT, GE, LT, LE, LPAREN, COMMA, RPAREN, PLUS, MINUS = 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32

TOKEN_IMAGE = {
    EOF: "<EOF>", NOT: '"NOT"', AND: '"AND"', OR: '"OR"', BETWEEN: '"BETWEEN"', IN: '"IN"', TRUE: '"TRUE"',
    FALSE: '"FALSE"', NULL: '"NULL"', IS: '"IS"', DECIMAL: "<DECIMAL_LITERAL>",
    FLOAT: "<FLOATING_POINT_LITERAL>", STRING: "<STRING_LITERAL>", ID: "<ID>", EQ: '"="', NE: '"<>"',
    GT: '">"', GE: '">="', LT: '"<"', LE: '"<="', LPAREN: '"("', COMMA: '","', RPAREN: '")"', PLUS: '"+"',
    MINUS: '"-"',
}
_KEYWORDS = {"NOT": NOT, "AND": AND, "OR": OR, "BETWEEN": BETWEEN, "IN": IN, "TRUE": TRUE, "FALSE": FALSE,
             "NULL": NULL, "IS": IS}
_OPS = {"=": EQ, "<>": NE, ">": GT, ">=": GE, "<": LT, "<=": LE, "(": LPAREN, ",": COMMA, ")": RPAREN,
        "+": PLUS, "-": MINUS}
_SKIP = -1

# complete tokens (kind, pattern); the longest match wins, ties by kind order
_COMPLETE = [
    (_SKIP, re.compile(r"[ \t\n\r\f]")),
    (_SKIP, re.compile(r"--[^\n\r]*(?:\r\n|\n|\r)")),
    (_SKIP, re.compile(r"/\*[^*]*\*+(?:[^*/][^*]*\*+)*/")),
    (DECIMAL, re.compile(r"0|[1-9][0-9]*[lL]?")),
    (FLOAT, re.compile(r"[0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?")),
    (FLOAT, re.compile(r"\.[0-9]+(?:[eE][+-]?[0-9]+)?")),
    (FLOAT, re.compile(r"[0-9]+[eE][+-]?[0-9]+")),
    (STRING, re.compile(r"'(?:''|[^'])*'")),
    (ID, re.compile(r"[a-zA-Z_$][a-zA-Z0-9_$]*")),
    (_SKIP + 1000, re.compile(r"<>|<=|>=|[=<>(),+-]")),   # operators (kind from _OPS)
]
# prefixes that could still grow into a token (for the lexical-error report)
_VIABLE = [
    re.compile(r"--[^\n\r]*"),
    re.compile(r"/(?:\*(?:[^*]|\*+[^*/])*\**)?"),
    re.compile(r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?"),
    re.compile(r"\.(?:[0-9]+(?:[eE][+-]?[0-9]*)?)?"),
    re.compile(r"'(?:''|[^'])*'?"),
]
_TAB = 8


@dataclass(slots=True)
class Token:
    kind: int
    image: str
    line: int
    column: int
    next: Token | None = None


def _escape(text: str) -> str:
    """JavaCC ``add_escapes`` over UTF-16 units."""
    out = []
    for ch in text:
        c = ord(ch)
        special = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r", 34: '\\"', 39: "\\'", 92: "\\\\"}
        if c == 0:
            continue
        if c in special:
            out.append(special[c])
        elif c < 0x20 or c > 0x7E:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    return "".join(out)


def _units(text: str) -> str:
    """``text`` with one character per UTF-16 code unit (surrogates kept as lone characters)."""
    raw = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(int.from_bytes(raw[i:i + 2], "little")) for i in range(0, len(raw), 2))


def _positions(units: str) -> list[tuple[int, int]]:
    """``SimpleCharStream.UpdateLineColumn`` for every unit."""
    line, column, prev_cr, prev_lf = 1, 0, False, False
    out = []
    for ch in units:
        column += 1
        if prev_lf:
            prev_lf, line, column = False, line + 1, 1
        elif prev_cr:
            prev_cr = False
            if ch == "\n":
                prev_lf = True
            else:
                line, column = line + 1, 1
        if ch == "\r":
            prev_cr = True
        elif ch == "\n":
            prev_lf = True
        elif ch == "\t":
            column -= 1
            column += _TAB - (column % _TAB)
        out.append((line, column))
    return out


class Lexer:
    """Lazy JavaCC-compatible token source."""

    def __init__(self, text: str) -> None:
        self.text = _units(text)
        self.pos = 0
        self.where = _positions(self.text)

    def next_token(self) -> Token:
        text = self.text
        while True:
            if self.pos >= len(text):
                line, col = self.where[-1] if text else (0, 0)
                return Token(EOF, "", line, col)
            kind, length = self._longest(self.pos)
            if length == 0:
                raise s.Sql92Error("org.apache.rocketmq.filter.parser.TokenMgrError: " + self._lexical_error())
            start, self.pos = self.pos, self.pos + length
            if kind == _SKIP:
                continue
            image = text[start:self.pos]
            line, col = self.where[start]
            return Token(kind, image, line, col)

    def _longest(self, pos: int) -> tuple[int, int]:
        best_kind, best_len = _SKIP, 0
        for kind, pattern in _COMPLETE:
            m = pattern.match(self.text, pos)
            if m and m.end() - pos > best_len:
                best_kind, best_len = kind, m.end() - pos
        if best_len and best_kind == _SKIP + 1000:
            best_kind = _OPS[self.text[pos:pos + best_len]]
        elif best_len and best_kind == ID:
            best_kind = _KEYWORDS.get(self.text[pos:pos + best_len].upper(), ID)
        return best_kind, best_len

    def _lexical_error(self) -> str:
        text, pos = self.text, self.pos
        viable = max((m.end() - pos for p in _VIABLE if (m := p.match(text, pos))), default=0)
        if pos + viable < len(text):                 # a character killed every candidate token
            last, read = pos + viable, viable + 1
            eof = last + 1 >= len(text)
        else:                                        # input ended inside a candidate token
            last, read, eof = len(text) - 1, viable, True
        line, column = self.where[last]
        cur = text[last]
        if eof:
            after = "" if read <= 1 else text[pos:last + 1]
            if cur in "\n\r":
                line, column = line + 1, 0
            else:
                column += 1
            seen = "<EOF> "
        else:
            after = "" if read <= 1 else text[pos:last]
            seen = f'"{_escape(cur)}" ({ord(cur)}), '
        return f'Lexical error at line {line}, column {column}.  Encountered: {seen}after : "{_escape(after)}"'


_LA1_SETS = {
    0: {OR}, 1: {AND}, 2: {IS, EQ, NE}, 3: {EQ, NE}, 4: {IS},
    5: {NOT, BETWEEN, IN, GT, GE, LT, LE}, 6: {COMMA}, 7: {COMMA}, 8: {BETWEEN, GT, GE, LT, LE}, 9: {IN},
    10: {NOT, TRUE, FALSE, NULL, DECIMAL, FLOAT, STRING, ID, LPAREN, MINUS},
    11: {TRUE, FALSE, NULL, DECIMAL, FLOAT, STRING, ID, LPAREN},
    12: {TRUE, FALSE, NULL, DECIMAL, FLOAT, STRING},
}
_PRIMARY_FIRST = _LA1_SETS[11]
_ORDER_OPS = {GT: ">", GE: ">=", LT: "<", LE: "<="}


class Parser:
    """JmsSelector parser over a lazy token chain."""

    def __init__(self, text: str) -> None:
        self.lexer = Lexer(text)
        self.token = Token(EOF, "", 0, 0)      # the last consumed token (a dummy at the start)
        self.gen = 0
        self.la1: dict[int, int] = {}
        self.kind_expected = -1

    # ------------------------------------------------------------------ token plumbing
    def _next(self, tok: Token) -> Token:
        if tok.next is None:
            tok.next = self.lexer.next_token()
        return tok.next

    def peek(self) -> int:
        return self._next(self.token).kind

    def consume(self, kind: int) -> Token:
        nxt = self._next(self.token)
        if nxt.kind == kind:
            self.token = nxt
            self.gen += 1
            return nxt
        self.kind_expected = kind
        raise self._error()

    def mark(self, index: int) -> None:
        self.la1[index] = self.gen

    def _error(self) -> s.Sql92Error:
        expected = set(k for i, g in self.la1.items() if g == self.gen for k in _LA1_SETS[i])
        if self.kind_expected >= 0:
            expected.add(self.kind_expected)
        self.kind_expected = -1
        tok = self._next(self.token)
        text = 'Encountered "'
        if expected:
            text += TOKEN_IMAGE[EOF] if tok.kind == EOF else f' {TOKEN_IMAGE[tok.kind]} "{_escape(tok.image)} "'
        text += f'" at line {tok.line}, column {tok.column}.\n'
        text += "Was expecting:\n    " if len(expected) == 1 else "Was expecting one of:\n    "
        text += "".join(f"{TOKEN_IMAGE[k]} ...\n    " for k in sorted(expected))
        return s.Sql92Error("org.apache.rocketmq.filter.parser.ParseException: " + text)

    # ------------------------------------------------------------------ syntactic lookahead (scan mode)
    def _la_pair(self, first: int, second: int) -> bool:
        """LOOKAHEAD(2) on a two-token sequence."""
        tok = self._next(self.token)
        return tok.kind == first and self._next(tok).kind == second

    def _la_plus(self) -> bool:
        """LOOKAHEAD("+" unaryExpr): scan as far as needed."""
        tok = self._next(self.token)
        return tok.kind == PLUS and self._s_unary(tok) is not None

    def _s_tok(self, at: Token, kind: int) -> Token | None:
        nxt = self._next(at)
        return nxt if nxt.kind == kind else None

    def _s_unary(self, at: Token) -> Token | None:
        for op in (PLUS, MINUS, NOT):
            t = self._s_tok(at, op)
            if t is not None and (r := self._s_unary(t)) is not None:
                return r
        return self._s_primary(at)

    def _s_primary(self, at: Token) -> Token | None:
        for kind in (STRING, DECIMAL, FLOAT, TRUE, FALSE, NULL, ID):
            if (t := self._s_tok(at, kind)) is not None:
                return t
        t = self._s_tok(at, LPAREN)
        t = self._s_chain(t, OR, self._s_and) if t is not None else None
        return self._s_tok(t, RPAREN) if t is not None else None

    def _s_chain(self, at: Token, op: int, operand) -> Token | None:  # type: ignore[no-untyped-def]
        t = operand(at)
        while t is not None:
            o = self._s_tok(t, op)
            nxt = operand(o) if o is not None else None
            if nxt is None:
                return t
            t = nxt
        return None

    def _s_and(self, at: Token) -> Token | None:
        return self._s_chain(at, AND, self._s_equality)

    def _s_equality(self, at: Token) -> Token | None:
        t = self._s_comparison(at)
        while t is not None:
            nxt = None
            for op in (EQ, NE):
                o = self._s_tok(t, op)
                if o is not None and (nxt := self._s_comparison(o)) is not None:
                    break
            if nxt is None:
                i = self._s_tok(t, IS)
                nxt = self._s_tok(i, NULL) if i is not None else None
                if nxt is None and i is not None:
                    n = self._s_tok(i, NOT)
                    nxt = self._s_tok(n, NULL) if n is not None else None
            if nxt is None:
                return t
            t = nxt
        return None

    def _s_comparison(self, at: Token) -> Token | None:
        t = self._s_unary(at)
        while t is not None:
            nxt = self._s_comparison_step(t)
            if nxt is None:
                return t
            t = nxt
        return None

    def _s_comparison_step(self, t: Token) -> Token | None:
        for op in (GT, GE, LT, LE):
            o = self._s_tok(t, op)
            if o is not None and (r := self._s_unary(o)) is not None:
                return r
        r = self._s_between(t)
        if r is None and (n := self._s_tok(t, NOT)) is not None:
            r = self._s_between(n)
        if r is None:
            r = self._s_in(t)
        if r is None and (n := self._s_tok(t, NOT)) is not None:
            r = self._s_in(n)
        return r

    def _s_between(self, t: Token) -> Token | None:
        b = self._s_tok(t, BETWEEN)
        lo = self._s_unary(b) if b is not None else None
        a = self._s_tok(lo, AND) if lo is not None else None
        return self._s_unary(a) if a is not None else None

    def _s_in(self, t: Token) -> Token | None:
        i = self._s_tok(t, IN)
        p = self._s_tok(i, LPAREN) if i is not None else None
        x = self._s_tok(p, STRING) if p is not None else None
        while x is not None:
            c = self._s_tok(x, COMMA)
            y = self._s_tok(c, STRING) if c is not None else None
            if y is None:
                break
            x = y
        return self._s_tok(x, RPAREN) if x is not None else None

    # ------------------------------------------------------------------ grammar (parse mode)
    def selector(self) -> s.Expr:
        return self.as_boolean(self.or_expr())

    def as_boolean(self, e: s.Expr) -> s.Expr:
        if e.boolean:
            return e
        if isinstance(e, s.Property):
            return s.create_boolean_cast(e)
        raise s.Sql92Error("org.apache.rocketmq.filter.parser.ParseException: "
                           f"Expression will not result in a boolean value: {e}")

    def or_expr(self) -> s.Expr:
        left = self.and_expr()
        while True:
            if self.peek() != OR:
                self.mark(0)
                return left
            self.consume(OR)
            right = self.and_expr()
            left = s.create_or(self.as_boolean(left), self.as_boolean(right))

    def and_expr(self) -> s.Expr:
        left = self.equality()
        while True:
            if self.peek() != AND:
                self.mark(1)
                return left
            self.consume(AND)
            right = self.equality()
            left = s.create_and(self.as_boolean(left), self.as_boolean(right))

    def equality(self) -> s.Expr:
        left = self.comparison()
        null = s.Constant(None, boolean=True)
        while True:
            k = self.peek()
            if k not in (IS, EQ, NE):
                self.mark(2)
                return left
            if k in (EQ, NE):
                self.consume(k)
                right = self.comparison()
                eq = s.create_equal(left, right)
                left = eq if k == EQ else s.create_not(eq)
                continue
            self.mark(3)
            if self._la_pair(IS, NULL):
                self.consume(IS)
                self.consume(NULL)
                left = s.create_equal(left, null, checked=False)
            elif self.peek() == IS:
                self.consume(IS)
                self.consume(NOT)
                self.consume(NULL)
                left = s.create_not(s.create_equal(left, null, checked=False))
            else:
                self.mark(4)
                self.consume(-1)

    def comparison(self) -> s.Expr:
        left = self.unary()
        while True:
            k = self.peek()
            if k not in (NOT, BETWEEN, IN, GT, GE, LT, LE):
                self.mark(5)
                return left
            if k in _ORDER_OPS:
                self.consume(k)
                left = s.create_order(_ORDER_OPS[k], left, self.unary())
            elif k == BETWEEN:
                self.consume(BETWEEN)
                low = self.unary()
                self.consume(AND)
                left = s.create_between(left, low, self.unary())
            else:
                self.mark(8)
                left = self._not_between_or_in(left)

    def _not_between_or_in(self, left: s.Expr) -> s.Expr:
        if self._la_pair(NOT, BETWEEN):
            self.consume(NOT)
            self.consume(BETWEEN)
            low = self.unary()
            self.consume(AND)
            return s.create_not_between(left, low, self.unary())
        if self.peek() == IN:
            self.consume(IN)
            return s.create_in(left, self._string_list(6), False)
        self.mark(9)
        if self._la_pair(NOT, IN):
            self.consume(NOT)
            self.consume(IN)
            return s.create_in(left, self._string_list(7), True)
        self.consume(-1)
        raise AssertionError("unreachable")

    def _string_list(self, mark: int) -> list[str]:
        self.consume(LPAREN)
        items = [self.string()]
        while True:
            if self.peek() != COMMA:
                self.mark(mark)
                break
            self.consume(COMMA)
            items.append(self.string())
        self.consume(RPAREN)
        return items

    def unary(self) -> s.Expr:
        if self._la_plus():
            self.consume(PLUS)
            return self.unary()
        k = self.peek()
        if k == MINUS:
            self.consume(MINUS)
            return s.create_negate(self.unary())
        if k == NOT:
            self.consume(NOT)
            return s.create_not(self.as_boolean(self.unary()))
        if k in _PRIMARY_FIRST:
            return self.primary()
        self.mark(10)
        self.consume(-1)
        raise AssertionError("unreachable")

    def primary(self) -> s.Expr:
        k = self.peek()
        if k == ID:
            return s.Property(_from_units(self.consume(ID).image))
        if k == LPAREN:
            self.consume(LPAREN)
            e = self.or_expr()
            self.consume(RPAREN)
            return e
        return self.literal()

    def literal(self) -> s.Expr:
        k = self.peek()
        if k == STRING:
            return s.Constant(self.string())
        if k == DECIMAL:
            return _decimal(self.consume(DECIMAL).image)
        if k == FLOAT:
            return _float(self.consume(FLOAT).image)
        if k in (TRUE, FALSE, NULL):
            self.consume(k)
            return s.Constant({TRUE: True, FALSE: False, NULL: None}[k], boolean=True)
        self.mark(12)
        self.consume(-1)
        raise AssertionError("unreachable")

    def string(self) -> str:
        image = self.consume(STRING).image
        return _from_units(image[1:-1].replace("''", "'"))


def _from_units(text: str) -> str:
    """Characters-as-UTF-16-units back to a normal string (valid surrogate pairs joined)."""
    if all(ord(c) < 0xD800 or ord(c) > 0xDFFF for c in text):
        return text
    raw = b"".join(ord(c).to_bytes(2, "little") for c in text)
    return raw.decode("utf-16-le", "surrogatepass")


def _decimal(image: str) -> s.Expr:
    text = image[:-1] if image[-1] in "lL" else image
    value = int(text)
    if value > (1 << 63) - 1:
        raise s.Sql92Error(f'java.lang.NumberFormatException: For input string: "{text}"')
    return s.Constant(s.JInt(value) if value <= (1 << 31) - 1 else s.JLong(value))


def _float(image: str) -> s.Expr:
    value = float(image)
    if value == float("inf"):
        raise s.Sql92Error(f"java.lang.RuntimeException: {image} is greater than 1.7976931348623157E308")
    if value < 5e-324:
        raise s.Sql92Error(f"java.lang.RuntimeException: {image} is less than 4.9E-324")
    return s.Constant(value)


def parse(text: str) -> s.Expr:
    """Parse a selector; raises ``Sql92Error`` with Java's message."""
    return Parser(text).selector()
