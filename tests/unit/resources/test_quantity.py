from fractions import Fraction

import pytest

from boxk8s.resources.quantity import (
    Quantity,
    QuantityError,
    format_millis,
    milli_value,
    parse_quantity,
    value,
)


@pytest.mark.parametrize(("text", "exact"), [
    ("100m", Fraction(1, 10)),
    ("0.5", Fraction(1, 2)),
    ("1", Fraction(1)),
    ("2Gi", Fraction(2 * 1024**3)),
    ("500M", Fraction(500 * 10**6)),
    ("1e3", Fraction(1000)),
    ("1E3", Fraction(1000)),
    ("1.5e-3", Fraction(3, 2000)),
    ("128974848", Fraction(128974848)),
    ("129e6", Fraction(129 * 10**6)),
    ("123Mi", Fraction(123 * 1024**2)),
    ("1k", Fraction(1000)),
    ("+1.5Ki", Fraction(1536)),
    ("-1", Fraction(-1)),
    (".5", Fraction(1, 2)),
    ("10n", Fraction(1, 10**8)),
    ("3u", Fraction(3, 10**6)),
    (2, Fraction(2)),
    (0.25, Fraction(1, 4)),
])
def test_parse(text: str, exact: Fraction) -> None:
    assert parse_quantity(text) == exact


@pytest.mark.parametrize("text", ["", "abc", "1Kb", "1 Gi", "Gi", "1.2.3", "--1", "1e"])
def test_invalid(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


@pytest.mark.parametrize(("text", "millis"), [("100m", 100), ("0.5", 500), ("1", 1000), ("2", 2000),
                                               ("0.0001", 1), ("1500m", 1500), ("1e-3", 1)])
def test_milli_value_rounds_up(text: str, millis: int) -> None:
    assert milli_value(text) == millis


@pytest.mark.parametrize(("text", "units"), [("1Ki", 1024), ("0.5Ki", 512), ("100m", 1), ("1.1", 2), ("64Mi", 64 * 2**20)])
def test_value_rounds_up(text: str, units: int) -> None:
    assert value(text) == units


def test_format_millis() -> None:
    assert format_millis(2000) == "2"
    assert format_millis(1500) == "1500m"


# Quantity.String(): the canonical form the apiserver writes (quantity_test.go's canonicalisation cases)
@pytest.mark.parametrize(("text", "fmt", "canonical"), [
    ("1", "DecimalSI", "1"),
    ("1000m", "DecimalSI", "1"),
    ("500m", "DecimalSI", "500m"),
    ("0.1", "DecimalSI", "100m"),
    ("1.5", "DecimalSI", "1500m"),
    ("1500", "DecimalSI", "1500"),
    ("1000", "DecimalSI", "1k"),
    ("1.5G", "DecimalSI", "1500M"),
    ("2000000", "DecimalSI", "2M"),
    ("10n", "DecimalSI", "10n"),
    ("0", "DecimalSI", "0"),
    ("-500m", "DecimalSI", "-500m"),
    ("1E", "DecimalSI", "1E"),
    ("2Gi", "BinarySI", "2Gi"),
    ("1024Mi", "BinarySI", "1Gi"),
    ("1536Mi", "BinarySI", "1536Mi"),
    ("0.5Gi", "BinarySI", "512Mi"),
    ("0.5Ki", "BinarySI", "512"),  # under 1024: shown as DecimalSI
    ("1.1Ki", "BinarySI", "1126400m"),  # not whole: DecimalSI, nothing lost
    ("1Ei", "BinarySI", "1Ei"),
    ("1e3", "DecimalExponent", "1e3"),
    ("1.5e3", "DecimalExponent", "1500"),
    ("1E6", "DecimalExponent", "1e6"),
])
def test_quantity_canonical(text: str, fmt: str, canonical: str) -> None:
    q = Quantity.parse(text)
    assert (q.format, str(q)) == (fmt, canonical)


@pytest.mark.parametrize(("a", "b", "total"), [
    ("500m", "300m", "800m"),
    ("0", "128Mi", "128Mi"),  # adding to zero takes the other's format (Quantity.Add)
    ("128Mi", "128Mi", "256Mi"),
    ("1", "512Mi", "536870913"),  # the left format (DecimalSI) wins over the right's
    ("1Gi", "1", "1073741825"),  # BinarySI, but no longer whole in 1024s: plain digits
])
def test_quantity_add_keeps_format(a: str, b: str, total: str) -> None:
    assert str(Quantity.parse(a) + Quantity.parse(b)) == total
