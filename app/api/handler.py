"""The one Tornado handler behind every route: bearer auth, parsing, dispatch, JSON errors.

Each request is checked in this order: method (405), path ids (404), token (401), the body's
size (413) and, for an upload, its type (415) and the person's imports at once (429), all before
a byte of the body is read; then query and body (400, 415, 422), then the endpoint, whose
``require`` call gives 404 or 403. The token lookup and the endpoint run in a thread pool: they
talk to SQLite or PostgreSQL and ClickHouse, which block, and the IO loop must keep serving
pages and other API clients meanwhile. Imports run in a pool of their own
(:class:`~app.api.uploads.ImportGate`), so they never hold the threads other requests need.

Bodies are streamed (``stream_request_body``): a JSON body is kept in memory up to
:data:`MAX_JSON_BYTES`, an upload goes to a file as it arrives, up to ``CURVEHOUSE_UPLOAD_MB``.
Tornado's own limit on bodies (a bare 400 without a word) is raised for these handlers, so the
API answers every refusal itself, in its JSON shape.
"""

from __future__ import annotations

import asyncio
import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError
from tornado.log import app_log
from tornado.web import HTTPError, RequestHandler, stream_request_body

from app.api.errors import ApiError, Unauthorized, as_api_error, from_validation
from app.api.registry import MAX_CURVE_ID, MAX_ID, Route, is_id
from app.api.uploads import MB, ImportGate, Incoming, Upload, check_media, too_large, upload_root
from app.services import Services
from models.access import Principal, role_in
from models.accounts import token_user
from models.settings import Settings
from models.store import MetadataStore
from models.tables import Cluster
from models.teams import team_role

# A JSON request body larger than this is refused (413); uploads have CURVEHOUSE_UPLOAD_MB.
MAX_JSON_BYTES = 1 << 20
# A body that is refused is still read, and dropped, up to this size, and the answer sent when
# it ends: most HTTP clients send the whole body before they read, and a connection closed
# under them loses the answer. A client that sends "Expect: 100-continue" (curl) gets the answer
# at once instead; past this size the connection is closed after it.
DRAIN_BYTES = 1 << 30
# What a bearer token may look like (ours are "chp_" + URL-safe base64); anything else is
# refused before it reaches the store.
_TOKEN = re.compile(r"[A-Za-z0-9_\-]{1,200}")
JSON_TYPE = "application/json"
HEARTBEAT_SECONDS = 15.0  # an event stream's comment line when nothing happened for this long


@dataclass(frozen=True)
class ApiContext:
    """What every request shares: the process's services (stores, settings), the pool
    endpoints run in, and where imports run."""

    services: Services
    executor: ThreadPoolExecutor
    imports: ImportGate

    @property
    def store(self) -> MetadataStore:
        return self.services.metadata

    @property
    def settings(self) -> Settings:
        return self.services.settings


@dataclass(frozen=True)
class Caller:
    user_id: int
    email: str

    @property
    def principal(self) -> Principal:
        return Principal(self.email, self.user_id)


@dataclass(frozen=True)
class Call:
    """One request as an endpoint sees it: who, which ids, the parsed query and body."""

    ctx: ApiContext
    caller: Caller | None
    path: dict[str, int]
    query: Any = None
    body: Any = None
    upload: Upload | None = None
    ip: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def who(self) -> Principal:
        assert self.caller is not None, "a public route has no caller"
        return self.caller.principal

    @property
    def store(self) -> MetadataStore:
        return self.ctx.store

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def services(self) -> Services:
        return self.ctx.services


@dataclass(frozen=True)
class Answer:
    """A JSON answer with one of its route's ``other_statuses`` instead of its ``status`` (an
    import of content stored already: 200, not 201)."""

    model: BaseModel
    status: int


@dataclass(frozen=True)
class Raw:
    """A response that is not JSON: PNG bytes, a CSV export."""

    data: bytes
    media_type: str
    filename: str | None = None


@dataclass(frozen=True)
class Stream:
    """A server-sent event stream: ``events(cursor)`` (run on a worker thread) gives the
    events after ``cursor``, as text, and the cursor after them; asked every ``seconds`` until
    the client goes away or it raises (said as an ``error`` event, then the stream ends)."""

    events: Callable[[Any], tuple[list[str], Any]]
    cursor: Any
    seconds: float


