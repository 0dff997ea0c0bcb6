"""resource.Quantity parsing (k8s.io/apimachinery/pkg/api/resource), exact, with Fractions.

"100m", "0.5", "1", "2Gi", "500M", "1e3", "128974848", "+1.5Ki". `Value()` and `MilliValue()`
round up, as upstream's do, so a pod asking for 0.5m cpu asks for 1m.
"""

from __future__ import annotations

import math
import re
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
