"""JSON text a hostile peer may write, chosen by a FuzzedDataProvider-like
source: every JSON type, numbers beyond float and int-parsing limits, NaN,
deep nesting, long and odd strings.  Text, not objects: json.dumps cannot
write most of it."""
import json

STRING_POOL = ("", "x", "0", "00000000", "ffffffff", "0000", "ffff", "0x", "d=", "d=1e-9",
               "d=0.5", "x,d=4", "d=nan", "d=" + "9" * 400, "version-rolling",
               "minimum-difficulty", "subscribe-extranonce", "EthereumStratum/1.0.0",
               "0x" + "0" * 64, "0x" + "f" * 16, "0x" + "1" * 40, "\u0000", "\ud800",
               "\u202e", "mining.notify")
KEY_POOL = ("id", "method", "params", "result", "error", "jsonrpc", "worker",
            "version-rolling.mask", "minimum-difficulty.value", "txid", "x")
SPECIAL_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400", "5e-324", "-0.0",
                   "0", "-0", "1E2", "2.5", "4294967296", "18446744073709551616", "-1")
MAX_DEPTH = 4


def string_text(value):
    return json.dumps(value)


class JsonText:
    """Builds JSON text from a provider (atheris.FuzzedDataProvider's methods)."""

    def __init__(self, fdp, strings=()):
        self.fdp = fdp
        self.strings = tuple(strings) + STRING_POOL

    def pick(self, options):
        return options[self.fdp.ConsumeIntInRange(0, len(options) - 1)]

    def value(self, depth=0):
        fdp = self.fdp
        kind = fdp.ConsumeIntInRange(0, 12 if depth < MAX_DEPTH else 9)
        if kind == 0:
            return "null"
        if kind == 1:
            return self.pick(("true", "false"))
        if kind == 2:
            return str(fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 12)))
        if kind == 3:
            # beyond float range, and past Python's 4300-digit int parsing limit
            return self.pick(("9", "1", "-9")) + "0" * fdp.ConsumeIntInRange(300, 5000)
        if kind == 4:
            return self.pick(SPECIAL_NUMBERS)
        if kind == 5:
            number = fdp.ConsumeRegularFloat()
            return repr(number) if number == number and abs(number) != float("inf") else "0.5"
        if kind == 6:
            return string_text(self.pick(self.strings))
        if kind == 7:
            return string_text(fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 40)))
        if kind == 8:
            return string_text("%0*x" % (self.pick((4, 8, 12, 16, 64)),
                                         fdp.ConsumeIntInRange(0, 2**64)))
        if kind == 9:
            return string_text(self.pick(("a", "0", "\u00e9")) * fdp.ConsumeIntInRange(0, 20000))
        if kind == 10:
            depth_now = fdp.ConsumeIntInRange(1, 9000)      # past json's recursion limit
            return "[" * depth_now + "]" * depth_now
        if kind == 11:
            return self.array(depth + 1)
        return self.object(depth + 1)

    def array(self, depth=0, items=None):
        if items is None:
            items = self.fdp.ConsumeIntInRange(0, 6)
        return "[" + ",".join(self.value(depth) for _ in range(items)) + "]"

    def object(self, depth=0):
        members = []
        for _ in range(self.fdp.ConsumeIntInRange(0, 4)):
            members.append("%s:%s" % (string_text(self.pick(KEY_POOL)), self.value(depth)))
        return "{" + ",".join(members) + "}"
