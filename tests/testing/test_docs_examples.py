"""Every code sample in docs/*.md (and the README's "Testing your code with sspi_async" section)
runs: the samples of one page are played in order, in a fresh directory, as a reader would.

How a fenced block is played, by its language:

* ``python`` — executed as a script (``__name__ == "__main__"``); its ``assert``s are its checks;
* ``toml`` — a fault plan (``FaultPlan.from_toml``), or configuration when it has a ``[tool.``
  table (parsed only); ``json`` — a fault plan; ``jsonl`` — trace events, one per line;
* ``console`` — each ``$ pytest …`` or ``$ sspi-async …`` line is run (``pip install`` lines are
  not: the environment has what they install); the exit status must be 0 unless an
  ``<!-- exit: N -->`` comment says otherwise, and the output lines the page shows must appear
  in the real output, in order (durations such as ``0.42s`` compare equal);
* ``mermaid`` — must equal the Mermaid rendering of the trace file named by a
  ``<!-- mermaid-of: FILE -->`` comment;
* ``text`` — not code, not played.

An ``<!-- file: NAME -->`` comment right above a block writes the block to ``NAME`` instead of
running it (then ``python`` is not executed and ``toml``/``json`` are still validated).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sspi_async import FaultPlan, TraceEvent, load_trace, render_mermaid

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
#: Pages with code samples; rules.md is a list of rule ids (its own test: tests/test_rules_doc.py).
PAGES = sorted(page for page in (ROOT / "docs").glob("*.md") if page.name != "rules.md")
README_SECTION = "## Testing your code with sspi_async"
LANGUAGES = {"python", "toml", "json", "jsonl", "console", "mermaid", "text"}
_FENCE = re.compile(r"^```(\S*)\s*$")
_DIRECTIVE = re.compile(r"^<!--\s*([\w-]+):\s*(.*?)\s*-->$")
_DURATION = re.compile(r"\d+(?:\.\d+)?s\b")


@dataclass
class Block:
    """One fenced block: its language, text, 1-based line, and the directives above it."""

    language: str
    text: str
    line: int
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"line {self.line} ({self.language})"


def blocks_of(markdown: str) -> list[Block]:
    """The fenced blocks of ``markdown`` with their ``<!-- key: value -->`` directives."""
    lines = markdown.splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        directives = {}
        above = index - 1
        while above >= 0 and (match := _DIRECTIVE.match(lines[above].strip())):
            directives[match[1]] = match[2]
            above -= 1
        end = lines.index("```", index + 1)
        body = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Block(fence[1], body, index + 1, directives))
        index = end + 1
    return found


def readme_section() -> str:
    """The README's testing section, up to the next second-level heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(README_SECTION)
    end = text.find("\n## ", start + len(README_SECTION))
    # Keep the line numbers of the README in messages: blank out what comes before.
    return "\n" * text.count("\n", 0, start) + text[start : end if end >= 0 else len(text)]


# --------------------------------------------------------------------------- players


def _command(words: list[str]) -> list[str] | None:
    """The argv for a documented command, or None for one the page shows but the test skips."""
    if words[0] == "pytest":
        # Without the cache (no .pytest_cache) and hypothesis' plugin (a second to import, and
        # nothing the samples use): neither changes what the samples print.
        quiet = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
        return [sys.executable, "-m", "pytest", *quiet, *words[1:]]
    if words[0] == "sspi-async":
        return [sys.executable, "-m", "sspi_async", *words[1:]]
    if words[0] == "pip" or words[:3] == ["python", "-m", "pip"]:
        return None
    raise AssertionError(f"docs may run only 'pytest' and 'sspi-async' commands, not {words[0]!r}")


