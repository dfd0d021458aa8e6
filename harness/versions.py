"""`zarr-conformance versions`: every pin of the matrix beside the newest release its registry serves.

The rule it checks: the newest release of every library is in the matrix. Older
versions kept for the people who still run them are fine as long as the newest
is pinned too. Each implementation names its registry in matrix.yaml
(`registry:`, or its `dev:` spec); the pins are the matrix's versions for the
library itself and the adapters' lock files for its main components
(readers/python/locks/, package-lock.json, Cargo.lock, pom.xml).

One small client per registry kind, each turning the registry's answer into an
`Answer` (the releases it serves, the newest stable one, what that one
requires). Pre-releases, yanked and deprecated releases are never "newer".
Registries are asked in parallel; an answer that could not be had is an error
with the reason, and the rest is still reported.

Exit status: 0 nothing lags, 1 something lags (or is not served, or not
pinned), 2 a registry could not be asked (or a configuration error).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from . import __version__
from .matrix import ROOT, ConfigError, Implementation, ImplVersion, Matrix, PackageRef, did_you_mean, release_of

LOCKS = ROOT / "readers" / "python" / "locks"
USER_AGENT = f"zarr-conformance/{__version__} (versions check; https://github.com/zarr-developers/zarr-conformance)"
DEFAULT_URLS = {
    "pypi": "https://pypi.org/pypi",
    "npm": "https://registry.npmjs.org",
    "cargo": "https://index.crates.io",  # the sparse index cargo itself reads (yanked, rust-version)
    "maven": "https://repo1.maven.org/maven2",
    "go": "https://proxy.golang.org",
}
NOT_SERVED = (403, 404, 410)  # a registry's "no such package": an answer, not a failure to ask


class RegistryError(Exception):
    """The registry could not be asked (network, timeout, a server error, an answer that does not parse)."""


def base_url(kind: str) -> str:
    """ZC_REGISTRY_<KIND> overrides a registry's address; the Go proxy also follows GOPROXY."""
    env = os.environ.get(f"ZC_REGISTRY_{kind.upper()}")
    if env:
        return env.rstrip("/")
    if kind == "go":
        for entry in re.split(r"[,|]", os.environ.get("GOPROXY", "")):
            if entry.startswith(("https://", "http://")):
                return entry.rstrip("/")
    return DEFAULT_URLS[kind]


@dataclass
class Settings:
    timeout: float = 20.0  # seconds to read an answer (connecting: at most 10)
    retries: int = 2  # on connection errors, 429 and 5xx, with backoff
    jobs: int = 8
    apt_update: bool = False
    apt_cache: str = "apt-cache"
    os_release: Path = Path("/etc/os-release")
    apt_lists: Path = Path("/var/lib/apt/lists")


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- versions ------------------------------------------------------------------------------------

def debian_upstream(v: str) -> str:
    """1:4.9.0-3+b1 -> 4.9.0; 3.6.2+dfsg-1+b2 -> 3.6.2; 2.13.6+ds-1 -> 2.13.6."""
    v = v.split(":", 1)[1] if re.match(r"^\d+:", v) else v
    v = v.rsplit("-", 1)[0] if "-" in v else v
    return re.split(r"[+]", v, maxsplit=1)[0]


def stable(kind: str, v: str) -> Version | None:
    """The comparable version of a stable release, None for a pre-release (or a version that does not parse)."""
    try:
        if kind == "pypi":
            ver = Version(v)
            return None if ver.is_prerelease else ver
        if kind in ("npm", "cargo", "go"):
            core = v[1:] if kind == "go" and v.startswith("v") else v
            core = core.split("+", 1)[0]
            return None if "-" in core else Version(core)
        if kind == "maven":
            m = re.fullmatch(r"(\d+(?:\.\d+)*)(?:[.-](?:Final|RELEASE|GA))?", v)
            return Version(m.group(1)) if m else None
        if kind == "apt":
            up = debian_upstream(v)
            return None if "~" in up else Version(up)
    except InvalidVersion:
        return None
    return None


def same_version(kind: str, pinned: str, served: str) -> bool:
    a = stable(kind, pinned) or _loose(pinned)
    b = stable(kind, served) or _loose(served)
    return a == b if a is not None and b is not None else pinned == served


