"""matrix.yaml: implementations, stores and profiles, validated on load.

Errors name the file, the key and what was expected; unknown names get a
"did you mean". Everything downstream works on `Matrix` and `ImplVersion`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .cases import FORMATS, SOURCE_KINDS, TIERS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MATRIX = ROOT / "matrix.yaml"

LANGUAGES = ("python", "javascript", "typescript", "rust", "java", "c", "c++", "go")
STORE_KINDS = ("local", "http", "s3-moto", "s3-minio", "gcs", "azure", "kerchunk")
# Kerchunk stores (harness/kerchunk.py) are read through a reference file, in one of its formats;
# their first mode, like `signed` elsewhere, reads every case.
KERCHUNK_ACCESS = ("kerchunk-v1", "kerchunk-v1-templates", "kerchunk-v0")
# presigned: S3 only; readers get a presigned URL of a reference file of presigned URLs (harness/stores.py).
ACCESS_MODES = ("signed", "anonymous", "anonymous-nolist", "forbidden-chunk", "presigned") + KERCHUNK_ACCESS
# Where the packed files of a reference store are (a store kind that serves files).
KERCHUNK_REMOTES = ("local", "http", "s3-moto")
# Where `zarr-conformance versions` asks for a package's newest release (harness/versions.py).
REGISTRY_KINDS = ("pypi", "npm", "cargo", "maven", "go", "apt")
# The registry a `dev:` spec's package lives in (prefix builds name a pkg-config module, no registry).
DEV_REGISTRY = {"python": "pypi", "npm": "npm", "cargo": "cargo", "maven": "maven"}
_PACKAGE_PATTERNS = {
    "pypi": (r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", "a distribution name, e.g. zarr"),
    "npm": (r"(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*", "an npm package name, e.g. zarrita or @zarrita/storage"),
    "cargo": (r"[A-Za-z][A-Za-z0-9_-]*", "a crate name, e.g. zarrs"),
    "maven": (r"[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+", "groupId:artifactId, e.g. dev.zarr:zarr-java"),
    "go": (r"[a-z0-9.-]+\.[a-z]+(/[A-Za-z0-9._~-]+)+", "a module path, e.g. github.com/owner/repo"),
    "apt": (r"[a-z0-9][a-z0-9.+-]+", "a Debian package name, e.g. libgdal-dev"),
}


class ConfigError(Exception):
    """A usage or configuration error: the CLI prints it and exits 2."""


def did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BuildSpec(_Strict):
    """How `zarr-conformance setup` builds a command adapter (npm ci, cargo build, mvn package, make...)."""

    dir: str = Field(description="the adapter's directory, relative to the project root")
    requires: list[str] = Field(default_factory=list, description="programs that must be on PATH")
    steps: list[list[str]] = Field(default_factory=list, description="commands run in dir, in order")
    inputs: list[str] = Field(default_factory=list, description="globs (in dir) whose change triggers a rebuild")
    timeout: float = Field(1800, gt=0, description="seconds for all steps")


class ReproSpec(_Strict):
    """How `zarr-conformance repro` makes a reproducer in the implementation's own language."""

    template: str = Field(description="a Jinja2 template file or directory (relative to the project root); "
                                      "files ending in .j2 are rendered, the others copied")
    run: list[str] = Field(description="the command that runs it in the bundle ({bundle}, {root}, {env}, {tools})")
    env: dict[str, str] = Field(default_factory=dict, description="environment variables for the command")


class DevSpec(_Strict):
    """How a development build of the library replaces the released one in the adapter's environment
    (`zarr-conformance ci --target NAME@dev --source PATH`)."""

    kind: Literal["python", "npm", "cargo", "maven", "prefix"] = Field(
        description="python: pip-install the source into the environment; npm: npm-install the package; "
                    "cargo: a [patch] of the crate to the source; maven: the library's jar (or Maven project) "
                    "installed under a dev version; prefix: build and run against an install prefix")
    package: str = Field(description="the distribution, npm package, crate, groupId:artifactId or pkg-config module")
    property: str | None = Field(None, description="maven: the POM property that holds the library's version")
    alongside: list[str] = Field(default_factory=list, description="directories beside the adapter's that its build needs")


def _registry_kind(v):
    if v is not None and v not in REGISTRY_KINDS:
        raise ValueError(f"unknown registry kind {v!r}: one of {', '.join(REGISTRY_KINDS)}"
                         + did_you_mean(str(v), REGISTRY_KINDS))
    return v


def _check_package(kind: str | None, package: str | None) -> None:
    if kind and package is not None:
        pattern, what = _PACKAGE_PATTERNS[kind]
        if not re.fullmatch(pattern, package):
            raise ValueError(f"{kind} package {package!r} is not {what}")


