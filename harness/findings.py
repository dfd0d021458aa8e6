"""Findings: the recorded root causes that explain a run's outcomes.

A finding is one defect of one implementation: a plain title, the versions it
holds for (a range, not a pin), the cells it explains (selectors over writer,
reader, case, case features, store, access mode...), the outcome(s) it
predicts, the library's own error text, a severity and an upstream link (or
`unreported`). They live in findings/<implementation>.yaml, one file per
implementation, reviewed like code.

A finding is about the implementation in one role:

- `reader` findings explain read cells where that implementation reads;
- `writer` findings explain write records (what a writer did with a case: a
  refusal, an error, a faulty dataset) and, with `applies_to: reads`, the read
  cells of datasets that implementation wrote (data that every reader fails
  although the metadata is right).

Judging a run against findings (harness/judge.py) is separate from running it.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .matrix import ROOT, ConfigError, did_you_mean

FINDINGS_DIR = ROOT / "findings"

CELL_OUTCOMES = ("pass", "mismatch", "error", "unsupported", "timeout", "crash", "skipped", "flaky")
WRITE_OUTCOMES = ("ok", "faulty", "error", "unsupported", "timeout", "crash")
# Gravest first (DESIGN.md): silent wrong values; values right but type or metadata
# differs; the library raised an error; it crashed; it lacks the feature.
SEVERITIES = ("wrong-values", "metadata", "error", "crash", "unsupported")
SEVERITY_TEXT = {"wrong-values": "silent wrong values", "metadata": "values right, type or metadata differs",
                 "error": "error", "crash": "crash or hang", "unsupported": "unsupported"}
SELECTOR_KEYS = ("writer", "reader", "case", "format", "dtype", "feature", "store", "access", "write_mode", "message")

Globs = str | list[str]


def _globs(v: Globs | None) -> list[str] | None:
    if v is None:
        return None
    return [v] if isinstance(v, str) else list(v)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selector(_Strict):
    """Cells whose every given field matches. A field is a glob or a list of globs (any of them);
    `feature` matches when the case has a feature matching one of its globs (`codec:blosc`,
    `dtype:float16`, `order:F`, `missing-chunks`...); `message` is a regular expression searched
    in the cell's message (to tell two root causes on the same cells apart)."""

    writer: Globs | None = None
    reader: Globs | None = None
    case: Globs | None = None
    format: Globs | None = None
    dtype: Globs | None = None
    feature: Globs | None = None
    store: Globs | None = None
    access: Globs | None = None
    write_mode: Globs | None = None
    message: str | None = None

    @field_validator("message")
    @classmethod
    def _regex(cls, v):
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"message is not a regular expression: {exc}") from None
        return v

    @model_validator(mode="after")
    def _not_empty(self):
        if all(getattr(self, k) is None for k in SELECTOR_KEYS):
            raise ValueError("a selector names at least one field (an empty one would match every cell)")
        return self

    def matches(self, cell: "CellFacts") -> bool:
        for key in SELECTOR_KEYS:
            want = getattr(self, key)
            if want is None:
                continue
            if key == "message":
                if not re.search(want, cell.message or ""):
                    return False
            elif key == "feature":
                if not any(fnmatch.fnmatchcase(f, g) for g in _globs(want) for f in cell.features):
                    return False
            elif not any(fnmatch.fnmatchcase(str(getattr(cell, key) or ""), g) for g in _globs(want)):
                return False
        return True

    def describe(self) -> str:
        parts = []
        for key in SELECTOR_KEYS:
            v = getattr(self, key)
            if v is not None:
                parts.append(f"{key}={v if isinstance(v, str) else ','.join(v)}")
        return " ".join(parts)


UPSTREAM = re.compile(r"^(unreported|https?://\S+)$")