def _loose(v: str) -> Version | None:
    v = release_of(v)  # a matrix version of a code path of a release ("3.4.2-obstore") pins the release
    try:
        return Version(debian_upstream(v) if re.search(r"[:+]|-\d", v) else v.lstrip("v"))
    except InvalidVersion:
        return None


def newest_of(kind: str, versions) -> str | None:
    best = None
    for v in versions:
        s = stable(kind, v)
        if s is not None and (best is None or s > best[0]):
            best = (s, v)
    return best[1] if best else None


# --- answers -------------------------------------------------------------------------------------

@dataclass
class Answer:
    """What a registry said about one package."""

    kind: str
    package: str
    url: str = ""
    served: bool = True
    versions: list[str] = field(default_factory=list)  # releases served (yanked and deprecated left out)
    newest: str | None = None  # the newest stable release
    requires: str | None = None  # what the newest needs, where the registry says (python >=3.12, node >=18...)
    status: int | None = None  # HTTP status of a "not served" answer
    text: str | None = None  # the registry's exact answer when it serves nothing
    source: str | None = None  # apt: the distribution that answered
    error: str | None = None  # why the registry could not be asked
    asked: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.package}"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, kind: str, package: str, raw: dict) -> "Answer":
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw and k not in ("kind", "package")}
        a = cls(kind=kind, package=package, **known)
        if a.newest is None and a.served and a.versions and not a.error:
            a.newest = newest_of(kind, a.versions)
        return a


def _session(settings: Settings):
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    retry = Retry(total=settings.retries, connect=settings.retries, read=settings.retries,
                  status=settings.retries, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=frozenset({"GET"}), raise_on_status=False, respect_retry_after_header=True)
    s.mount("http://", HTTPAdapter(max_retries=retry))
    s.mount("https://", HTTPAdapter(max_retries=retry))
    return s


def _get(session, url: str, settings: Settings, headers=None):
    """The response, for 200 and the "not served" statuses; RegistryError otherwise."""
    import requests

    try:
        resp = session.get(url, timeout=(min(10.0, settings.timeout), settings.timeout), headers=headers)
    except requests.exceptions.RetryError as exc:
        raise RegistryError(f"GET {url}: still failing after {settings.retries} retries ({_why(exc)})") from None
    except requests.exceptions.Timeout:
        raise RegistryError(f"GET {url}: no answer within {settings.timeout:g} s") from None
    except requests.exceptions.ConnectionError as exc:
        raise RegistryError(f"GET {url}: cannot connect ({_why(exc)})") from None
    except requests.exceptions.RequestException as exc:
        raise RegistryError(f"GET {url}: {_why(exc)}") from None
    if resp.status_code == 200 or resp.status_code in NOT_SERVED:
        return resp
    retried = f" (after {settings.retries} retries)" if settings.retries and resp.status_code in (429, 500, 502, 503, 504) else ""
    raise RegistryError(f"GET {url}: HTTP {resp.status_code} {resp.reason}{retried}: {resp.text.strip()[:200]}")


def _why(exc) -> str:
    """The innermost reason of a requests/urllib3 error, e.g. 'Connection refused'."""
    text = str(exc)
    for pat in (r"\[Errno -?\d+\] ([^'\")]+)", r"(Name or service not known|Temporary failure in name resolution)",
                r"(Connection refused|timed out|Connection reset by peer)"):
        m = re.search(pat, text)
        if m:
            return m.group(1).strip()
    return text[:200]


def _not_served(a: Answer, resp) -> Answer:
    a.served, a.status = False, resp.status_code
    body = resp.text.strip()
    a.text = f"{resp.status_code} {resp.reason}" + (f": {body[:300]}" if body else "")
    return a


def _json(resp, url):
    try:
        return resp.json()
    except ValueError:
        raise RegistryError(f"GET {url}: the answer is not JSON: {resp.text.strip()[:120]!r}") from None


