"""
cent (the server API client) against the server: every method it has, through its sync `Client`
and its `AsyncClient` (the `api` fixture runs each test with both), with valid parameters — the
effect checked through a connected centrifuge-python client — and with invalid ones (the error cent
raises).
"""

import asyncio
import base64
import time

import pytest
from cent import (
    BatchRequest,
    BoolValue,
    BroadcastRequest,
    CentApiResponseError,
    CentTransportError,
    CentUnauthorizedError,
    ChannelOptionsOverride,
    ChannelsRequest,
    Disconnect,
    DisconnectRequest,
    HistoryRemoveRequest,
    HistoryRequest,
    InfoRequest,
    PresenceRequest,
    PresenceStatsRequest,
    PublishRequest,
    RefreshRequest,
    StreamPosition,
    SubscribeRequest,
    UnsubscribeRequest,
)
from cent import dto as cent_dto
from centrifuge import ClientState, SubscriptionState

from conftest import WAIT, Api, Events, token


async def subscribed(client, channel, **kwargs):
    sub = client.new_subscription(channel, events=Events(), **kwargs)
    await sub.subscribe()
    await sub.ready(timeout=WAIT)
    return sub


async def api_error(call) -> CentApiResponseError:
    """The CentApiResponseError a call raises (fails if it raises none)."""
    with pytest.raises(CentApiResponseError) as e:
        await call
    return e.value


async def test_publish(api, sdk_json, names):
    """publish: the result's position, the subscriber's publication (data, tags), skip_history,
    idempotency_key; an empty channel (107) and an unknown namespace (102)."""
    c = await sdk_json.connected(names.user())
    channel = names.channel()
    sub = await subscribed(c, channel)

    r = await api.publish(PublishRequest(channel=channel, data={"text": "one"}, tags={"t": "1"}))
    assert r.offset == 1 and r.epoch
    got = await sub.events.next("publication")
    assert (got.pub.data, got.pub.offset, got.pub.tags) == ({"text": "one"}, 1, {"t": "1"})

    # Delivered, not kept: the result carries no position.
    skipped = await api.publish(
        PublishRequest(channel=channel, data={"text": "live only"}, skip_history=True))
    assert (skipped.offset, skipped.epoch) == (0, "")
    assert (await sub.events.next("publication")).pub.data == {"text": "live only"}

    key = names.user("idem")
    first = await api.publish(PublishRequest(channel=channel, data={"text": "once"}, idempotency_key=key))
    again = await api.publish(PublishRequest(channel=channel, data={"text": "twice"}, idempotency_key=key))
    assert (first.offset, first.epoch) == (2, r.epoch)
    assert (again.offset, again.epoch) == (first.offset, first.epoch)
    assert (await sub.events.next("publication")).pub.data == {"text": "once"}
    await sub.events.none("publication")

    history = await api.history(HistoryRequest(channel=channel, limit=-1))
    assert [(p.offset, p.data) for p in history.publications] == [(1, {"text": "one"}), (2, {"text": "once"})]

    assert (await api_error(api.publish(PublishRequest(channel="", data=1)))).code == 107
    e = await api_error(api.publish(PublishRequest(channel=names.channel("nosuchns"), data=1)))
    assert (e.code, e.message) == (102, "unknown channel")


async def test_publish_binary(api, sdk_json, names):
    """publish with b64data: a protobuf client receives exactly the bytes."""
    c = await sdk_json.connected(names.user(), protobuf=True)
    channel = names.channel()
    sub = await subscribed(c, channel)
    raw = bytes([0, 1, 2, 254, 255]) + b"binary"
    await api.publish(PublishRequest(channel=channel, data=None, b64data=base64.b64encode(raw).decode()))
    assert (await sub.events.next("publication")).pub.data == raw


async def test_broadcast(api, sdk_json, names):
    """broadcast: one publication per channel, one response each (an error for a bad channel);
    no channels at all is 107."""
    c = await sdk_json.connected(names.user())
    a, b = names.channel(), names.channel()
    sub_a, sub_b = await subscribed(c, a), await subscribed(c, b)

    r = await api.broadcast(BroadcastRequest(channels=[a, b], data={"all": True}, tags={"x": "y"}))
    assert [x.error for x in r.responses] == [None, None]
    assert [x.result.offset for x in r.responses] == [1, 1]
    for s in (sub_a, sub_b):
        got = await s.events.next("publication")
        assert (got.pub.data, got.pub.tags) == ({"all": True}, {"x": "y"})

    mixed = await api.broadcast(BroadcastRequest(channels=[a, names.channel("nosuchns")], data=2))
    assert mixed.responses[0].error is None and mixed.responses[0].result.offset == 2
    assert (mixed.responses[1].error.code, mixed.responses[1].error.message) == (102, "unknown channel")
    assert (await sub_a.events.next("publication")).pub.data == 2

    assert (await api_error(api.broadcast(BroadcastRequest(channels=[], data=1)))).code == 107


