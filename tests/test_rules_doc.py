"""DESIGN "Tooling": a rule id cited in the code resolves in `docs/rules.md`, which explains every
id the SPEC and the COM reference define in one line, under the section that defines it."""

from __future__ import annotations

import io
import re
import tokenize
from collections import Counter
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
DOC = CHECKOUT / "docs" / "rules.md"
PACKAGE = CHECKOUT / "sspi_async"
SHARED = Path(__file__).resolve().parents[2] / "shared"
SPEC = SHARED / "SPEC.md"
COM_REFERENCE = SHARED / "reference" / "impersonation-and-com-async.md"

# `- **A4** — <paraphrase> (SPEC §3)`: one line per id, its source at the end.
DOC_LINE = re.compile(
    r"^- \*\*(?P<id>[A-Z][1-9]\d?)\*\* — (?P<text>.+) "
    r"\((?P<where>SPEC §\d+|COM reference §[\d.]+|COM reference, seed rules)\)$"
)
# How the SPEC (`- **A4** …`) and the COM reference (`* **R6 (S1)**: …`) define a rule.
SOURCE_DEFINITION = re.compile(r"^[-*] \*\*(?P<id>[A-Z][1-9]\d?)\b")
SOURCE_HEADING = re.compile(r"^#{2,3} (?P<number>\d+(?:\.\d+)?)\.? ")
MAX_WORDS = 30


def _doc_lines() -> list[re.Match[str]]:
    return [m for line in DOC.read_text().splitlines() if (m := DOC_LINE.match(line))]


def _doc_ids() -> dict[str, str]:
    """Each id the doc defines, with the source it names."""
    return {m["id"]: m["where"] for m in _doc_lines()}


def _citation_pattern() -> re.Pattern[str]:
    """An id of a family the doc defines; not a coordinate or version such as `M0,0` or `T1.2`."""
    families = "".join(sorted({rule_id[0] for rule_id in _doc_ids()}))
    return re.compile(rf"(?<!\w)[{families}][1-9]\d?(?!\w|[.,]\d)")


def _citations(path: Path, pattern: re.Pattern[str]) -> list[tuple[str, int]]:
    """Ids cited in a module's comments and strings (docstrings, messages), with their line."""
    source = path.read_text()
    text_tokens = {tokenize.COMMENT, tokenize.STRING}
    if hasattr(tokenize, "FSTRING_MIDDLE"):  # Python 3.12+: f-string text is its own token
        text_tokens.add(tokenize.FSTRING_MIDDLE)
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in text_tokens:
            for offset, line in enumerate(token.string.splitlines()):
                found += [(m.group(), token.start[0] + offset) for m in pattern.finditer(line)]
    return found


def _source_ids(path: Path) -> dict[str, str]:
    """Each id a shared document defines, with the number of the section it is defined under."""
    ids: dict[str, str] = {}
    section = ""
    for line in path.read_text().splitlines():
        if heading := SOURCE_HEADING.match(line):
            section = heading["number"]
        elif definition := SOURCE_DEFINITION.match(line):
            ids.setdefault(definition["id"], section)
    return ids


def _require(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"the rules are read from {path}, which is not beside this checkout")


def test_rules_doc_defines_each_id_once() -> None:
    """Every id in docs/rules.md has exactly one definition line."""
    counts = Counter(m["id"] for m in _doc_lines())
    assert counts, f"{DOC} defines no rule id in the `- **A4** — … (SPEC §3)` form"
    twice = sorted(rule_id for rule_id, n in counts.items() if n > 1)
    assert not twice, f"{DOC} defines these ids more than once: {', '.join(twice)}"


def test_rules_doc_numbers_each_family_without_gaps() -> None:
    """Each family in docs/rules.md runs from 1 to its last id with no id left out."""
    numbers: dict[str, set[int]] = {}
    for rule_id in _doc_ids():
        numbers.setdefault(rule_id[0], set()).add(int(rule_id[1:]))
    gaps = [
        f"{family}{n}"
        for family, present in sorted(numbers.items())
        for n in range(1, max(present) + 1)
        if n not in present
    ]
    assert not gaps, f"{DOC} has no line for: {', '.join(gaps)}"


def test_rules_doc_lines_are_short_and_well_formed() -> None:
    """Every bulleted line of docs/rules.md is one short id line naming its source."""
    bad = [
        line
        for line in DOC.read_text().splitlines()
        if line.startswith("- ")
        and not ((m := DOC_LINE.match(line)) and len(m["text"].split()) <= MAX_WORDS)
    ]
    assert not bad, (
        f"lines of {DOC} not in the `- **A4** — <at most {MAX_WORDS} words> (SPEC §3)` form:\n"
        + "\n".join(bad)
    )


def test_every_id_cited_in_the_package_has_a_line_in_rules_doc() -> None:
    """Every rule id cited in sspi_async's comments, docstrings and messages is in docs/rules.md."""
    defined = _doc_ids()
    pattern = _citation_pattern()
    missing: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for rule_id, line in _citations(path, pattern):
            if rule_id not in defined:
                missing.setdefault(rule_id, []).append(f"{path.relative_to(CHECKOUT)}:{line}")
    assert not missing, "ids cited in sspi_async but missing from docs/rules.md:\n" + "\n".join(
        f"  {rule_id}: {', '.join(places)}" for rule_id, places in sorted(missing.items())
    )


@pytest.mark.parametrize(
    ("path", "where"),
    [(SPEC, "SPEC §{}"), (COM_REFERENCE, "COM reference §{}")],
    ids=["SPEC", "COM reference"],
)
def test_every_id_a_shared_document_defines_is_in_rules_doc(path: Path, where: str) -> None:
    """Every id SPEC.md or the COM reference defines has a line naming the section it is under."""
    _require(path)
    doc = _doc_ids()
    problems = []
    for rule_id, section in _source_ids(path).items():
        expected = where.format(section) if section else "COM reference, seed rules"
        if rule_id not in doc:
            problems.append(f"  {rule_id}: no line (defined in {expected})")
        elif doc[rule_id] != expected:
            problems.append(f"  {rule_id}: the line says {doc[rule_id]}, it is in {expected}")
    assert not problems, f"docs/rules.md against {path}:\n" + "\n".join(problems)


def test_rules_doc_invents_no_id() -> None:
    """Every id in docs/rules.md is defined by SPEC.md or the COM reference."""
    _require(SPEC)
    _require(COM_REFERENCE)
    known = _source_ids(SPEC).keys() | _source_ids(COM_REFERENCE).keys()
    invented = sorted(set(_doc_ids()) - known)
    assert not invented, f"{DOC} explains ids no shared document defines: {', '.join(invented)}"
