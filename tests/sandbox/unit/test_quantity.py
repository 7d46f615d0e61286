"""Resource quantities, against the examples in the Kubernetes docs and quantity.go."""

from __future__ import annotations

from decimal import Decimal

import pytest

from helpers.sandbox.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    cpu_millis,
    cpu_nanos,
    format_cpu_millis,
    format_cpu_nanos,
    format_memory_human,
    format_memory_ki,
    format_quantity,
    memory_bytes,
    normalize_quantity,
    parse_quantity,
)


@pytest.mark.parametrize("text,value", [
    ("0", 0),
    ("1", 1),
    ("250m", Decimal("0.25")),
    ("100m", Decimal("0.1")),
    ("0.1", Decimal("0.1")),
    ("1.5", Decimal("1.5")),
    (".5", Decimal("0.5")),
    ("5.", 5),
    ("+3", 3),
    ("-2", -2),
    ("007", 7),
    ("1n", Decimal("1e-9")),
    ("1u", Decimal("1e-6")),
    ("1k", 1000),
    ("1M", 10**6),
    ("1G", 10**9),
    ("1T", 10**12),
    ("1P", 10**15),
    ("1E", 10**18),
    ("1Ki", 1024),
    ("1Mi", 1024**2),
    ("1Gi", 1024**3),
    ("1Ti", 1024**4),
    ("1Pi", 1024**5),
    ("1Ei", 1024**6),
    ("1.5Gi", 1610612736),
    ("1e3", 1000),
    ("1E3", 1000),
    ("1e+3", 1000),
    ("1e-3", Decimal("0.001")),
    ("12e6", 12_000_000),
    (" 64Mi ", 64 * 1024**2),  # JSON unmarshalling trims whitespace
])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == value


def test_docs_memory_example_values_are_roughly_equal():
    # "128974848, 129e6, 129M, 128974848000m, 123Mi" (Resource Management for Pods docs)
    assert memory_bytes("128974848") == 128974848
    assert memory_bytes("129e6") == 129_000_000
    assert memory_bytes("129M") == 129_000_000
    assert memory_bytes("128974848000m") == 128974848
    assert memory_bytes("123Mi") == 128974848


def test_docs_cpu_examples():
    # "0.1 is equivalent to 100m"; "0.5 CPU"; "1 CPU = 1000m"
    assert cpu_millis("0.1") == cpu_millis("100m") == 100
    assert cpu_millis("0.5") == 500
    assert cpu_millis("1") == 1000
    assert cpu_millis("2") == 2000
    assert cpu_millis("400m") == 400


def test_numbers_are_accepted():
    assert parse_quantity(2) == 2
    assert parse_quantity(0.25) == Decimal("0.25")
    assert parse_quantity(Decimal("1.5")) == Decimal("1.5")
    assert cpu_millis(0.5) == 500
    assert memory_bytes(1024) == 1024


def test_milli_value_rounds_up_like_kubernetes():
    assert cpu_millis("1n") == 1
    assert cpu_millis("1001u") == 2
    assert cpu_millis("250m") == 250
    assert cpu_millis("0") == 0
    assert memory_bytes("0.5") == 1
    assert memory_bytes("1500m") == 2
    assert memory_bytes("1Ki") == 1024
    assert cpu_millis("-1") == -1000


def test_cpu_nanos():
    assert cpu_nanos("250m") == 250_000_000
    assert cpu_nanos("1") == 1_000_000_000
    assert cpu_nanos("12345678n") == 12345678
    assert cpu_nanos("1.5u") == 1500


def test_values_are_rounded_up_to_the_nano_on_parse():
    assert parse_quantity("0.1n") == Decimal("1e-9")
    assert parse_quantity("1.0000000001") == Decimal("1.000000001")
    assert parse_quantity("-0.1n") == Decimal("-1e-9")


def test_values_are_capped_at_int64_max_except_exponent_form():
    assert parse_quantity("9223372036854775808") == 2**63 - 1
    assert parse_quantity("8Ei") == 2**63 - 1
    assert parse_quantity("1e19") == 10**19


