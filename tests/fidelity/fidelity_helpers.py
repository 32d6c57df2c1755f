"""Helpers shared by the fidelity tests (a uniquely named module so it cannot shadow others)."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from typing import Any

import httpx
from canvasapi import Canvas

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "sim-token"


def make_canvas(base_url: str, token: str = TOKEN) -> Canvas:
    """canvasapi on its own requests transport (it warns about http:// URLs; that is expected)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Canvas may respond unexpectedly", UserWarning)
        return Canvas(base_url, token)


def close_canvas(canvas: Canvas) -> None:
    canvas._Canvas__requester._session.close()


def walk(client: httpx.Client, path: str, params: Any = None) -> tuple[list[Any], int]:
    """Follow rel="next" to the end; returns all rows and the number of pages."""
    rows: list[Any] = []
    response = client.get(path, params=params)
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        rows.extend(response.json())
        pages += 1
        following = response.links.get("next")
        if following is None:
            return rows, pages
        response = client.get(following["url"])


def by_key(rows: list[dict[str, Any]]) -> dict[tuple[int, int], dict[str, Any]]:
    """Submissions keyed by (user_id, assignment_id)."""
    return {(row["user_id"], row["assignment_id"]): row for row in rows}
