"""Closing JSON that was cut off mid-way, for the two places that cut it: a tool call
stopped at its token limit and a search response stopped at its byte cap."""

from __future__ import annotations


def close_json(partial: str) -> str:
    """The shortest suffix that closes a JSON prefix cut off mid-way: a tool call at its
    token limit, a search response at its byte cap. ``partial + close_json(partial)`` parses."""
    depth: list[str] = []
    in_string = escape = False
    hex_left = 0
    for ch in partial:
        if in_string:
            if hex_left:
                hex_left -= 1
            elif escape:
                escape = False
                if ch == "u":
                    hex_left = 4
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth.append("}" if ch == "{" else "]")
        elif ch in "}]" and depth:
            depth.pop()
    suffix = ""
    if in_string:
        suffix += "0" * hex_left + ("\\" if escape else "") + '"'
    stripped = partial.rstrip()
    if not in_string and stripped.endswith(":"):
        suffix += '""'
    elif not in_string and stripped.endswith(","):
        suffix += "null" if depth and depth[-1] == "]" else '"_":null'
    return suffix + "".join(reversed(depth))