def authenticate(store: MetadataStore, token: str) -> Caller:
    """The token's owner, recording its use; 401 for an unknown, revoked or expired token."""
    with store.sessions() as session:
        user = token_user(session, token)
        if user is None:
            raise Unauthorized("This token is not valid: it is unknown, revoked or expired.")
        caller = Caller(user.id, user.email)
        session.commit()
        return caller


def admit(store: MetadataStore, token: str, path: dict[str, int]) -> Caller:
    """The token's owner, once the project, cluster or team in the path is one they are a
    member of.

    Checked before the query and body are read, so a project or team the caller cannot see
    answers 404 whatever was sent; the endpoint then checks the action itself (403). A team in
    a project's path (``/api/projects/{project_id}/teams/{team_id}``) is the grantee: here the
    project is checked, and :func:`models.teams.grant_team` answers 404 for a team the caller
    is not in.
    """
    caller = authenticate(store, token)
    if "project_id" in path or "cluster_id" in path:
        with store.sessions() as session:
            if "cluster_id" in path:
                cluster = session.get(Cluster, path["cluster_id"])
                project_id = cluster.project_id if cluster is not None else None
                missing = (
                    f"There is no cluster {path['cluster_id']}, or you are not a member of its "
                    "project."
                )
            else:
                project_id = path["project_id"]
                missing = f"There is no project {project_id}, or you are not a member of it."
            if project_id is None or role_in(session, caller.user_id, project_id) is None:
                raise ApiError(404, missing)
    elif "team_id" in path:
        with store.sessions() as session:
            if team_role(session, caller.user_id, path["team_id"]) is None:
                raise ApiError(
                    404, f"There is no team {path['team_id']}, or you are not a member of it."
                )
    return caller


# Query parameters that would carry a credential. They are refused, never read: a URL ends up
# in logs, browser history and Referer headers.
URL_CREDENTIALS = frozenset({"token", "access_token", "api_key", "apikey", "key", "password"})


def refuse_credentials_in_url(names: Iterable[str]) -> None:
    if URL_CREDENTIALS & {name.lower() for name in names}:
        raise Unauthorized(
            "Tokens are not accepted in the URL, where logs and browser histories keep them: "
            "send 'Authorization: Bearer <token>', and revoke a token that was sent in a URL."
        )


def bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthorized(
            "Send a personal API token: 'Authorization: Bearer <token>' "
            "(make one with `curvehouse token create` or POST /api/tokens)."
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _TOKEN.fullmatch(token):
        raise Unauthorized("The Authorization header must be 'Bearer <token>'.")
    return token


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (list, tuple):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


@stream_request_body
class ApiHandler(RequestHandler):
    """Serves the routes of one path template (``routes``: method → route); with no routes at
    all it is the catch-all that answers 404 for unknown ``/api`` paths."""

    def initialize(self, ctx: ApiContext, routes: dict[str, Route]) -> None:
        self.ctx = ctx
        self.routes = routes
        self._admitted: tuple[Route, dict[str, int], Caller | None] | None = None
        self._json = bytearray()
        self._incoming: Incoming | None = None
        self._slot: int | None = None  # the user whose import this request counts as
        self._refusal: BaseException | None = None  # answered once the body has been read
        self._busy = False  # an import thread works on the upload
        self._gone = False  # the client went away (an event stream stops)

    def check_xsrf_cookie(self) -> None:
        """No cookie authenticates an API request, so there is nothing to forge (see
        ``app.api``); the browser pages' XSRF check must not refuse API clients."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", f"{JSON_TYPE}; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    # -- before the body ----------------------------------------------------------------------

    async def prepare(self) -> None:
        """Everything that needs no body, before any of it is read: route, ids, token, the
        body's size, and for an upload its type, the person's import slot and its file."""
        self.request.connection.set_max_body_size(DRAIN_BYTES)  # our limits are below
        # A body that stalls is cut off (Tornado closes the connection), so it cannot hold a
        # worker's attention or a person's import slot for good.
        self.request.connection.set_body_timeout(self.ctx.settings.upload_seconds)
        try:
            route = self._route()
            path = self._ids(self.path_kwargs)
            caller = None
            refuse_credentials_in_url(self.request.query_arguments)
            if not route.public:
                token = bearer_token(self.request.headers.get("Authorization"))
                caller = await self._run(admit, self.ctx.store, token, path)
            self._admitted = route, path, caller
            length = self._length()
            if route.upload:
                assert caller is not None, "uploads need a caller"
                self._start_upload(caller, length)
            elif length is not None and length > MAX_JSON_BYTES:
                raise ApiError(413, f"A JSON body is at most {MAX_JSON_BYTES:,} bytes.")
        except Exception as exc:
            self._cleanup()
            if self._answer_now():
                self._fail(exc)
            else:
                self._refusal = exc

    def _start_upload(self, caller: Caller, length: int | None) -> None:
        limit = self.ctx.settings.upload_mb * MB
        if length is not None and length > limit:
            raise too_large(limit, length)
        content_type = self.request.headers.get("Content-Type")
        check_media(content_type)
        self.ctx.imports.enter(caller.user_id)
        self._slot = caller.user_id
        name = self.request.query_arguments.get("name", [b""])[-1].decode("utf-8", "replace")
        self._incoming = Incoming(upload_root(self.ctx.settings), limit, content_type, name)

    def _length(self) -> int | None:
        text = self.request.headers.get("Content-Length")
        return int(text) if text is not None else None

    def _answer_now(self) -> bool:
        """Refuse before the body (instead of after reading and dropping it) when there is
        none, when the client waits for a go-ahead, or when it is too large to read."""
        length = self._length()
        chunked = self.request.headers.get("Transfer-Encoding", "").lower() == "chunked"
        return (
            (not length and not chunked)
            or self.request.headers.get("Expect", "").lower() == "100-continue"
            or (length is not None and length > DRAIN_BYTES)
        )

    def data_received(self, chunk: bytes) -> None:
        if self._refusal is not None or self._finished:
            return  # dropped
        try:
            if self._incoming is not None:
                self._incoming.write(chunk)
            else:
                self._json += chunk
                if len(self._json) > MAX_JSON_BYTES:
                    raise ApiError(413, f"A JSON body is at most {MAX_JSON_BYTES:,} bytes.")
        except ApiError as exc:
            self._refusal = exc
            self._json = bytearray()
            self._cleanup()

    def on_connection_close(self) -> None:
        """The client went away: an upload that is not being imported is removed now (one that
        is, when its import ends); an event stream stops."""
        self._gone = True
        if not self._busy:
            self._cleanup()

    def on_finish(self) -> None:
        if not self._busy:
            self._cleanup()

    def _cleanup(self) -> None:
        """Remove the upload's folder and give back its import slot; safe to repeat."""
        if self._incoming is not None:
            self._incoming.remove()
            self._incoming = None
        if self._slot is not None:
            self.ctx.imports.leave(self._slot)
            self._slot = None

    # -- the request ------------------------------------------------------------------------

    async def get(self, **ids: str) -> None:
        await self._dispatch()

    async def post(self, **ids: str) -> None:
        await self._dispatch()

    async def put(self, **ids: str) -> None:
        await self._dispatch()

    async def patch(self, **ids: str) -> None:
        await self._dispatch()

    async def delete(self, **ids: str) -> None:
        await self._dispatch()

    async def options(self, **ids: str) -> None:
        await self._dispatch()

    async def _dispatch(self) -> None:
        if self._refusal is not None:
            self._fail(self._refusal)
            return
        if self._finished or self._admitted is None:
            return
        route, path, caller = self._admitted
        try:
            call = Call(
                self.ctx,
                caller,
                path,
                query=self._query(route),
                body=self._body(route),
                ip=self.request.remote_ip,
                headers=self.request.headers,
            )
            if route.upload and self._incoming is not None:
                self._busy = True
                imports = self.ctx.imports.executor
                call = replace(call, upload=await self._run(self._incoming.finish, via=imports))
                result = await self._run(route.endpoint, call, via=imports)
            else:
                result = await self._run(route.endpoint, call)
        except Exception as exc:
            self._fail(exc)
            return
        finally:
            self._busy = False
            self._cleanup()
        if isinstance(result, Stream):
            await self._stream(result)
            return
        self._respond(route, result)

    async def _stream(self, stream: Stream) -> None:
        """Events as they come, a comment line when there were none for a while (so proxies
        keep the connection), until the client goes away."""
        self.set_header("Content-Type", "text/event-stream; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        cursor, quiet, said = stream.cursor, 0.0, ": stream open\n\n"
        while not self._gone:
            try:
                events, cursor = await self._run(stream.events, cursor)
            except Exception as exc:
                error = as_api_error(exc) or ApiError(500, "Something went wrong on the server.")
                if error.status == 500:
                    app_log.error("event stream %s failed", self.request.path, exc_info=exc)
                said += f"event: error\ndata: {json.dumps(error.body())}\n\n"
                self._gone = True
            else:
                said += "".join(events)
                quiet = 0.0 if events else quiet + stream.seconds
                if quiet >= HEARTBEAT_SECONDS:
                    said, quiet = said + ": still here\n\n", 0.0
            if said:
                self.write(said)
                try:
                    await self.flush()
                except StreamClosedError:
                    return
                said = ""
            if not self._gone:
                await asyncio.sleep(stream.seconds)
        if not self._finished:
            self.finish()

    def _route(self) -> Route:
        if not self.routes:
            raise ApiError(
                404, f"There is no API endpoint {self.request.path}; see /api/openapi.json."
            )
        route = self.routes.get(self.request.method or "")
        if route is None:
            allowed = ", ".join(sorted(self.routes))
            self.set_header("Allow", allowed)
            raise ApiError(405, f"{self.request.method} is not allowed here; use {allowed}.")
        return route

    def _ids(self, ids: dict[str, str]) -> dict[str, int | str]:
        out = {}
        for name, text in ids.items():
            if not is_id(name):  # a text segment (a part's serial), decoded: the endpoint checks it
                out[name] = text
                continue
            value = int(text)
            if value > (MAX_CURVE_ID if name == "curve_id" else MAX_ID):
                raise ApiError(404, f"There is no {name.removesuffix('_id')} {text}.")
            out[name] = value
        return out

    def _query(self, route: Route) -> BaseModel | None:
        if route.query is None:
            return None
        given: dict[str, Any] = {}
        for name, info in route.query.model_fields.items():
            values = self.get_query_arguments(name)
            if not values:
                continue
            given[name] = values if _is_list(info.annotation) else values[-1]
        try:
            return route.query.model_validate(given)
        except ValidationError as exc:
            raise from_validation(exc, "query") from None

    def _body(self, route: Route) -> BaseModel | None:
        if route.body is None:
            return None
        kind = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind != JSON_TYPE:
            raise ApiError(415, f"Send the body as {JSON_TYPE}, not {kind or 'no content type'}.")
        try:
            data = json.loads(bytes(self._json))
        except (ValueError, RecursionError) as exc:
            reason = str(exc) if isinstance(exc, json.JSONDecodeError) else "not UTF-8 JSON"
            raise ApiError(400, f"The body is not valid JSON: {reason}.") from None
        try:
            return route.body.model_validate(data)
        except ValidationError as exc:
            raise from_validation(exc, "body") from None

    async def _run(self, function, *args, via: Executor | None = None):
        return await IOLoop.current().run_in_executor(via or self.ctx.executor, function, *args)

    # -- the answer -------------------------------------------------------------------------

    def _respond(self, route: Route, result: Any) -> None:
        if result is None:
            self.set_status(204)
            self.clear_header("Content-Type")
            self.finish()
            return
        status = route.status
        if isinstance(result, Answer):
            if result.status not in route.other_statuses:
                raise ValueError(f"{route.path} does not document status {result.status}")
            status, result = result.status, result.model
        self.set_status(status)
        if isinstance(result, Raw):
            self.set_header("Content-Type", result.media_type)
            if result.filename:
                self.set_header("Content-Disposition", f'attachment; filename="{result.filename}"')
            self.finish(result.data)
            return
        self.finish(result.model_dump_json())

    def _fail(self, exc: BaseException) -> None:
        error = as_api_error(exc)
        if error is None:
            app_log.error("API %s %s failed", self.request.method, self.request.path, exc_info=exc)
            error = ApiError(500, "Something went wrong on the server; it has been logged.")
        self._send(error)

    def _send(self, error: ApiError) -> None:
        if error.status == 401:
            self.set_header("WWW-Authenticate", 'Bearer realm="curvehouse"')
        self.set_status(error.status)
        self.set_header("Content-Type", f"{JSON_TYPE}; charset=UTF-8")
        self.finish(json.dumps(error.body()))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors Tornado raises itself (a method it does not know, bad percent-encoding)."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message if isinstance(exc, HTTPError) and exc.log_message else None
        self.clear_header("Content-Disposition")
        error = ApiError(status_code, message or self._reason)
        if status_code == 405 and self.routes:
            self.set_header("Allow", ", ".join(sorted(self.routes)))
        self.set_header("Content-Type", f"{JSON_TYPE}; charset=UTF-8")
        self.finish(json.dumps(error.body()))