class Finding(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.+-]*$", description="stable, unique across all files")
    title: str = Field(min_length=8, description="one line in plain words")
    role: Literal["reader", "writer"] = "reader"
    applies_to: Literal["reads", "writes"] | None = Field(
        None, description="what the finding explains (default: reads for a reader, writes for a writer)")
    versions: str = Field("*", description='a version range such as ">=3.6,<3.7", or "*"')
    severity: Literal[SEVERITIES]  # type: ignore[valid-type]
    outcomes: list[str] = Field(min_length=1, description="the outcomes it predicts")
    error: str = Field("", description="the library's own error text, or what the data showed")
    upstream: str = Field(description="the upstream issue or pull request, or `unreported`")
    cells: list[Selector] = Field(min_length=1)
    notes: str = ""
    implementation: str = ""  # set from the file

    @field_validator("versions")
    @classmethod
    def _range(cls, v):
        if v.strip() != "*":
            try:
                SpecifierSet(v)
            except InvalidSpecifier:
                raise ValueError(f"not a version range: {v!r} (write e.g. \">=3.6,<3.7\" or \"*\")") from None
        return v

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, v):
        if not UPSTREAM.match(v.strip()):
            raise ValueError("give the upstream issue's URL, or `unreported`")
        return v.strip()

    @model_validator(mode="after")
    def _outcomes_fit(self):
        allowed = WRITE_OUTCOMES if self.explains == "writes" else CELL_OUTCOMES
        bad = [o for o in self.outcomes if o not in allowed or o in ("pass", "ok")]
        if bad:
            raise ValueError(f"outcomes {bad} cannot be predicted for {self.explains} "
                             f"(choose from {', '.join(o for o in allowed if o not in ('pass', 'ok'))})")
        if self.role == "reader" and self.applies_to == "writes":
            raise ValueError("a reader finding explains reads")
        return self

    @property
    def explains(self) -> str:
        return self.applies_to or ("reads" if self.role == "reader" else "writes")

    @cached_property
    def _spec(self) -> SpecifierSet | None:
        return None if self.versions.strip() == "*" else SpecifierSet(self.versions)

    def holds_for_version(self, version: str) -> bool:
        if self._spec is None:
            return True
        try:
            return self._spec.contains(Version(version.lstrip("v")), prereleases=True)
        except InvalidVersion:
            return False  # a version the range cannot speak about: not covered

    def matches(self, cell: "CellFacts") -> bool:
        """Whether this finding is about this cell (whatever its outcome)."""
        who, version = (cell.reader, cell.reader_version) if self.role == "reader" else (cell.writer, cell.writer_version)
        if (who or "").split("@")[0] != self.implementation:
            return False
        if not self.holds_for_version(version or (who or "").partition("@")[2]):
            return False
        return any(s.matches(cell) for s in self.cells)

    @property
    def upstream_link(self) -> str:
        return "" if self.upstream == "unreported" else self.upstream


@dataclass
class CellFacts:
    """What selectors look at, for a read cell or a write record."""

    writer: str = ""
    reader: str = ""
    case: str = ""
    format: str = ""
    dtype: str = ""
    features: tuple[str, ...] = ()
    store: str = ""
    access: str = "signed"
    write_mode: str = "local"
    message: str = ""
    writer_version: str = ""
    reader_version: str = ""

    @classmethod
    def of(cls, rec: dict) -> "CellFacts":
        from .cases import catalogue

        case = catalogue().get(rec.get("case", ""))
        return cls(writer=rec.get("writer", ""), reader=rec.get("reader", ""), case=rec.get("case", ""),
                   format=rec.get("format") or (case.format if case else ""), dtype=case.dtype if case else "",
                   features=case.features if case else (), store=rec.get("store", ""),
                   access=rec.get("access") or "signed", write_mode=rec.get("write_mode") or "local",
                   # A message tells the root causes of failures apart; a pass has none (a corrupt dataset's
                   # refusal passes with the library's error text, which failure findings must not claim).
                   message="" if rec.get("outcome") == "pass" else
                   " ".join(filter(None, [rec.get("message"), rec.get("diagnosis")])),
                   writer_version=rec.get("writer_version", ""), reader_version=rec.get("reader_version", ""))