class PackageRef(_Strict):
    """A package in a registry: where `zarr-conformance versions` asks for its newest release."""

    kind: str = Field(description="pypi, npm, cargo (crates.io), maven (Maven Central), go (the Go module proxy) "
                                  "or apt (Debian's packages, through apt-cache)")
    package: str = Field(description="distribution, npm package, crate, groupId:artifactId, module path or "
                                     "Debian package")
    held: str | None = Field(None, description="why a component's newest release is not pinned: the library's own "
                                               "dependency range excludes it (reported as held, not as lagging)")

    _kind = field_validator("kind", mode="before")(classmethod(lambda cls, v: _registry_kind(v)))

    @model_validator(mode="after")
    def _package_shape(self):
        _check_package(self.kind, self.package)
        return self

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.package}"


class RegistrySpec(_Strict):
    """Registry coordinates of an implementation. kind and package default to the `dev:` spec's
    (python: pypi, npm, cargo, maven), so they are written only where it names none (prefix builds,
    unavailable implementations)."""

    kind: str | None = Field(None, description="the library's registry (default: from dev.kind)")
    package: str | None = Field(None, description="the library's package there (default: dev.package)")
    components: list[PackageRef] = Field(default_factory=list, description="its main library components "
                                         "(numcodecs, zarrs_object_store...), pinned in the adapter's lock files")
    also: list[PackageRef] = Field(default_factory=list, description="other packages the entry stands for "
                                   "(an unavailable implementation's other candidates), each asked too")

    _kind = field_validator("kind", mode="before")(classmethod(lambda cls, v: _registry_kind(v)))

    @model_validator(mode="after")
    def _package_shape(self):
        _check_package(self.kind, self.package)
        return self


class VersionSpec(_Strict):
    adapter: Literal["python", "command"] | None = Field(
        None, description="this version's kind of adapter, when it is not the implementation's (the same library "
                          "at another version reached through another adapter: a C++ program over one build, a "
                          "Python backend over a wheel's bundled build)")
    language: Literal[LANGUAGES] | None = Field(None, description="the language of this version's adapter, when "  # type: ignore[valid-type]
                                                                  "it is not the implementation's")
    repro: ReproSpec | None = Field(None, description="this version's reproducer template (default: the "
                                                      "implementation's, for the versions that use its adapter)")
    python: str | None = Field(None, description="Python version of the adapter's environment (python adapters)")
    backend: str | None = Field(None, description="zc_adapter backend name (python adapters)")
    command: list[str] | None = Field(None, description="command that starts the adapter (overrides the implementation's)")
    build: BuildSpec | None = Field(None, description="build of this version (overrides the implementation's)")
    timeout: float | None = Field(None, gt=0)
    source: str | None = Field(None, description="a development build: the library's source (a checkout, an "
                                                 "archive) or built artifact (a wheel, a jar), or an install prefix")
    base: str | None = Field(None, description="with source: the released version whose environment it starts from")
    registry: PackageRef | None = Field(None, description="this version comes from another registry than the "
                                                          "implementation's (e.g. Debian's python3-zarr)")
    debian: list[str] | None = Field(None, description="python adapters: the library is Debian's: these Debian "
                                                       "packages (installed with apt-get), run with Debian's "
                                                       "/usr/bin/python3 and its dist-packages; the lock file "
                                                       "lists only the PyPI packages Debian does not have")
    description: str = Field("", description="what sets this version apart from the implementation's others "
                                               "(a packaging, a code path), shown after its description")
    stores: list[str] | None = Field(None, description="only these stores (names of `stores:`): as a reader it "
                                                       "reads from these alone; as a writer it writes only into "
                                                       "these: `local` for the datasets written on disk (then "
                                                       "published to every store), an S3 store for native writes "
                                                       "(default: every store)")

    formats: list[Literal[FORMATS]] | None = Field(None, description="only these formats (zarr2, zarr3, n5): "  # type: ignore[valid-type]
                                                     "a library of one format (an N5 library) reads and writes "
                                                     "only the cases of these (default: every format)")
    sources: list[Literal[SOURCE_KINDS]] | None = Field(None, description="a writer of references to files of "  # type: ignore[valid-type]
                                                        "these kinds (netcdf4, hdf5): it writes the cases with "
                                                        "such a source, and only those")

    @field_validator("stores", "formats")
    @classmethod
    def _some(cls, v, info):
        """A limit names at least one store (format), each once."""
        if v is not None:
            what = info.field_name.removesuffix("s")  # store, format
            if not v:
                raise ValueError(f"{info.field_name}: name at least one {what} (or leave the key out: every {what})")
            if len(set(v)) != len(v):
                raise ValueError(f"{info.field_name}: a {what} is named twice in {v}")
        return v

    @field_validator("debian")
    @classmethod
    def _debian_packages(cls, v):
        for pkg in v or []:
            if not re.fullmatch(_PACKAGE_PATTERNS["apt"][0], pkg):
                raise ValueError(f"debian: {pkg!r} is not a Debian package name")
        return v

    @field_validator("python", mode="before")
    @classmethod
    def _python_is_text(cls, v):
        if v is not None and not isinstance(v, str):
            raise ValueError(f'write the Python version as a string, e.g. "3.12" (got {v!r})')
        return v


