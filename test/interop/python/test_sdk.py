"""
centrifuge-python against the server, over JSON and protobuf (every test runs with both through the
`codec` fixture; centrifuge-python speaks protobuf with `use_protobuf=True`, where payloads are bytes).

The backend side (publications from the server, forced disconnects) goes through cent's AsyncClient,
as a real backend's would.
"""

import asyncio
import json
import time

import jwt
import pytest
from cent import (
    Disconnect,
    DisconnectRequest,
    HistoryRemoveRequest,
    HistoryRequest,
    PresenceRequest,
    PublishRequest,
)
from centrifuge import ClientState, ReplyError, StreamPosition, SubscriptionState

from conftest import QUIET, WAIT, Codec, Events, Sdk, sub_token, token


async def subscribed(client, channel, **kwargs):
    """A client-side subscription, subscribed; its events are `sub.events`."""
    sub = client.new_subscription(channel, events=Events(), **kwargs)
    await sub.subscribe()
    await sub.ready(timeout=WAIT)
    return sub


async def eventually(check, timeout=WAIT, what="condition"):
    """Polls an async `check` until it returns a truthy value; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")


async def in_both_codecs(check):
    """Runs `check(sdk, codec)` over JSON and over protobuf concurrently, for tests that mostly
    wait; a failure says which protocol failed."""
    sdks = [Sdk(Codec(False)), Sdk(Codec(True))]
    try:
        results = await asyncio.gather(*(check(s, s.codec) for s in sdks), return_exceptions=True)
    finally:
        for s in sdks:
            await s.close()
    failed = [(s.codec, r) for s, r in zip(sdks, results) if isinstance(r, BaseException)]
    if failed:
        raise AssertionError("; ".join(f"{codec}: {err!r}" for codec, err in failed)) from failed[0][1]


async def test_connect_with_token(sdk, codec, names):
    """A connection token's `sub` and `info` become the connection's user and conn_info."""
    user = names.user()
    ev = Events()
    c = sdk.client(token_=token(user, info={"device": "py"}), events=ev)
    await c.connect()
    ctx = await ev.next("connected")
    assert ctx.client, "connect reply carries the client id"
    assert c.state == ClientState.CONNECTED

    sub = await subscribed(c, names.channel())
    presence = await sub.presence(timeout=WAIT)
    assert list(presence.clients) == [ctx.client]
    me = presence.clients[ctx.client]
    assert me.user == user
    assert codec.dec(me.conn_info) == {"device": "py"}


async def test_connect_with_invalid_token_is_refused(sdk, names):
    """A token signed with another key: disconnect 3500 "invalid token", no reconnect."""
    ev = Events()
    other_key = "not-the-interop-secret-but-as-long-as-one"
    bad = jwt.encode({"sub": names.user(), "exp": int(time.time()) + 600}, other_key, algorithm="HS256")
    c = sdk.client(token_=bad, events=ev)
    await c.connect()
    ctx = await ev.next("disconnected")
    assert (ctx.code, ctx.reason) == (3500, "invalid token")
    assert c.state == ClientState.DISCONNECTED
    await ev.none("connected")


async def test_connect_refusals(sdk, names):
    """No token (anonymous connections are off): disconnect 3501 "bad request". A token whose
    `channels` name an unknown namespace: disconnect 102 "unknown channel". Neither reconnects."""
    ev = Events()
    c = sdk.client(token_="", events=ev)
    await c.connect()
    ctx = await ev.next("disconnected")
    assert (ctx.code, ctx.reason) == (3501, "bad request")

    ev = Events()
    c = sdk.client(token_=token(names.user(), channels=[names.channel("nosuchns")]), events=ev)
    await c.connect()
    ctx = await ev.next("disconnected")
    assert (ctx.code, ctx.reason) == (102, "unknown channel")
    assert c.state == ClientState.DISCONNECTED
    await ev.none("connected")


async def test_subscribe_refusals(sdk, codec, names):
    """Subscriptions the server refuses end unsubscribed with its code: 102 for an unknown
    namespace, 103 for a private ($) channel or a namespace that needs a token without one; where
    subscribing is allowed but publishing is not, publish is 103."""
    c = await sdk.connected(names.user())
    for channel, refusal in [
        (names.channel("nosuchns"), (102, "unknown channel")),
        ("$" + names.channel(), (103, "permission denied")),
        (names.channel("secure"), (103, "permission denied")),
    ]:
        sub = c.new_subscription(channel, events=Events())
        await sub.subscribe()
        ctx = await sub.events.next("unsubscribed")
        assert (channel, ctx.code, ctx.reason) == (channel, *refusal)
        c.remove_subscription(sub)

    stream = await subscribed(c, names.channel("stream"))
    with pytest.raises(ReplyError) as e:
        await stream.publish(codec.enc({"no": "publish"}), timeout=WAIT)
    assert (e.value.code, e.value.message) == (103, "permission denied")
    assert c.state == ClientState.CONNECTED


async def test_too_long_channel_is_a_bad_request(sdk, names):
    """A channel name over the configured length (255) is refused with 107 "bad request"."""
    c = await sdk.connected(names.user())
    sub = c.new_subscription("x" * 256, events=Events())
    await sub.subscribe()
    ctx = await sub.events.next("unsubscribed")
    assert (ctx.code, ctx.reason) == (107, "bad request")


async def test_subscribe_receives_api_publications(sdk, codec, names, api_async):
    """Publications sent with the server API arrive in order, with offsets and tags."""
    c = await sdk.connected(names.user())
    channel = names.channel()
    sub = await subscribed(c, channel)
    results = []
    for i in range(3):
        results.append(await api_async.publish(
            PublishRequest(channel=channel, data={"n": i}, tags={"k": f"v{i}"})
        ))
    pubs = await sub.events.take("publication", 3)
    assert [codec.dec(p.pub.data) for p in pubs] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert [p.pub.offset for p in pubs] == [1, 2, 3]
    assert [p.pub.tags for p in pubs] == [{"k": "v0"}, {"k": "v1"}, {"k": "v2"}]
    assert [r.offset for r in results] == [1, 2, 3]
    assert len({r.epoch for r in results}) == 1 and results[0].epoch
    # A publication from the backend has no publisher.
    assert pubs[0].pub.info is None


async def test_client_publish(sdk, codec, names):
    """A client's publication reaches every subscriber, with the publisher's info."""
    channel = names.channel()
    alice, bob = names.user("alice"), names.user("bob")
    a_ev = Events()
    a = sdk.client(token_=token(alice, info={"name": "Alice"}), events=a_ev)
    await a.connect()
    a_id = (await a_ev.next("connected")).client
    b = await sdk.connected(bob)
    a_sub = await subscribed(a, channel)
    b_sub = await subscribed(b, channel)

    await a_sub.publish(codec.enc({"text": "hi"}), timeout=WAIT)
    for s in (b_sub, a_sub):
        got = await s.events.next("publication")
        assert codec.dec(got.pub.data) == {"text": "hi"}
        assert got.pub.offset == 1
        assert got.pub.info is not None
        assert (got.pub.info.client, got.pub.info.user) == (a_id, alice)
        assert codec.dec(got.pub.info.conn_info) == {"name": "Alice"}


async def test_json_and_protobuf_clients_share_a_channel(sdk_json, names):
    """What a protobuf client publishes (JSON bytes) a JSON client reads as JSON, and back."""
    channel = names.channel()
    j = await sdk_json.connected(names.user("json"))
    p = await sdk_json.connected(names.user("proto"), protobuf=True)
    j_sub = await subscribed(j, channel)
    p_sub = await subscribed(p, channel)

    await p_sub.publish(b'{"from":"protobuf"}', timeout=WAIT)
    assert (await j_sub.events.next("publication")).pub.data == {"from": "protobuf"}
    assert (await p_sub.events.next("publication")).pub.data == b'{"from":"protobuf"}'

    await j_sub.publish({"from": "json"}, timeout=WAIT)
    assert (await j_sub.events.next("publication")).pub.data == {"from": "json"}
    assert json.loads((await p_sub.events.next("publication")).pub.data) == {"from": "json"}


async def test_presence_and_presence_stats(sdk, codec, names):
    """Presence lists every subscribed connection with user and conn_info; stats count them."""
    channel = names.channel()
    alice, bob = names.user("alice"), names.user("bob")
    a = await sdk.connected(token_=token(alice, info={"n": "a1"}))
    a2 = await sdk.connected(token_=token(alice, info={"n": "a2"}))
    b = await sdk.connected(token_=token(bob, info={"n": "b"}))
    subs = [await subscribed(x, channel) for x in (a, a2, b)]

    presence = await subs[0].presence(timeout=WAIT)
    entries = sorted((i.user, codec.dec(i.conn_info)["n"]) for i in presence.clients.values())
    assert entries == sorted([(alice, "a1"), (alice, "a2"), (bob, "b")])
    assert all(cid == info.client for cid, info in presence.clients.items())
    assert set(presence.clients) == {x.client_id for x in (a, a2, b)}

    stats = await subs[0].presence_stats(timeout=WAIT)
    assert (stats.num_clients, stats.num_users) == (3, 2)

    await subs[2].unsubscribe()

    async def two():
        s = await subs[0].presence_stats(timeout=WAIT)
        return (s.num_clients, s.num_users) == (2, 1)

    await eventually(two, what="presence stats (2, 1) after bob left")
    assert set((await a.presence(channel, timeout=WAIT)).clients) == {a.client_id, a2.client_id}


async def test_presence_errors(sdk, names):
    """Presence of a channel the client is not subscribed to is 103 (allowed for subscribers only);
    in a namespace without presence it is 108."""
    c = await sdk.connected(names.user())
    with pytest.raises(ReplyError) as e:
        await c.presence(names.channel(), timeout=WAIT)
    assert (e.value.code, e.value.message) == (103, "permission denied")

    sub = await subscribed(c, names.channel("stream"))
    with pytest.raises(ReplyError) as e:
        await sub.presence_stats(timeout=WAIT)
    assert (e.value.code, e.value.message) == (108, "not available")


async def test_history(sdk, codec, names, api_async):
    """History with limit, since and reverse, and the stream position."""
    c = await sdk.connected(names.user())
    channel = names.channel()
    sub = await subscribed(c, channel)
    for i in range(1, 6):
        await api_async.publish(PublishRequest(channel=channel, data={"n": i}))
    await sub.events.take("publication", 5)

    def ns(h):
        return [(p.offset, codec.dec(p.data)["n"]) for p in h.publications]

    first = await sub.history(limit=2, timeout=WAIT)
    assert ns(first) == [(1, 1), (2, 2)]
    assert first.offset == 5 and first.epoch

    epoch = first.epoch
    last = await sub.history(limit=2, reverse=True, timeout=WAIT)
    assert ns(last) == [(5, 5), (4, 4)]

    since = await sub.history(limit=10, since=StreamPosition(offset=2, epoch=epoch), timeout=WAIT)
    assert ns(since) == [(3, 3), (4, 4), (5, 5)]

    back = await sub.history(
        limit=10, since=StreamPosition(offset=4, epoch=epoch), reverse=True, timeout=WAIT)
    assert ns(back) == [(3, 3), (2, 2), (1, 1)]

    position = await sub.history(limit=0, timeout=WAIT)
    assert (position.publications, position.offset, position.epoch) == ([], 5, epoch)

    with pytest.raises(ReplyError) as e:
        await sub.history(limit=10, since=StreamPosition(offset=1, epoch="not-the-epoch"), timeout=WAIT)
    assert (e.value.code, e.value.message) == (112, "unrecoverable position")


async def test_history_errors(sdk, names):
    """History of a channel the client is not subscribed to: 103; of a namespace where clients may
    not read it: 103 too; of one without history: 108."""
    c = await sdk.connected(names.user())
    with pytest.raises(ReplyError) as e:
        await c.history(names.channel(), limit=1, timeout=WAIT)
    assert (e.value.code, e.value.message) == (103, "permission denied")

    stream = await subscribed(c, names.channel("stream"))
    with pytest.raises(ReplyError) as e:
        await stream.history(limit=1, timeout=WAIT)
    assert (e.value.code, e.value.message) == (103, "permission denied")

    with pytest.raises(ReplyError) as e:
        await c.history(names.channel("secure"), limit=1, timeout=WAIT)
    assert (e.value.code, e.value.message) == (108, "not available")


async def test_recovery_after_forced_reconnect(sdk, codec, names, api_async):
    """The server API disconnects the client with a reconnect code; what is published while it is
    away arrives after it reconnects, in order, and the subscription reports `recovered`."""
    user = names.user()
    ev = Events()
    c = await sdk.connected(user, events=ev)
    channel = names.channel("stream")
    sub = await subscribed(c, channel)
    first = sub.events.seen["subscribed"][0]
    assert first.recoverable and not first.was_recovering
    await api_async.publish(PublishRequest(channel=channel, data={"n": 1}))
    assert (await sub.events.next("publication")).pub.offset == 1

    async def publish_while_away(ctx):
        # Runs inside the SDK's connecting handler: the SDK schedules the reconnect after it returns,
        # so these publications happen while the client is away.
        ev.before.pop("connecting")
        for n in (2, 3, 4):
            await api_async.publish(PublishRequest(channel=channel, data={"n": n}))

    ev.before["connecting"] = publish_while_away
    await api_async.disconnect(
        DisconnectRequest(user=user, disconnect=Disconnect(code=4100, reason="go away")))
    away = await ev.next("connecting", where=lambda x: x.code != 0)  # 0: the first connect
    assert (away.code, away.reason) == (4100, "go away")
    await ev.take("connected", 2)  # the first connect, then the reconnect

    again = await sub.events.next("subscribed", where=lambda s: s.was_recovering)
    assert again.recovered, f"not recovered: {again}"
    # On recovery the reply carries the position the client asked from (Centrifugo's choice: the
    # recovered publications then move it forward, whether or not there were any).
    assert again.stream_position.offset == 1
    assert again.stream_position.epoch == first.stream_position.epoch
    pubs = await sub.events.take("publication", 3)
    assert [(p.pub.offset, codec.dec(p.pub.data)) for p in pubs] == [
        (2, {"n": 2}), (3, {"n": 3}), (4, {"n": 4})]
    await sub.events.none("publication")

    # Live again after recovery.
    await api_async.publish(PublishRequest(channel=channel, data={"n": 5}))
    assert (await sub.events.next("publication")).pub.offset == 5


async def test_recovery_reports_a_gap_it_cannot_fill(sdk, codec, names, api_async):
    """When what was missed is no longer in history, the resubscribe says `recovered: false` and
    delivers nothing of it (no partial recovery)."""
    user = names.user()
    ev = Events()
    c = await sdk.connected(user, events=ev)
    channel = names.channel("stream")
    sub = await subscribed(c, channel)
    await api_async.publish(PublishRequest(channel=channel, data={"n": 1}))
    assert (await sub.events.next("publication")).pub.offset == 1

    async def lose_history_while_away(ctx):
        ev.before.pop("connecting")
        for n in (2, 3):
            await api_async.publish(PublishRequest(channel=channel, data={"n": n}))
        await api_async.history_remove(HistoryRemoveRequest(channel=channel))

    ev.before["connecting"] = lose_history_while_away
    await api_async.disconnect(DisconnectRequest(user=user, disconnect=Disconnect(code=4102, reason="gap")))
    again = await sub.events.next("subscribed", where=lambda s: s.was_recovering)
    assert not again.recovered, again
    assert again.stream_position.offset == 3
    await sub.events.none("publication")
    await api_async.publish(PublishRequest(channel=channel, data={"n": 4}))
    got = await sub.events.next("publication")
    assert (got.pub.offset, codec.dec(got.pub.data)) == (4, {"n": 4})


async def test_get_state_after_unrecoverable_position(sdk, codec, names, api_async):
    """With get_state the SDK asks the server to refuse a recovery it cannot complete (error 112,
    subscribe flag 2) and loads the state again from the app, then subscribes from the new
    position."""
    user = names.user()
    ev = Events()
    c = await sdk.connected(user, events=ev)
    channel = names.channel("stream")
    await api_async.publish(PublishRequest(channel=channel, data={"n": 1}))
    positions = []

    async def get_state(ch):
        # The app's own source of truth: here, the stream position from the backend.
        h = await api_async.history(HistoryRequest(channel=ch, limit=0))
        positions.append((h.offset, h.epoch))
        return StreamPosition(offset=h.offset, epoch=h.epoch)

    sub = await subscribed(c, channel, get_state=get_state)
    assert [p[0] for p in positions] == [1]
    first = sub.events.seen["subscribed"][0]
    assert first.was_recovering and first.recovered

    async def lose_history_while_away(ctx):
        ev.before.pop("connecting")
        for n in (2, 3):
            await api_async.publish(PublishRequest(channel=channel, data={"n": n}))
        await api_async.history_remove(HistoryRemoveRequest(channel=channel))

    ev.before["connecting"] = lose_history_while_away
    await api_async.disconnect(
        DisconnectRequest(user=user, disconnect=Disconnect(code=4103, reason="reload")))
    again = await sub.events.next("subscribed", where=lambda s: s is not first)
    assert [p[0] for p in positions] == [1, 3]
    assert positions[0][1] == positions[1][1]
    assert again.recovered and again.stream_position.offset == 3
    await sub.events.none("publication")
    await api_async.publish(PublishRequest(channel=channel, data={"n": 4}))
    got = await sub.events.next("publication")
    assert (got.pub.offset, codec.dec(got.pub.data)) == (4, {"n": 4})


async def test_token_refresh_through_get_token(names):
    """A short-lived token: the SDK asks get_token for a new one before it expires and refreshes the
    connection with it; the server answers with the new token's lifetime (the second short token
    leads to a second refresh), and the connection stays up. JSON and protobuf at once: the test
    mostly waits for the tokens to run out."""

    async def check(sdk, codec):
        user = names.user()
        ttls = [3, 3, 600]
        calls = []

        async def get_token():
            calls.append(time.monotonic())
            return token(user, ttl=ttls[min(len(calls) - 1, len(ttls) - 1)])

        ev = Events()
        c = sdk.client(get_token=get_token, events=ev)
        await c.connect()
        await ev.next("connected")
        assert len(calls) == 1

        async def three():
            return len(calls) >= 3

        await eventually(three, timeout=15, what="two refreshes through get_token")
        await asyncio.sleep(QUIET)
        assert len(calls) == 3, f"get_token called {len(calls)} times"
        assert ev.seen["error"] == [], [repr(e.error) for e in ev.seen["error"]]
        # One connecting event: the first connect. None came from a lost connection.
        assert len(ev.seen["connecting"]) == 1 and len(ev.seen["connected"]) == 1
        assert c.state == ClientState.CONNECTED
        assert codec.dec((await c.rpc("echo", codec.enc(None), timeout=WAIT)).data)["user"] == user

    await in_both_codecs(check)


async def test_expired_token_gets_a_new_one(sdk, names):
    """Connecting with an expired token: error 109, the SDK calls get_token and connects."""
    user = names.user()
    calls = []

    async def get_token():
        calls.append(1)
        return token(user)

    ev = Events()
    c = sdk.client(token_=token(user, ttl=-30), get_token=get_token, events=ev)
    await c.connect()
    await ev.next("connected")
    assert len(calls) == 1
    errors = [e.error for e in ev.seen["error"]]
    assert [(e.code, e.message) for e in errors] == [(109, "token expired")]
    assert c.state == ClientState.CONNECTED


async def test_server_side_subscriptions_from_token(sdk, codec, names, api_async):
    """The token's `channels` and `subs` claims subscribe the connection on the server side; their
    publications come through the client's own handlers."""
    plain, stream = names.channel(), names.channel("stream")
    ev = Events()
    await sdk.connected(token_=token(names.user(), channels=[plain, stream]), events=ev)
    subs = {s.channel: s for s in await ev.take("subscribed", 2)}
    assert set(subs) == {plain, stream}
    assert subs[stream].recoverable and subs[stream].stream_position.epoch
    assert subs[plain].data is None

    await api_async.publish(PublishRequest(channel=plain, data={"to": "plain"}))
    await api_async.publish(PublishRequest(channel=stream, data={"to": "stream"}))
    got = {p.channel: p.pub for p in await ev.take("publication", 2)}
    assert codec.dec(got[plain].data) == {"to": "plain"}
    assert codec.dec(got[stream].data) == {"to": "stream"}
    assert got[stream].offset == 1

    # `subs` entries carry data for the subscribed event; a token with `subs` subscribes to those
    # only, its `channels` are not read (Centrifugo takes one claim or the other).
    with_data, ignored = names.channel(), names.channel()
    ev2 = Events()
    claims = {"subs": {with_data: {"data": {"hello": "sub"}}}, "channels": [ignored]}
    await sdk.connected(token_=token(names.user(), **claims), events=ev2)
    ctx = await ev2.next("subscribed")
    assert (ctx.channel, codec.dec(ctx.data)) == (with_data, {"hello": "sub"})
    await ev2.none("subscribed")


