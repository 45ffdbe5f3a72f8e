"""Build samples/code/: three small real source repositories.

    python samples/build_code_sample.py

  cpython-json-email/  Lib/json and Lib/email (with email/architecture.rst) from the running Python's standard
                       library, and a LICENSE with the PSF licence text of that same library (its LICENSE.txt).
  cpython-tools/       Lib/venv (shell, fish, csh and PowerShell activate scripts), Lib/wsgiref, Lib/tomllib,
                       Lib/sqlite3, Lib/turtledemo (with turtle.cfg), and idlelib's .def config files, idle.bat and
                       binary icons (GIF/PNG/ICO); LICENSE as above.
  node-debug/          the npm package debug (MIT) as a repository: its sources and LICENSE at the root, its one
                       dependency ms (MIT) vendored under node_modules/, lodash's minified lodash.min.js (MIT) with its
                       licence under vendor/, and a package-lock.json (lockfile v3) naming the exact tarballs - the
                       files a code reader's skip rules (node_modules/, *.min.js, lock files) must catch.

The stdlib copy is taken from whichever Python runs this script (the committed one is CPython 3.11.7); npm packages
are pinned. __pycache__ folders are never copied.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import sys
import sysconfig
from pathlib import Path

import write_notice
from _fetch import DEFAULT_CACHE, npm_package, warn

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "samples" / "code"
COMMITTED_PYTHON = "3.11.7"
NPM = {"debug": "4.3.7", "ms": "2.1.3", "lodash": "4.18.1"}

STDLIB_REPOS = {
    "cpython-json-email": ["json", "email"],
    "cpython-tools": [
        "venv",
        "wsgiref",
        "tomllib",
        "sqlite3",
        "turtledemo",
        "idlelib/Icons",
        "idlelib/config-extensions.def",
        "idlelib/config-highlight.def",
        "idlelib/config-keys.def",
        "idlelib/config-main.def",
        "idlelib/idle.bat",
    ],
}


def copy_tree(src: Path, dst: Path) -> None:
    if src.is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        return
    for f in sorted(src.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            copy_tree(f, dst / f.relative_to(src))


def build_stdlib(out: Path) -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    version = ".".join(map(str, sys.version_info[:3]))
    if version != COMMITTED_PYTHON:
        warn(f"this is Python {version}; the committed sample was built from {COMMITTED_PYTHON}'s stdlib")
    for repo, parts in STDLIB_REPOS.items():
        for part in parts:
            copy_tree(stdlib / part, out / repo / "Lib" / part)
        shutil.copyfile(stdlib / "LICENSE.txt", out / repo / "LICENSE")


def integrity(tgz: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()


def build_node(out: Path, cache: Path) -> None:
    pkgs = {name: npm_package(name, version, cache) for name, version in NPM.items()}
    root = out / "node-debug"
    copy_tree(pkgs["debug"], root)
    copy_tree(pkgs["ms"], root / "node_modules" / "ms")
    copy_tree(pkgs["lodash"] / "lodash.min.js", root / "vendor" / "lodash.min.js")
    copy_tree(pkgs["lodash"] / "LICENSE", root / "vendor" / "LICENSE.lodash")
    manifest = json.loads((pkgs["debug"] / "package.json").read_text("utf-8"))
    ms_tgz = cache / "npm" / f"ms-{NPM['ms']}.tgz"
    lock = {
        "name": manifest["name"],
        "version": manifest["version"],
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {
                "name": manifest["name"],
                "version": manifest["version"],
                "license": manifest["license"],
                "dependencies": manifest["dependencies"],
                "engines": manifest.get("engines", {}),
            },
            "node_modules/ms": {
                "version": NPM["ms"],
                "resolved": f"https://registry.npmjs.org/ms/-/{ms_tgz.name}",
                "integrity": integrity(ms_tgz),
                "license": "MIT",
            },
        },
    }
    (root / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default %(default)s)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="download/unpack folder (default %(default)s)")
    args = ap.parse_args()
    for repo in [*STDLIB_REPOS, "node-debug"]:
        shutil.rmtree(args.out / repo, ignore_errors=True)
    build_stdlib(args.out)
    build_node(args.out, args.cache)
    for repo in sorted(p for p in args.out.iterdir() if p.is_dir()):
        files = [f for f in repo.rglob("*") if f.is_file()]
        print(f"{repo}: {len(files)} files, {sum(f.stat().st_size for f in files):,} bytes")
    if args.out.resolve().is_relative_to(write_notice.SAMPLES):
        print(f"updated {write_notice.update()}")


if __name__ == "__main__":
    main()