def ask_pypi(session, ref: PackageRef, settings: Settings) -> Answer:
    url = f"{base_url('pypi')}/{quote(ref.package)}/json"
    a = Answer(ref.kind, ref.package, url=url)
    resp = _get(session, url, settings)
    if resp.status_code != 200:
        return _not_served(a, resp)
    doc = _json(resp, url)
    releases = doc.get("releases") or {}
    # A release all of whose files are yanked (or that has no file) cannot be installed by pip.
    a.versions = [v for v, files in releases.items() if files and not all(f.get("yanked") for f in files)]
    a.newest = newest_of("pypi", a.versions)
    if a.newest:
        needs = {f.get("requires_python") for f in releases.get(a.newest, []) if f.get("requires_python")}
        info = doc.get("info") or {}
        if not needs and info.get("version") == a.newest and info.get("requires_python"):
            needs = {info["requires_python"]}
        a.requires = f"python {sorted(needs)[0]}" if needs else None
    return a


def ask_npm(session, ref: PackageRef, settings: Settings) -> Answer:
    url = f"{base_url('npm')}/{ref.package.replace('/', '%2f')}"
    a = Answer(ref.kind, ref.package, url=url)
    resp = _get(session, url, settings, headers={"Accept": "application/vnd.npm.install-v1+json; q=1.0, "
                                                           "application/json; q=0.8"})
    if resp.status_code != 200:
        return _not_served(a, resp)
    versions = _json(resp, url).get("versions") or {}
    a.versions = [v for v, meta in versions.items() if not (meta or {}).get("deprecated")]
    a.newest = newest_of("npm", a.versions)
    if a.newest:
        node = ((versions[a.newest] or {}).get("engines") or {}).get("node")
        a.requires = f"node {node}" if node else None
    return a


def crate_index_path(name: str) -> str:
    n = name.lower()
    if len(n) <= 2:
        return f"{len(n)}/{n}"
    if len(n) == 3:
        return f"3/{n[0]}/{n}"
    return f"{n[:2]}/{n[2:4]}/{n}"


def ask_cargo(session, ref: PackageRef, settings: Settings) -> Answer:
    url = f"{base_url('cargo')}/{crate_index_path(ref.package)}"
    a = Answer(ref.kind, ref.package, url=url)
    resp = _get(session, url, settings)
    if resp.status_code != 200:
        return _not_served(a, resp)
    entries = []
    for line in resp.text.splitlines():
        if line.strip():
            try:
                entries.append(json.loads(line))
            except ValueError:
                raise RegistryError(f"GET {url}: an index line is not JSON: {line[:120]!r}") from None
    live = {e["vers"]: e for e in entries if not e.get("yanked")}
    a.versions = list(live)
    a.newest = newest_of("cargo", a.versions)
    if a.newest and live[a.newest].get("rust_version"):
        a.requires = f"rust >={live[a.newest]['rust_version']}"
    return a


def ask_maven(session, ref: PackageRef, settings: Settings) -> Answer:
    group, artifact = ref.package.split(":", 1)
    url = f"{base_url('maven')}/{group.replace('.', '/')}/{artifact}/maven-metadata.xml"
    a = Answer(ref.kind, ref.package, url=url)
    resp = _get(session, url, settings)
    if resp.status_code != 200:
        return _not_served(a, resp)
    try:
        root = ET.fromstring(resp.content)
    except ET.ParseError as exc:
        raise RegistryError(f"GET {url}: the metadata is not XML ({exc})") from None
    a.versions = [v.text.strip() for v in root.findall("./versioning/versions/version") if v.text]
    a.newest = newest_of("maven", a.versions)
    return a


