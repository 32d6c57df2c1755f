"""Signing in and out, the user of each request, and the per-user API token.

The session cookie (signed, HttpOnly, SameSite=Lax, Secure over HTTPS) holds only a random
session id; the database knows whose it is (service.accounts), so signing out, a new password or
removing the user ends it. Signing in clears the old session and makes a new id.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, session
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response as BaseResponse
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from canvas_sync.service import accounts
from canvas_sync.web.common import audit, course, page, state, user

__all__ = ["blueprint", "load_user"]

blueprint = Blueprint("auth", __name__)
_OPEN = {"auth.login", "static"}


class LoginForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def load_user() -> BaseResponse | None:
    """Who is asking: from the API token (API only) or the session; anonymous is sent to the
    login page (pages) or answered 401 (API)."""
    g.user, g.by_token = None, False
    token = _bearer() if request.path.startswith("/api/") else None
    if token is not None:
        g.user, g.by_token = accounts.token_user(state().database, token), True
    elif isinstance(session.get("sid"), str):
        g.user = accounts.session_user(state().database, session["sid"])
    if g.user is not None or request.endpoint in _OPEN:
        return None
    if request.path.startswith("/api/"):
        answer = jsonify(error="Sign in first: send 'Authorization: Bearer <your API token>'.")
        answer.status_code = 401
        return answer
    return redirect(f"/login?next={quote(_safe_next(request.full_path), safe='/')}", code=303)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //other.example or a scheme) may follow the login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target.rstrip("?") or "/"


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | str | tuple[str, int]:
    form = LoginForm()
    refusal = None
    if form.validate_on_submit():
        name, password = str(form.name.data or ""), str(form.password.data or "")
        outcome = accounts.sign_in(state().database, name, password)
        if outcome.user is not None and outcome.session_id is not None:
            session.clear()  # a new session: nothing from before signing in carries over
            session["sid"] = outcome.session_id
            return redirect(_safe_next(request.args.get("next")), code=303)
        refusal = outcome.refusal
    elif request.method == "POST":
        refusal = "Give your name and password."
    status = 200 if refusal is None else 401
    return render_template("login.html", form=form, refusal=refusal, me=None), status


@blueprint.route("/logout", methods=["POST"])
def logout() -> BaseResponse:
    sid = session.get("sid")
    if isinstance(sid, str):
        accounts.end_session(state().database, sid)
    session.clear()
    return redirect("/login", code=303)


@blueprint.route("/account", methods=["GET"])
def account() -> str:
    return page("account.html", course(), token=None)


@blueprint.route("/account/token", methods=["POST"])
def new_token() -> Response | str:
    token = accounts.issue_api_token(state().database, user())
    audit("api_token", "issued a new API token")
    return page("account.html", course(), token=token)
