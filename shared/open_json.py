"""Bounds for the open JSON objects clients may send (a case's evidence): a shape of at most
``MAX_DEPTH`` levels, ``MAX_MEMBERS`` members and ``MAX_BYTES`` of JSON, text as ``shared.text``
allows it. Reads clip instead of failing: a value stored before the bounds existed (nested 255
levels, which the JSON encoder refuses) is answered with the levels beyond ``MAX_DEPTH`` replaced
by a marker, so no stored value can make a record unreadable.

Both walks are iterative: a value nested deeper than Python's recursion limit is just data here.
"""

from __future__ import annotations

import json
from typing import Any

from shared.text import problem_with

MAX_DEPTH = 4
MAX_MEMBERS = 200
MAX_BYTES = 16_384
CLIPPED = "…(nested too deep to show)"


def check_open(value: Any) -> Any:
    """The value, or ValueError naming the member (as a JSON pointer below the field) at fault."""
    members = 0
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, pointer, depth = stack.pop()
        if isinstance(item, dict):
            children = [(v, f"{pointer}/{k}", k) for k, v in item.items()]
        elif isinstance(item, list):
            children = [(v, f"{pointer}/{i}", None) for i, v in enumerate(item)]
        else:
            if isinstance(item, str) and (reason := problem_with(item, multiline=True)):
                raise ValueError(f"{pointer or '/'}: {reason}")
            continue
        if depth >= MAX_DEPTH and children:
            raise ValueError(f"{pointer or '/'}: nested deeper than {MAX_DEPTH} levels")
        members += len(children)
        if members > MAX_MEMBERS:
            raise ValueError(f"more than {MAX_MEMBERS} members in all")
        for child, child_pointer, key in children:
            if key is not None and (reason := problem_with(str(key))):
                raise ValueError(f"{child_pointer}: the key {reason}")
            stack.append((child, child_pointer, depth + 1))
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > MAX_BYTES:
        raise ValueError(f"{size} bytes of JSON, over {MAX_BYTES}")
    return value


def clipped(value: Any, max_depth: int = MAX_DEPTH + 2) -> Any:
    """A copy of a stored value that any encoder can write: containers below ``max_depth``
    become ``CLIPPED``."""
    if not isinstance(value, (dict, list)):
        return value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any, int]] = [(value, root, 1)]
    while stack:
        source, target, depth = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, child in items:
            if isinstance(child, (dict, list)):
                if depth >= max_depth:
                    copy: Any = CLIPPED
                else:
                    copy = {} if isinstance(child, dict) else []
                    stack.append((child, copy, depth + 1))
            else:
                copy = child
            if isinstance(target, dict):
                target[key] = copy
            else:
                target.append(copy)
    return root
