"""Targets "node_http" and "node_template": what the node may answer.

node_http: byte 0 even: the rest is the raw answer; odd: a FuzzedDataProvider
builds one: a status line, headers (Content-Length right, short, long, huge or
not a number, chunked encoding the client does not speak, garbage), and a
JSON-RPC body whose result is a template, another value, or an error object.
node_template: a FuzzedDataProvider builds a getblocktemplate result with the
node's field names and values of every JSON type.
"""
from fuzz import node_check
from fuzz.jsontext import JsonText, string_text

STATUS_LINES = (b"HTTP/1.1 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.1 500 Internal Server Error",
                b"HTTP/1.1 404", b"HTTP/1.1 200", b"HTTP/2 200 OK", b"HTTP/1.1 2OO OK",
                b"http/1.1 200 OK", b"HTTP/1.1", b"", b"HTTP/1.1 0200 OK",
                b"HTTP/1.1 " + b"9" * 5000 + b" OK", b"HTTP/1.1 \xd9\xa0 OK")
TEMPLATE_KEYS = ("version", "previousblockhash", "height", "difficulty", "transactions",
                 "coinbasevalue", "curtime", "mintime", "bits", "target")
TX_KEYS = ("txid", "hash", "is_coinbase", "coinbase", "block_height", "blockHeight", "type",
           "fee", "inputs", "outputs", "amount", "to", "from", "timestamp")


class NodeAnswers:
    def __init__(self, fdp):
        self.fdp = fdp
        self.json = JsonText(fdp, strings=("ab" * 32, "AB" * 32, "cd" * 32, "COINBASE",
                                           "1d00ffff", "2.0", "Empty POST body"))

    def pick(self, options):
        return self.json.pick(options)

    def maybe(self, text):
        return text if self.fdp.ConsumeIntInRange(0, 5) else self.json.value(2)

    def transaction(self, coinbase, height):
        members = ['"txid":%s' % self.maybe(string_text(
            "%064x" % self.fdp.ConsumeIntInRange(0, 2**256 - 1)))]
        if coinbase:
            members.append('"is_coinbase":%s' % self.maybe("true"))
            members.append('"block_height":%s' % self.maybe(str(height)))
        for _ in range(self.fdp.ConsumeIntInRange(0, 3)):
            members.append("%s:%s" % (string_text(self.pick(TX_KEYS)), self.json.value(2)))
        return "{" + ",".join(members) + "}"

    def template(self):
        height = self.fdp.ConsumeIntInRange(0, 2**40)
        txs = [self.transaction(i == 0, height) for i in range(self.fdp.ConsumeIntInRange(0, 4))]
        plausible = {
            "version": "1",
            "previousblockhash": string_text("%064x" % self.fdp.ConsumeIntInRange(0, 2**256 - 1)),
            "height": str(height),
            "difficulty": self.pick(("6.0", "1", "0.5", "1000000", "1e6", "16.5", "1e-300")),
            "transactions": "[" + ",".join(txs) + "]",
            "coinbasevalue": str(self.fdp.ConsumeIntInRange(0, 2**64)),
            "curtime": str(self.fdp.ConsumeIntInRange(0, 2**40)),
            "mintime": "1800000000",
            "bits": '"1d00ffff"',
        }
        members = []
        for key in TEMPLATE_KEYS:
            if key in plausible and self.fdp.ConsumeIntInRange(0, 15) == 0:
                continue                          # a field missing
            value = plausible.get(key) or self.json.value(1)
            members.append("%s:%s" % (string_text(key), self.maybe(value)))
        return "{" + ",".join(members) + "}"

    def body(self):
        choice = self.fdp.ConsumeIntInRange(0, 5)
        request_id = self.maybe(str(node_check.REQUEST_ID))
        if choice <= 2:
            return '{"jsonrpc":"2.0","id":%s,"result":%s}' % (request_id, self.template())
        if choice == 3:
            error = '{"code":%s,"message":%s}' % (self.maybe("-32700"), self.maybe(string_text(
                self.pick(("Parse error", "Empty POST body", "Block rejected")))))
            return '{"jsonrpc":%s,"id":%s,"result":null,"error":%s}' % (
                self.maybe('"2.0"'), request_id, self.maybe(error))
        if choice == 4:
            return self.json.value(0)
        return self.json.object(0)

    def answer(self):
        body = self.body().encode("utf-8", "surrogatepass")
        headers = []
        for _ in range(self.fdp.ConsumeIntInRange(0, 4)):
            kind = self.fdp.ConsumeIntInRange(0, 6)
            if kind == 0:
                headers.append(b"Content-Length: %d" % len(body))
            elif kind == 1:
                headers.append(b"Content-Length: %d" % self.fdp.ConsumeIntInRange(0, 2**40))
            elif kind == 2:
                headers.append(b"Content-Length: " + self.pick(
                    (b"-1", b"", b"abc", b"1e3", b" 12 ", b"9" * 5000, b"\xd9\xa1\xd9\xa2")))
            elif kind == 3:
                headers.append(b"Transfer-Encoding: chunked")
                body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
            elif kind == 4:
                headers.append(b"Content-Type: application/json")
            elif kind == 5:
                headers.append(b"Connection: close")
            else:
                headers.append(self.fdp.ConsumeBytes(self.fdp.ConsumeIntInRange(0, 40)))
        head = b"\r\n".join([self.pick(STATUS_LINES)] + headers)
        separator = self.pick((b"\r\n\r\n", b"\r\n\r\n", b"\r\n\r\n", b"\n\n", b"\r\n"))
        return head + separator + body


def http(data, fdp_class):
    if not data:
        return
    if data[0] % 2 == 0:
        node_check.interpret(data[1:])
        return
    fdp = fdp_class(data[1:])
    node_check.interpret(NodeAnswers(fdp).answer(),
                         method="getblocktemplate" if fdp.ConsumeBool() else "getblockcount")


def template(fdp):
    node_check.template_text(NodeAnswers(fdp).template())
