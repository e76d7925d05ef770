"""The node's JSON-library behaviour: parse errors, type errors, number printing (§1.3-§1.5)."""
import math

from twisted.trial import unittest

from gxcpoold.devnet import nodejson as nj


class Parse(unittest.TestCase):
    def error(self, data: bytes) -> str:
        with self.assertRaises(nj.JsonError) as caught:
            nj.parse(data)
        return str(caught.exception)

    def test_values(self):
        self.assertEqual(nj.parse(b' {"a":[1,-2,3.5,1e2,true,false,null,"\\u00e9\\n"]} '),
                         {"a": [1, -2, 3.5, 100.0, True, False, None, "é\n"]})
        self.assertEqual(nj.parse(b'"\\ud83d\\ude00"'), "😀")
        self.assertEqual(nj.parse(b"18446744073709551615"), 2**64 - 1)
        self.assertIsInstance(nj.parse(b"18446744073709551616"), float)
        self.assertEqual(nj.parse(b'{"a":1,"a":2}'), {"a": 2})
        self.assertEqual(nj.parse(b"\xef\xbb\xbf[1]"), [1])          # BOM skipped
        self.assertEqual(nj.parse(b"[1]\x00trailing"), [1])           # NUL ends the input

    def test_deep_nesting_does_not_recurse(self):
        depth = 20000
        self.assertEqual(len(nj.dumps(nj.parse(b"[" * depth + b"]" * depth))), 2 * depth)

    def test_error_texts(self):
        prefix = "[json.exception.parse_error.101] parse error at "
        cases = {
            b"": "line 1, column 1: attempting to parse an empty input; check that your input "
                 "string or stream contains the expected JSON",
            b"{": "line 1, column 2: syntax error while parsing object key - unexpected end of "
                  "input; expected string literal",
            b'{"a"}': "line 1, column 5: syntax error while parsing object separator - "
                      "unexpected '}'; expected ':'",
            b"[1,2": "line 1, column 5: syntax error while parsing array - unexpected end of "
                     "input; expected ']'",
            b"NaN": "line 1, column 1: syntax error while parsing value - invalid literal; "
                    "last read: 'N'",
            b"[1]x": "line 1, column 4: syntax error while parsing value - invalid literal; "
                     "last read: '1]x'; expected end of input",
            b'"a\tb"': "line 1, column 3: syntax error while parsing value - invalid string: "
                       "control character U+0009 (HT) must be escaped to \\u0009 or \\t; "
                       "last read: '\"a<U+0009>'",
            b"\n\n  x": "line 3, column 3: syntax error while parsing value - invalid literal; "
                        "last read: '\n\n  x'".replace("\n", "<U+000A>"),
            b"-x": "line 1, column 2: syntax error while parsing value - invalid number; "
                   "expected digit after '-'; last read: '-x'",
        }
        for data, text in cases.items():
            self.assertEqual(self.error(data), prefix + text, data)
        self.assertEqual(self.error(b"1e999"),
                         "[json.exception.out_of_range.406] number overflow parsing '1e999'")


class Accessors(unittest.TestCase):
    def test_type_names_and_errors(self):
        for value, name in ((None, "null"), (True, "boolean"), (1, "number"), (1.5, "number"),
                            ("x", "string"), ([], "array"), ({}, "object")):
            self.assertEqual(nj.type_name(value), name)
        with self.assertRaises(nj.JsonError) as caught:
            nj.get_string(True)
        self.assertEqual(str(caught.exception),
                         "[json.exception.type_error.302] type must be string, but is boolean")
        with self.assertRaises(nj.JsonError) as caught:
            nj.value("text", "key", None, nj.get_string)
        self.assertEqual(str(caught.exception),
                         "[json.exception.type_error.306] cannot use value() with string")

    def test_integer_conversions(self):
        self.assertEqual(nj.get_int32(5000000000), 705032704)
        self.assertEqual(nj.get_int32(2**31), -(2**31))
        self.assertEqual(nj.get_int32(12.9), 12)
        self.assertEqual(nj.get_uint64(-1), 2**64 - 1)
        self.assertEqual(nj.get_int64(2**63), -(2**63))
        self.assertEqual(nj.size(None), 0)
        self.assertEqual(nj.size("abc"), 1)


class Dumps(unittest.TestCase):
    def test_numbers(self):
        cases = {1.0: "1.0", 50.0: "50.0", 0.00101: "0.00101", 1e-8: "1e-08",
                 3.0002699999999995: "3.0002699999999995", 0.0001: "0.0001", 1e-5: "1e-05",
                 123456789012345.0: "123456789012345.0", 1e15: "1e+15", 1.5e15: "1.5e+15",
                 1e16: "1e+16", -0.0: "-0.0", 6.95e-310: "6.95e-310", math.inf: "null"}
        for number, text in cases.items():
            self.assertEqual(nj.format_float(number), text, number)
        self.assertEqual(nj.dumps([1, True, None, 2**64 - 1]), b"[1,true,null,18446744073709551615]")

    def test_objects_sorted_compact_utf8(self):
        self.assertEqual(nj.dumps({"b": 1, "a": {"d": [], "c": "é\x01\""}}),
                         '{"a":{"c":"é\\u0001\\"","d":[]},"b":1}'.encode())

    def test_invalid_utf8_cannot_be_printed(self):
        with self.assertRaises(nj.JsonError) as caught:
            nj.dumps({"a": "ok\udcff"})
        self.assertEqual(str(caught.exception),
                         "[json.exception.type_error.316] invalid UTF-8 byte at index 2: 0xFF")