@pytest.mark.parametrize("garbage", [
    "", "   ", "abc", "1.5.5", "--1", "+-1", "1 Gi", "e3", "Gi", "m", "-", ".", "1e", "1e3Ki",
    "1Mi3", "1x", "0x10", "1_000", "١", "1KI", "1b",
])
def test_garbage_is_rejected_with_format_message(garbage):
    with pytest.raises(ValueError) as err:
        parse_quantity(garbage)
    assert str(err.value) in (
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        "unable to parse quantity's suffix")


@pytest.mark.parametrize("bad_suffix", ["1K", "1ki", "1mi", "1Ki5", "1i", "1Mk"])
def test_bad_suffixes(bad_suffix):
    with pytest.raises(ValueError, match="unable to parse quantity's suffix"):
        parse_quantity(bad_suffix)


@pytest.mark.parametrize("bad", [None, True, float("nan"), float("inf"), [1], {"a": 1}])
def test_non_quantities_are_rejected(bad):
    with pytest.raises(ValueError):
        parse_quantity(bad)


@pytest.mark.parametrize("text,canonical", [
    # the docs' canonical-form examples
    ("1.5", "1500m"),
    ("1.5Gi", "1536Mi"),
    # more of quantity_test.go's flavour
    ("1000m", "1"),
    ("1500m", "1500m"),
    ("0.1", "100m"),
    ("1000", "1k"),
    ("1500", "1500"),
    ("1024", "1024"),
    ("1024Ki", "1Mi"),
    ("512Ki", "512Ki"),
    ("0.5Ki", "512"),
    ("1.5Ki", "1536"),
    ("2048Mi", "2Gi"),
    ("1Ei", "1Ei"),
    ("129e6", "129e6"),
    ("1e3", "1e3"),
    ("12e-3", "12e-3"),
    ("1e100", "10e99"),
    ("0", "0"),
    ("0Mi", "0"),
    ("-1.5", "-1500m"),
    ("-1Ki", "-1Ki"),
    ("100u", "100u"),
    ("0.0001", "100u"),
    ("12345678n", "12345678n"),
])
def test_normalize_quantity(text, canonical):
    assert normalize_quantity(text) == canonical


def test_format_quantity_with_explicit_format():
    assert format_quantity(1610612736, BINARY_SI) == "1536Mi"
    assert format_quantity(1000, BINARY_SI) == "1k"  # below 1024: DecimalSI
    assert format_quantity(Decimal("1536.5"), BINARY_SI) == "1536500m"  # fractional: DecimalSI
    assert format_quantity(20 * 1024**2, BINARY_SI) == "20Mi"
    assert format_quantity(129_000_000, DECIMAL_EXPONENT) == "129e6"
    assert format_quantity("250m") == "250m"


@pytest.mark.parametrize("nanos,text", [
    (12345678, "12345678n"),
    (250_000_000, "250m"),
    (1_000_000_000, "1"),
    (1_500_000_000, "1500m"),
    (1500, "1500n"),
    (1_500_000, "1500u"),
    (12_000_000, "12m"),
    (0, "0"),
])
def test_format_cpu_nanos_metrics_server_style(nanos, text):
    assert format_cpu_nanos(nanos) == text
    assert cpu_nanos(text) == nanos


@pytest.mark.parametrize("millis,text", [
    (250, "250m"), (2000, "2"), (1000, "1"), (1500, "1500m"), (0, "0"), (100, "100m"),
])
def test_format_cpu_millis(millis, text):
    assert format_cpu_millis(millis) == text
    assert cpu_millis(text) == millis


def test_format_memory_ki():
    assert format_memory_ki(20 * 1024 * 1024) == "20480Ki"
    assert format_memory_ki(1024) == "1Ki"
    assert format_memory_ki(1000) == "1Ki"  # rounded up
    assert format_memory_ki(0) == "0Ki"
    assert memory_bytes(format_memory_ki(123456 * 1024)) == 123456 * 1024


def test_format_memory_human_like_kubectl_top():
    assert format_memory_human(12 * 1024 * 1024) == "12Mi"
    assert format_memory_human(12 * 1024 * 1024 + 1024 * 1023) == "12Mi"  # truncated
    assert format_memory_human(0) == "0Mi"
    assert format_memory_human(1024**3) == "1024Mi"
