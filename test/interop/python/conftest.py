"""
Shared pieces of the Python interop suite: the server under test (INTEROP_* variables, set by
`suite.ts`), tokens, unique names, an event recorder with bounded waits, and fixtures that hand out
centrifuge-python clients (JSON and protobuf) and cent clients (sync and async) and close them.

The tests are plain SDK programs: nothing here knows whether Sluice or Centrifugo is behind the URL.
"""

import asyncio
import itertools
import json
import os
import re
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional

import jwt
import pytest
import requests
from cent import AsyncClient as CentAsyncClient
from cent import Client as CentClient
from centrifuge import Client

WS_URL = os.environ["INTEROP_WS_URL"]
API_URL = os.environ["INTEROP_API_URL"]
API_KEY = os.environ["INTEROP_API_KEY"]
HMAC_SECRET = os.environ["INTEROP_HMAC_SECRET"]
TARGET = os.environ.get("INTEROP_TARGET", "")

# How long anything the server is expected to do may take. Generous on purpose: the machine is
# shared with other suites, and a wait that runs out fails the test (it never hangs the run).
WAIT = 10.0
# How long to keep watching for something that must NOT happen.
QUIET = 0.5

# Channels and users are unique per test and per run: every test of a target shares one server.
RUN_ID = uuid.uuid4().hex[:8]
_counter = itertools.count(1)


def token(sub: str, ttl: float = 600, **claims: Any) -> str:
    """A connection token (HS256 with the configured secret)."""
    return jwt.encode({"sub": sub, "exp": int(time.time() + ttl), **claims}, HMAC_SECRET, algorithm="HS256")


def sub_token(sub: str, channel: str, ttl: float = 600, **claims: Any) -> str:
    """A subscription token for `channel`."""
    return jwt.encode(
        {"sub": sub, "channel": channel, "exp": int(time.time() + ttl), **claims},
        HMAC_SECRET,
        algorithm="HS256",
    )


class Names:
    """Unique channel and user names derived from the test's name."""

    def __init__(self, test_name: str):
        self._base = re.sub(r"[^A-Za-z0-9_-]+", "-", test_name).strip("-")[:60]

    def channel(self, namespace: str = "") -> str:
        name = f"py-{self._base}-{RUN_ID}-{next(_counter)}"
        return f"{namespace}:{name}" if namespace else name

    def user(self, label: str = "u") -> str:
        return f"{label}-{self._base}-{RUN_ID}-{next(_counter)}"


@pytest.fixture
def names(request: pytest.FixtureRequest) -> Names:
    return Names(request.node.name)


class Codec:
    """What the app hands the SDK and gets back: JSON values with the JSON protocol, bytes with
    protobuf (centrifuge-python wants bytes there). The tests speak JSON values either way."""

    def __init__(self, protobuf: bool):
        self.protobuf = protobuf

    def enc(self, value: Any) -> Any:
        return json.dumps(value).encode() if self.protobuf else value

    def dec(self, data: Any) -> Any:
        if data is None:
            return None
        if self.protobuf:
            assert isinstance(data, (bytes, bytearray)), f"protobuf payload should be bytes, got {data!r}"
            return json.loads(data)
        return data

    def __repr__(self) -> str:
        return "protobuf" if self.protobuf else "json"


@pytest.fixture(params=["json", "protobuf"])
def codec(request: pytest.FixtureRequest) -> Codec:
    return Codec(request.param == "protobuf")