class Implementation(_Strict):
    language: Literal[LANGUAGES]  # type: ignore[valid-type]
    description: str = ""
    homepage: str = ""
    adapter: Literal["python", "command"] = "python"
    command: list[str] | None = None
    build: BuildSpec | None = None
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    enabled: bool = True
    unavailable: str | None = Field(None, description="why this implementation cannot be had here (listed, never run)")
    repro: ReproSpec | None = Field(None, description="reproducer template (python adapters: by backend)")
    dev: DevSpec | None = Field(None, description="how a development build replaces the released library")
    registry: RegistrySpec | None = Field(None, description="where `zarr-conformance versions` asks for the "
                                                            "newest releases (default: the dev spec's package)")
    verbs: list[Literal["read", "write"]] | None = Field(None, description="what the library does: [read] (a reader "
                                                         "only) or [write] (a writer only; default: both)")
    versions: dict[str, VersionSpec]

    @field_validator("verbs")
    @classmethod
    def _some_verbs(cls, v):
        """A reader only or a writer only names its verb once (leave the key out for both)."""
        if v is not None:
            if not v:
                raise ValueError("verbs: name read or write (or leave the key out: both)")
            if len(set(v)) != len(v):
                raise ValueError(f"verbs: a verb is named twice in {v}")
        return v

    @field_validator("versions")
    @classmethod
    def _some_versions(cls, v):
        if not v:
            raise ValueError("list at least one version")
        return v

    @model_validator(mode="after")
    def _adapters_complete(self):
        """What each version's adapter needs is there, and nothing that adapter would ignore."""
        for ver, spec in self.versions.items():
            where = f"versions.{ver}"
            kind = spec.adapter or self.adapter
            if kind == "python":
                stray = [k for k in ("command", "build") if getattr(spec, k) is not None]
                if stray:
                    raise ValueError(f"{where}: a python adapter runs a backend (backend: NAME), not a "
                                     f"{' or '.join(stray)}")
                if spec.adapter == "python" and self.adapter != "python":
                    missing = [k for k in ("backend", "python") if getattr(spec, k) is None]
                    if missing and not spec.debian:
                        raise ValueError(f"{where}: adapter: python needs {' and '.join(missing)} "
                                         f'(e.g. backend: NAME, python: "3.12")')
            else:
                stray = [k for k in ("backend", "python", "debian") if getattr(spec, k) is not None]
                if stray:
                    raise ValueError(f"{where}: {', '.join(stray)} belong to python adapters; this version's "
                                     f"adapter is a command (adapter: python to run a backend)")
                if spec.adapter == "command" and not (spec.command or self.command) and not self.unavailable:
                    raise ValueError(f"{where}: adapter: command needs a command (the version's or the "
                                     f"implementation's)")
        return self

    @model_validator(mode="after")
    def _registry_complete(self):
        if self.registry is not None and self.library_package() is None:
            what = "the dev spec names no registry package" if self.dev else "there is no dev spec to take them from"
            raise ValueError(f"registry: write its kind and package ({what}), e.g. "
                             f"registry: {{kind: pypi, package: NAME}}")
        return self

    def library_package(self) -> "PackageRef | None":
        """The library's own package in its registry: the registry spec's, else the dev spec's."""
        reg = self.registry
        dev_kind = DEV_REGISTRY.get(self.dev.kind) if self.dev else None
        kind = (reg.kind if reg else None) or dev_kind
        package = (reg.package if reg else None) or (self.dev.package if self.dev and kind == dev_kind else None)
        if not kind or not package:
            return None
        return PackageRef(kind=kind, package=package)


