"""A checker for the STIX 2.1 pattern grammar (STIX 2.1 section 9, the
ANTLR grammar STIXPattern.g4): observation expressions of comparison
expressions, with the string-literal escapes the grammar allows (only \\'
and \\\\). parse() returns the comparisons as (object_type, path, negated,
operator, value) with string values unescaped, or raises PatternError.
Written for vigil's report tests: no STIX validator is packaged in Debian
or npm for this machine, so the grammar is checked here."""

import re


class PatternError(ValueError):
    pass


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^'\\]|\\['\\])*')
  | (?P<badstr>')
  | (?P<ts>t'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z')
  | (?P<bin>b'[A-Za-z0-9+/]*={0,2}')
  | (?P<hex>h'(?:[0-9a-fA-F]{2})*')
  | (?P<float>[+-]?\d*\.\d+)
  | (?P<int>[+-]?\d+)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[\[\]():,.*])
  | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
""", re.X)

_KEYWORDS = {"AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUPERSET", "ISSUBSET",
             "IN", "EXISTS", "LAST", "WITHIN", "REPEATS", "TIMES", "START", "STOP",
             "SECONDS", "true", "false"}
_OBJECT_TYPE = re.compile(r"^[a-z][a-z0-9-]+[a-z0-9]$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def _tokens(text):
    pos, out = 0, []
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise PatternError(f"unexpected character at {pos}: {text[pos:pos + 10]!r}")
        kind = m.lastgroup
        if kind == "badstr":
            raise PatternError(f"unterminated or badly escaped string at {pos}")
        if kind != "ws":
            out.append((kind, m.group()))
        pos = m.end()
    out.append(("end", ""))
    return out


def _unescape(lit):
    body, out, i = lit[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            out.append(body[i + 1])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text):
        self.toks = _tokens(text)
        self.i = 0
        self.comparisons = []

    def peek(self, value=None):
        kind, text = self.toks[self.i]
        if value is None:
            return kind, text
        return text == value

    def take(self, value=None, kind=None):
        k, t = self.toks[self.i]
        if (value is not None and t != value) or (kind is not None and k != kind):
            raise PatternError(f"expected {value or kind}, found {t!r}")
        self.i += 1
        return k, t

    # observation expressions
    def observation_or(self):
        self.observation_and()
        while self.peek("OR"):
            self.take("OR")
            self.observation_and()

    def observation_and(self):
        self.observation_followed()
        while self.peek("AND"):
            self.take("AND")
            self.observation_followed()

    def observation_followed(self):
        self.observation_qualified()
        while self.peek("FOLLOWEDBY"):
            self.take("FOLLOWEDBY")
            self.observation_qualified()

    def observation_qualified(self):
        if self.peek("["):
            self.take("[")
            self.comparison_or()
            self.take("]")
        elif self.peek("("):
            self.take("(")
            self.observation_or()
            self.take(")")
        else:
            raise PatternError(f"expected '[' or '(', found {self.peek()[1]!r}")
        while self.peek()[1] in ("WITHIN", "REPEATS", "START"):
            self.qualifier()

    def qualifier(self):
        word = self.take(kind="word")[1]
        if word == "WITHIN":
            self.take(kind=self.peek()[0] if self.peek()[0] in ("int", "float") else "int")
            self.take("SECONDS")
        elif word == "REPEATS":
            self.take(kind="int")
            self.take("TIMES")
        else:
            self.take(kind="ts")
            self.take("STOP")
            self.take(kind="ts")

    # comparison expressions
    def comparison_or(self):
        self.comparison_and()
        while self.peek("OR"):
            self.take("OR")
            self.comparison_and()

    def comparison_and(self):
        self.comparison()
        while self.peek("AND"):
            self.take("AND")
            self.comparison()

    def comparison(self):
        if self.peek("("):
            self.take("(")
            self.comparison_or()
            self.take(")")
            return
        if self.peek("EXISTS"):
            self.take("EXISTS")
            self.object_path()
            return
        otype, path = self.object_path()
        negated = False
        if self.peek("NOT"):
            self.take("NOT")
            negated = True
        kind, op = self.peek()
        if kind == "op":
            self.take()
            value = self.literal(allow_set=False)
        elif op in ("LIKE", "MATCHES"):
            self.take()
            k, lit = self.take(kind="str")
            value = _unescape(lit)
        elif op in ("IN",):
            self.take()
            value = self.literal(allow_set=True)
        elif op in ("ISSUBSET", "ISSUPERSET"):
            self.take()
            k, lit = self.take(kind="str")
            value = _unescape(lit)
        else:
            raise PatternError(f"expected a comparison operator, found {op!r}")
        self.comparisons.append((otype, path, negated, op, value))

    def object_path(self):
        kind, otype = self.take(kind="word")
        if otype in _KEYWORDS or not _OBJECT_TYPE.match(otype):
            raise PatternError(f"bad object type {otype!r}")
        self.take(":")
        kind, first = self.take(kind="word")
        if not _IDENT.match(first):
            raise PatternError(f"bad property name {first!r}")
        path = [first]
        while self.peek()[1] in (".", "["):
            if self.peek(".") :
                self.take(".")
                kind, text = self.peek()
                if kind == "word" and _IDENT.match(text):
                    self.take()
                    path.append(text)
                elif kind == "str":
                    self.take()
                    path.append(_unescape(text))
                else:
                    raise PatternError(f"bad path component {text!r}")
            else:
                self.take("[")
                kind, text = self.peek()
                if text == "*" or kind == "int":
                    self.take()
                else:
                    raise PatternError(f"bad list index {text!r}")
                self.take("]")
                path.append("[]")
        return otype, path

    def literal(self, allow_set):
        kind, text = self.peek()
        if allow_set and text == "(":
            self.take("(")
            values = [self.literal(False)]
            while self.peek(","):
                self.take(",")
                values.append(self.literal(False))
            self.take(")")
            return values
        if kind == "str":
            self.take()
            return _unescape(text)
        if kind in ("int", "float", "ts", "bin", "hex"):
            self.take()
            return text
        if text in ("true", "false"):
            self.take()
            return text == "true"
        raise PatternError(f"expected a literal, found {text!r}")


def parse(text):
    p = _Parser(text)
    p.observation_or()
    if p.peek()[0] != "end":
        raise PatternError(f"trailing text: {p.peek()[1]!r}")
    return p.comparisons


if __name__ == "__main__":
    # Self-check: what must parse and what must not.
    good = ["[domain-name:value = 'a.example']",
            "[email-addr:value = 'o\\'brien\\\\x@evil.example']",
            "[url:value LIKE 'http://t.example/%.gif']",
            "[file:hashes.'SHA-256' = 'aa'] OR [ipv4-addr:value = '10.0.0.0/8']",
            "[network-traffic:dst_ref.value IN ('a', 'b')] WITHIN 5 SECONDS"]
    bad = ["[domain-name:value = 'a'b']", "[domain-name:value = 'a\\b']",
           "domain-name:value = 'a'", "[Domain:value = 'a']", "[domain-name:value 'a']",
           "[domain-name:value = 'a']]"]
    for g in good:
        parse(g)
    for b in bad:
        try:
            parse(b)
        except PatternError:
            continue
        raise SystemExit(f"accepted a bad pattern: {b}")
    assert parse(good[1])[0][4] == "o'brien\\x@evil.example"
    print("stix_pattern self-check ok")
