"""IP bans and per-IP connection counts.

An IP is banned for a while when one of its connections sends mostly invalid
shares or keeps sending malformed messages; banned and over-cap peers are
refused before a protocol is even built.
"""
from collections import Counter

from twisted.logger import Logger

# A connection is judged once it has this many bad messages / shares.
MALFORMED_LIMIT = 20
INVALID_SHARES_MIN = 50
INVALID_SHARE_RATIO = 0.9
OPERATOR_BAN = "banned by the pool operator"


class BanList:
    log = Logger()

    def __init__(self, clock, ban_seconds):
        self.clock = clock
        self.ban_seconds = ban_seconds
        self._until = {}
        # The operator's bans (`gxcpool-admin ban`, kept in the database):
        # replaced as a whole by each sync, they last until the operator lifts them.
        self.operator_ips = frozenset()
        self.operator_addresses = frozenset()

    def set_operator_bans(self, ips, addresses):
        self.operator_ips = frozenset(ips)
        self.operator_addresses = frozenset(addresses)

    def is_address_banned(self, address):
        return address in self.operator_addresses

    def ban(self, ip, reason, seconds=None, port=""):
        """Refuse ip on every port sharing this list; port names where it misbehaved."""
        seconds = self.ban_seconds if seconds is None else seconds
        self._until[ip] = (self.clock.seconds() + seconds, reason)
        self.log.warn("banning {ip} for {seconds:.0f}s{where}: {reason}", ip=ip,
                      seconds=seconds, where=" (%s port)" % port if port else "", reason=reason)

    def ban_of(self, ip):
        """(reason, seconds left) while ip is banned, else None; an
        operator's ban has no end (None seconds)."""
        if ip in self.operator_ips:
            return OPERATOR_BAN, None
        ban = self._until.get(ip)
        if ban is None:
            return None
        until, reason = ban
        left = until - self.clock.seconds()
        if left <= 0:
            del self._until[ip]
            return None
        return reason, left

    def is_banned(self, ip):
        return self.ban_of(ip) is not None

    def unban(self, ip):
        self._until.pop(ip, None)


class ConnectionCounter:
    def __init__(self, limit):
        self.limit = limit
        self.counts = Counter()

    def try_open(self, ip):
        if self.counts[ip] >= self.limit:
            return False
        self.counts[ip] += 1
        return True

    def close(self, ip):
        self.counts[ip] -= 1
        if self.counts[ip] <= 0:
            del self.counts[ip]


def abuse_reason(malformed, valid_shares, invalid_shares):
    """Why a connection's behaviour earns a ban, or None."""
    if malformed >= MALFORMED_LIMIT:
        return "%d malformed messages" % malformed
    total = valid_shares + invalid_shares
    if invalid_shares >= INVALID_SHARES_MIN and invalid_shares >= INVALID_SHARE_RATIO * total:
        return "%d of %d shares invalid" % (invalid_shares, total)
    return None