async def test_subscribe(api, sdk_json, names):
    """subscribe: the user's connection gets a server-side subscription with the data, the info is
    its channel info, publications follow; `client` narrows to one connection; 107 and 102 for bad
    channels."""
    user = names.user()
    ev = Events()
    c = await sdk_json.connected(user, events=ev)
    channel = names.channel()

    await api.subscribe(SubscribeRequest(user=user, channel=channel, data={"welcome": 1}, info={"seat": 3}))
    ctx = await ev.next("subscribed")
    assert (ctx.channel, ctx.data) == (channel, {"welcome": 1})
    await api.publish(PublishRequest(channel=channel, data={"n": 1}))
    got = await ev.next("publication")
    assert (got.channel, got.pub.data) == (channel, {"n": 1})
    presence = await api.presence(PresenceRequest(channel=channel))
    assert presence.presence[c.client_id].chan_info == {"seat": 3}

    # `client` narrows to one connection of the user.
    other_ev = Events()
    other = await sdk_json.connected(user, events=other_ev)
    only = names.channel()
    await api.subscribe(SubscribeRequest(user=user, channel=only, client=other.client_id))
    assert (await other_ev.next("subscribed", where=lambda s: s.channel == only)).channel == only
    await ev.none("subscribed")

    assert (await api_error(api.subscribe(SubscribeRequest(user=user, channel="")))).code == 107
    e = await api_error(api.subscribe(SubscribeRequest(user=user, channel=names.channel("nosuchns"))))
    assert (e.code, e.message) == (102, "unknown channel")


async def test_subscribe_recover_since(api, sdk_json, names):
    """subscribe with recover_since: the subscription starts at that position."""
    user = names.user()
    ev = Events()
    await sdk_json.connected(user, events=ev)
    stream = names.channel("stream")
    p1 = await api.publish(PublishRequest(channel=stream, data={"n": 1}))
    for n in (2, 3):
        await api.publish(PublishRequest(channel=stream, data={"n": n}))
    await api.subscribe(SubscribeRequest(
        user=user, channel=stream, recover_since=StreamPosition(offset=p1.offset, epoch=p1.epoch)))
    ctx = await ev.next("subscribed")
    assert ctx.recoverable
    assert (ctx.stream_position.offset, ctx.stream_position.epoch) == (1, p1.epoch)

    await api.publish(PublishRequest(channel=stream, data={"n": 4}))
    pubs = []
    while not pubs or pubs[-1] != (4, {"n": 4}):
        got = await ev.next("publication")
        pubs.append((got.pub.offset, got.pub.data))
    # What follows the position before the live publication: Sluice sends the missed publications
    # after the push (README, Server API: "the missed publications follow the push"); Centrifugo
    # v6.9.1 reads them from history but its subscribe push has no field for them, so the client
    # never gets them. Either of these, and nothing else (no gap, no duplicate, no reordering).
    assert pubs[:-1] in ([], [(2, {"n": 2}), (3, {"n": 3})]), pubs


async def test_subscribe_override(api, sdk_json, names):
    """subscribe with `override`: presence turned off for this subscription in a namespace with
    presence, so presence does not list the connection."""
    user = names.user()
    ev = Events()
    c = await sdk_json.connected(user, events=ev)
    watcher = await sdk_json.connected(names.user("watcher"))
    channel = names.channel()
    await subscribed(watcher, channel)
    await api.subscribe(SubscribeRequest(
        user=user, channel=channel, override=ChannelOptionsOverride(presence=BoolValue(value=False))))
    await ev.next("subscribed")
    await api.publish(PublishRequest(channel=channel, data={"n": 1}))
    assert (await ev.next("publication")).pub.data == {"n": 1}
    presence = await api.presence(PresenceRequest(channel=channel))
    assert set(presence.presence) == {watcher.client_id}
    assert c.client_id not in presence.presence


