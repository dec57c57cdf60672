/**
 * @module
 * Centrifugo's client permission model for channel operations (the server API bypasses it).
 * Each check takes the connection's user and whether it is subscribed; `client_insecure` allows all.
 */
import type { ChannelOptions } from "../config/mod.ts";

export interface Actor {
  user: string;
  insecure: boolean;
  isSubscribed(channel: string): boolean;
}

function clientOrSubscriber(
  actor: Actor,
  channel: string,
  forClient: boolean,
  forSubscriber: boolean,
  forAnonymous: boolean,
  assumeSubscribed = false,
): boolean {
  const userOk = actor.user !== "" || forAnonymous;
  if (forClient && userOk) return true;
  if (forSubscriber && userOk && (assumeSubscribed || actor.isSubscribed(channel))) return true;
  return actor.insecure;
}

export function canPublish(actor: Actor, channel: string, o: ChannelOptions): boolean {
  return clientOrSubscriber(
    actor,
    channel,
    o.allow_publish_for_client,
    o.allow_publish_for_subscriber,
    o.allow_publish_for_anonymous,
  );
}

/** `assumeSubscribed`: during subscribe, when the checks passed but the subscription is not live yet. */
export function canHistory(
  actor: Actor,
  channel: string,
  o: ChannelOptions,
  assumeSubscribed = false,
): boolean {
  return clientOrSubscriber(
    actor,
    channel,
    o.allow_history_for_client,
    o.allow_history_for_subscriber,
    o.allow_history_for_anonymous,
    assumeSubscribed,
  );
}

export function canPresence(
  actor: Actor,
  channel: string,
  o: ChannelOptions,
  assumeSubscribed = false,
): boolean {
  return clientOrSubscriber(
    actor,
    channel,
    o.allow_presence_for_client,
    o.allow_presence_for_subscriber,
    o.allow_presence_for_anonymous,
    assumeSubscribed,
  );
}

/** Client-side subscribe without a token (the token path is decided by the token alone). */
export function canSubscribeWithoutToken(
  actor: Actor,
  o: ChannelOptions,
  flags: { isPrivate: boolean; isUserLimited: boolean; userAllowed: boolean },
): boolean {
  if (flags.isPrivate) return false;
  if (flags.isUserLimited && o.allow_user_limited_channels) {
    if (flags.userAllowed) return true;
  } else if (o.allow_subscribe_for_client && (actor.user !== "" || o.allow_subscribe_for_anonymous)) {
    return true;
  }
  return actor.insecure;
}