class StoreSpec(_Strict):
    kind: Literal[STORE_KINDS]  # type: ignore[valid-type]
    access: list[Literal[ACCESS_MODES]] = ["signed"]  # type: ignore[valid-type]
    description: str = ""
    remote: Literal[KERCHUNK_REMOTES] | None = Field(  # type: ignore[valid-type]
        None, description="kerchunk only: the store kind the referenced files are served from")

    @model_validator(mode="before")
    @classmethod
    def _kerchunk_default_access(cls, data):
        if isinstance(data, dict) and data.get("kind") == "kerchunk" and "access" not in data:
            return {**data, "access": list(KERCHUNK_ACCESS)}
        return data

    @model_validator(mode="after")
    def _kerchunk_modes(self):
        refs = self.kind == "kerchunk"
        wrong = [a for a in self.access if (a in KERCHUNK_ACCESS) != refs]
        if wrong:
            allowed = KERCHUNK_ACCESS if refs else [a for a in ACCESS_MODES if a not in KERCHUNK_ACCESS]
            raise ValueError(f"access mode {wrong[0]!r} is not one of a {self.kind} store's: {', '.join(allowed)}")
        if refs != (self.remote is not None):
            raise ValueError("a kerchunk store names its `remote` (local, http or s3-moto); no other kind has one"
                             if refs else f"a {self.kind} store has no `remote` (only kerchunk stores do)")
        return self


class Profile(_Strict):
    description: str = ""
    tier: Literal[TIERS] = "default"  # type: ignore[valid-type]
    stores: list[str] | None = None
    access: list[Literal[ACCESS_MODES]] | None = Field(None, description="access modes to read (default: each store's)")  # type: ignore[valid-type]
    # The cases read from the stores other than local disk: every one, or only those stores get wrong
    # (harness.cases.store_sensitive: missing chunks, shards, '/' separators, keys to escape). A codec or a
    # dtype decodes the same whatever store its bytes came from: local disk reads every case.
    remote_cases: Literal["all", "store-sensitive"] = "all"
    writers: list[str] | None = None
    readers: list[str] | None = None
    cases: list[str] | None = None


class Matrix(_Strict):
    schema_version: Literal[1] = Field(alias="schema")
    implementations: dict[str, Implementation]
    stores: dict[str, StoreSpec]
    profiles: dict[str, Profile]
    default_profile: str = "default"
    minio_version: str | None = Field(None, description="pseudo-version of github.com/minio/minio to build")
    fake_gcs_version: str | None = Field(None, description="version of github.com/fsouza/fake-gcs-server to build")

    @model_validator(mode="after")
    def _cross_references(self):
        if self.default_profile not in self.profiles:
            raise ValueError(f"default_profile {self.default_profile!r} is not a profile"
                             + did_you_mean(self.default_profile, self.profiles))
        for pname, prof in self.profiles.items():
            for s in prof.stores or []:
                if s not in self.stores:
                    raise ValueError(f"profiles.{pname}.stores: unknown store {s!r}" + did_you_mean(s, self.stores))
        for iname, impl in self.implementations.items():
            for ver, spec in impl.versions.items():
                for s in spec.stores or []:
                    if s not in self.stores:
                        raise ValueError(f"implementations.{iname}.versions.{ver}.stores: unknown store {s!r}"
                                         + did_you_mean(s, self.stores))
        return self

    # --- derived -------------------------------------------------------------
    def impl_versions(self) -> list["ImplVersion"]:
        out = []
        for name, impl in self.implementations.items():
            if not impl.enabled or impl.unavailable:
                continue
            for ver, spec in impl.versions.items():
                out.append(ImplVersion(name, ver, impl, spec))
        return out

    def unavailable(self) -> dict[str, str]:
        """Implementations the matrix lists as not to be had here, with the reason."""
        return {f"{n}@{v}": i.unavailable for n, i in self.implementations.items() if i.unavailable for v in i.versions}

    def resolve_impls(self, names: list[str] | None, what: str) -> list["ImplVersion"]:
        """`zarr-python` selects every version, `zarr-python@3.1.6` one."""
        all_iv = self.impl_versions()
        if not names:
            return all_iv
        chosen = []
        for n in names:
            hits = [iv for iv in all_iv if iv.id == n or iv.name == n]
            if not hits:
                raise ConfigError(f"unknown {what} implementation {n!r}"
                                  + did_you_mean(n, [iv.id for iv in all_iv] + list(self.implementations)))
            chosen += [h for h in hits if h not in chosen]
        return chosen


def release_of(version: str) -> str:
    """A matrix version without a trailing "-name" of letters (a packaging, a code path of the release)."""
    return re.sub(r"-[a-z]+$", "", version)


