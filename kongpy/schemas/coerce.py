"""Kong's form conventions: flat ``key=value`` pairs -> a typed entity dict.

Arrays come as repeated keys (``paths=/a&paths=/b``), ``paths[]=/a`` or
``paths[1]=/a``; records as ``service.id=...`` or ``config[minute]=5``.
Values are coerced by the schema's field types and an empty string means null.
Pure: works on any iterable of pairs, no HTTP objects.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from kongpy.schemas import fields as f

_TOKEN = re.compile(r"\[([^\]]*)\]|\.?([^.\[\]]+)")


def _split_key(key: str) -> list[Any]:
    tokens: list[Any] = []
    for bracket, plain in _TOKEN.findall(key):
        token = plain if plain else bracket
        if bracket is not None and not plain:
            token = int(bracket) if bracket.isdigit() else bracket
        tokens.append(token)
    return tokens or [key]


def _assign(target: dict, tokens: list[Any], value: Any) -> None:
    head, rest = tokens[0], tokens[1:]
    if not rest:
        if head == "":
            target.setdefault("__append__", []).append(value)
        elif head in target and not isinstance(target[head], dict):
            existing = target[head]
            target[head] = (existing if isinstance(existing, list) else [existing]) + [value]
        else:
            target[head] = value
        return
    child = target.get(head)
    if not isinstance(child, dict):
        child = {} if child is None else {"__append__": child if isinstance(child, list)
                                          else [child]}
        target[head] = child
    _assign(child, rest, value)


def _unfold(node: Any) -> Any:
    """Turn the intermediate dicts (indexes, appends) into lists where they are lists."""
    if not isinstance(node, dict):
        return node
    appended = node.pop("__append__", None)
    if node and all(isinstance(k, int) for k in node):
        items = [_unfold(node[k]) for k in sorted(node)]
        return items + (appended or [])
    if appended is not None and not node:
        return appended
    out = {k: _unfold(v) for k, v in node.items()}
    if appended is not None:
        out[""] = appended
    return out


def decode(pairs: Iterable[tuple[str, str]], fields: Mapping[str, f.KongField]) -> dict:
    """Build a nested dict from form pairs and coerce it by ``fields``."""
    tree: dict = {}
    for key, value in pairs:
        _assign(tree, _split_key(key), value)
    data = _unfold(tree)
    if not isinstance(data, dict):  # only indexes at the top: `[0]=x`
        data = {str(i): v for i, v in enumerate(data, 1)}
    # Keys at the top name fields: `[0]=x` is a field named "0", unknown.
    return {str(k): coerce(fields.get(str(k)), v) for k, v in data.items()}


def coerce(field: f.KongField | None, value: Any) -> Any:
    """Coerce one form value (string, list or dict of them) to ``field``'s type."""
    if value == "":
        return None
    if field is None:
        return value
    if isinstance(field, f.Array):
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [coerce(field.elements, v) for v in value]
        return value
    if isinstance(field, f.Map):
        if isinstance(value, dict):
            return {k: coerce(field.values, v) for k, v in value.items()}
        return value
    if isinstance(field, f.Record):
        if isinstance(value, dict):
            return {k: coerce(field.fields.get(k), v) for k, v in value.items()}
        return value
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        return value
    return _scalar(field, value)


def _scalar(field: f.KongField, value: str) -> Any:
    if isinstance(field, f.Boolean):
        return {"true": True, "false": False}.get(value.lower(), value)
    if isinstance(field, (f.Integer, f.Number)):
        try:
            number = float(value)
        except ValueError:
            return value
        if isinstance(field, f.Integer) and number.is_integer():
            return int(number)
        return number
    return value