def go_escape(path: str) -> str:
    """The module proxy's case encoding: every upper-case letter becomes '!' and its lower case."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def ask_go(session, ref: PackageRef, settings: Settings) -> Answer:
    base = f"{base_url('go')}/{go_escape(ref.package)}"
    url = f"{base}/@v/list"
    a = Answer(ref.kind, ref.package, url=url)
    resp = _get(session, url, settings)
    if resp.status_code != 200:
        return _not_served(a, resp)
    a.versions = [v.strip() for v in resp.text.splitlines() if v.strip()]
    a.newest = newest_of("go", a.versions)
    if not a.newest:  # no tagged release: @latest names the newest pseudo-version, if any
        latest = _get(session, f"{base}/@latest", settings)
        if latest.status_code != 200:
            return _not_served(a, latest)
        a.text = f"no tagged release; @latest is {_json(latest, base + '/@latest').get('Version')}"
        return a
    mod = _get(session, f"{base}/@v/{a.newest}.mod", settings)
    m = re.search(r"^go\s+(\S+)", mod.text, re.M) if mod.status_code == 200 else None
    a.requires = f"go >={m.group(1)}" if m else None
    return a


def _os_release(path: Path) -> dict[str, str]:
    out = {}
    try:
        for line in path.read_text().splitlines():
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip().strip('"')
    except OSError:
        pass
    return out


def ask_apt(session, ref: PackageRef, settings: Settings) -> Answer:
    """Debian's version: the candidate `apt-cache policy` names, i.e. what `apt install` gives here."""
    a = Answer(ref.kind, ref.package, url=f"apt-cache policy {ref.package}")
    exe = shutil.which(settings.apt_cache)
    if not exe:
        raise RegistryError("apt-cache is not installed here: Debian's packages are asked through apt")
    osr = _os_release(settings.os_release)
    if osr.get("ID") != "debian":
        raise RegistryError(f"apt here answers for {osr.get('PRETTY_NAME') or 'an unknown system'}, not Debian "
                            f"(run on Debian, as the weekly workflow does in a Debian container)")
    a.source = osr.get("PRETTY_NAME")
    if not any(settings.apt_lists.glob("*_Packages*")):
        raise RegistryError("apt has no package lists yet: run with --apt-update (apt-get update)")
    try:
        proc = subprocess.run([exe, "policy", ref.package], capture_output=True, text=True, timeout=settings.timeout,
                              env={**os.environ, "LC_ALL": "C"})
    except subprocess.TimeoutExpired:
        raise RegistryError(f"apt-cache policy {ref.package}: no answer within {settings.timeout:g} s") from None
    if proc.returncode != 0:
        raise RegistryError(f"apt-cache policy {ref.package} failed: {proc.stderr.strip()[:200]}")
    return parse_apt_policy(a, proc.stdout, proc.stderr)


def parse_apt_policy(a: Answer, stdout: str, stderr: str = "") -> Answer:
    m = re.search(r"^\s*Candidate:\s*(\S+)", stdout, re.M)
    if not m or m.group(1) == "(none)":
        a.served = False
        a.text = (stdout.strip() or stderr.strip() or f"apt knows no package {a.package}")[:300]
        return a
    a.newest = m.group(1)
    a.versions = re.findall(r"^\s+(?:\*\*\*)?\s*(\S+) -?\d+$", stdout, re.M) or [a.newest]
    return a


CLIENTS = {"pypi": ask_pypi, "npm": ask_npm, "cargo": ask_cargo, "maven": ask_maven, "go": ask_go, "apt": ask_apt}


def apt_update(settings: Settings) -> str | None:
    """apt-get update, only when asked; the reason it failed, or None."""
    if not shutil.which("apt-get"):
        return "apt-get is not installed here"
    try:
        proc = subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "apt-get update took more than 300 s"
    return None if proc.returncode == 0 else f"apt-get update failed: {proc.stderr.strip()[-300:]}"


def ask_all(refs: list[PackageRef], settings: Settings, progress=None) -> dict[str, Answer]:
    """Every package once, in parallel; an error is an answer with `error` set."""
    unique = {r.key: r for r in refs}
    answers: dict[str, Answer] = {}
    apt_failed = None
    if settings.apt_update and any(r.kind == "apt" for r in unique.values()):
        apt_failed = apt_update(settings)
    session = _session(settings)

    def one(ref: PackageRef) -> Answer:
        asked = now()
        try:
            if ref.kind == "apt" and apt_failed:
                raise RegistryError(apt_failed)
            a = CLIENTS[ref.kind](session, ref, settings)
        except RegistryError as exc:
            a = Answer(ref.kind, ref.package, error=str(exc))
        a.asked = asked
        return a

    with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        futures = [pool.submit(one, r) for r in unique.values()]
        for fut in as_completed(futures):
            a = fut.result()
            answers[a.key] = a
            if progress:
                progress(a)
    return answers