async def test_server_side_subscription_recovers(sdk, codec, names, api_async):
    """A server-side subscription in a namespace with recovery catches up after a forced reconnect."""
    user, channel = names.user(), names.channel("stream")
    ev = Events()
    await sdk.connected(token_=token(user, channels=[channel]), events=ev)
    await ev.next("subscribed")
    await api_async.publish(PublishRequest(channel=channel, data={"n": 1}))
    assert (await ev.next("publication")).pub.offset == 1

    async def publish_while_away(ctx):
        ev.before.pop("connecting")
        for n in (2, 3):
            await api_async.publish(PublishRequest(channel=channel, data={"n": n}))

    ev.before["connecting"] = publish_while_away
    await api_async.disconnect(DisconnectRequest(user=user, disconnect=Disconnect(code=4101, reason="again")))
    away = await ev.next("connecting", where=lambda x: x.code != 0)
    assert (away.code, away.reason) == (4101, "again")
    again = await ev.next("subscribed")
    assert again.was_recovering and again.recovered, again
    pubs = await ev.take("publication", 2)
    assert [(p.channel, p.pub.offset, codec.dec(p.pub.data)) for p in pubs] == [
        (channel, 2, {"n": 2}), (channel, 3, {"n": 3})]


async def test_rpc(sdk, codec, names):
    """The server's RPC: `echo` answers with the data and the caller; `fail` is error 4001; any
    other method is 104."""
    user = names.user()
    c = await sdk.connected(user)
    result = await c.rpc("echo", codec.enc({"ping": 1}), timeout=WAIT)
    assert codec.dec(result.data) == {"echo": {"ping": 1}, "user": user}

    with pytest.raises(ReplyError) as e:
        await c.rpc("fail", codec.enc({}), timeout=WAIT)
    assert (e.value.code, e.value.message, e.value.temporary) == (4001, "rpc failed on purpose", False)

    with pytest.raises(ReplyError) as e:
        await c.rpc("no_such_method", codec.enc({}), timeout=WAIT)
    assert (e.value.code, e.value.message) == (104, "method not found")


