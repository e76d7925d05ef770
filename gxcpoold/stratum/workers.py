"""mining.authorize: ADDRESS[.WORKER] usernames and password options."""
import math
import re

from gxcpoold.addresses import AddressError, check_address

WORKER_NAME = re.compile(r"[0-9A-Za-z_.\-]{0,64}\Z")


class BadCredentials(ValueError):
    pass


def split_username(username, network, lenient=False):
    """(address, worker) from "ADDRESS.WORKER"; BadCredentials with the reason."""
    address, _, worker = username.partition(".")
    try:
        check_address(address, network, lenient=lenient)
    except AddressError as e:
        raise BadCredentials(str(e)) from None
    if not WORKER_NAME.match(worker):
        raise BadCredentials("worker name must be up to 64 letters, digits, '_', '-' or '.'")
    return address, worker


def password_options(password):
    """Options in the password field, e.g. "x,d=512" -> {"d": 512.0}.

    Only d= (a fixed difficulty) is understood; anything else (miners send
    "x", "123", their e-mail) is ignored."""
    options = {}
    if not isinstance(password, str):
        return options
    for part in re.split(r"[,;\s]+", password):
        key, sep, value = part.partition("=")
        if sep and key.strip().lower() == "d":
            try:
                difficulty = float(value)
            except ValueError:
                raise BadCredentials("password option d=%s is not a number" % value) from None
            if not math.isfinite(difficulty) or difficulty <= 0:
                raise BadCredentials("password option d= must be a positive number")
            options["d"] = difficulty
    return options
