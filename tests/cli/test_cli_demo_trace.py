"""``sspi-async demo --trace FILE --mermaid FILE --svg FILE --faults FILE`` (SPEC §9–§10, issue 5).

The demo writes its trace as JSON Lines and as diagrams that ``sspi-async trace render`` makes
again, byte for byte, from the JSON Lines file; ``--faults`` runs it under a JSON or TOML fault
plan (the trace is written even when a fault makes a call fail); a bad plan or an unwritable path
is one stderr line and exit 2, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sspi_async import load_trace
from sspi_async._cli import main

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "core" / "golden"
TIMEOUT = 120


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], list[str]]:
    """``main(argv)`` in-process: (exit code, stdout lines, stderr lines)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def outputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    return tmp_path / "t.jsonl", tmp_path / "t.mmd", tmp_path / "t.svg"


@pytest.mark.parametrize("package", ["simtls", "schannel"])
def test_demo_writes_trace_and_diagrams_that_trace_render_reproduces(
    package: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§10: demo --trace --mermaid --svg writes the three files; `trace render` of the JSON Lines
    file prints the same Mermaid diagram and (--format svg) the same SVG."""
    trace, mermaid, svg = outputs(tmp_path)
    code, out, err = run_main(
        capsys,
        "demo",
        "--package",
        package,
        "--trace",
        str(trace),
        "--mermaid",
        str(mermaid),
        "--svg",
        str(svg),
    )
    assert (code, err) == (0, [])
    events = load_trace(trace)
    assert out[-3:] == [
        f"        trace: {len(events)} events written to {trace}",
        f"        mermaid: {len(events)} events written to {mermaid}",
        f"        svg: {len(events)} events written to {svg}",
    ]
    # 8 calls (2 ACH, 4 handshake steps at least, 2 DSC, 2 FCH), each queued/completed/callback
    assert len(events) >= 30
    assert len(events) % 3 == 0
    code, rendered, _ = run_main(capsys, "trace", "render", str(trace))
    assert code == 0
    assert "\n".join(rendered) + "\n" == mermaid.read_text()
    out_svg = tmp_path / "again.svg"
    assert main(["trace", "render", str(trace), "--format", "svg", "-o", str(out_svg)]) == 0
    assert out_svg.read_text() == svg.read_text()
    root = ET.fromstring(svg.read_text())
    lanes = root.findall("{http://www.w3.org/2000/svg}g[@class='lane']")
    assert [lane.get("data-side") for lane in lanes] == ["client", "server"]


def test_simtls_demo_trace_starts_with_the_golden_handshake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§9: the SimTLS demo's handshake is the golden one: its diagram begins with the golden
    diagram, followed by the clean-up calls."""
    _, mermaid, _ = outputs(tmp_path)
    code, _, _ = run_main(capsys, "demo", "--package", "simtls", "--mermaid", str(mermaid))
    assert code == 0
    assert mermaid.read_text().startswith((GOLDEN / "simtls_handshake.mmd").read_text())
    assert "SspiDeleteSecurityContextAsync" in mermaid.read_text()


def test_demo_json_reports_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json: one `trace` object per file written."""
    trace, _, _ = outputs(tmp_path)
    code, out, _ = run_main(capsys, "demo", "--package", "simtls", "--json", "--trace", str(trace))
    assert code == 0
    record = json.loads(out[-1])
    assert record == {
        "event": "trace",
        "format": "trace",
        "path": str(trace),
        "events": len(load_trace(trace)),
    }


def test_demo_under_a_toml_delay_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--faults plan.toml: the demo runs under the plan; the diagram notes the fault."""
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'seed = 4\n[[rules]]\nname = "slow server"\nfunction = "ASC"\n'
        'action = {kind = "delay", seconds = [0.001, 0.002]}\n'
    )
    _, mermaid, _ = outputs(tmp_path)
    code, out, err = run_main(
        capsys, "demo", "--package", "simtls", "--faults", str(plan), "--mermaid", str(mermaid)
    )
    assert (code, err) == (0, [])
    assert out[-2].startswith("handshake complete: SimTLS")
    notes = [line for line in mermaid.read_text().splitlines() if "Note over LSA" in line]
    assert len(notes) == 2
    assert all("fault slow server: delay 0.001–0.002 s (drew 0.00" in note for note in notes)


