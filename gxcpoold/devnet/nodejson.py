"""The JSON behaviour of the real node's C++ JSON library (spec/gxc-node.md §1.3-§1.5).

The node parses requests and prints responses with a well-known C++ JSON
library; its exact error texts leak into JSON-RPC errors ("Parse error: …",
"[json.exception.type_error.302] type must be number, but is string").  This
module reproduces that library's observable behaviour:

* ``parse(data: bytes)``: strict RFC 8259 parser on bytes, iterative (no depth
  limit), ``JsonError`` with the library's ``parse_error.101`` wording,
  line/column and "last read" excerpt.  Integers that fit 64 bits stay ints,
  larger ones become floats; a NUL byte ends the input, as in the library.
* ``dumps(value) -> bytes``: compact, keys sorted, floats in shortest
  round-trip form with a decimal point (``1.0``), iterative.
* accessors with the library's conversion rules and type-error texts
  (``get_number``, ``get_string``, ``value``, ``index`` …).

Python ``bool`` is a subclass of ``int``; every type test here checks bool first.
"""
import json
import math

_CONTROL_NAMES = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI "
    "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US"
).split()
_SHORT_ESCAPES = {0x08: "b", 0x09: "t", 0x0A: "n", 0x0C: "f", 0x0D: "r"}

UINT64_MAX = 2**64 - 1
INT64_MIN = -(2**63)


class JsonError(Exception):
    """An exception of the C++ JSON library; ``str()`` is its ``what()`` text."""

    def __init__(self, kind: str, number: int, text: str):
        super().__init__(f"[json.exception.{kind}.{number}] {text}")
        self.kind = kind
        self.number = number


def type_error(number: int, text: str) -> JsonError:
    return JsonError("type_error", number, text)


# --------------------------------------------------------------------------
# type names and accessors (the library's get<T>(), value(), operator[])

def type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _expect(value, expected: str):
    if type_name(value) != expected:
        raise type_error(302, f"type must be {expected}, but is {type_name(value)}")
    return value


def get_string(value) -> str:
    return _expect(value, "string")


def get_bool(value) -> bool:
    return _expect(value, "boolean")


def get_number(value) -> float:
    return float(_expect(value, "number"))


def _truncate(value) -> int:
    _expect(value, "number")
    if isinstance(value, float):
        # C++ float->integer casts truncate; out-of-range is undefined, saturate.
        if math.isnan(value):
            return 0
        if math.isinf(value):
            return UINT64_MAX if value > 0 else INT64_MIN
        return int(value)
    return value


def get_uint64(value) -> int:
    """get<uint64_t>: negative numbers wrap to huge values (§2.5)."""
    return _truncate(value) % 2**64


def get_int64(value) -> int:
    n = _truncate(value) % 2**64
    return n - 2**64 if n >= 2**63 else n


def get_int32(value) -> int:
    """get<int>: read as signed 32-bit, 5000000000 -> 705032704 (§2.2 nonce)."""
    n = _truncate(value) % 2**32
    return n - 2**32 if n >= 2**31 else n


def size(value) -> int:
    """size(): null 0, array/object their length, any other value 1."""
    if value is None:
        return 0
    if isinstance(value, (list, dict)):
        return len(value)
    return 1


def index(params, i: int):
    """params[i] on a (possibly non-array) value, after a size check."""
    if isinstance(params, list):
        return params[i] if i < len(params) else None
    if params is None:
        return None  # the library turns null into an array here
    raise type_error(305, f"cannot use operator[] with a numeric argument with {type_name(params)}")


def value(obj, key: str, default, getter):
    """obj.value(key, default): a present key must have the right type."""
    if not isinstance(obj, dict):
        raise type_error(306, f"cannot use value() with {type_name(obj)}")
    if key in obj:
        return getter(obj[key])
    return default


# --------------------------------------------------------------------------
# parser

_WS = b" \t\n\r"
_EOF = -1

# token kinds, with the names the library prints in "unexpected …" / "expected …"
T_BEGIN_ARRAY, T_END_ARRAY, T_BEGIN_OBJECT, T_END_OBJECT = "'['", "']'", "'{'", "'}'"
T_NAME_SEP, T_VALUE_SEP = "':'", "','"
T_TRUE, T_FALSE, T_NULL = "true literal", "false literal", "null literal"
T_STRING, T_NUMBER = "string literal", "number literal"
T_ERROR, T_END = "<parse error>", "end of input"
T_LITERAL_OR_VALUE = "'[', '{', or a literal"
_LITERALS = {ord("t"): (b"true", T_TRUE, True), ord("f"): (b"false", T_FALSE, False),
             ord("n"): (b"null", T_NULL, None)}
