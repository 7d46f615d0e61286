"""Kubernetes resource quantities (`250m`, `1.5Gi`, `129e6`), as k8s.io/apimachinery's
api/resource/quantity.go parses and prints them.

The scheduler, kubelet metrics, HPA and metrics API all need the same arithmetic, so values are
exact `Decimal`s (never floats), rounded up to the nearest nano like ParseQuantity does (a
request for "some" resource never becomes zero), and `MilliValue`-style conversions round up.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_CEILING, ROUND_UP, Decimal

_FORMAT_ERROR = ("quantities must match the regular expression "
                 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
_SUFFIX_ERROR = "unable to parse quantity's suffix"

DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT = "DecimalSI", "BinarySI", "DecimalExponent"

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {e: s for s, e in _DECIMAL.items()}
_BINARY_SUFFIX = {e: s for s, e in _BINARY.items()}
_SUFFIX_CHARS = set("eEinumkKMGTP")

_NANO = Decimal("1e-9")
_MAX = Decimal(2**63 - 1)  # ParseQuantity caps DecimalSI/BinarySI values here
_CONTEXT = decimal.Context(prec=80, rounding=ROUND_UP, Emax=999999, Emin=-999999)


def _split(text: str) -> tuple[str, str, str, str]:
    """Go parseQuantityString: (sign, integer digits, fraction digits, suffix)."""
    sign, pos, end = "", 0, len(text)
    if pos < end and text[0] in "+-":
        sign, pos = text[0], 1
    start = pos
    while pos < end and text[pos].isascii() and text[pos].isdigit():
        pos += 1
    num = text[start:pos]
    denom = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos].isascii() and text[pos].isdigit():
            pos += 1
        denom = text[start:pos]
    if not num and not denom:
        raise ValueError(_FORMAT_ERROR)  # Go lets "m" or "-" mean 0; garbage here
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_CHARS:
        pos += 1
    if pos < end and text[pos] in "+-":
        pos += 1
    while pos < end and text[pos].isascii() and text[pos].isdigit():
        pos += 1
    if pos != end:
        raise ValueError(_FORMAT_ERROR)
    return sign, num, denom, text[suffix_start:]


def _interpret(suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix, like quantitySuffixer.interpret."""
    if suffix in _DECIMAL:
        return 10, _DECIMAL[suffix], DECIMAL_SI
    if suffix in _BINARY:
        return 2, _BINARY[suffix], BINARY_SI
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        body = digits[1:] if digits[0] in "+-" else digits
        if body.isdigit() and body.isascii():
            exponent = int(digits)
            if abs(exponent) <= 10000:  # far beyond any real quantity; keeps Decimal sane
                return 10, exponent, DECIMAL_EXPONENT
    raise ValueError(_SUFFIX_ERROR)


def _parse(q: str | int | float | Decimal) -> tuple[Decimal, str]:
    if isinstance(q, bool) or q is None:
        raise ValueError(f"not a quantity: {q!r}")
    if isinstance(q, int):
        return Decimal(q), DECIMAL_SI
    if isinstance(q, float | Decimal):
        d = Decimal(repr(q)) if isinstance(q, float) else q
        if not d.is_finite():
            raise ValueError(f"not a quantity: {q!r}")
        return _round_nano(d), DECIMAL_SI
    if not isinstance(q, str):
        raise ValueError(f"not a quantity: {q!r}")
    text = q.strip()  # Quantity.UnmarshalJSON trims whitespace
    if not text:
        raise ValueError(_FORMAT_ERROR)
    sign, num, denom, suffix = _split(text)
    base, exponent, fmt = _interpret(suffix)
    with decimal.localcontext(_CONTEXT):
        amount = Decimal(f"{num or '0'}.{denom or '0'}")
        amount = amount.scaleb(exponent) if base == 10 else amount * (2 ** exponent)
        amount = _round_nano(amount)
        if fmt != DECIMAL_EXPONENT and amount > _MAX:
            amount = _MAX
        if sign == "-":
            amount = -amount
    return amount, fmt


def _round_nano(d: Decimal) -> Decimal:
    """Round away from zero to a whole number of nano-units (ParseQuantity's inf.RoundUp)."""
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -9:
        with decimal.localcontext(_CONTEXT):
            return d.quantize(_NANO, rounding=ROUND_UP)
    return d


