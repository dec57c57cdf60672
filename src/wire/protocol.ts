/**
 * @module
 * Wire types of Centrifugo's client protocol v2 (JSON), as decoded from clients.
 * Application payloads (`data`, `info`) are kept as JSON text ("raw") from the moment they are
 * decoded, so a publication is serialised exactly once however many clients receive it.
 */

/** JSON text of an application value (never contains a raw newline). */
export type Raw = string;

export interface StreamPosition {
  offset: number;
  epoch: string;
}

export interface ClientInfo {
  user: string;
  client: string;
  /** Connection info, JSON text. */
  connInfo?: Raw;
  /** Channel info, JSON text. */
  chanInfo?: Raw;
}

export interface Publication {
  /** JSON text. */
  data: Raw;
  /** 0 or absent when the channel keeps no history. */
  offset?: number;
  info?: ClientInfo;
  tags?: Record<string, string>;
  /** Unix ms when the publication entered the broker. */
  time?: number;
  /**
   * The stream's epoch, on the first publication of a stream only (offset 1): Centrifugo sends it
   * there so a client learns the epoch from the publication itself.
   */
  epoch?: string;
}

export interface ConnectRequest {
  token?: string;
  data?: unknown;
  subs?: Record<string, SubscribeRequest>;
  name?: string;
  version?: string;
  headers?: Record<string, string>;
}

export interface SubscribeRequest {
  channel: string;
  token?: string;
  data?: unknown;
  recover?: boolean;
  offset?: number;
  epoch?: string;
  positioned?: boolean;
  recoverable?: boolean;
  join_leave?: boolean;
  flag?: number;
  delta?: string;
  /** A tags filter: Sluice filters by none, so one is refused (107). */
  tf?: unknown;
}

export interface Command {
  id: number;
  connect?: ConnectRequest;
  subscribe?: SubscribeRequest;
  unsubscribe?: { channel: string };
  publish?: { channel: string; data?: unknown };
  presence?: { channel: string };
  presence_stats?: { channel: string };
  history?: {
    channel: string;
    limit?: number;
    since?: { offset?: number; epoch?: string };
    reverse?: boolean;
  };
  ping?: Record<string, never>;
  send?: { data?: unknown };
  rpc?: { method?: string; data?: unknown };
  refresh?: { token: string };
  sub_refresh?: { channel: string; token: string };
}

export const COMMAND_METHODS = [
  "connect",
  "subscribe",
  "unsubscribe",
  "publish",
  "presence",
  "presence_stats",
  "history",
  "ping",
  "send",
  "rpc",
  "refresh",
  "sub_refresh",
] as const;

export type CommandMethod = typeof COMMAND_METHODS[number];

/** Subscribe flag bit 2: the client wants error 112 instead of an unrecovered subscription. */
export const FLAG_REJECT_UNRECOVERED = 2;