_STRUCTURAL = {ord("["): T_BEGIN_ARRAY, ord("]"): T_END_ARRAY, ord("{"): T_BEGIN_OBJECT,
               ord("}"): T_END_OBJECT, ord(":"): T_NAME_SEP, ord(","): T_VALUE_SEP}
# UTF-8 continuation ranges by lead byte, as the library checks them
_UTF8 = {}
for _b in range(0xC2, 0xE0):
    _UTF8[_b] = ((0x80, 0xBF),)
_UTF8[0xE0] = ((0xA0, 0xBF), (0x80, 0xBF))
for _b in list(range(0xE1, 0xED)) + [0xEE, 0xEF]:
    _UTF8[_b] = ((0x80, 0xBF), (0x80, 0xBF))
_UTF8[0xED] = ((0x80, 0x9F), (0x80, 0xBF))
_UTF8[0xF0] = ((0x90, 0xBF), (0x80, 0xBF), (0x80, 0xBF))
for _b in (0xF1, 0xF2, 0xF3):
    _UTF8[_b] = ((0x80, 0xBF),) * 3
_UTF8[0xF4] = ((0x80, 0x8F), (0x80, 0xBF), (0x80, 0xBF))
_ESCAPES = {ord('"'): '"', ord("\\"): "\\", ord("/"): "/", ord("b"): "\b",
            ord("f"): "\f", ord("n"): "\n", ord("r"): "\r", ord("t"): "\t"}