def parse_quantity(q: str | int | float | Decimal) -> Decimal:
    """The exact value of a quantity: `"250m"` → 0.25, `"1Ki"` → 1024, `"1e3"` → 1000.

    Raises ValueError (with the apiserver's wording where it has one) on anything else.
    """
    return _parse(q)[0]


def _ceil_scaled(q: str | int | float | Decimal, exponent: int) -> int:
    with decimal.localcontext(_CONTEXT):
        return int(parse_quantity(q).scaleb(exponent).to_integral_value(rounding=ROUND_CEILING))


def cpu_millis(q: str | int | float | Decimal) -> int:
    """Quantity.MilliValue(): ceil(q * 1000), so `1n` of CPU still counts as `1m`."""
    return _ceil_scaled(q, 3)


def cpu_nanos(q: str | int | float | Decimal) -> int:
    """ceil(q * 10^9): metrics-server and the kubelet account CPU in nanocores."""
    return _ceil_scaled(q, 9)


def memory_bytes(q: str | int | float | Decimal) -> int:
    """Quantity.Value(): ceil(q), in bytes for memory."""
    return _ceil_scaled(q, 0)


# --------------------------------------------------------------------------------------------
# Printing


def _canonical_decimal(value: Decimal) -> tuple[int, int]:
    """(mantissa, exponent) with the exponent a multiple of 3, as large as it can be while
    the mantissa stays whole (Go AsCanonicalBytes)."""
    sign, digits, exp = value.normalize(_CONTEXT).as_tuple()
    mantissa = int("".join(map(str, digits)) or "0")
    exponent = int(exp)
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    return (-mantissa if sign else mantissa), exponent


def format_quantity(value: str | int | float | Decimal, fmt: str = DECIMAL_SI) -> str:
    """Quantity.String(): the canonical form the API serves (`1.5` → `1500m`,
    `1.5Gi` → `1536Mi` with BinarySI, `129e6` with DecimalExponent)."""
    v = _parse(value)[0]
    if v == 0:
        return "0"
    if fmt == BINARY_SI:
        if -1024 < v < 1024 or v != v.to_integral_value():
            fmt = DECIMAL_SI
        else:
            n, exponent = abs(int(v)), 0
            while n % 1024 == 0 and exponent < 60:
                n //= 1024
                exponent += 10
            return f"{'-' if v < 0 else ''}{n}{_BINARY_SUFFIX.get(exponent, '')}"
    mantissa, exponent = _canonical_decimal(v)
    if fmt == DECIMAL_SI and exponent in _DECIMAL_SUFFIX:
        return f"{mantissa}{_DECIMAL_SUFFIX[exponent]}"
    return f"{mantissa}e{exponent}" if exponent else str(mantissa)


def normalize_quantity(q: str) -> str:
    """Re-print a quantity string canonically in its own format, like
    `resource.MustParse(q).String()` (`"1000m"` → `"1"`, `"1024Ki"` → `"1Mi"`)."""
    value, fmt = _parse(q)
    return format_quantity(value, fmt)


def format_cpu_nanos(n: int) -> str:
    """CPU usage as metrics-server serves it (NewScaledQuantity(n, Nano)): `"12345678n"`,
    canonicalised, so 250000000 → `"250m"` and 0 → `"0"`."""
    return format_quantity(Decimal(int(n)).scaleb(-9))


def format_cpu_millis(m: int) -> str:
    """A millicore count as a quantity: 250 → `"250m"`, 2000 → `"2"`."""
    return format_quantity(Decimal(int(m)).scaleb(-3))


def format_memory_ki(n_bytes: int) -> str:
    """Memory in whole KiB (rounded up), the way usage is usually seen from metrics-server:
    20971520 → `"20480Ki"`."""
    return f"{-(-int(n_bytes) // 1024)}Ki"


def format_memory_human(n_bytes: int) -> str:
    """`kubectl top` style: whole MiB, truncated (`fmt.Sprintf("%vMi", Value()/(1024*1024))`)."""
    n = int(n_bytes)
    mib = abs(n) // (1024 * 1024)
    return f"{-mib if n < 0 else mib}Mi"
