"""Target "lines": arbitrary bytes into a session's dataReceived, in chunks.

Input: byte 0 picks the port (sha256d, ethash, gxhash), byte 1 seeds the
chunking (and its top bit lets a minute pass at the end, so the idle and
unfinished-line timeouts fire), the rest is what the peer sends.
"""
import random

from fuzz.conversation import Conversation
from fuzz.ports import PORTS

PORT_NAMES = sorted(PORTS)
CHUNK_SIZES = (1, 2, 3, 5, 8, 13, 64, 200, 1000, 100000)


def chunks(data, seed):
    rng = random.Random(seed)
    at = 0
    while at < len(data):
        size = rng.choice(CHUNK_SIZES)
        yield data[at:at + size]
        at += size


def run(data):
    if len(data) < 2:
        return
    port = PORTS[PORT_NAMES[data[0] % len(PORT_NAMES)]]()
    conversation = Conversation(port)
    for chunk in chunks(data[2:], data[1] & 0x7F):
        conversation.feed(chunk)
    if data[1] & 0x80:
        conversation.wait(61.0)
    conversation.finish()