def test_failing_plan_still_writes_the_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--faults plan.json failing the server's second step: one `failed:` line and exit 1, and
    the trace (up to the failure, and the shutdown) is written."""
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "function": "AcceptSecurityContext",
                        "nth": 2,
                        "action": {"kind": "fail", "status": "SEC_E_LOGON_DENIED"},
                    }
                ]
            }
        )
    )
    trace, mermaid, _ = outputs(tmp_path)
    code, _, err = run_main(
        capsys,
        "demo",
        "--package",
        "simtls",
        "--faults",
        str(plan),
        "--trace",
        str(trace),
        "--mermaid",
        str(mermaid),
    )
    assert code == 1
    assert err == [
        "sspi-async: failed: server: SspiAcceptSecurityContextAsync failed: SEC_E_LOGON_DENIED"
    ]
    events = load_trace(trace)
    assert events[-1].kind == "callback"
    assert events[-1].result == "SEC_E_LOGON_DENIED"
    assert "LSA-->>Server: SEC_E_LOGON_DENIED" in mermaid.read_text()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "plan.toml",
            '[[rules]]\nfunction = "ISC"\naction = {kind = "fail", status = "SEC_E_FOO"}\n',
            "{path}: invalid fault plan: rules[0].action.status: unknown status 'SEC_E_FOO'",
        ),
        (
            "plan.toml",
            "[[rules]\n",
            "{path}: invalid fault plan: not TOML: ",
        ),
        (
            "plan.json",
            '{"rules": [{"action": "stall"}, {"nth": 0, "action": "eager"}]}',
            "{path}: invalid fault plan: rules[1].nth: Input should be greater than or equal to 1",
        ),
        ("plan.json", "{", "{path}: invalid fault plan: not JSON: "),
        ("plan.yaml", "rules: []", "{path}: a fault plan file must end in .json or .toml"),
        ("missing.toml", None, "{path}: no such fault plan file"),
    ],
)
def test_bad_plan_file_is_one_line_and_exit_2(
    name: str,
    content: str | None,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad --faults file: one `sspi-async demo: error:` line naming the file (and the rule and
    field), exit 2, nothing run, no traceback."""
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    code, out, err = run_main(capsys, "demo", "--package", "simtls", "--faults", str(path))
    assert (code, out) == (2, [])
    assert len(err) == 1
    assert err[0].startswith("sspi-async demo: error: " + message.format(path=path))


def test_plan_directory_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--faults DIR.toml (a directory): one error line, exit 2."""
    folder = tmp_path / "plans.toml"
    folder.mkdir()
    code, _, err = run_main(capsys, "demo", "--faults", str(folder))
    assert code == 2
    assert err == [f"sspi-async demo: error: {folder}: is a directory, not a fault plan file"]


def test_unwritable_output_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--mermaid into a missing directory is refused before the demo runs (its output would be
    lost); a path that cannot be written for another reason (here: a directory) is found after
    the run: the demo's output, then one error line, and exit 2 either way."""
    target = tmp_path / "missing" / "t.mmd"
    code, out, err = run_main(capsys, "demo", "--package", "simtls", "--mermaid", str(target))
    assert code == 2
    assert out == []
    assert err == [f"sspi-async demo: error: cannot write --mermaid {target}: no such directory"]
    folder = tmp_path / "a-folder.mmd"
    folder.mkdir()
    code, out, err = run_main(capsys, "demo", "--package", "simtls", "--mermaid", str(folder))
    assert code == 2
    assert out[-1].startswith("handshake complete: ")
    assert len(err) == 1
    assert err[0].startswith(f"sspi-async demo: error: cannot write {folder}: ")


def test_help_lists_the_trace_options(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --help` documents --trace, --mermaid, --svg and --faults."""
    with pytest.raises(SystemExit) as info:
        main(["demo", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--trace FILE", "--mermaid FILE", "--svg FILE", "--faults FILE"):
        assert option in text


def test_console_script_demo_then_trace_render(tmp_path: Path) -> None:
    """Issue 5: `sspi-async demo --trace t.jsonl --mermaid t.mmd --svg t.svg` with the installed
    script, then `sspi-async trace render t.jsonl` prints the same diagram."""
    bindir = Path(sys.executable).parent
    script = next(
        (p for p in (bindir / "sspi-async", bindir / "sspi-async.exe") if p.exists()), None
    )
    if script is None:
        pytest.skip(f"the sspi-async console script is not installed in {bindir}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *argv],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd=tmp_path,
            env=env,
            check=False,
        )

    demo = run("demo", "--trace", "t.jsonl", "--mermaid", "t.mmd", "--svg", "t.svg")
    assert demo.returncode == 0, demo.stderr
    assert demo.stderr == ""
    render = run("trace", "render", "t.jsonl")
    assert render.returncode == 0, render.stderr
    assert render.stdout == (tmp_path / "t.mmd").read_text()
    assert render.stdout.startswith("sequenceDiagram\n")
    assert ET.fromstring((tmp_path / "t.svg").read_text()).tag.endswith("svg")
