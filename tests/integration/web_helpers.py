"""Helpers for the web app's tests: a synced simulator course with a hostile student name, users
of each role, and signing in through the login form like a browser."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from integration_helpers import canvas_env

from canvas_sync import service
from canvas_sync.service import accounts
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import Simulator
from canvas_sync.web import create_app

TOKEN = "tok-web-test-51f0"
SCRIPT_NAME = "<script>alert(1)</script>"
PASSWORD = {"ta1": "ta password 123", "prof": "instructor password 456"}
ORIGIN = "http://localhost"


def hostile_course(sim: Simulator) -> None:
    """Give the first student the name a careless page would run as a script."""
    first = min(sim.state.enrollments.values(), key=lambda e: e.id if "Student" in e.type else 1e9)
    sim.state.users[first.user_id].name = SCRIPT_NAME


def synced_settings(sim: Simulator, database: Path, **changes: object) -> Settings:
    url = f"sqlite:///{database}"
    settings = load_settings(shipped_config(), env=canvas_env(sim, TOKEN, url))
    service.sync(settings)
    if changes:
        settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
    return settings


def make_app(settings: Settings) -> Flask:
    app = create_app([settings], testing=True)
    database = app.extensions["canvas_sync"].database
    existing = {u.name for u in accounts.list_users(database)}
    for name, role in (("ta1", "ta"), ("prof", "instructor")):
        if name not in existing:
            accounts.add_user(database, name, role, PASSWORD[name], by="test")
    return app


@contextmanager
def app_on(settings: Settings) -> Iterator[Flask]:
    """`make_app`, with its database connections closed afterwards (an unclosed PostgreSQL
    connection is a ResourceWarning, an error under this suite's warning filter)."""
    app = make_app(settings)
    try:
        yield app
    finally:
        app.extensions["canvas_sync"].database.dispose()


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert found is not None, page[:2000]
    return found.group(1)


def sign_in(client: FlaskClient, name: str) -> str:
    """Sign in through the form; returns a CSRF token for the signed-in session's forms."""
    token = form_token(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"csrf_token": token, "name": name, "password": PASSWORD[name]},
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 303, answer.text
    return form_token(client.get("/account").text)


@contextmanager
def signed_in(app: Flask, name: str) -> Iterator[tuple[FlaskClient, str]]:
    with app.test_client() as client:
        yield client, sign_in(client, name)