class ImplVersion:
    """One implementation at one version: a writer and/or reader of the matrix."""

    def __init__(self, name: str, version: str, impl: Implementation, spec: VersionSpec):
        self.name, self.version, self.impl, self.spec = name, version, impl, spec

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def timeout(self) -> float:
        return self.spec.timeout or self.impl.timeout

    @property
    def description(self) -> str:
        return "; ".join(d for d in (self.impl.description, self.spec.description) if d)

    @property
    def release(self) -> str:
        """The library's release this matrix version names: the version without the name of a packaging or
        a code path ("2.13.6-debian", "3.4.2-obstore": 2.13.6, 3.4.2); what its handshake reports."""
        return release_of(self.version)

    def uses_store(self, store: str) -> bool:
        """Whether this version reads from (or writes into) the store: its `stores:`, by default every one."""
        return self.spec.stores is None or store in self.spec.stores

    def does(self, verb: str) -> bool:
        """Whether this version reads ("read") or writes ("write"): the implementation's `verbs:`, by default both."""
        return self.impl.verbs is None or verb in self.impl.verbs

    def writes_case(self, case) -> bool:
        """Whether this version writes the case: a case of one of its formats, with a source file of one of
        its `sources:` when it has them, without one when it has none."""
        if not self.uses_format(case.format):
            return False
        if case.source:
            return case.source["kind"] in (self.spec.sources or ())
        return not self.spec.sources

    def uses_format(self, fmt: str) -> bool:
        """Whether this version reads (and writes) the cases of a format: its `formats:`, by default every one."""
        return self.spec.formats is None or fmt in self.spec.formats

    # A version may reach its library through another adapter than the implementation's (matrix.yaml
    # `adapter:` of a version); these say what this version uses.
    @property
    def adapter(self) -> str:
        """python (a backend of readers/python) or command."""
        return self.spec.adapter or self.impl.adapter

    @property
    def own_adapter(self) -> bool:
        """This version uses another kind of adapter than the implementation's."""
        return self.adapter != self.impl.adapter

    @property
    def language(self) -> str:
        return self.spec.language or self.impl.language

    @property
    def command(self) -> list[str] | None:
        return self.spec.command or (None if self.own_adapter else self.impl.command)

    @property
    def build(self) -> "BuildSpec | None":
        return self.spec.build or (None if self.own_adapter else self.impl.build)

    @property
    def repro(self) -> "ReproSpec | None":
        """The reproducer template: the version's, else the implementation's for the versions that use its
        adapter (a version with an adapter of its own has its own, or its Python backend's)."""
        return self.spec.repro or (None if self.own_adapter else self.impl.repro)

    def __repr__(self) -> str:
        return f"ImplVersion({self.id})"

    def __eq__(self, other):
        return isinstance(other, ImplVersion) and other.id == self.id

    def __hash__(self):
        return hash(self.id)


def _format_error(path: Path, err: dict) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        known = _known_keys(err["loc"][:-1])
        return f"{path}: {loc}: unknown key {key!r}{did_you_mean(key, known)}"
    if err["type"] == "missing":
        return f"{path}: {loc}: required key is missing"
    if err["type"] == "literal_error":
        return f"{path}: {loc}: {msg} (got {err.get('input')!r})"
    return f"{path}: {loc}: {msg}" + (f" (got {err.get('input')!r})" if "input" in err and not isinstance(err.get("input"), dict) else "")


def _known_keys(loc) -> list[str]:
    """Field names expected at a location, for suggestions."""
    names = [str(p) for p in loc]
    if not names:
        return ["schema", *Matrix.model_fields.keys()]
    top = names[0]
    if "registry" in names:
        below = names[names.index("registry") + 1:]
        return list(PackageRef.model_fields) if below or "versions" in names else list(RegistrySpec.model_fields)
    if top == "implementations":
        if len(names) == 2:
            return list(Implementation.model_fields)
        if len(names) >= 4:
            return list(VersionSpec.model_fields)
    if "build" in names:
        return list(BuildSpec.model_fields)
    if "repro" in names:
        return list(ReproSpec.model_fields)
    if "dev" in names:
        return list(DevSpec.model_fields)
    if top == "stores" and len(names) == 2:
        return list(StoreSpec.model_fields)
    if top == "profiles" and len(names) == 2:
        return list(Profile.model_fields)
    return []


def load_matrix(path: str | Path | None = None) -> Matrix:
    path = Path(path or DEFAULT_MATRIX)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the matrix file: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level (implementations, stores, profiles)")
    try:
        return Matrix.model_validate(raw)
    except ValidationError as exc:
        lines = [_format_error(path, e) for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def matrix_digest(path: str | Path | None = None) -> str:
    return hashlib.sha256(Path(path or DEFAULT_MATRIX).read_bytes()).hexdigest()[:16]
