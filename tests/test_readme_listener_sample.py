"""The README's SspiTLSListener sample runs as written (E5 documentation stays true)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_E5_the_readme_listener_sample_runs() -> None:
    """The first Python block under the SspiTLSListener heading runs to its end."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### `SspiTLSListener`") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(match.group(1), str(README), "exec"), namespace)
    assert "main" in namespace