async def test_unsubscribe(api, sdk_json, names):
    """unsubscribe: a client-side subscription ends with 2000, a server-side one is reported
    unsubscribed; `client` narrows to one connection; an unknown namespace is 102."""
    user = names.user()
    ev = Events()
    c = await sdk_json.connected(user, events=ev)
    other = await sdk_json.connected(user)
    channel, server_side = names.channel(), names.channel()
    sub = await subscribed(c, channel)
    other_sub = await subscribed(other, channel)

    await api.unsubscribe(UnsubscribeRequest(user=user, channel=channel, client=c.client_id))
    ctx = await sub.events.next("unsubscribed")
    assert (ctx.code, ctx.reason) == (2000, "server unsubscribe")
    assert sub.state == SubscriptionState.UNSUBSCRIBED
    await other_sub.events.none("unsubscribed")
    assert other_sub.state == SubscriptionState.SUBSCRIBED

    await api.subscribe(SubscribeRequest(user=user, channel=server_side, client=c.client_id))
    await ev.next("subscribed")
    await api.unsubscribe(UnsubscribeRequest(user=user, channel=server_side))
    assert (await ev.next("unsubscribed")).channel == server_side

    # Without `client`: every connection of the user.
    await api.unsubscribe(UnsubscribeRequest(user=user, channel=channel))
    assert (await other_sub.events.next("unsubscribed")).code == 2000

    e = await api_error(api.unsubscribe(UnsubscribeRequest(user=user, channel=names.channel("nosuchns"))))
    assert (e.code, e.message) == (102, "unknown channel")


async def test_disconnect(api, sdk_json, names):
    """disconnect: by default 3503 "force disconnect" (no reconnect); a custom code and reason;
    `whitelist` keeps a connection, `client` picks one."""
    user = names.user()
    evs = [Events() for _ in range(3)]
    conns = [await sdk_json.connected(user, events=e) for e in evs]

    await api.disconnect(DisconnectRequest(user=user, client=conns[0].client_id))
    ctx = await evs[0].next("disconnected")
    assert (ctx.code, ctx.reason) == (3503, "force disconnect")
    assert conns[0].state == ClientState.DISCONNECTED

    await api.disconnect(DisconnectRequest(
        user=user, whitelist=[conns[1].client_id], disconnect=Disconnect(code=4501, reason="bye now")))
    ctx = await evs[2].next("disconnected")
    assert (ctx.code, ctx.reason) == (4501, "bye now")
    await evs[1].none("disconnected")
    assert conns[1].state == ClientState.CONNECTED

    # A reconnect code: the client comes back by itself.
    await api.disconnect(DisconnectRequest(user=user, disconnect=Disconnect(code=3100, reason="come back")))
    ctx = await evs[1].next("connecting", where=lambda x: x.code != 0)
    assert (ctx.code, ctx.reason) == (3100, "come back")
    await evs[1].take("connected", 2)
    assert conns[1].state == ClientState.CONNECTED


async def test_refresh(api, sdk_json, names):
    """refresh: `expire_at` in the future keeps the connection; `expired: true` closes it with
    3005 "connection expired" and the SDK reconnects."""
    user = names.user()
    ev = Events()
    c = await sdk_json.connected(user, events=ev)

    await api.refresh(RefreshRequest(user=user, expire_at=int(time.time()) + 3600))
    await ev.none("connecting")
    assert c.state == ClientState.CONNECTED

    await api.refresh(RefreshRequest(user=user, client=c.client_id, expired=True))
    ctx = await ev.next("connecting", where=lambda x: x.code != 0)
    assert (ctx.code, ctx.reason) == (3005, "connection expired")
    await ev.take("connected", 2)  # the first connect, then the reconnect
    assert c.state == ClientState.CONNECTED