class _Lexer:
    """Character reader with the library's position and "last read" bookkeeping."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.current = _EOF
        self.unget_pending = False
        self.total = 0          # chars_read_total
        self.column = 0         # chars_read_current_line
        self.lines = 0          # lines_read
        self.token = bytearray()  # token_string ("last read")
        self.error = ""
        self.value = None

    def get(self) -> int:
        self.total += 1
        self.column += 1
        if self.unget_pending:
            self.unget_pending = False
        elif self.pos < len(self.data):
            self.current = self.data[self.pos]
            self.pos += 1
        else:
            self.current = _EOF
        if self.current != _EOF:
            self.token.append(self.current)
        if self.current == 0x0A:
            self.lines += 1
            self.column = 0
        return self.current

    def unget(self) -> None:
        self.unget_pending = True
        self.total -= 1
        if self.column == 0:
            if self.lines > 0:
                self.lines -= 1
        else:
            self.column -= 1
        if self.current != _EOF:
            self.token.pop()

    def reset(self) -> None:
        self.token = bytearray()
        if self.current != _EOF:
            self.token.append(self.current)

    def token_string(self) -> str:
        # Control bytes are shown as <U+001F> and the like; other bytes stay raw like the C++
        # std::string (surrogateescape keeps non-UTF-8 bytes for dumps() to refuse).
        text = bytearray()
        for byte in self.token:
            text += f"<U+{byte:04X}>".encode() if byte <= 0x1F else bytes([byte])
        return text.decode("utf-8", "surrogateescape")

    def position(self) -> str:
        return f"line {self.lines + 1}, column {self.column}"

    def fail(self, message: str) -> str:
        self.error = message
        return T_ERROR

    # -- scanning -----------------------------------------------------------

    def scan(self) -> str:
        if self.total == 0:
            if self.get() == 0xEF:
                if not (self.get() == 0xBB and self.get() == 0xBF):
                    return self.fail("invalid BOM; must be 0xEF 0xBB 0xBF if given")
            else:
                self.unget()
        while True:
            self.get()
            if self.current == _EOF or self.current not in _WS:
                break
        c = self.current
        if c in _STRUCTURAL:
            return _STRUCTURAL[c]
        if c in _LITERALS:
            text, kind, literal = _LITERALS[c]
            for expected in text[1:]:
                if self.get() != expected:
                    return self.fail("invalid literal")
            self.value = literal
            return kind
        if c == ord('"'):
            return self._scan_string()
        if c == ord("-") or ord("0") <= c <= ord("9"):
            return self._scan_number()
        if c in (0, _EOF):
            return T_END
        return self.fail("invalid literal")

    def _codepoint(self) -> int:
        code = 0
        for _ in range(4):
            c = self.get()
            digit = bytes([c]).decode("latin-1") if c != _EOF else ""
            if digit == "" or digit not in "0123456789abcdefABCDEF":
                return -1
            code = code * 16 + int(digit, 16)
        return code

    def _scan_string(self) -> str:
        self.reset()
        out = bytearray()
        while True:
            c = self.get()
            if c == _EOF:
                return self.fail("invalid string: missing closing quote")
            if c == ord('"'):
                self.value = out.decode("utf-8")
                return T_STRING
            if c == ord("\\"):
                e = self.get()
                if e in _ESCAPES:
                    out += _ESCAPES[e].encode()
                    continue
                if e != ord("u"):
                    return self.fail("invalid string: forbidden character after backslash")
                code = self._codepoint()
                if code == -1:
                    return self.fail("invalid string: '\\u' must be followed by 4 hex digits")
                if 0xD800 <= code <= 0xDBFF:
                    if not (self.get() == ord("\\") and self.get() == ord("u")):
                        return self.fail("invalid string: surrogate U+D800..U+DBFF must be "
                                         "followed by U+DC00..U+DFFF")
                    low = self._codepoint()
                    if low == -1:
                        return self.fail("invalid string: '\\u' must be followed by 4 hex digits")
                    if not 0xDC00 <= low <= 0xDFFF:
                        return self.fail("invalid string: surrogate U+D800..U+DBFF must be "
                                         "followed by U+DC00..U+DFFF")
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                elif 0xDC00 <= code <= 0xDFFF:
                    return self.fail("invalid string: surrogate U+DC00..U+DFFF must follow "
                                     "U+D800..U+DBFF")
                out += chr(code).encode("utf-8")
                continue
            if c <= 0x1F:
                name = _CONTROL_NAMES[c]
                text = f"invalid string: control character U+{c:04X} ({name}) must be escaped to \\u{c:04X}"
                if c in _SHORT_ESCAPES:
                    text += f" or \\{_SHORT_ESCAPES[c]}"
                return self.fail(text)
            if c < 0x80:
                out.append(c)
                continue
            ranges = _UTF8.get(c)
            if ranges is None:
                return self.fail("invalid string: ill-formed UTF-8 byte")
            out.append(c)
            for low, high in ranges:
                nxt = self.get()
                if nxt == _EOF or not low <= nxt <= high:
                    return self.fail("invalid string: ill-formed UTF-8 byte")
                out.append(nxt)

    def _scan_number(self) -> str:
        self.reset()
        is_float = False
        digits = range(ord("0"), ord("9") + 1)
        c = self.current
        if c == ord("-"):
            c = self.get()
            if c not in digits:
                return self.fail("invalid number; expected digit after '-'")
        if c == ord("0"):
            c = self.get()
        else:
            while True:
                c = self.get()
                if c not in digits:
                    break
        if c == ord("."):
            is_float = True
            if self.get() not in digits:
                return self.fail("invalid number; expected digit after '.'")
            while True:
                c = self.get()
                if c not in digits:
                    break
        if c in (ord("e"), ord("E")):
            is_float = True
            c = self.get()
            if c in (ord("+"), ord("-")):
                if self.get() not in digits:
                    return self.fail("invalid number; expected digit after exponent sign")
            elif c not in digits:
                return self.fail("invalid number; expected '+', '-', or digit after exponent")
            while True:
                c = self.get()
                if c not in digits:
                    break
        self.unget()
        text = bytes(self.token).decode("ascii")
        if not is_float:
            number = int(text)
            if INT64_MIN <= number <= UINT64_MAX:
                self.value = number
                return T_NUMBER
        self.value = float(text)
        if math.isinf(self.value):
            raise JsonError("out_of_range", 406, f"number overflow parsing '{text}'")
        return T_NUMBER


def _syntax_error(lexer: _Lexer, last: str, expected: str | None, context: str) -> JsonError:
    text = f"syntax error while parsing {context} - "
    if last == T_ERROR:
        text += f"{lexer.error}; last read: '{lexer.token_string()}'"
    else:
        text += f"unexpected {last}"
    if expected is not None:
        text += f"; expected {expected}"
    return JsonError("parse_error", 101, f"parse error at {lexer.position()}: {text}")


def parse(data: bytes):
    """Parse one JSON text the way the node's library does; raise JsonError."""
    lexer = _Lexer(data)
    token = lexer.scan()
    containers: list = []   # open arrays/objects
    keys: list = []         # pending key per open object
    result = None
    while True:
        # parse one value starting at `token`
        if token == T_BEGIN_OBJECT:
            token = lexer.scan()
            if token == T_END_OBJECT:
                item = {}
            else:
                if token != T_STRING:
                    raise _syntax_error(lexer, token, T_STRING, "object key")
                key = lexer.value
                token = lexer.scan()
                if token != T_NAME_SEP:
                    raise _syntax_error(lexer, token, T_NAME_SEP, "object separator")
                containers.append({})
                keys.append(key)
                token = lexer.scan()
                continue
        elif token == T_BEGIN_ARRAY:
            token = lexer.scan()
            if token == T_END_ARRAY:
                item = []
            else:
                containers.append([])
                keys.append(None)
                continue
        elif token in (T_STRING, T_NUMBER, T_TRUE, T_FALSE, T_NULL):
            item = lexer.value
        elif token == T_ERROR:
            raise _syntax_error(lexer, token, None, "value")
        elif token == T_END and lexer.total == 1:
            raise JsonError("parse_error", 101, f"parse error at {lexer.position()}: attempting to "
                            "parse an empty input; check that your input string or stream "
                            "contains the expected JSON")
        else:
            raise _syntax_error(lexer, token, T_LITERAL_OR_VALUE, "value")

        # a value is complete: attach it and close finished containers
        while True:
            if not containers:
                result = item
                break
            top = containers[-1]
            if isinstance(top, list):
                top.append(item)
                token = lexer.scan()
                if token == T_VALUE_SEP:
                    token = lexer.scan()
                    break
                if token != T_END_ARRAY:
                    raise _syntax_error(lexer, token, T_END_ARRAY, "array")
            else:
                top[keys[-1]] = item
                token = lexer.scan()
                if token == T_VALUE_SEP:
                    token = lexer.scan()
                    if token != T_STRING:
                        raise _syntax_error(lexer, token, T_STRING, "object key")
                    keys[-1] = lexer.value
                    token = lexer.scan()
                    if token != T_NAME_SEP:
                        raise _syntax_error(lexer, token, T_NAME_SEP, "object separator")
                    token = lexer.scan()
                    break
                if token != T_END_OBJECT:
                    raise _syntax_error(lexer, token, T_END_OBJECT, "object")
            item = containers.pop()
            keys.pop()
        if not containers:
            break
    token = lexer.scan()
    if token != T_END:
        raise _syntax_error(lexer, token, T_END, "value")
    return result


