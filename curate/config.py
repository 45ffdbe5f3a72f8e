"""YAML -> typed ``PipelineSpec``. Every error names the YAML line and, for names, the nearest valid one.

A pipeline file::

    name: web                      # names the run
    source: web                    # the `source` column of every document
    input:
      reader: warc_v1              # a registered reader
      paths: [samples/web/*.warc.gz]   # files or globs, relative to the working directory
    steps:                         # registered steps, in order; `- name` or `- name: {param: value}`
      - html_extract_v1
      - lang_fasttext_v1: {min_score: 0.65}
    output: runs/web               # the run directory
    executor: {type: local, tasks: 2, workers: 2}
    mode: filter                   # or tag: every filter step keeps all documents and records its decision

A step's own ``mode`` (``- gopher_quality_v1: {mode: tag}``) wins over the pipeline's; ``curate run --tag-only``
puts every filter step in tag mode (see ``curate.steps.base``).

Everything is validated before any work: unknown keys and step names (with a suggestion), wrong types, input globs
that match nothing.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from curate.errors import ConfigError
from curate.registry import all_steps, nearest


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Strict):
    reader: str = Field(description="registered reader step, e.g. warc_v1, jsonl_v1, parquet_v1")
    paths: list[str] = Field(description="input files or globs, relative to the working directory")
    params: dict[str, Any] = Field(default_factory=dict, description="the reader's parameters")


class ExecutorSpec(_Strict):
    type: Literal["local", "slurm", "ray"] = Field("local", description="datatrove executor that runs the stages")
    tasks: int = Field(1, ge=1, description="number of tasks (input files are sharded over tasks)")
    workers: int = Field(-1, description="tasks run at once (local, ray); -1 = all")
    # slurm
    partition: str | None = Field(None, description="slurm: partition to submit to")
    time: str = Field("12:00:00", description="slurm: time limit per job")
    cpus_per_task: int = Field(1, ge=1, description="slurm/ray: CPUs per task")
    mem_per_cpu_gb: float = Field(2, gt=0, description="slurm/ray: memory per CPU in GB")
    sbatch_args: dict[str, Any] = Field(default_factory=dict, description="slurm: extra #SBATCH options")
    venv_path: str | None = Field(None, description="slurm: virtualenv activated in each job")
    # ray
    address: str | None = Field(None, description="ray: cluster address; none = start a local Ray")


Mode = Literal["filter", "tag"]
MODES = ("filter", "tag")


class StepSpec(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    line: int | None = None
    mode: Mode | None = None  # as written on the step (None: the pipeline's); resolved by load_pipeline


class PipelineSpec(_Strict):
    name: str = Field(description="name of the pipeline (and of its run)")
    source: str = Field(description="value of the `source` column: web, books, code, ...")
    description: str = Field("", description="free text")
    input: InputSpec
    steps: list[StepSpec] = Field(default_factory=list)
    output: str = Field(description="the run directory")
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    mode: Mode = Field(
        "filter",
        description="filter: steps drop documents; tag: every filter step keeps them and writes its decision to "
        "<prefix>__reason (null = keep), so thresholds are chosen later with SQL. A step's own `mode` wins.",
    )
    config_path: str | None = None
    _files: list[str] | None = PrivateAttr(None)  # input files, globbed once (see input_files)

    def resolved(self) -> dict:
        """The config as it will run (for run.json): every step with all its parameters, defaults included."""
        from curate.registry import get_step

        data = self.model_dump(exclude={"config_path"} | ({"mode"} if self.mode == "filter" else set()))
        data["steps"] = []
        for s in self.steps:
            params = get_step(s.name).Params(**s.params).model_dump(mode="json")
            data["steps"].append({s.name: params | {"mode": "tag"} if s.mode == "tag" else params})
        reader = get_step(self.input.reader)
        data["input"]["params"] = reader.Params(**self.input.params).model_dump(mode="json")
        return data


# -- YAML with line numbers -----------------------------------------------------------------------------------------
def _construct(node, path: tuple, lines: dict) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for k, v in node.value:
            key = k.value
            if key in out:
                raise ConfigError(f"duplicate key {key!r}", f"line {k.start_mark.line + 1}")
            lines[path + (key,)] = k.start_mark.line + 1
            out[key] = _construct(v, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(v, path + (i,), lines) for i, v in enumerate(node.value)]
    return yaml.SafeLoader("").construct_object(node, deep=True)


def load_yaml(text: str, where: str) -> tuple[dict, dict]:
    """Parse YAML keeping the line of every key and item: returns (data, {path tuple: line})."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        loc = f"{where}:{mark.line + 1}" if mark else where
        raise ConfigError(f"invalid YAML: {getattr(e, 'problem', e)}", loc) from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise ConfigError("a pipeline must be a YAML mapping (name, source, input, steps, output, executor)", where)
    lines: dict = {}
    return _construct(node, (), lines), lines


