"""resource.Quantity parsing (k8s.io/apimachinery/pkg/api/resource), exact, with Fractions.

"100m", "0.5", "1", "2Gi", "500M", "1e3", "128974848", "+1.5Ki". `Value()` and `MilliValue()`
round up, as upstream's do, so a pod asking for 0.5m cpu asks for 1m. `Quantity` adds the format a
value keeps through arithmetic and its canonical `String()` ("1500m", "1k", "1536Mi"), which is how
the apiserver writes quantities in its messages (quota, limit ranges) and in the status it stores.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
}
_RE = re.compile(r"^([+-]?)(\d+\.?\d*|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")


class QuantityError(ValueError):
    pass


@lru_cache(maxsize=4096)
def parse_quantity(text: str | int | float) -> Fraction:
    """The exact value of a Quantity; raises QuantityError on what the apiserver would refuse."""
    if isinstance(text, bool):
        raise QuantityError(f"quantities must match the regular expression: {text!r}")
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        return Fraction(str(text))
    m = _RE.match(text.strip())
    if not m:
        raise QuantityError(f"quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {text!r}")
    sign, number, exponent, suffix = m.groups()
    value = Fraction(number)
    if exponent:
        value *= Fraction(10) ** int(exponent[1:])
    elif suffix in _BINARY:
        value *= _BINARY[suffix]
    else:
        value *= _DECIMAL[suffix or ""]
    return -value if sign == "-" else value


def value(text: str | int | float) -> int:
    """Quantity.Value(): the integer value, rounded up."""
    return math.ceil(parse_quantity(text))


def milli_value(text: str | int | float) -> int:
    """Quantity.MilliValue(): thousandths, rounded up (cpu "100m" → 100, "1" → 1000)."""
    return math.ceil(parse_quantity(text) * 1000)


def format_millis(millis: int) -> str:
    """CPU as Kubernetes prints it: whole cores as "2", otherwise "1500m"."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_bytes_ki(n: int) -> str:
    """Memory as a kubelet reports it: "<Ki>Ki" (whole bytes when not a multiple of 1024)."""
    return f"{n // 1024}Ki" if n % 1024 == 0 else str(n)


_DECIMAL_SUFFIXES = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def canonical_decimal(mantissa: int, exponent: int = 0) -> str:
    """A DecimalSI Quantity of value mantissa·10^exponent as apimachinery prints it
    (int64Amount.AsCanonicalBytes): trailing zeros folded into the exponent, the exponent brought
    down to a multiple of 3 with a suffix: 1234567·10^-9 → "1234567n", 1500·10^-3 → "1500m",
    2000·10^-3 → "2", 5·10^6 → "5M"."""
    if mantissa == 0:
        return "0"
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    rest = exponent % 3  # Python's modulo: the step down to the multiple of 3 at or below
    mantissa *= 10**rest
    exponent -= rest
    while exponent > 18:
        mantissa *= 1000
        exponent -= 3
    while exponent < -9:  # finer than nano: rounded up, as Quantity's scale rounding does
        mantissa = -(-mantissa // 1000)
        exponent += 3
    return f"{mantissa}{_DECIMAL_SUFFIXES[exponent]}"


def canonical_binary(n: int) -> str:
    """A BinarySI Quantity of n (bytes) as apimachinery prints it (CanonicalizeBytes): under 1024
    as DecimalSI, else with the largest power-of-1024 suffix that divides it ("5676Ki", "64Mi"),
    else plain digits."""
    if -1024 < n < 1024:
        return canonical_decimal(n)
    power = 0
    while n % 1024 == 0 and power < len(_BINARY_SUFFIXES) - 1:
        n //= 1024
        power += 1
    return f"{n}{_BINARY_SUFFIXES[power]}"


# --- resource.Quantity: a value, its format, its canonical string -------------------------------

DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT = "DecimalSI", "BinarySI", "DecimalExponent"
_NANO = 10**9


@dataclass(frozen=True, order=False)
class Quantity:
    """resource.Quantity: an exact value and the format (DecimalSI, BinarySI, DecimalExponent) its
    String() uses, which ParseQuantity takes from the suffix and arithmetic keeps (Add, Sub)."""

    value: Fraction
    format: str = DECIMAL_SI

    @classmethod
    def parse(cls, text: str | int | float) -> Quantity:
        """ParseQuantity: `Ki`…`Ei` are BinarySI (a value between -1 and 1 is DecimalSI), an
        exponent is DecimalExponent, anything else DecimalSI."""
        number = parse_quantity(text)
        m = _RE.match(text.strip()) if isinstance(text, str) else None
        fmt = DECIMAL_SI
        if m and m.group(3):
            fmt = DECIMAL_EXPONENT
        elif m and m.group(4) in _BINARY and not -1 < number < 1:
            fmt = BINARY_SI
        return cls(number, fmt)

    @classmethod
    def of(cls, n: int | Fraction, fmt: str = DECIMAL_SI) -> Quantity:
        """resource.NewQuantity."""
        return cls(Fraction(n), fmt)

    def __add__(self, other: Quantity) -> Quantity:
        """Quantity.Add: the sum keeps this format, or takes the other's when this is zero."""
        return Quantity(self.value + other.value, other.format if self.value == 0 else self.format)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value, other.format if self.value == 0 else self.format)

    def __neg__(self) -> Quantity:
        return Quantity(-self.value, self.format)

    def cmp(self, other: Quantity) -> int:
        return (self.value > other.value) - (self.value < other.value)

    def __str__(self) -> str:
        return canonical(self.value, self.format)


def canonical(number: Fraction, fmt: str = DECIMAL_SI) -> str:
    """Quantity.String() (CanonicalizeBytes) of an exact value in a format: whole BinarySI values
    as canonical_binary, everything else in nanos (rounded up, as a Quantity holds nothing finer)
    as canonical_decimal, or with an exponent for DecimalExponent."""
    if fmt == BINARY_SI and number.denominator == 1:
        return canonical_binary(int(number))
    mantissa = math.ceil(abs(number) * _NANO) * (-1 if number < 0 else 1)
    if fmt != DECIMAL_EXPONENT or mantissa == 0:
        return canonical_decimal(mantissa, -9)
    exponent = -9
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    return f"{mantissa}" + (f"e{exponent}" if exponent else "")