def load_offline(path: str | Path) -> dict[str, dict]:
    """Recorded answers: a `versions --json` output (its "answers"), or a mapping "kind:package" -> answer."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the offline answers: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: the offline answers are not JSON: {exc}") from None
    raw = raw.get("answers", raw) if isinstance(raw, dict) else raw
    if not isinstance(raw, dict) or not all(isinstance(v, dict) and ":" in k for k, v in raw.items()):
        raise ConfigError(f'{path}: expected a mapping "kind:package" -> answer (e.g. '
                          '{"pypi:zarr": {"versions": ["3.4.2"]}}), or the output of versions --json')
    return raw


def offline_answers(refs: list[PackageRef], recorded: dict[str, dict], path) -> dict[str, Answer]:
    out = {}
    for r in refs:
        if r.key in recorded:
            out[r.key] = Answer.from_json(r.kind, r.package, recorded[r.key])
        else:
            out[r.key] = Answer(r.kind, r.package, error=f"no answer for {r.key} in {path}", asked=now())
    return out


# --- pins ----------------------------------------------------------------------------------------

def _build_dir(iv: ImplVersion) -> Path | None:
    build = iv.build
    return ROOT / build.dir if build else None


def locked_versions(name: str, impl: Implementation, version: str, ref: PackageRef) -> list[str]:
    """The versions of a package that an implementation version's lock file pins (empty: not found)."""
    spec = impl.versions[version]
    iv = ImplVersion(name, version, impl, spec)
    if ref.kind == "pypi" and iv.adapter == "python":
        lock = LOCKS / f"{name}-{spec.base or version}.txt"
        want = canonicalize_name(ref.package)
        try:
            text = lock.read_text()
        except OSError:
            return []
        return [m.group(2) for m in re.finditer(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.M)
                if canonicalize_name(m.group(1)) == want]
    d = _build_dir(iv)
    if d is None:
        return []
    try:
        if ref.kind == "npm":
            lock = json.loads((d / "package-lock.json").read_text())
            v = (lock.get("packages", {}).get(f"node_modules/{ref.package}") or {}).get("version")
            return [v] if v else []
        if ref.kind == "cargo":
            lock = tomllib.loads((d / "Cargo.lock").read_text())
            return [p["version"] for p in lock.get("package", []) if p.get("name") == ref.package]
        if ref.kind == "maven":
            return _pom_versions(d / "pom.xml", *ref.package.split(":", 1))
    except (OSError, ValueError, tomllib.TOMLDecodeError, ET.ParseError):
        return []
    return []


def _pom_versions(pom: Path, group: str, artifact: str) -> list[str]:
    root = ET.parse(pom).getroot()
    ns = {"m": root.tag[1:].split("}")[0]} if root.tag.startswith("{") else {}
    p = "m:" if ns else ""
    props = {el.tag.split("}")[-1]: (el.text or "").strip() for el in root.findall(f"{p}properties/*", ns)}
    out = []
    for dep in root.iter(f"{{{ns['m']}}}dependency" if ns else "dependency"):
        g, a, v = (dep.findtext(f"{p}{k}", default="", namespaces=ns).strip() for k in ("groupId", "artifactId", "version"))
        if g == group and a == artifact and v:
            out.append(re.sub(r"\$\{([^}]+)\}", lambda m: props.get(m.group(1), m.group(0)), v))
    return out


@dataclass
class Row:
    """One package of one implementation: its pins beside the registry's answer, and the verdict."""

    implementation: str
    role: str  # library | component | candidate
    ref: PackageRef
    pins: dict[str, list[str]]  # pinned version -> the matrix versions that pin it
    answer: Answer | None = None
    status: str = ""  # current | lags | held | not-served | unpinned | ahead | no-release | unavailable | served-now | error
    note: str = ""

    def to_json(self) -> dict:
        return {"implementation": self.implementation, "role": self.role, "kind": self.ref.kind,
                "package": self.ref.package, "pinned": list(self.pins), "pinned_by": self.pins,
                "newest": self.answer.newest if self.answer else None,
                "requires": self.answer.requires if self.answer else None,
                "status": self.status, "note": self.note}


GATING = {"lags", "not-served", "unpinned"}  # exit 1


