"""Who am I, and my personal API tokens (listed without their secrets, made, revoked)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api.errors import Unauthorized, not_found
from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import MeOut, Page, Paging, ProjectRole, TokenCreate, TokenCreated, TokenOut
from app.api.scope import page_of
from models import accounts
from models.access import visible_projects
from models.tables import ApiToken, User


def _me(session: Session, call: Call) -> User:
    user = session.get(User, call.who.user_id)
    if user is None:  # deleted after the token was checked
        raise Unauthorized("The account this token belongs to no longer exists.")
    return user


def token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


@API.route("GET", "/api/me", "Who the token belongs to, and their projects", response=MeOut)
def get_me(call: Call) -> MeOut:
    with call.store.sessions() as session:
        user = _me(session, call)
        projects = [
            ProjectRole(id=p.id, name=p.name, role=role)
            for p, role in visible_projects(session, call.who)
            if role is not None
        ]
        return MeOut(
            id=user.id, email=user.email, display_name=user.display_name, projects=projects
        )


@API.route(
    "GET",
    "/api/tokens",
    "My API tokens (never their secrets)",
    query=Paging,
    response=Page[TokenOut],
)
def list_tokens(call: Call) -> Page[TokenOut]:
    with call.store.sessions() as session:
        query = (
            sa.select(ApiToken)
            .where(ApiToken.user_id == call.who.user_id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
        return page_of(session, query, call.query, token_out)


@API.route(
    "POST",
    "/api/tokens",
    "Make a token; its secret is in this answer only",
    body=TokenCreate,
    response=TokenCreated,
    status=201,
)
def create_token(call: Call) -> TokenCreated:
    with call.store.sessions() as session:
        user = _me(session, call)
        secret, token = accounts.issue_token(
            session=session, user=user, name=call.body.name, days=call.body.days
        )
        session.commit()
        return TokenCreated(token=token_out(token), secret=secret)


@API.route("DELETE", "/api/tokens/{token_id}", "Revoke one of my tokens", response=TokenOut)
def revoke_token(call: Call) -> TokenOut:
    with call.store.sessions() as session:
        user = _me(session, call)
        token = session.get(ApiToken, call.path["token_id"])
        if token is None or token.user_id != user.id:
            raise not_found(f"You have no token {call.path['token_id']}.")
        accounts.revoke_token(session=session, user=user, token_id=token.id)
        session.commit()
        return token_out(token)
