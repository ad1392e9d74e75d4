"""JSON Schemas for topic messages: generated from the models, checked with jsonschema."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from .models import MODELS, json_schema

REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def schema_text(name: str) -> str:
    return json.dumps(json_schema(name), indent=2, sort_keys=True) + "\n"


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in MODELS:
        path = out / f"{name}.schema.json"
        path.write_text(schema_text(name))
        paths.append(path)
    return paths


def check_schemas(out: Path) -> list[str]:
    """Names whose committed schema file differs from what the models generate."""
    stale = []
    for name in MODELS:
        path = out / f"{name}.schema.json"
        if not path.is_file() or path.read_text() != schema_text(name):
            stale.append(name)
    return stale


@cache
def validator(name: str, directory: Path = REPO_SCHEMAS) -> Draft202012Validator:
    schema = json.loads((directory / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate(name: str, message: Any, directory: Path = REPO_SCHEMAS) -> list[str]:
    """Every violation of schema ``name`` by ``message``, as readable lines."""
    v = validator(name, directory)
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in v.iter_errors(message)]
