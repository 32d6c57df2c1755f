"""HTTP plumbing shared by the handlers: Rails-style params, Canvas pagination, JSON answers.

Pagination follows `Api.paginate` (canvas-api.md §2): `per_page` default 10, clamped to 1..100;
Link header with full absolute URLs for rels current/next/prev/first/last, `last` only where Canvas
knows the total; bookmark collections give `page=bookmark:<base64 JSON>` and no `last`/`prev`; an
`access_token` param is never echoed in links.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from werkzeug.wrappers import Request, Response

from canvas_sync.simulator.render import Renderer
from canvas_sync.simulator.state import CanvasState, SimError

__all__ = [
    "Ctx",
    "as_int",
    "json_response",
    "nest_pairs",
    "optional_time",
    "paginate_bookmark",
    "paginate_numbered",
    "parse_time",
    "read_params",
    "str_list",
]

T = TypeVar("T")
DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100


@dataclass
class Ctx:
    """Everything a handler needs for one request."""

    request: Request
    params: dict[str, Any]
    user_id: int
    state: CanvasState
    render: Renderer
    root_url: str  # "http://127.0.0.1:PORT", no trailing slash


# --------------------------------------------------------------------------- params
def _split_key(key: str) -> list[str]:
    """`a[b][]` → ["a", "b", ""]."""
    head, _, rest = key.partition("[")
    parts = [head]
    if rest:
        parts.extend(rest.rstrip("]").split("]["))
    return parts


def _insert(target: dict[str, Any], parts: list[str], value: Any) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        target[head] = value
        return
    if rest[0] == "":
        items = target.get(head)
        if not isinstance(items, list):
            items = target[head] = []
        if len(rest) == 1:
            items.append(value)
            return
        # `x[][k]=..`: Rails starts a new hash when the last one already has key k.
        if items and isinstance(items[-1], dict) and rest[1] not in items[-1]:
            _insert(items[-1], rest[1:], value)
        else:
            fresh: dict[str, Any] = {}
            items.append(fresh)
            _insert(fresh, rest[1:], value)
        return
    child = target.get(head)
    if not isinstance(child, dict):
        child = target[head] = {}
    _insert(child, rest, value)


def nest_pairs(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Form/query pairs to the nested hash Rails builds (`grade_data[5][posted_grade]`)."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        _insert(result, _split_key(key), value)
    return result


def read_params(request: Request) -> dict[str, Any]:
    """Query string, form body and JSON body merged (JSON wins), Rails-style nesting."""
    # Parse the raw strings: a MultiDict groups repeated keys, which would break the Rails
    # rule for `column_data[][column_id]=..&column_data[][user_id]=..` (order matters).
    query = request.query_string.decode("utf-8", "replace")
    pairs: list[tuple[str, Any]] = list(parse_qsl(query, keep_blank_values=True))
    if request.method != "GET":
        if request.mimetype == "application/x-www-form-urlencoded":
            body = request.get_data(as_text=True)
            pairs.extend(parse_qsl(body, keep_blank_values=True))
        else:
            pairs.extend(request.form.items(multi=True))
    params = nest_pairs(pairs)
    if request.mimetype == "application/json":
        raw = request.get_data(as_text=True)
        if raw.strip():
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                raise SimError(400, {"errors": [{"message": "Invalid JSON body"}]}) from None
            if isinstance(body, dict):
                params.update(body)
    return params


def str_list(value: Any) -> list[str]:
    """`include[]` style values: a list, a scalar, or a comma list from JSON."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [str(v) for v in value.values()]
    return [str(value)]


def as_int(value: Any, default: int | None = None) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


# --------------------------------------------------------------------------- responses
def json_response(data: Any, status: int = 200, links: str | None = None) -> Response:
    response = Response(
        json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )
    if links:
        response.headers["Link"] = links
    return response


def _per_page(ctx: Ctx) -> int:
    wanted = as_int(ctx.params.get("per_page"), DEFAULT_PER_PAGE) or DEFAULT_PER_PAGE
    return max(1, min(wanted, MAX_PER_PAGE, ctx.state.api_limit))


def _page_url(ctx: Ctx, page: str, per_page: int) -> str:
    query = [
        (k, v)
        for k, v in ctx.request.args.items(multi=True)
        if k not in ("page", "per_page", "access_token")
    ]
    query += [("page", page), ("per_page", str(per_page))]
    return f"{ctx.root_url}{ctx.request.path}?{urlencode(query)}"


def _link_header(ctx: Ctx, rels: list[tuple[str, str]], per_page: int) -> str:
    return ",".join(f'<{_page_url(ctx, page, per_page)}>; rel="{rel}"' for rel, page in rels)


def paginate_numbered(ctx: Ctx, items: Sequence[T], with_last: bool = True) -> tuple[list[T], str]:
    """Numbered pages (`page=N`); a page past the end is `[]`, never 404."""
    per_page = _per_page(ctx)
    page = max(1, as_int(ctx.params.get("page"), 1) or 1)
    start = (page - 1) * per_page
    chunk = list(items[start : start + per_page])
    last = max(1, -(-len(items) // per_page))
    rels = [("current", str(page))]
    if start + per_page < len(items):
        rels.append(("next", str(page + 1)))
    if page > 1:
        rels.append(("prev", str(page - 1)))
    rels.append(("first", "1"))
    if with_last:
        rels.append(("last", str(last)))
    return chunk, _link_header(ctx, rels, per_page)


def _encode_bookmark(key: Sequence[Any]) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return "bookmark:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_bookmark(page: str) -> list[Any] | None:
    token = page.removeprefix("bookmark:")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise SimError(400, {"errors": [{"message": "invalid bookmark"}]}) from None
    return decoded if isinstance(decoded, list) else None


def paginate_bookmark(
    ctx: Ctx, items: Sequence[T], key: Callable[[T], list[Any]]
) -> tuple[list[T], str]:
    """Bookmark pages: rows after the bookmarked sort key; rels current, next, first only.

    `items` must be sorted by `key`. A bookmark survives inserts between pages, which is why
    Canvas uses them for big collections (gotcha 9: no `last`, loop until `next` is gone).
    """
    per_page = _per_page(ctx)
    page = str(ctx.params.get("page") or "first")
    rows = list(items)
    if page.startswith("bookmark:"):
        after = _decode_bookmark(page)
        if after is not None:
            rows = [row for row in rows if key(row) > after]
    chunk = rows[:per_page]
    rels = [("current", page)]
    if len(rows) > per_page:
        rels.append(("next", _encode_bookmark(key(chunk[-1]))))
    rels.append(("first", "first"))
    return chunk, _link_header(ctx, rels, per_page)


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_time(value: Any) -> datetime | None:
    """Canvas's accepted ISO 8601 form (`YYYY-MM-DDTHH:MM:SS[.f][Z|±HH:MM]`), else None.

    A value without a zone is read as UTC. Returns aware UTC.
    """
    text = str(value).strip()
    if not _ISO.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def optional_time(params: dict[str, Any], key: str) -> datetime | None:
    """A date param for create/update: blank means "no date"; garbage is a 400."""
    raw = params.get(key)
    if raw in (None, ""):
        return None
    parsed = parse_time(raw)
    if parsed is None:
        raise SimError(400, {"errors": {key: [{"message": f"Invalid datetime for {key}"}]}})
    return parsed