async def test_join_and_leave(sdk, codec, names):
    """Subscribers see join and leave of other subscribers, with their client info."""
    channel = names.channel()
    watcher = await sdk.connected(names.user("watcher"))
    w_sub = await subscribed(watcher, channel, join_leave=True)
    guest_user = names.user("guest")
    guest = await sdk.connected(token_=token(guest_user, info={"role": "guest"}))
    g_sub = await subscribed(guest, channel)

    def is_guest(ctx):
        return ctx.info.client == guest.client_id

    joined = await w_sub.events.next("join", where=is_guest)
    assert joined.info.user == guest_user
    assert codec.dec(joined.info.conn_info) == {"role": "guest"}

    await g_sub.unsubscribe()
    left = await w_sub.events.next("leave", where=is_guest)
    assert left.info.user == guest_user

    # A connection that goes away leaves every channel it was in.
    other = await sdk.connected(names.user("other"))
    await subscribed(other, channel)
    await w_sub.events.next("join", where=lambda ctx: ctx.info.client == other.client_id)
    await other.disconnect()
    await w_sub.events.next("leave", where=lambda ctx: ctx.info.client == other.client_id)


async def test_subscription_token(sdk, codec, names, api_async):
    """The `secure` namespace needs a subscription token: without one the SDK's subscription ends
    with 103; with one (from get_token) it subscribes, with the token's channel info and data."""
    user = names.user()
    c = await sdk.connected(user)
    channel = names.channel("secure")

    denied = c.new_subscription(channel, events=Events())
    await denied.subscribe()
    ctx = await denied.events.next("unsubscribed")
    assert (ctx.code, ctx.reason) == (103, "permission denied")
    assert denied.state == SubscriptionState.UNSUBSCRIBED
    c.remove_subscription(denied)

    asked = []

    async def get_token(ch):
        asked.append(ch)
        return sub_token(user, ch, info={"seat": 7}, data={"welcome": "in"})

    sub = await subscribed(c, channel, get_token=get_token)
    assert asked == [channel]
    # The token's `data` comes with the subscribe reply.
    assert codec.dec(sub.events.seen["subscribed"][0].data) == {"welcome": "in"}
    await api_async.publish(PublishRequest(channel=channel, data={"secret": True}))
    assert codec.dec((await sub.events.next("publication")).pub.data) == {"secret": True}
    # Clients of this namespace may not ask for presence: the backend does.
    presence = await api_async.presence(PresenceRequest(channel=channel))
    assert presence.presence[c.client_id].chan_info == {"seat": 7}