def plan_rows(matrix: Matrix, names: list[str] | None = None) -> list[Row]:
    if names:
        for n in names:
            if n not in matrix.implementations:
                raise ConfigError(f"unknown implementation {n!r}" + did_you_mean(n, matrix.implementations))
    rows: list[Row] = []
    for name, impl in matrix.implementations.items():
        if names and name not in names:
            continue
        lib = impl.library_package()
        released = [v for v, s in impl.versions.items() if not s.source]
        if lib is None:
            rows.append(Row(name, "library", PackageRef(kind="pypi", package="undeclared"), {},
                            status="undeclared", note="no registry in matrix.yaml (registry: {kind, package})"))
            continue
        groups: dict[str, tuple[PackageRef, dict[str, list[str]]]] = {}
        for v in released:
            ref = impl.versions[v].registry or lib
            # A version of its own registry names the library's version, and the package there may be
            # another's that bundles it (libgdal in rasterio's wheel): its pin is what the lock file pins.
            locked = locked_versions(name, impl, v, ref) if impl.versions[v].registry and ref.kind == "pypi" else []
            groups.setdefault(ref.key, (ref, {}))[1].setdefault(locked[0] if locked else v, []).append(v)
        groups.setdefault(lib.key, (lib, {}))
        role = "candidate" if impl.unavailable else "library"
        for ref, pins in groups.values():
            rows.append(Row(name, role, ref, pins))
        own = [v for v in released if impl.versions[v].registry is None]
        for comp in (impl.registry.components if impl.registry else []):
            pins: dict[str, list[str]] = {}
            for v in own:
                for locked in locked_versions(name, impl, v, comp):
                    pins.setdefault(locked, []).append(v)
            rows.append(Row(name, "candidate" if impl.unavailable else "component", comp, pins))
        for other in (impl.registry.also if impl.registry else []):
            rows.append(Row(name, "candidate", other, {}))
    return rows


def lock_disagreements(matrix: Matrix, rows: list[Row]) -> list[str]:
    """Library versions whose lock file pins another version than the matrix names."""
    out = []
    for row in rows:
        if row.role != "library":
            continue
        impl = matrix.implementations[row.implementation]
        for pin, pinned_by in row.pins.items():
            for v in pinned_by:
                locked = locked_versions(row.implementation, impl, v, row.ref)
                if locked and not any(same_version(row.ref.kind, pin, lk) for lk in locked):
                    out.append(f"{row.implementation}@{v}: the lock pins {row.ref.package} {', '.join(locked)}")
    return out


def judge(row: Row, answer: Answer) -> Row:
    row.answer = answer
    kind, newest = row.ref.kind, answer.newest
    if answer.error:
        row.status, row.note = "error", f"could not ask: {answer.error}"
        return row
    if row.role == "candidate":
        if not answer.served:
            row.status, row.note = "unavailable", f"still not served: {answer.text} (asked {answer.asked})"
        elif newest:
            row.status, row.note = "served-now", f"served now: newest {newest} (asked {answer.asked}); re-check it"
        else:
            row.status, row.note = "unavailable", f"served, no stable release: {answer.text or 'none'} (asked {answer.asked})"
        return row
    if not answer.served:
        row.status, row.note = "not-served", f"the registry does not serve it: {answer.text}"
        return row
    if not row.pins:
        row.status, row.note = "unpinned", "not found in the adapter's lock files"
        return row
    if not newest:
        row.status, row.note = "no-release", "the registry serves no stable release"
        return row
    if any(same_version(kind, p, newest) for p in row.pins):
        kept = [p for p in row.pins if not same_version(kind, p, newest)]
        row.status, row.note = "current", (f"older kept: {', '.join(kept)}" if kept else "")
        return row
    pinned = [stable(kind, p) or _loose(p) for p in row.pins]
    top = stable(kind, newest) or _loose(newest)
    if top is not None and pinned and all(p is not None and p > top for p in pinned):
        row.status, row.note = "ahead", f"pinned {', '.join(row.pins)} is newer than the newest stable release served"
        return row
    if row.role == "component" and row.ref.held:  # what the library's users get too: not a lag of ours
        row.status, row.note = "held", f"newest {newest} held back: {row.ref.held}"
        return row
    where = "in the matrix" if row.role == "library" else "pinned by any lock file"
    row.status, row.note = "lags", f"newest {newest} is not {where}"
    return row


