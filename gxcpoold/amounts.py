"""Money: integers of 1e-8 GXC ("base units") inside the pool, JSON doubles on the node's wire.

Conversion happens only at the RPC boundary and in configuration parsing, and
always through Decimal so no binary-float rounding reaches the ledger.
"""
from decimal import Decimal, InvalidOperation

BASE_UNITS_PER_GXC = 100_000_000
_QUANTUM = Decimal("0.00000001")


class AmountError(ValueError):
    """A value that cannot be an amount of GXC."""


def gxc_to_base_units(value, *, exact=True) -> int:
    """Convert GXC (a TOML/JSON number or decimal text) to base units.

    With exact=True (configuration input) more than 8 decimals is an error;
    with exact=False (numbers the node printed as doubles, e.g.
    3.0002699999999995) the value is rounded to the nearest base unit.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise AmountError("an amount must be a number, not %s" % type(value).__name__)
    try:
        # repr() of a float is its shortest round-trip text: 0.1 stays 0.1.
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise AmountError("not a number: %r" % (value,)) from None
    if not number.is_finite():
        raise AmountError("not a finite number: %r" % (value,))
    quantized = number.quantize(_QUANTUM)
    if exact and quantized != number:
        raise AmountError("more than 8 decimals: %s" % (value,))
    return int(quantized * BASE_UNITS_PER_GXC)


def base_units_to_gxc(units: int) -> float:
    """The double the node expects for an amount of base units (its wire format)."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise AmountError("base units must be an int, not %s" % type(units).__name__)
    return float(Decimal(units) / BASE_UNITS_PER_GXC)


def format_gxc(units: int) -> str:
    """Human text for logs and the dashboard: '12.50000000 GXC' style, exact."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), BASE_UNITS_PER_GXC)
    return "%s%d.%08d" % (sign, whole, frac)
