"""``sspi-async trace render`` (SPEC §10): a JSON Lines trace as Mermaid, SVG or text, to stdout
or a file; user mistakes are one stderr line and exit 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sspi_async._cli import main

GOLDEN = Path(__file__).resolve().parents[1] / "core" / "golden"
TRACE = GOLDEN / "simtls_handshake.jsonl"
TIMEOUT = 60


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    """``main(argv)`` in-process: (exit code, stdout, stderr lines)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def test_render_defaults_to_mermaid_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """§10: `trace render FILE` prints the Mermaid sequence diagram of the trace."""
    code, out, err = run_main(capsys, "trace", "render", str(TRACE))
    assert (code, err) == (0, [])
    assert out == (GOLDEN / "simtls_handshake.mmd").read_text()


def test_render_text_without_times(capsys: pytest.CaptureFixture[str]) -> None:
    """§10: --format text lists the events; --no-times leaves the milliseconds out."""
    code, out, _ = run_main(capsys, "trace", "render", str(TRACE), "--format", "text", "--no-times")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 18
    assert lines[7] == (
        "   8  client  completed  SspiInitializeSecurityContextAsync  actx 1 [client]  "
        "SEC_I_CONTINUE_NEEDED, token 66 bytes, cred 1, ctx 1"
    )


def test_render_svg_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """§10: --format svg -o OUT writes the SVG timeline (the golden one) and prints nothing."""
    out_path = tmp_path / "t.svg"
    code, out, err = run_main(
        capsys, "trace", "render", str(TRACE), "--format", "svg", "-o", str(out_path)
    )
    assert (code, out, err) == (0, "", [])
    text = out_path.read_text()
    assert text == (GOLDEN / "simtls_handshake.svg").read_text()
    assert ET.fromstring(text).tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["trace"],
            "sspi-async trace: error: a trace command is required: render (see 'sspi-async trace --help')",
        ),
        (["trace", "render"], "the following arguments are required: FILE"),
        (
            ["trace", "render", "{trace}", "--format", "png"],
            "argument --format: invalid choice: 'png'",
        ),
        (
            ["trace", "render", "{tmp}/missing.jsonl"],
            "sspi-async trace render: error: {tmp}/missing.jsonl: no such file",
        ),
        (
            ["trace", "render", "{tmp}"],
            "sspi-async trace render: error: {tmp}: is a directory, not a trace file",
        ),
        (
            ["trace", "render", "{tmp}/bad.jsonl"],
            "sspi-async trace render: error: {tmp}/bad.jsonl:2: not JSON: Expecting value: line 1 column 1 (char 0)",
        ),
        (
            ["trace", "render", "{tmp}/wrong.jsonl"],
            "sspi-async trace render: error: {tmp}/wrong.jsonl:1: not a trace event: seq: Field required",
        ),
        (
            ["trace", "render", "{trace}", "-o", "{tmp}/no/such/dir/t.mmd"],
            "sspi-async trace render: error: cannot write {tmp}/no/such/dir/t.mmd: No such file or directory",
        ),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§10: a missing file, a bad line, a bad format or an unwritable output is one error line on
    stderr, nothing on stdout, exit 2."""
    good_line = TRACE.read_text().splitlines()[0]
    (tmp_path / "bad.jsonl").write_text(f"{good_line}\nnot json\n")
    (tmp_path / "wrong.jsonl").write_text('{"kind": "queued"}\n')
    args = [a.format(tmp=tmp_path, trace=TRACE) for a in argv]
    code, out, err = run_main(capsys, *args)
    assert code == 2
    assert out == ""
    assert len(err) == 1, err
    assert message.format(tmp=tmp_path) in err[0]
    assert "error:" in err[0]


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """§10: a file that is not UTF-8 text is a one-line error too."""
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\x80\x81")
    code, _, err = run_main(capsys, "trace", "render", str(path))
    assert code == 2
    assert err == [
        f"sspi-async trace render: error: {path}: not a UTF-8 text file (invalid start byte)"
    ]


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    """§10: `trace render --help` describes the formats and exits 0."""
    with pytest.raises(SystemExit) as caught:
        main(["trace", "render", "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "{mermaid,svg,text}" in out
    assert "-o OUT, --output OUT" in out


def test_console_script_trace_render() -> None:
    """§10: the installed `sspi-async` script renders a trace file (as on a clean install)."""
    bindir = Path(sys.executable).parent
    script = next(
        (p for p in (bindir / "sspi-async", bindir / "sspi-async.exe") if p.exists()), None
    )
    if script is None:
        pytest.skip(f"the sspi-async console script is not installed in {bindir}")
    proc = subprocess.run(
        [str(script), "trace", "render", str(TRACE)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (GOLDEN / "simtls_handshake.mmd").read_text()