async def test_presence_and_presence_stats(api, sdk_json, names):
    """presence lists subscribed connections (user, client, conn_info); presence_stats counts them;
    108 without presence, 107 for an empty channel, 102 for an unknown namespace."""
    channel = names.channel()
    alice, bob = names.user("alice"), names.user("bob")
    a = await sdk_json.connected(token_=token(alice, info={"n": "a"}))
    b = await sdk_json.connected(token_=token(bob, info={"n": "b"}))
    b2 = await sdk_json.connected(token_=token(bob, info={"n": "b2"}))
    for x in (a, b, b2):
        await subscribed(x, channel)

    p = await api.presence(PresenceRequest(channel=channel))
    assert {cid: (i.client, i.user, i.conn_info) for cid, i in p.presence.items()} == {
        a.client_id: (a.client_id, alice, {"n": "a"}),
        b.client_id: (b.client_id, bob, {"n": "b"}),
        b2.client_id: (b2.client_id, bob, {"n": "b2"}),
    }
    s = await api.presence_stats(PresenceStatsRequest(channel=channel))
    assert (s.num_clients, s.num_users) == (3, 2)

    empty = await api.presence(PresenceRequest(channel=names.channel()))
    assert empty.presence == {}

    for call in (api.presence(PresenceRequest(channel=names.channel("stream"))),
                 api.presence_stats(PresenceStatsRequest(channel=names.channel("stream")))):
        e = await api_error(call)
        assert (e.code, e.message) == (108, "not available")
    assert (await api_error(api.presence(PresenceRequest(channel="")))).code == 107
    assert (await api_error(api.presence_stats(PresenceStatsRequest(channel="")))).code == 107
    e = await api_error(api.presence(PresenceRequest(channel=names.channel("nosuchns"))))
    assert (e.code, e.message) == (102, "unknown channel")


async def test_history(api, names):
    """history: limit (0 = only the position, -1 = all), since, reverse; 112 for another epoch,
    108 without history, 107 and 102."""
    channel = names.channel()
    results = [await api.publish(PublishRequest(channel=channel, data={"n": n})) for n in range(1, 6)]
    epoch = results[0].epoch

    def ns(h):
        return [(p.offset, p.data["n"]) for p in h.publications]

    everything = await api.history(HistoryRequest(channel=channel, limit=-1))
    assert ns(everything) == [(i, i) for i in range(1, 6)]
    assert (everything.offset, everything.epoch) == (5, epoch)

    position = await api.history(HistoryRequest(channel=channel, limit=0))
    assert (position.publications, position.offset, position.epoch) == ([], 5, epoch)
    assert (await api.history(HistoryRequest(channel=channel))).publications == []

    assert ns(await api.history(HistoryRequest(channel=channel, limit=2))) == [(1, 1), (2, 2)]
    assert ns(await api.history(HistoryRequest(channel=channel, limit=2, reverse=True))) == [(5, 5), (4, 4)]
    since = StreamPosition(offset=3, epoch=epoch)
    assert ns(await api.history(HistoryRequest(channel=channel, limit=-1, since=since))) == [(4, 4), (5, 5)]
    assert ns(await api.history(HistoryRequest(channel=channel, limit=-1, since=since, reverse=True))) == [
        (2, 2), (1, 1)]

    never = await api.history(HistoryRequest(channel=names.channel(), limit=-1))
    assert (never.publications, never.offset) == ([], 0)

    e = await api_error(api.history(HistoryRequest(
        channel=channel, limit=-1, since=StreamPosition(offset=1, epoch="another"))))
    assert (e.code, e.message) == (112, "unrecoverable position")
    e = await api_error(api.history(HistoryRequest(channel=names.channel("secure"), limit=-1)))
    assert (e.code, e.message) == (108, "not available")
    assert (await api_error(api.history(HistoryRequest(channel="", limit=-1)))).code == 107
    e = await api_error(api.history(HistoryRequest(channel=names.channel("nosuchns"), limit=-1)))
    assert (e.code, e.message) == (102, "unknown channel")


async def test_history_remove(api, names):
    """history_remove: the publications go, the position stays; 108, 107 and 102."""
    channel = names.channel()
    for n in range(3):
        last = await api.publish(PublishRequest(channel=channel, data=n))
    await api.history_remove(HistoryRemoveRequest(channel=channel))
    h = await api.history(HistoryRequest(channel=channel, limit=-1))
    assert (h.publications, h.offset, h.epoch) == ([], 3, last.epoch)
    # The stream goes on from there.
    assert (await api.publish(PublishRequest(channel=channel, data=3))).offset == 4

    e = await api_error(api.history_remove(HistoryRemoveRequest(channel=names.channel("secure"))))
    assert (e.code, e.message) == (108, "not available")
    assert (await api_error(api.history_remove(HistoryRemoveRequest(channel="")))).code == 107
    e = await api_error(api.history_remove(HistoryRemoveRequest(channel=names.channel("nosuchns"))))
    assert (e.code, e.message) == (102, "unknown channel")


