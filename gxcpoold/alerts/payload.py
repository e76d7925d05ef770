"""One alert and its JSON body (schema version 1, docs/alerts.md).

The body is built once per alert, so every webhook and every retry gets
the same bytes and the same `id` (receivers can drop duplicates by it).
With `[alerts] secret` set, each request carries
X-Gxcpool-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>.
"""
import hashlib
import hmac
import itertools
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

from gxcpoold.alerts.kinds import KINDS

SCHEMA_VERSION = 1
SIGNATURE_HEADER = b"X-Gxcpool-Signature"

_ids = itertools.count(1)
_RUN = os.urandom(4).hex()        # one run of the daemon: ids never repeat across restarts


@dataclass(frozen=True)
class Alert:
    kind: str
    message: str                  # one line for a human
    time: float                   # Unix seconds
    details: dict = field(default_factory=dict)
    logged: bool | None = None    # None: the kind's default (kinds.py)
    id: str = field(default_factory=lambda: "%s-%d" % (_RUN, next(_ids)))

    @property
    def severity(self) -> str:
        return KINDS[self.kind].severity

    @property
    def logged_by_pool(self) -> bool:
        return KINDS[self.kind].logged if self.logged is None else self.logged

    def payload(self, pool_name, network) -> dict:
        stamp = datetime.fromtimestamp(self.time, timezone.utc)
        return {
            "version": SCHEMA_VERSION,
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "unix_time": round(self.time, 3),
            "pool": pool_name,
            "network": network,
            "message": self.message,
            "details": self.details,
        }

    def body(self, pool_name, network) -> bytes:
        return json.dumps(self.payload(pool_name, network), sort_keys=True,
                          separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> bytes:
    """The X-Gxcpool-Signature value for body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return b"sha256=" + digest.encode()