def exit_status(rows: list[Row]) -> int:
    if any(r.status == "error" for r in rows):
        return 2
    return 1 if any(r.status in GATING for r in rows) else 0


# --- the command ---------------------------------------------------------------------------------

STYLE = {"current": "green", "lags": "bold red", "not-served": "bold red", "unpinned": "bold red", "error": "bold magenta",
         "ahead": "yellow", "no-release": "yellow", "unavailable": "dim", "served-now": "bold yellow",
         "undeclared": "yellow", "held": "yellow"}
MARK = {"current": "ok", "lags": "LAGS", "not-served": "NOT SERVED", "unpinned": "UNPINNED", "error": "ERROR",
        "ahead": "ahead", "no-release": "no release", "unavailable": "unavailable", "served-now": "SERVED NOW",
        "undeclared": "undeclared", "held": "held"}


def versions_command(matrix_path=None, names=None, as_json=False, offline=None, settings: Settings | None = None,
                     out=None) -> int:
    from rich.console import Console

    from .matrix import DEFAULT_MATRIX, load_matrix

    settings = settings or Settings()
    matrix = load_matrix(matrix_path)
    rows = plan_rows(matrix, names)
    refs = [r.ref for r in rows if r.status != "undeclared"]
    err = Console(stderr=True, highlight=False)
    if offline:
        answers = offline_answers(refs, load_offline(offline), offline)
    else:
        answers = _ask_with_progress(refs, settings, err)
    for r in rows:
        if r.status != "undeclared":
            judge(r, answers[r.ref.key])
    code = exit_status(rows)
    warnings = lock_disagreements(matrix, rows)
    if as_json:
        doc = {"asked": now(), "matrix": str(matrix_path or DEFAULT_MATRIX.name), "exit": code,
               "offline": str(offline) if offline else None, "rows": [r.to_json() for r in rows],
               "warnings": warnings, "answers": {k: a.to_json() for k, a in sorted(answers.items())}}
        text = json.dumps(doc, indent=1)
        (out.write(text + "\n") if out else print(text))
        return code
    target = out or sys.stdout
    console = Console(file=target, highlight=False, width=None if target.isatty() else 160)
    _print_table(console, rows, warnings, code, offline)
    return code


def _ask_with_progress(refs, settings, err) -> dict[str, Answer]:
    if not err.is_terminal:
        return ask_all(refs, settings)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("asking the registries"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  console=err, transient=True) as bar:
        task = bar.add_task("", total=len({r.key for r in refs}))
        return ask_all(refs, settings, progress=lambda a: bar.update(task, advance=1, description=a.key))


def _print_table(console, rows: list[Row], warnings: list[str], code: int, offline) -> None:
    from rich.table import Table

    table = Table(show_lines=False, pad_edge=False, box=None, header_style="bold")
    for col in ("implementation", "package", "pinned", "newest", "newest needs", "status"):
        table.add_column(col)
    for r in rows:
        a = r.answer
        pinned = ", ".join(r.pins) or "-"
        newest = (a.newest if a and a.newest else ("-" if not a or a.served else "not served")) if r.status != "error" else "?"
        style = STYLE.get(r.status, "")
        label = "" if r.role == "library" else f" ({r.role})"
        table.add_row(r.implementation + label, f"{r.ref.kind}:{r.ref.package}", pinned, newest,
                      (a.requires or "") if a else "", f"[{style}]{MARK.get(r.status, r.status)}[/]")
    console.print(table)
    notes = [r for r in rows if r.note]
    if notes:
        console.print()
    for r in notes:
        console.print(f"[{STYLE.get(r.status, '')}]{MARK.get(r.status, r.status)}[/] {r.implementation}: "
                      f"{r.ref.kind}:{r.ref.package}: {r.note}")
    for w in warnings:
        console.print(f"[yellow]note[/] {w}")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {MARK.get(s, s).lower()}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    verdict = {0: "nothing lags", 1: "something lags", 2: "a registry could not be asked"}[code]
    source = f" (recorded answers: {offline})" if offline else ""
    console.print(f"\n{len(rows)} packages: {summary}: {verdict}{source}")