async def test_channels(api, sdk_json, names):
    """channels: the active channels with their subscriber counts, filtered by a pattern."""
    a, b = names.channel(), names.channel()
    c1 = await sdk_json.connected(names.user())
    c2 = await sdk_json.connected(names.user())
    await subscribed(c1, a)
    await subscribed(c2, a)
    await subscribed(c1, b)

    r = await api.channels(ChannelsRequest(pattern=a))
    assert {k: v.num_clients for k, v in r.channels.items()} == {a: 2}
    prefix = a.rsplit("-", 1)[0]
    r = await api.channels(ChannelsRequest(pattern=prefix + "-*"))
    assert {k: v.num_clients for k, v in r.channels.items()} == {a: 2, b: 1}
    everything = await api.channels(ChannelsRequest())
    assert {a, b} <= set(everything.channels)
    assert (await api.channels(ChannelsRequest(pattern=names.channel()))).channels == {}


async def test_info(api, sdk_json, names):
    """info: this node, with counts that include a connected, subscribed client."""
    c = await sdk_json.connected(names.user())
    await subscribed(c, names.channel())

    async def counted():
        r = await api.info(InfoRequest())
        assert len(r.nodes) == 1
        node = r.nodes[0]
        assert node.uid and node.name and node.version
        assert node.uptime >= 0
        return node.num_clients >= 1 and node.num_users >= 1 and node.num_channels >= 1

    # Centrifugo refreshes these counts every few seconds, not on each request.
    deadline = time.monotonic() + WAIT
    while not await counted():
        assert time.monotonic() < deadline, "info never counted the connected client"
        await asyncio.sleep(0.25)


async def test_batch(api, sdk_json, names):
    """batch: the commands run in order (or in parallel), one typed reply each."""
    c = await sdk_json.connected(names.user())
    channel = names.channel()
    sub = await subscribed(c, channel)
    for parallel in (False, True):
        r = await api.batch(BatchRequest(parallel=parallel, requests=[
            PublishRequest(channel=channel, data={"parallel": parallel}),
            PresenceStatsRequest(channel=channel),
            HistoryRequest(channel=channel, limit=0),
            InfoRequest(),
        ]))
        publish, stats, history, info = r.replies
        assert isinstance(publish, cent_dto.PublishResult) and publish.offset >= 1
        assert isinstance(stats, cent_dto.PresenceStatsResult)
        assert (stats.num_clients, stats.num_users) == (1, 1)
        assert isinstance(history, cent_dto.HistoryResult) and history.epoch == publish.epoch
        if not parallel:
            # In order: the history read sees the publication before it.
            assert history.offset == publish.offset
        assert isinstance(info, cent_dto.InfoResult) and len(info.nodes) == 1
        assert (await sub.events.next("publication")).pub.data == {"parallel": parallel}


async def test_wrong_api_key(names):
    """A wrong key: 401, which cent raises as CentUnauthorizedError (both clients)."""
    for mode in ("sync", "async"):
        bad = Api(mode, key="not-the-key")
        try:
            with pytest.raises(CentUnauthorizedError):
                await bad.publish(PublishRequest(channel=names.channel(), data=1))
        finally:
            await bad.close()


# Methods cent has for Centrifugo PRO: Centrifugo (OSS) answers 404, which cent raises as
# CentTransportError; a server compatible with Centrifugo OSS answers the same.
PRO_ONLY = [
    cent_dto.ConnectionsRequest(user="u", expression=""),
    cent_dto.UpdateUserStatusRequest(users=["u"]),
    cent_dto.GetUserStatusRequest(users=["u"]),
    cent_dto.DeleteUserStatusRequest(users=["u"]),
    cent_dto.BlockUserRequest(user="u"),
    cent_dto.UnblockUserRequest(user="u"),
    cent_dto.RevokeTokenRequest(uid="x"),
    cent_dto.InvalidateUserTokensRequest(user="u"),
    cent_dto.DeviceRegisterRequest(provider="fcm", token="t", platform="android"),
    cent_dto.DeviceUpdateRequest(ids=["d"]),
    cent_dto.DeviceRemoveRequest(ids=["d"]),
    cent_dto.DeviceListRequest(),
    cent_dto.DeviceTopicListRequest(),
    cent_dto.DeviceTopicUpdateRequest(device_id="d", op="add", topics=["t"]),
    cent_dto.UserTopicListRequest(),
    cent_dto.UserTopicUpdateRequest(user="u", op="add", topics=["t"]),
    cent_dto.SendPushNotificationRequest(
        recipient=cent_dto.PushRecipient(fcm_tokens=["t"]),
        notification=cent_dto.PushNotification(fcm=cent_dto.FcmPushNotification(message={}))),
    cent_dto.UpdatePushStatusRequest(analytics_uid="a", status="delivered"),
    cent_dto.CancelPushRequest(uid="x"),
]


