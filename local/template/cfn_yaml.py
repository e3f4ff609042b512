"""CloudFormation YAML: short-form intrinsic tags (``!Ref``, ``!Sub`` ...) as long forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from local.template.errors import TemplateError

__all__ = ["CloudFormationLoader", "load_document", "parse_document"]


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that turns ``!Ref x`` into ``{"Ref": "x"}``, ``!Sub s`` into
    ``{"Fn::Sub": "s"}`` and so on, like the SAM CLI; dates stay text."""


def _construct_intrinsic(
    loader: CloudFormationLoader, tag_suffix: str, node: yaml.Node
) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise TemplateError(f"unsupported node for !{tag_suffix}")
    if tag_suffix in {"Ref", "Condition"}:
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


def _construct_timestamp_as_text(loader: CloudFormationLoader, node: yaml.Node) -> Any:
    # CloudFormation treats dates (e.g. AWSTemplateFormatVersion) as strings.
    assert isinstance(node, yaml.ScalarNode)
    return loader.construct_scalar(node)


CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)
CloudFormationLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp_as_text)


def parse_document(text: str, *, source: str = "template") -> dict[str, Any]:
    """Parse template text (YAML with short tags, or JSON); it needs a ``Resources`` mapping."""
    try:
        document = yaml.load(text, Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source}: not a valid template: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{source}: a template needs a 'Resources' mapping")
    return document


def load_document(path: Path | str) -> dict[str, Any]:
    """Parse a CloudFormation/SAM template file (YAML with short tags, or JSON)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {file}: {exc.strerror or exc}") from None
    return parse_document(text, source=str(file))