def _line(lines: dict, path: tuple) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def _fields_of(model: type[BaseModel], loc: tuple) -> list[str]:
    """Valid field names at ``loc`` inside ``model`` (for 'did you mean')."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        ann = getattr(field, "annotation", None)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            break
    return list(model.model_fields)


def _explain(e: ValidationError, model: type[BaseModel], prefix: tuple, lines: dict, where: str) -> ConfigError:
    """Every validation error, one a line, each with its YAML line: fixing the first alone may not be the fix."""
    found = [_one_error(err, model, prefix, lines, where) for err in e.errors()]
    (loc, first), rest = found[0], found[1:]
    return ConfigError("\n".join([first, *(f"{at}: {msg}" for at, msg in rest)]), loc)


def _one_error(err: dict, model: type[BaseModel], prefix: tuple, lines: dict, where: str) -> tuple[str, str]:
    """(file:line, "dotted.key: message") of one pydantic error."""
    loc = tuple(err["loc"])
    dotted = ".".join(str(p) for p in prefix + loc) or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = f"unknown key {loc[-1]!r}{nearest(str(loc[-1]), _fields_of(model, loc[:-1]))}"
    elif "input" in err and err["type"] != "missing":
        msg += f", got {err['input']!r}"
    line = _line(lines, prefix + loc)
    return (f"{where}:{line}" if line else where), f"{dotted}: {msg}"


# -- --set key=value --------------------------------------------------------------------------------------------------
def apply_set(data: dict, assignment: str) -> None:
    """``executor.tasks=4``, ``steps.lang_fasttext_v1.min_score=0.7``, ``steps.1.min_score=0.7`` or
    ``steps.c4_quality_v1={filter_lines: false}``. Values are YAML scalars or flow collections."""
    if "=" not in assignment:
        raise ConfigError(f"--set needs key=value, got {assignment!r}")
    key, raw = assignment.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw else ""
    except yaml.YAMLError:
        raise ConfigError(f"--set {assignment}: the value is not valid YAML") from None
    parts = key.split(".")
    node: Any = data
    if parts[0] == "steps" and len(parts) >= 2:
        params = _step_params(data.get("steps") or [], parts[1], assignment)
        if len(parts) == 2:
            if not isinstance(value, dict):
                raise ConfigError(f"--set {assignment}: a step's parameters must be a mapping")
            params.clear()
            params.update(value)
            return
        node, parts = params, parts[2:]
    for i, part in enumerate(parts[:-1]):
        node = node.setdefault(part, {}) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ConfigError(f"--set {assignment}: {'.'.join(parts[: i + 1])} is not a mapping")
    node[parts[-1]] = value


def _step_params(steps: list, part: str, assignment: str) -> dict:
    names = [s if isinstance(s, str) else next(iter(s), None) for s in steps]
    idx = int(part) if part.isdigit() else (names.index(part) if part in names else None)
    if idx is None or idx >= len(steps):
        raise ConfigError(f"--set {assignment}: no step {part!r} in this pipeline{nearest(part, names)}")
    if isinstance(steps[idx], str):
        steps[idx] = {steps[idx]: {}}
    name = next(iter(steps[idx]))
    if steps[idx][name] is None:
        steps[idx][name] = {}
    return steps[idx][name]


# -- the entry point ----------------------------------------------------------------------------------------------------
def _parse_steps(raw: Any, lines: dict, where: str) -> list[StepSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError("steps must be a list", f"{where}:{_line(lines, ('steps',))}")
    registry = all_steps()
    specs = []
    for i, item in enumerate(raw):
        loc = f"{where}:{_line(lines, ('steps', i))}"
        if isinstance(item, str):
            name, params = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, params = next(iter(item.items()))
            params = params or {}
        else:
            raise ConfigError(f"steps[{i}]: write a step as `- name` or `- name: {{param: value}}`, got {item!r}", loc)
        if name not in registry:
            raise ConfigError(f"steps[{i}]: unknown step {name!r}{nearest(name, registry)}; see `curate steps`", loc)
        cls = registry[name]
        if getattr(cls, "kind", "filter") == "reader":
            raise ConfigError(f"steps[{i}]: {name} is a reader; put it under input.reader", loc)
        if not isinstance(params, dict):
            raise ConfigError(f"steps[{i}].{name}: parameters must be a mapping, got {params!r}", loc)
        params = dict(params)
        mode_loc = f"{where}:{_line(lines, ('steps', i, name, 'mode'))}"
        mode = _step_mode(cls, params.pop("mode", None), f"steps[{i}].{name}", mode_loc)
        try:
            cls.Params(**params)
        except ValidationError as e:
            raise _explain(e, cls.Params, ("steps", i, name), lines, where) from None
        specs.append(StepSpec(name=name, params=params, line=_line(lines, ("steps", i)), mode=mode))
    return specs


def _step_mode(cls, mode: Any, dotted: str, loc: str) -> str | None:
    """A step's own ``mode:`` key, checked: filter | tag, and tag only for a step that can tag."""
    if mode is None:
        return None
    if mode not in MODES:
        raise ConfigError(f"{dotted}.mode: must be 'filter' or 'tag', got {mode!r}", loc)
    if mode == "tag" and not cls.taggable():
        why = "it drops nothing (it runs as usual in tag mode)" if not cls.reasons else (
            "a document it drops has no text to keep (it filters in tag mode too)")
        raise ConfigError(f"{dotted}.mode: {cls.name} cannot tag: {why}", loc)
    return mode


