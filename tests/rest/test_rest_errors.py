"""Every REST error code of FACTS §7 maps onto the fault class the policy layer acts on."""

from __future__ import annotations

import pytest

from worker.marketo import FaultClass, TransientError
from worker.marketo.rest_errors import REST_FAULT_CLASSES, code_of, rest_error


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        *[(code, FaultClass.TRANSIENT) for code in (502, 604, 608, 611, 713)],
        (606, FaultClass.LIMIT),
        (615, FaultClass.LIMIT),
        (601, FaultClass.RESIGN),
        (602, FaultClass.RESIGN),
        (607, FaultClass.QUOTA),
        *[(code, FaultClass.PERMANENT) for code in (600, 603, 609, 1003, 1004, 1006, 1029)],
    ],
)
def test_each_rest_code_has_the_class_facts_give_it(code: int, kind: FaultClass) -> None:
    error = rest_error(code, "message")
    assert (error.fault_class, error.code) == (kind, code)


def test_every_listed_code_is_one_of_the_documented_retry_reauth_or_quota_codes() -> None:
    assert set(REST_FAULT_CLASSES) == {502, 601, 602, 604, 606, 607, 608, 611, 615, 713}


def test_an_error_without_a_code_is_transient() -> None:
    assert isinstance(rest_error(None, "no code"), TransientError)


def test_codes_arrive_as_strings_or_numbers() -> None:
    assert (code_of("606"), code_of(1004), code_of("x")) == (606, 1004, None)
