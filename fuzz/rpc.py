"""Target "rpc": structure-aware conversations built from the fuzz input.

A FuzzedDataProvider picks, step by step, what a miner does next, reading the
live session so the share path is reached: logins with real usernames and
password options, submissions with the current, an older or a stale job id,
the right (or a wrong) extranonce2 size, a plausible ntime, nonces, and for
eth-proxy the header hash it was sent and sometimes the real mix hash; in
between requests with real and unknown method names and params of every JSON
type, garbage lines, time passing, new jobs, share checks running.  What was
fed is recorded (Conversation.fed), so a failure replays without atheris.
"""
from fuzz.conversation import Conversation
from fuzz.jsontext import JsonText, string_text
from fuzz.ports import PORTS, USERNAME
from gxcpoold.stratum.dialects import ethproxy, ethstratum, gxhash, v1
from tests.stratum.helpers import MINER_ADDRESS

PORT_NAMES = sorted(PORTS)
METHODS = {
    "sha256d": sorted(v1.StratumV1.HANDLERS),
    "ethash": sorted(set(ethstratum.EthereumStratum.HANDLERS) | set(ethproxy.EthProxy.HANDLERS)),
    "gxhash": sorted(gxhash.GxhashDialect.HANDLERS),
}
OTHER_METHODS = ("mining.unknown", "", "client.get_version", "eth_getBlockByNumber")
USERNAMES = (USERNAME, MINER_ADDRESS, MINER_ADDRESS + ".rig2", MINER_ADDRESS + "." + "w" * 300,
             "0x" + "ab" * 20 + ".rig", "tGXC", "not-an-address", "")
PASSWORDS = ("x", "d=1e-9", "d=0.001", "d=1", "x,d=64", "d=1e300", "d=0", "")
MAX_STEPS = 40


