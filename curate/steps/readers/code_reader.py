"""code_repo_v1: one document per source file of local repositories (git work trees or plain directories).

Each input path is a repository root (a directory; a single file is read as a one-file repository). Files are listed
by git where the directory is a git work tree, else by a walk that honours .gitignore (``_code_files``). Every file
that does not become a document is counted under ``skipped_<reason>`` / ``error_<reason>`` with the repository as its
file; the run goes on. Per document: ``repo`` (the root directory's name), ``path`` (relative to it), ``language``
(extension, file name or ``#!`` line), ``license`` (an ``SPDX-License-Identifier`` line in the file, else the
repository's LICENSE/COPYING files, see ``curate.signals.licenses``), ``size`` (bytes) and ``commit`` (git HEAD).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import ClassVar

import pyarrow as pa
from datatrove.data import Document
from pydantic import Field

from curate.registry import register
from curate.signals.code import decode_source, language_of
from curate.signals.licenses import combine, detect_license, is_license_file, spdx_header
from curate.steps.base import Params, Reader, Skip
from curate.steps.readers import _code_files as files


class CodeRepoParams(Params):
    max_file_bytes: int = Field(
        1_000_000,
        gt=0,
        description="Skip larger files unread (The Stack v1, Kocetkov et al. 2022: files over 1 MB were excluded).",
    )
    languages: list[str] = Field(
        default_factory=list,
        description="Languages to keep, as named in curate.signals.code (Python, C, JavaScript ...); empty = every "
        "language recognised by extension, file name or #! line.",
    )


@register
class CodeRepoReader(Reader):
    """Source files of local repositories, with repo, path, language, licence, size and commit."""

    name = "code_repo_v1"
    Params = CodeRepoParams
    takes_directories: ClassVar[bool] = True  # expand_inputs keeps directories: the unit of input is a repository
    signals: ClassVar[dict[str, pa.DataType]] = {
        "repo": pa.string(),
        "path": pa.string(),
        "language": pa.string(),
        "license": pa.string(),
        "size": pa.int64(),
        "commit": pa.string(),
    }
    reasons: ClassVar[dict[str, str]] = {
        "skipped_gitignored": "a path ignored by .gitignore (an ignored directory counts once)",
        "skipped_vendored": "a file under node_modules, vendor, third_party ... (listed by git)",
        "skipped_vendored_dir": "a vendored directory, not walked",
        "skipped_cache_dir": "a .git/.hg/.svn or __pycache__/.mypy_cache ... directory of a plain walk, not walked",
        "skipped_lock_file": "a package manager lock file (package-lock.json, poetry.lock, go.sum ...)",
        "skipped_minified": "a minified file or source map by name (*.min.js, *.min.css, *.map)",
        "skipped_generated": "a generated file by name (*_pb2.py, *.pb.go, *.g.dart, *.generated.*)",
        "skipped_binary": "a binary file: known binary extension, or a NUL byte in the content",
        "skipped_symlink": "a symbolic link (never followed: no loops, no files outside the repository)",
        "skipped_not_regular_file": "a socket, FIFO, device or submodule entry",
        "skipped_empty": "a file of 0 bytes",
        "skipped_too_large": "larger than max_file_bytes (not read)",
        "skipped_unknown_language": "no language from extension, file name or #! line",
        "skipped_language_not_selected": "a language not in `languages`",
        "skipped_empty_repo": "a repository (or directory) with no files at all",
        "error_undecodable": "neither UTF-8 nor UTF-16 with a BOM",
        "error_unreadable": "the file could not be opened or read (permissions, deleted while listed)",
        "error_unreadable_dir": "a directory that could not be listed",
    }

    def read_file(self, path: str) -> Iterator[Document | Skip]:
        if not os.path.isdir(path):
            yield from self._read_single(path)
            return
        root = os.path.abspath(path)
        is_git, commit = files.git_head(root)
        listed, skips = files.list_git(root) if is_git else files.list_walk(root)
        for reason, n in sorted(skips.items()):
            for _ in range(n):
                yield Skip(reason, error=reason == "unreadable_dir")
        if not listed and not skips:
            yield Skip("empty_repo")
            return
        repo_license = self._repo_license(root, listed)
        repo = files.repo_name(root)
        for rel in listed:
            yield self._read_one(root, rel, repo, repo_license, commit)

    def _read_single(self, path: str) -> Iterator[Document | Skip]:
        root, rel = os.path.split(os.path.abspath(path))
        _is_git, commit = files.git_head(root)
        yield self._read_one(root, rel, files.repo_name(root), None, commit)

    def _repo_license(self, root: str, listed: list[str]) -> str | None:
        found = []
        for rel in listed:
            if "/" in rel or not is_license_file(rel):
                continue
            try:
                with open(os.path.join(root, rel), "rb") as f:
                    spdx = detect_license(f.read(64_000).decode("utf-8", errors="replace"))
            except OSError:
                continue  # counted as unreadable when the file itself is read
            if spdx:
                found.append(spdx)
        return combine(found)

    def _read_one(self, root: str, rel: str, repo: str, repo_license: str | None, commit: str | None):
        reason = files.path_reason(rel)
        if reason is not None:
            return Skip(reason)
        full = os.path.join(root, rel)
        try:
            st = os.lstat(full)
        except OSError:
            return Skip("unreadable", error=True)
        if stat.S_ISLNK(st.st_mode):
            return Skip("symlink")
        if not stat.S_ISREG(st.st_mode):
            return Skip("not_regular_file")
        if st.st_size == 0:
            return Skip("empty")
        if st.st_size > self.params.max_file_bytes:
            return Skip("too_large")
        try:
            with self.open(full) as f:
                data = f.read()
        except OSError:
            return Skip("unreadable", error=True)
        text, bad = decode_source(data)
        if text is None:
            return Skip(bad, error=bad == "undecodable")
        language = language_of(rel, text[:200])
        if language is None:
            return Skip("unknown_language")
        if self.params.languages and language not in self.params.languages:
            return Skip("language_not_selected")
        meta = {
            "url": full,
            "repo": repo,
            "path": rel,
            "language": language,
            "size": st.st_size,
            "commit": commit,
            "license": spdx_header(text) or repo_license,
        }
        return Document(text=text, id=f"{repo}/{rel}", metadata=meta)