class Events:
    """Records every event of a client or a subscription (it serves as both handler kinds) and
    waits for them with a deadline. `before[name]` runs (awaited) inside the SDK's handler before
    the event is recorded, which lets a test act while the SDK is between two states."""

    NAMES = (
        "connecting", "connected", "disconnected", "error",
        "subscribing", "subscribed", "unsubscribed",
        "publication", "join", "leave",
    )

    def __init__(self) -> None:
        self.seen: Dict[str, List[Any]] = {n: [] for n in self.NAMES}
        self._taken: Dict[str, int] = {n: 0 for n in self.NAMES}
        self._changed = asyncio.Event()
        self.before: Dict[str, Callable[[Any], Awaitable[None]]] = {}

    async def _record(self, name: str, ctx: Any) -> None:
        hook = self.before.get(name)
        if hook is not None:
            await hook(ctx)
        self.seen[name].append(ctx)
        self._changed.set()

    async def on_connecting(self, ctx): await self._record("connecting", ctx)
    async def on_connected(self, ctx): await self._record("connected", ctx)
    async def on_disconnected(self, ctx): await self._record("disconnected", ctx)
    async def on_error(self, ctx): await self._record("error", ctx)
    async def on_subscribing(self, ctx): await self._record("subscribing", ctx)
    async def on_subscribed(self, ctx): await self._record("subscribed", ctx)
    async def on_unsubscribed(self, ctx): await self._record("unsubscribed", ctx)
    async def on_publication(self, ctx): await self._record("publication", ctx)
    async def on_join(self, ctx): await self._record("join", ctx)
    async def on_leave(self, ctx): await self._record("leave", ctx)

    async def next(
        self, name: str, where: Optional[Callable[[Any], bool]] = None, timeout: float = WAIT
    ) -> Any:
        """The next `name` event not taken yet (that satisfies `where`); fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            items = self.seen[name]
            while self._taken[name] < len(items):
                ctx = items[self._taken[name]]
                self._taken[name] += 1
                if where is None or where(ctx):
                    return ctx
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no {name} event within {timeout} s; events so far: "
                    + ", ".join(f"{k}={len(v)}" for k, v in self.seen.items() if v)
                    + f"; errors: {[repr(e.error) for e in self.seen['error']]}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def take(self, name: str, n: int, timeout: float = WAIT) -> List[Any]:
        return [await self.next(name, timeout=timeout) for _ in range(n)]

    async def none(self, name: str, within: float = QUIET) -> None:
        """Asserts that no new `name` event comes within `within` seconds."""
        before = len(self.seen[name])
        await asyncio.sleep(within)
        extra = self.seen[name][before:]
        assert not extra, f"unexpected {name} events: {extra}"


class Sdk:
    """Hands out centrifuge-python clients for one test and disconnects them all at its end."""

    def __init__(self, codec: Codec):
        self.codec = codec
        self._clients: List[Client] = []

    def client(
        self,
        user: str = "",
        *,
        token_: Optional[str] = None,
        get_token: Optional[Callable[[], Awaitable[str]]] = None,
        events: Optional[Events] = None,
        protobuf: Optional[bool] = None,
        **kwargs: Any,
    ) -> Client:
        tok = token_ if token_ is not None else (token(user) if get_token is None else "")
        c = Client(
            WS_URL,
            events=events or Events(),
            token=tok,
            get_token=get_token,
            use_protobuf=self.codec.protobuf if protobuf is None else protobuf,
            timeout=WAIT,
            # Loopback only: a proxy from the environment must not be used.
            proxy=None,
            **kwargs,
        )
        self._clients.append(c)
        return c

    async def connected(self, user: str = "", **kwargs: Any) -> Client:
        c = self.client(user, **kwargs)
        await c.connect()
        await c.ready(timeout=WAIT)
        return c

    async def close(self) -> None:
        for c in self._clients:
            try:
                await asyncio.wait_for(c.disconnect(), WAIT)
            except Exception:  # a test's own failure is what matters; teardown is best effort
                pass


@pytest.fixture
async def sdk(codec: Codec):
    s = Sdk(codec)
    yield s
    await s.close()


@pytest.fixture
async def sdk_json():
    """For cent tests: an SDK client (JSON) that shows the API's effect."""
    s = Sdk(Codec(False))
    yield s
    await s.close()


class Api:
    """cent through its sync `Client` (run in a thread, so the event loop keeps serving the SDK) or
    its `AsyncClient`: `await api.publish(PublishRequest(...))`."""

    def __init__(self, mode: str, key: str = API_KEY):
        self.mode = mode
        self.sync = None
        self.async_ = None
        if mode == "sync":
            # Loopback only: a requests session would otherwise honour proxy variables (aiohttp's
            # does not by default).
            session = requests.Session()
            session.trust_env = False
            self.sync = CentClient(API_URL, key, timeout=WAIT, session=session)
        else:
            self.async_ = CentAsyncClient(API_URL, key, timeout=WAIT)

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        if method.startswith("_"):
            raise AttributeError(method)

        async def call(request: Any) -> Any:
            if self.sync is not None:
                return await asyncio.to_thread(getattr(self.sync, method), request)
            return await getattr(self.async_, method)(request)

        return call

    async def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        if self.async_ is not None:
            await self.async_.close()


@pytest.fixture(params=["sync", "async"])
async def api(request: pytest.FixtureRequest):
    a = Api(request.param)
    yield a
    await a.close()


@pytest.fixture
async def api_async():
    """For SDK tests that need the server API as a tool (publish from the backend, disconnect)."""
    a = Api("async")
    yield a
    await a.close()


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """INTEROP_FILTERS (JSON list, from the runner's command line): keep the tests whose id contains
    one of them."""
    filters = json.loads(os.environ.get("INTEROP_FILTERS") or "[]")
    if not filters:
        return
    keep = [i for i in items if any(f in i.nodeid for f in filters)]
    drop = [i for i in items if i not in keep]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