def resolve_modes(spec: PipelineSpec, tag_only: bool = False) -> None:
    """Each step's mode: --tag-only puts every step that can tag in tag mode; else its own, else the pipeline's."""
    from curate.registry import get_step

    if tag_only:
        spec.mode = "tag"
    for s in spec.steps:
        if not get_step(s.name).taggable():
            s.mode = "filter"
        elif tag_only or s.mode is None:
            s.mode = spec.mode


def expand_inputs(patterns: list[str], keep_dirs: bool = False) -> list[str]:
    """Files matched by ``patterns`` (globs, ** allowed), sorted, deduplicated; directories are walked, unless
    ``keep_dirs`` (a reader whose unit is a directory, e.g. a code repository, sets ``takes_directories``)."""
    files: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(os.path.expanduser(pattern), recursive=True)) or []
        for m in matches:
            if os.path.isdir(m) and not keep_dirs:
                files.extend(sorted(str(p) for p in Path(m).rglob("*") if p.is_file()))
            else:
                files.append(m)
    return list(dict.fromkeys(os.path.abspath(f) for f in files))


def load_pipeline(
    path: str | Path,
    inputs: list[str] | None = None,
    output: str | None = None,
    sets: list[str] | None = None,
    check_inputs: bool = True,
    tag_only: bool = False,
) -> PipelineSpec:
    """Read, override (-i, -o, --set, --tag-only) and validate a pipeline YAML. Raises ConfigError naming the line."""
    where = str(path)
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"cannot read pipeline: {e.strerror}", where) from None
    data, lines = load_yaml(text, where)
    for assignment in sets or []:
        apply_set(data, assignment)
    if inputs:
        data.setdefault("input", {})["paths"] = list(inputs)
    if output:
        data["output"] = output
    steps = _parse_steps(data.pop("steps", None), lines, where)
    try:
        spec = PipelineSpec(**data, config_path=where)
    except ValidationError as e:
        raise _explain(e, PipelineSpec, (), lines, where) from None
    spec.steps = steps
    resolve_modes(spec, tag_only)
    registry = all_steps()
    reader_line = f"{where}:{_line(lines, ('input', 'reader'))}"
    reader = registry.get(spec.input.reader)
    if reader is None or getattr(reader, "kind", None) != "reader":
        readers = [n for n, c in registry.items() if getattr(c, "kind", None) == "reader"]
        hint = nearest(spec.input.reader, readers) or f" (readers: {', '.join(readers)})"
        raise ConfigError(f"input.reader: unknown reader {spec.input.reader!r}{hint}", reader_line)
    try:
        reader.Params(**spec.input.params)
    except ValidationError as e:
        raise _explain(e, reader.Params, ("input", "params"), lines, where) from None
    if check_inputs and not input_files(spec):
        loc = "-i" if inputs else f"{where}:{_line(lines, ('input', 'paths'))}"
        raise ConfigError(f"input.paths: no file matches {spec.input.paths}", loc)
    if check_inputs:  # JSON Lines given to a Parquet pipeline (-i docs.jsonl) get jsonl_v1, unless --set chose
        from curate.formats import match_reader

        match_reader(spec, forced=any(a.split("=", 1)[0].strip() == "input.reader" for a in sets or []))
    return spec


def input_files(spec: PipelineSpec) -> list[str]:
    """The inputs of ``spec`` as its reader takes them (files, or directories for directory readers), globbed once
    per spec: the check, the schema and the stages all see the same list, and a big glob is walked once."""
    from curate.registry import get_step

    if spec._files is None:
        takes_dirs = getattr(get_step(spec.input.reader), "takes_directories", False)
        spec._files = expand_inputs(spec.input.paths, takes_dirs)
    return spec._files