# --------------------------------------------------------------------------
# serializer

def format_float(number: float) -> str:
    """Shortest round-trip digits with a decimal point, as the library prints doubles."""
    if not math.isfinite(number):
        return "null"
    text = repr(number)
    # The library switches to exponent form one digit earlier than Python (>= 1e15).
    if "e" not in text and "inf" not in text:
        whole = text.lstrip("-").split(".")[0]
        if len(whole) == 16:
            digits = whole.rstrip("0")
            mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
            text = ("-" if number < 0 else "") + f"{mantissa}e+15"
    return text


def _string(text: str) -> str:
    for i, ch in enumerate(text):
        if "\udc80" <= ch <= "\udcff":   # a raw byte that is not UTF-8 (surrogateescape)
            at = len(text[:i].encode("utf-8", "surrogateescape"))
            raise type_error(316, f"invalid UTF-8 byte at index {at}: 0x{ord(ch) - 0xDC00:02X}")
    return json.dumps(text, ensure_ascii=False)


def _scalar(item) -> str:
    if item is None:
        return "null"
    if item is True:
        return "true"
    if item is False:
        return "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, float):
        return format_float(item)
    if isinstance(item, str):
        return _string(item)
    raise TypeError(f"cannot serialise {type(item).__name__}")


def dumps(item) -> bytes:
    """Compact JSON, keys sorted; iterative so any echoed id nests safely."""
    out: list[str] = []
    stack: list = [iter([item])]
    closers: list[str] = [""]
    first: list[bool] = [True]
    while stack:
        try:
            entry = next(stack[-1])
        except StopIteration:
            stack.pop()
            out.append(closers.pop())
            first.pop()
            continue
        if not first[-1]:
            out.append(",")
        first[-1] = False
        if isinstance(stack[-1], _DictItems):
            key, entry = entry
            out.append(_string(key) + ":")
        if isinstance(entry, dict):
            out.append("{")
            stack.append(_DictItems(entry))
            closers.append("}")
            first.append(True)
        elif isinstance(entry, (list, tuple)):
            out.append("[")
            stack.append(iter(entry))
            closers.append("]")
            first.append(True)
        else:
            out.append(_scalar(entry))
    return "".join(out).encode("utf-8")


class _DictItems:
    def __init__(self, mapping: dict):
        self._items = iter(sorted(mapping.items()))

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._items)
