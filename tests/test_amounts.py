"""Money conversion at the node boundary: exact, never through binary floats."""
import pytest

from gxcpoold.amounts import AmountError, base_units_to_gxc, format_gxc, gxc_to_base_units


@pytest.mark.parametrize("value, units", [
    (50.0, 5_000_000_000), (0.1, 10_000_000), ("0.00000001", 1), (0, 0),
    (21000000, 2_100_000_000_000_000), ("12.5", 1_250_000_000), (0.00101, 101_000),
])
def test_exact_conversion(value, units):
    assert gxc_to_base_units(value) == units


def test_node_doubles_round_to_nearest_unit():
    # The node prints sums like this one (spec 1.3).
    assert gxc_to_base_units(3.0002699999999995, exact=False) == 300_027_000
    with pytest.raises(AmountError, match="more than 8 decimals"):
        gxc_to_base_units(3.0002699999999995)


@pytest.mark.parametrize("bad", [True, None, [1], "abc", "nan", float("inf"), "1e400x"])
def test_rejects_non_amounts(bad):
    with pytest.raises(AmountError):
        gxc_to_base_units(bad)


def test_wire_round_trip_is_exact_for_every_unit_count_tried():
    for units in list(range(0, 2000)) + [123456789012, 5_000_000_000, 99_999_999, 10**15 + 1]:
        assert gxc_to_base_units(base_units_to_gxc(units), exact=False) == units


def test_base_units_must_be_int():
    with pytest.raises(AmountError):
        base_units_to_gxc(1.5)


def test_format():
    assert format_gxc(1_250_000_001) == "12.50000001"
    assert format_gxc(-5) == "-0.00000005"