class Conversationalist:
    def __init__(self, fdp, port):
        self.fdp = fdp
        self.port = port
        self.conversation = Conversation(port)
        self.session = self.conversation.session
        self.json = JsonText(fdp, strings=USERNAMES + PASSWORDS)
        self.next_id = 0

    def pick(self, options):
        return self.json.pick(options)

    # ------------------------------------------------------------ the run

    def run(self):
        fdp = self.fdp
        for _ in range(MAX_STEPS):
            if fdp.remaining_bytes() == 0:
                break
            action = fdp.ConsumeIntInRange(0, 11)
            if action <= 3:
                self.send(self.request(self.pick(METHODS[self.port.name] + list(OTHER_METHODS)),
                                       self.json.array(1)))
            elif action <= 5:
                self.login()
            elif action <= 7:
                self.submit()
            elif action == 8:
                self.conversation.wait(self.pick((0.02, 1.0, 31.0, 61.0, 600.0)))
            elif action == 9:
                self.conversation.new_job(fdp.ConsumeBool())
            elif action == 10:
                self.conversation.run_checks()
            else:
                self.send(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300)))
        self.conversation.finish()

    # ------------------------------------------------------------ messages

    def request_id(self):
        self.next_id += 1
        kind = self.fdp.ConsumeIntInRange(0, 7)
        if kind <= 3:
            return str(self.next_id)
        if kind == 4:
            return string_text("r%d" % self.next_id)
        return self.json.value(3)            # any type, echoed only if int or string

    def request(self, method, params_text, extra=""):
        # the method too may be any JSON value (a list once broke malformed())
        members = ['"id":%s' % self.request_id(),
                   '"method":%s' % self.maybe(string_text(method))]
        if self.fdp.ConsumeIntInRange(0, 15):
            members.append('"params":%s' % params_text)
        if extra:
            members.append(extra)
        return "{%s}" % ",".join(members)

    def send(self, text):
        """One line (or a broken one), fed in up to three chunks."""
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        data += self.pick((b"\n", b"\n", b"\n", b"\r\n", b"", b"\n\n"))
        cuts = sorted(self.fdp.ConsumeIntInRange(0, len(data))
                      for _ in range(self.fdp.ConsumeIntInRange(0, 2)))
        at = 0
        for cut in cuts + [len(data)]:
            if cut > at:
                self.conversation.feed(data[at:cut])
                at = cut

    def params(self, *texts):
        return "[" + ",".join(texts) + "]"

    def maybe(self, text):
        """Usually the plausible value, sometimes any JSON value instead."""
        return text if self.fdp.ConsumeIntInRange(0, 7) else self.json.value(2)

    # ------------------------------------------------------------ logins

    def login(self):
        username = string_text(self.pick(USERNAMES))
        password = string_text(self.pick(PASSWORDS))
        name = self.port.name
        if name == "ethash" and self.fdp.ConsumeBool():
            worker = ',"worker":%s' % self.maybe(string_text("rig9")) \
                if self.fdp.ConsumeBool() else ""
            self.send(self.request("eth_submitLogin",
                                   self.params(self.maybe(username), self.maybe(password)),
                                   extra=worker))
            return
        agent = string_text("fuzz/1.0")
        if name == "ethash":
            subscribe = self.params(agent, string_text("EthereumStratum/1.0.0"))
        else:
            subscribe = self.params(agent)
        if self.fdp.ConsumeBool():
            self.send(self.request("mining.subscribe", subscribe))
        self.send(self.request("mining.authorize",
                               self.params(self.maybe(username), self.maybe(password))))

    # ------------------------------------------------------------ shares

    def job_id(self):
        jobs = self.port.jobs
        choice = self.fdp.ConsumeIntInRange(0, 5)
        if choice <= 2 and jobs.current_job is not None:
            return jobs.current_job.job_id
        if choice == 3 and jobs.jobs:
            return self.pick(list(jobs.jobs))
        if choice == 4 and jobs.stale_ids:
            return self.pick(list(jobs.stale_ids))
        return str(self.fdp.ConsumeIntInRange(0, 1000))

    def hex_digits(self, digits):
        if self.fdp.ConsumeIntInRange(0, 9) == 0:
            digits = self.fdp.ConsumeIntInRange(0, 20)      # the wrong length
        return "%0*x" % (digits, self.fdp.ConsumeIntInRange(0, 16 ** digits - 1 if digits else 0))

    def submit(self):
        name = self.port.name
        username = self.maybe(string_text(self.pick(USERNAMES[:3])))
        job_id = self.maybe(string_text(self.job_id()))
        if name == "sha256d":
            job = self.port.jobs.current_job
            ntime = job.ntime + self.pick((0, 1, 7200, -1, 10 ** 6))
            params = [username, job_id, self.maybe(string_text(self.hex_digits(8))),
                      self.maybe(string_text("%08x" % max(0, ntime) if ntime < 2**32 else "")),
                      self.maybe(string_text(self.hex_digits(8)))]
            if self.fdp.ConsumeBool():
                params.append(self.maybe(string_text(self.hex_digits(8))))
            self.send(self.request("mining.submit", self.params(*params)))
        elif name == "gxhash":
            self.send(self.request("mining.submit", self.params(
                username, job_id, self.maybe(string_text(self.hex_digits(4))))))
        elif self.session.dialect is not None and self.session.dialect.NAME == "ethproxy":
            self.send(self.request("eth_submitWork", self.params(*self.proxy_work())))
        else:
            self.send(self.request("mining.submit", self.params(
                username, job_id, self.maybe(string_text(self.hex_digits(12))))))

    def proxy_work(self):
        """[nonce, header hash, mix hash]: the header of the work sent, and the
        mix a miner would compute for it (or a wrong one)."""
        nonce = self.fdp.ConsumeIntInRange(0, 2**64 - 1)
        work = self.session.dialect.work
        header = bytes.fromhex(work[0][2:]) if work and self.fdp.ConsumeIntInRange(0, 5) \
            else self.fdp.ConsumeBytes(32).ljust(32, b"\0")
        if self.fdp.ConsumeBool():
            mix, _ = self.port.light_hash(header, nonce)
        else:
            mix = self.fdp.ConsumeBytes(32).ljust(32, b"\0")
        return [self.maybe(string_text("0x%016x" % nonce)),
                self.maybe(string_text("0x" + header.hex())),
                self.maybe(string_text("0x" + mix.hex()))]


def run(fdp):
    port = PORTS[PORT_NAMES[fdp.ConsumeIntInRange(0, len(PORT_NAMES) - 1)]]()
    Conversationalist(fdp, port).run()
