"""Fetch pinned packages from the package registries into a cache and unpack them.

The sample builders only read what these helpers unpack. Every source is pinned to a version so that a build is
reproducible; when a pinned Debian version has left the archive (security updates replace old ones) the current
version is used instead and a warning says that the output will differ from the committed sample.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

DEFAULT_CACHE = Path(os.environ.get("CURATE_SAMPLES_CACHE", Path.home() / ".cache" / "curate-samples"))


def warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def _fresh_tmp(root: Path) -> Path:
    """A clean sibling folder to unpack into, renamed to `root` when complete (no half-unpacked cache)."""
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    return tmp


def apt_package(name: str, version: str, cache: Path = DEFAULT_CACHE) -> tuple[Path, str]:
    """`apt-get download name=version` + `dpkg -x`; returns (unpacked root, version actually used)."""
    debs = cache / "deb"
    debs.mkdir(parents=True, exist_ok=True)
    deb = next(iter(sorted(debs.glob(f"{name}_{version.replace(':', '%3a')}_*.deb"))), None)
    if deb is None:
        proc = _run(["apt-get", "download", f"{name}={version}"], debs)
        if proc.returncode != 0:
            warn(
                f"{name}={version} is not in the archive any more; using the current version "
                "(the output will differ from the committed sample)"
            )
            proc = _run(["apt-get", "download", name], debs)
            if proc.returncode != 0:
                sys.exit(f"apt-get download {name} failed (run `apt-get update` first?):\n{proc.stderr}")
        deb = max(debs.glob(f"{name}_*.deb"), key=lambda p: p.stat().st_mtime)
    used = deb.name.split("_")[1].replace("%3a", ":")
    root = cache / "unpacked" / deb.stem
    if not root.exists():
        tmp = _fresh_tmp(root)
        subprocess.run(["dpkg", "-x", str(deb), str(tmp)], check=True)
        tmp.rename(root)
    return root, used


def npm_package(name: str, version: str, cache: Path = DEFAULT_CACHE) -> Path:
    """`npm pack name@version` + untar; returns the unpacked `package/` folder."""
    npm = cache / "npm"
    npm.mkdir(parents=True, exist_ok=True)
    tgz = npm / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if not tgz.exists():
        proc = _run(["npm", "pack", f"{name}@{version}", "--pack-destination", str(npm)], npm)
        if proc.returncode != 0:
            sys.exit(f"npm pack {name}@{version} failed:\n{proc.stderr}")
    root = cache / "unpacked" / tgz.name.removesuffix(".tgz")
    if not root.exists():
        tmp = _fresh_tmp(root)
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        tmp.rename(root)
    return root / "package"


def pypi_sdist(name: str, version: str, cache: Path = DEFAULT_CACHE) -> Path:
    """`pip download --no-deps --no-binary :all: name==version` + unpack; returns the sdist's top folder."""
    pypi = cache / "pypi"
    pypi.mkdir(parents=True, exist_ok=True)
    found = [p for p in pypi.iterdir() if p.name.lower().startswith(f"{name.lower()}-{version}.")]
    if not found:
        proc = _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"{name}=={version}",
                "-d",
                str(pypi),
            ],
            pypi,
        )
        if proc.returncode != 0:
            sys.exit(f"pip download {name}=={version} failed:\n{proc.stderr}")
        found = [p for p in pypi.iterdir() if p.name.lower().startswith(f"{name.lower()}-{version}.")]
    archive = min(found)
    root = cache / "unpacked" / f"{name}-{version}"
    if not root.exists():
        tmp = _fresh_tmp(root)
        if archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        tmp.rename(root)
    tops = [p for p in root.iterdir() if p.is_dir()]
    return tops[0] if len(tops) == 1 else root