class FindingsFile(_Strict):
    implementation: str
    findings: list[Finding] = Field(default_factory=list)


class Findings:
    """Every finding, indexed by the implementation it is about."""

    def __init__(self, findings: list[Finding] | None = None, sources: dict[str, Path] | None = None):
        self.all = list(findings or [])
        self.sources = sources or {}
        self._by_impl: dict[tuple[str, str], list[Finding]] = {}
        for f in self.all:
            self._by_impl.setdefault((f.implementation, f.explains), []).append(f)
        self.by_id = {f.id: f for f in self.all}

    def __len__(self) -> int:
        return len(self.all)

    def about(self, facts: CellFacts, explains: str) -> list[Finding]:
        """The findings about this cell (reads) or write record (writes), in file order."""
        names = {facts.reader.split("@")[0], facts.writer.split("@")[0]} if explains == "reads" else {facts.writer.split("@")[0]}
        out = []
        for name in names:
            for f in self._by_impl.get((name, explains), []):
                if f.matches(facts):
                    out.append(f)
        return out

    @classmethod
    def load(cls, where: str | Path | None, known_impls: set[str] | None = None) -> "Findings":
        """Every findings/*.yaml below a directory (or one file). Errors name the file and the entry."""
        if where is None:
            return cls()
        where = Path(where)
        if not where.exists():
            raise ConfigError(f"{where}: findings not found")
        files = sorted(where.glob("*.yaml")) if where.is_dir() else [where]
        findings, sources = [], {}
        for path in files:
            for f in _load_file(path, known_impls):
                if f.id in sources:
                    raise ConfigError(f"{path}: finding id {f.id!r} is already used in {sources[f.id]}")
                sources[f.id] = path
                findings.append(f)
        return cls(findings, sources)


def _load_file(path: Path, known_impls: set[str] | None) -> list[Finding]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with `implementation` and `findings`")
    try:
        parsed = FindingsFile.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            loc = list(e["loc"])
            where = ".".join(str(p) for p in loc)
            if len(loc) >= 2 and loc[0] == "findings" and isinstance(loc[1], int):
                entries = raw.get("findings") or []
                fid = entries[loc[1]].get("id") if loc[1] < len(entries) and isinstance(entries[loc[1]], dict) else None
                where = f"finding {fid or '#' + str(loc[1] + 1)}" + ("." + ".".join(str(p) for p in loc[2:]) if loc[2:] else "")
            msg = e["msg"]
            if e["type"] == "extra_forbidden":
                key = str(loc[-1])
                msg = f"unknown key {key!r}" + did_you_mean(key, list(Finding.model_fields) + list(Selector.model_fields))
            lines.append(f"{path}: {where}: {msg}")
        raise ConfigError("\n".join(lines)) from None
    if path.stem != parsed.implementation:
        raise ConfigError(f"{path}: the file of implementation {parsed.implementation!r} must be named "
                          f"{parsed.implementation}.yaml")
    if known_impls is not None and parsed.implementation not in known_impls:
        raise ConfigError(f"{path}: unknown implementation {parsed.implementation!r}"
                          + did_you_mean(parsed.implementation, known_impls))
    return [f.model_copy(update={"implementation": parsed.implementation}) for f in parsed.findings]


def findings_dir_of(matrix_path=None) -> Path:
    """Findings belong to a matrix: the findings/ directory beside its file (the project's for
    the project's matrix.yaml)."""
    return Path(matrix_path).resolve().parent / "findings" if matrix_path else FINDINGS_DIR


def default_findings(matrix_path=None) -> Path | None:
    d = findings_dir_of(matrix_path)
    return d if d.is_dir() else None
