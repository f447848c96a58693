"""Errors of a declarative configuration, in Kong's three shapes.

- ``fields``: a tree mirroring the input (arrays by index, ``null`` for
  entries that passed), as Kong's ``invalid declarative configuration``
  body carries it;
- ``flattened_errors``: one object per failing entity, nested entities
  hoisted with their parent's foreign key set (``?flatten_errors=1``);
- the lines ``kong config parse`` prints ("in 'services':",
  "- in entry 1 of 'services':", ...).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

from kongpy.errors import KongpyError
from kongpy.schemas.typedefs import is_uuid

if TYPE_CHECKING:
    from kongpy.declarative.validate import Entry

PARSE_PREFIX = "failed parsing declarative configuration: "


class ErrorTree:
    """Nested dicts; ``int`` keys are array indexes (0-based)."""

    def __init__(self) -> None:
        self.root: dict = {}

    def __bool__(self) -> bool:
        return bool(self.root)

    def add(self, path: tuple, message: Any, many: bool = False) -> None:
        node = self.root
        for key in path[:-1]:
            nxt = node.get(key)
            if not isinstance(nxt, dict):
                nxt = node[key] = {}
            node = nxt
        last = path[-1]
        if many:
            node.setdefault(last, [])
            if isinstance(node[last], list):
                node[last].append(message)
        elif isinstance(node.get(last), dict) and isinstance(message, dict):
            node[last].update(message)
        else:
            node[last] = message

    def merge(self, path: tuple, errors: dict) -> None:
        for key, value in errors.items():
            self.add(path + (key,), value)

    def at(self, path: tuple) -> Any:
        node: Any = self.root
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node


class DeclarativeError(KongpyError):
    """An invalid declarative configuration."""

    def __init__(self, errors: ErrorTree, entries: list["Entry"]) -> None:
        self.errors = errors
        self.entries = entries
        lines = "\n".join(pretty(errors.root))
        super().__init__(f"declarative config is invalid:\n{lines}")

    @classmethod
    def parse(cls, reason: str) -> "DeclarativeError":
        tree = ErrorTree()
        tree.add(("error",), PARSE_PREFIX + reason)
        return cls(tree, [])

    def fields(self) -> dict:
        """The ``fields`` of Kong's error body."""
        return _json(self.errors.root)

    def flattened(self) -> tuple[dict, list[dict]]:
        """(``fields`` left for errors of no entity, ``flattened_errors``)."""
        return flatten_errors(self.errors, self.entries)


def _json(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(isinstance(k, int) for k in node):
            out = [None] * (max(node) + 1)
            for k, v in node.items():
                out[k] = _json(v)
            return out
        return {str(k): _json(v) for k, v in node.items()}
    return node


def pretty(node: Any, table: str | None = None, depth: int = 0) -> Iterator[str]:
    """``kong config parse``'s lines for an error tree."""
    pad = "  " * depth
    for key in sorted(node, key=lambda k: (isinstance(k, str), k)):
        value = node[key]
        head = f"- in entry {key + 1} of '{table}'" if isinstance(key, int) else f"in '{key}'"
        if isinstance(value, dict):
            yield f"{pad}{head}:"
            yield from pretty(value, key if isinstance(key, str) else table, depth + 1)
        elif isinstance(value, list):
            for message in value:
                yield f"{pad}{head}: {message}"
        else:
            yield f"{pad}{head}: {value}"


def flatten_errors(errors: ErrorTree, entries: list["Entry"]) -> tuple[dict, list[dict]]:
    tree = _copy(errors.root)
    flat: list[dict] = []
    by_path = sorted(entries, key=lambda e: -len(e.path))
    for entry in by_path:  # children first, so a parent's subtree is its own
        own = _pop(tree, entry.path)
        keyed = _pop(tree, (entry.table, _key(entry)))
        found = _messages(own, entry) + _messages(keyed, entry)
        if found:
            flat.append(_flat_entry(entry, found))
    flat.sort(key=lambda item: item["_order"])
    for item in flat:
        del item["_order"]
    return _json(_prune(tree)), flat


def _key(entry: "Entry") -> Any:
    for name in ("name", "username", "prefix"):
        if isinstance(entry.input.get(name), str):
            return entry.input[name]
    return str(entry.data.get("id"))


def _copy(node: Any) -> Any:
    return {k: _copy(v) for k, v in node.items()} if isinstance(node, dict) else node


def _pop(tree: dict, path: tuple) -> Any:
    node = tree
    for key in path[:-1]:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node.pop(path[-1], None) if isinstance(node, dict) else None


def _prune(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out = {k: _prune(v) for k, v in node.items()}
    return {k: v for k, v in out.items() if v not in ({}, None)}


def _messages(node: Any, entry: "Entry") -> list[dict]:
    if node is None:
        return []
    if isinstance(node, str):
        return [{"type": "entity", "message": node}]
    if isinstance(node, list):
        return [{"type": "entity", "message": m} for m in node]
    out = []
    for key, value in node.items():
        if key == "@entity":
            out += [{"type": "entity", "message": m}
                    for m in (value if isinstance(value, list) else [value])]
        else:
            out += list(_field_messages(str(key), value))
    return out


def _field_messages(name: str, value: Any) -> Iterator[dict]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _field_messages(f"{name}.{key}", sub)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            if sub is not None:
                yield from _field_messages(f"{name}.{i + 1}" if isinstance(sub, str)
                                           else name, sub)
    else:
        yield {"type": "field", "field": name, "message": value}


def _flat_entry(entry: "Entry", found: list[dict]) -> dict:
    # entity_name, entity_id and entity_tags are left out when they are not
    # well-formed (an empty name, tags that are not all strings), as Kong's.
    item: dict = {"entity_type": _singular(entry.table)}
    name = entry.input.get("name")
    if isinstance(name, str) and name:
        item["entity_name"] = name
    given = entry.input.get("id")
    if isinstance(given, str) and is_uuid(given):
        item["entity_id"] = given
    tags = entry.input.get("tags")
    if isinstance(tags, list) and all(isinstance(tag, str) for tag in tags):
        item["entity_tags"] = tags
    entity = dict(entry.input)
    if entry.nested_fk:
        entity[entry.nested_fk] = entry.data[entry.nested_fk]
    item["entity"] = entity
    item["errors"] = found
    item["_order"] = _order(entry.path)
    return item


def _order(path: tuple) -> tuple:
    return tuple((0, k) if isinstance(k, int) else (1, k) for k in path)


def _singular(table: str) -> str:
    return table[:-1] if table.endswith("s") else table
