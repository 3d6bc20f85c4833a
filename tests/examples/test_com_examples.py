"""The COM examples run (as tests/examples/test_examples.py runs the others) and print the
timelines the seed rules (I8, I9) and the nesting rules (I10, R11) predict."""

from __future__ import annotations

from tests.examples.test_examples import run_example


def test_impersonation_async_call_prints_the_seed_rule_timeline() -> None:
    """I8/I9: impersonated before Signal → still the client after it; ImpersonateClient after
    Signal → RPC_E_CALL_COMPLETE while Begin_ still works as the client; SERVER after return."""
    lines = run_example("impersonation_async_call.py")
    assert "client: proxy_for_context -> SEC_E_OK" in lines
    server = [line for line in lines if line.startswith("server: ")]
    assert server == [
        "server: Begin_Report starts as SERVER",
        "server: ImpersonateClient -> S_OK, token alice (SecurityImpersonation)",
        "server: open q3.txt as the client -> ERROR_SUCCESS",
        "server: Signal -> S_OK",
        "server: after Signal: token alice (SecurityImpersonation), IsImpersonating True",
        "server: ImpersonateClient after Signal -> RPC_E_CALL_COMPLETE",
        "server: still working: open q4.txt as the client -> ERROR_SUCCESS",
        "server: Begin_Report returns (no RevertToSelf: COM reverts)",
        "server: after Begin_Report returned: token SERVER",
    ]
    assert "client: Finish_Report -> S_OK 'report for alice: q3.txt, q4.txt'" in lines
    assert lines[-4:] == [
        "timeline:",
        "  before Signal  alice",
        "  after Signal   alice",
        "  after return   SERVER",
    ]


def _tokens(lines: list[str]) -> list[tuple[str, str]]:
    return [
        (line.split(" token ")[0].strip(), line.split(" token ")[1])
        for line in lines
        if " token " in line and "result:" not in line
    ]


def test_apartment_nesting_prints_B_for_the_apartment_model_and_A_for_traditional() -> None:
    """I10/R11: the A/B/C/D case ends with A impersonating B (apartment) or as A (traditional)."""
    lines = run_example("apartment_nesting.py")
    split = lines.index('nesting="traditional"')
    apartment, traditional = lines[1:split], lines[split + 1 : -1]
    common = [("A receives B's call", "A"), ("A impersonates B", "B")]
    assert _tokens(apartment) == [
        *common,
        ("D's call, nested in A", "A"),
        ("A impersonates D", "D"),
        ("A reverts", "A"),
        ("C replies", "B"),
    ]
    assert _tokens(traditional) == [
        *common,
        ("D's call, nested in A", "B"),
        ("A impersonates D", "D"),
        ("A reverts", "A"),
        ("C replies", "A"),
    ]
    assert apartment[-1] == "  result: after C's reply A's token is B"
    assert traditional[-1] == "  result: after C's reply A's token is A"
    assert lines[-1] == "apartment model: B (B, not A); traditional: A (last one wins)"