async def test_subscription_token_refresh(names):
    """A short-lived subscription token is refreshed through the subscription's get_token, and the
    subscription stays. JSON and protobuf at once (the test mostly waits)."""

    async def check(sdk, codec):
        user = names.user()
        c = await sdk.connected(user)
        channel = names.channel("secure")
        calls = []

        async def get_token(ch):
            calls.append(ch)
            return sub_token(user, ch, ttl=3 if len(calls) == 1 else 600)

        sub = await subscribed(c, channel, get_token=get_token)

        async def refreshed():
            return len(calls) >= 2

        await eventually(refreshed, timeout=15, what="subscription token refresh")
        await asyncio.sleep(QUIET)
        assert calls == [channel, channel]
        assert sub.events.seen["error"] == [], [repr(e.error) for e in sub.events.seen["error"]]
        assert sub.state == SubscriptionState.SUBSCRIBED
        assert len(sub.events.seen["subscribed"]) == 1

    await in_both_codecs(check)


async def test_subscription_token_for_another_channel(sdk, names):
    """A subscription token for another channel is an invalid token: the connection is closed with
    3500 and does not reconnect."""
    user = names.user()
    ev = Events()
    c = await sdk.connected(user, events=ev)
    channel = names.channel("secure")
    c.new_subscription(channel, token=sub_token(user, names.channel("secure")))
    await c.get_subscription(channel).subscribe()
    ctx = await ev.next("disconnected")
    assert (ctx.code, ctx.reason) == (3500, "invalid token")