@pytest.mark.parametrize("request_", PRO_ONLY, ids=[r.api_method for r in PRO_ONLY])
async def test_pro_method_is_not_found(api, request_):
    with pytest.raises(CentTransportError) as e:
        await getattr(api, request_.api_method)(request_)
    assert e.value.status_code == 404


async def test_bad_request_answers_match_centrifugo(api_async, names):
    """What cent raises for malformed requests is Centrifugo's: code 107, message "bad request"."""
    user = names.user()
    calls = {
        "publish without channel": api_async.publish(PublishRequest(channel="", data=1)),
        "publish without data": api_async.publish(PublishRequest(channel=names.channel(), data=None)),
        "broadcast without channels": api_async.broadcast(BroadcastRequest(channels=[], data=1)),
        "subscribe without channel": api_async.subscribe(SubscribeRequest(user=user, channel="")),
        "presence without channel": api_async.presence(PresenceRequest(channel="")),
        "presence_stats without channel": api_async.presence_stats(PresenceStatsRequest(channel="")),
        "history without channel": api_async.history(HistoryRequest(channel="")),
        "history_remove without channel": api_async.history_remove(HistoryRemoveRequest(channel="")),
    }
    answers = {}
    for what, call in calls.items():
        try:
            await call
            answers[what] = "no error"
        except CentApiResponseError as e:
            answers[what] = (e.code, e.message)
    r = await api_async.broadcast(BroadcastRequest(channels=[names.channel(), ""], data=1))
    answers["broadcast to an empty channel name"] = (r.responses[1].error.code, r.responses[1].error.message)
    expected = {what: (107, "bad request") for what in answers}
    # Centrifugo unsubscribes from no channel at all, without an error.
    try:
        await api_async.unsubscribe(UnsubscribeRequest(user=user, channel=""))
        answers["unsubscribe with an empty channel"] = "no error"
    except CentApiResponseError as e:
        answers["unsubscribe with an empty channel"] = (e.code, e.message)
    expected["unsubscribe with an empty channel"] = "no error"

    wrong = {what: a for what, a in answers.items() if a != expected[what]}
    assert not wrong, "answers other than Centrifugo's:\n" + "\n".join(
        f"  {what}: {a}, Centrifugo: {expected[what]}" for what, a in wrong.items())


async def test_inputs_centrifugo_accepts(api_async, sdk_json, names):
    """Requests Centrifugo carries out although their values are out of the documented range; a
    backend written against it sends them without an error."""
    user = names.user()
    ev = Events()
    await sdk_json.connected(user, events=ev)
    outcomes = {}

    async def attempt(what, call):
        try:
            await call
            outcomes[what] = "accepted"
        except CentApiResponseError as e:
            outcomes[what] = f"error {e.code}: {e.message}"

    # Only a reason, as cent allows: Centrifugo closes the connection (the close frame carries code
    # 0, which the client takes as a broken transport), and the SDK reconnects.
    await attempt("disconnect with Disconnect(reason=...)",
                  api_async.disconnect(DisconnectRequest(user=user, disconnect=Disconnect(reason="bye"))))
    if outcomes["disconnect with Disconnect(reason=...)"] == "accepted":
        await ev.next("connecting", where=lambda x: x.code != 0)
        await ev.take("connected", 2)
    await attempt("refresh with a negative expire_at",
                  api_async.refresh(RefreshRequest(user=user, expire_at=-5)))
    await attempt("history with limit -5",
                  api_async.history(HistoryRequest(channel=names.channel(), limit=-5)))
    refused = {what: o for what, o in outcomes.items() if o != "accepted"}
    assert not refused, "refused where Centrifugo accepts:\n" + "\n".join(
        f"  {what}: {o}" for what, o in refused.items())