def _environment() -> dict[str, str]:
    """The commands' environment: an 80-column terminal, and not "on CI" (pytest would print
    whole messages in its short summary there, not the ones a reader sees)."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "BUILD_NUMBER")}
    env["COLUMNS"] = "80"
    return env


def _normalized(line: str) -> str:
    return _DURATION.sub("0.00s", line.rstrip())


def play_console(block: Block, where: Path) -> None:
    """Run each ``$`` command; check its exit status and the output lines the page shows."""
    commands: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
        elif line.strip():
            raise AssertionError("output before the first '$ ' command")
    expected_exit = int(block.directives.get("exit", "0"))
    for command, shown in commands:
        argv = _command(shlex.split(command))
        if argv is None:
            continue
        proc = subprocess.run(
            argv,
            cwd=where,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=_environment(),
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode == expected_exit, (
            f"'{command}' exited {proc.returncode}, not {expected_exit}\n{output}"
        )
        actual = iter(_normalized(line) for line in output.splitlines())
        for line in (_normalized(s) for s in shown):
            if line and not any(line == got for got in actual):
                raise AssertionError(
                    f"'{command}' did not print {line!r} (in this order)\n{output}"
                )


def play(block: Block, where: Path) -> None:
    """Play one block in ``where`` (the page's working directory)."""
    assert block.language in LANGUAGES, (
        f"unknown code block language {block.language!r}; use one of {sorted(LANGUAGES)}"
    )
    target = block.directives.get("file")
    if target is not None:
        path = where / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.text, encoding="utf-8")
    if block.language == "python" and target is None:
        # From a file, so that a failing sample's traceback shows its lines.
        script = where / f"sample_line_{block.line}.py"
        script.write_text(block.text, encoding="utf-8")
        exec(compile(block.text, str(script), "exec"), {"__name__": "__main__"})
    elif block.language == "toml":
        if "[tool." in block.text:
            tomllib.loads(block.text)
        else:
            FaultPlan.from_toml(block.text)
    elif block.language == "json":
        FaultPlan.from_json(block.text)
    elif block.language == "jsonl":
        for line in block.text.splitlines():
            TraceEvent.model_validate_json(line)
    elif block.language == "console":
        play_console(block, where)
    elif block.language == "mermaid":
        source = block.directives.get("mermaid-of")
        assert source, "a mermaid block needs <!-- mermaid-of: TRACE.jsonl -->"
        assert block.text == render_mermaid(load_trace(where / source)), (
            f"the diagram differs from the rendering of {source}; paste\n"
            + render_mermaid(load_trace(where / source))
        )


def _play_naming_the_block(block: Block, where: Path) -> None:
    try:
        play(block, where)
    except AssertionError as exc:
        raise AssertionError(f"{block.where}: {exc}") from exc
    except Exception as exc:
        raise AssertionError(f"{block.where}: {type(exc).__name__}: {exc}") from exc


def play_page(markdown: str, where: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Play every block of a page in order in ``where``; return how many blocks were played."""
    monkeypatch.chdir(where)
    blocks = blocks_of(markdown)
    for block in blocks:
        _play_naming_the_block(block, where)
    return len([b for b in blocks if b.language != "text"])


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("page", PAGES, ids=lambda p: f"docs/{p.name}")
def test_every_sample_of_a_docs_page_runs(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 5: the code of each docs page runs, as written, in order."""
    played = play_page(page.read_text(encoding="utf-8"), tmp_path, monkeypatch)
    assert played, f"{page.name} has no code sample"


def test_every_sample_of_the_readme_testing_section_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 5: the README's testing section (plugin, TOML plan, diagram) runs as written."""
    assert play_page(readme_section(), tmp_path, monkeypatch) >= 4


def test_the_docs_exist_and_are_linked_from_the_readme() -> None:
    """Issue 5: docs/testing.md, faults.md and traces.md exist and the README links them."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("testing.md", "faults.md", "traces.md"):
        assert (ROOT / "docs" / name).is_file()
        assert f"](docs/{name})" in readme, f"README does not link docs/{name}"


def test_the_player_fails_on_a_broken_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks can fail: a failing assert, a bad plan, a wrong exit status or output."""
    broken = [
        "```python\nassert 1 + 1 == 3\n```\n",
        '```toml\n[[rules]]\naction = {kind = "fail", status = "SEC_E_FOO"}\n```\n',
        "<!-- exit: 1 -->\n```console\n$ sspi-async --help\n```\n",
        "```console\n$ sspi-async --help\nno such line\n```\n",
        "```pyhton\nprint()\n```\n",
    ]
    for page in broken:
        with pytest.raises(AssertionError):
            play_page(page, tmp_path, monkeypatch)
