/**
 * @module
 * The two error kinds a client can see, with Centrifugo's numbers.
 *
 * - `ClientError` answers one command and keeps the connection (reply `error`).
 * - `Disconnect` closes the connection with a code that tells the SDK whether to reconnect:
 *   3000–3499 and 4000–4499 reconnect, 3500–3999 and 4500–4999 are terminal.
 *
 * Both carry a brand symbol so errors thrown by a second copy of this module (a plugin that
 * bundled its own Sluice) are still recognised: see `isClientError` / `isDisconnect`.
 */

const CLIENT_ERROR_BRAND = Symbol.for("sluice.ClientError");
const DISCONNECT_BRAND = Symbol.for("sluice.Disconnect");

export class ClientError extends Error {
  readonly [CLIENT_ERROR_BRAND] = true;
  override name = "ClientError";
  constructor(
    readonly code: number,
    message: string = defaultErrorMessage(code),
    readonly temporary: boolean = code === 100 || code === 111 || code === 113,
  ) {
    super(message);
  }
  toJSON(): { code: number; message: string; temporary?: boolean } {
    return this.temporary
      ? { code: this.code, message: this.message, temporary: true }
      : { code: this.code, message: this.message };
  }
}

export class Disconnect extends Error {
  readonly [DISCONNECT_BRAND] = true;
  override name = "Disconnect";
  constructor(readonly code: number, readonly reason: string = defaultDisconnectReason(code)) {
    super(reason);
  }
  /** Whether the SDK reconnects after this code (it decides from the code alone). */
  get reconnect(): boolean {
    return (this.code >= 3000 && this.code < 3500) || (this.code >= 4000 && this.code < 4500) ||
      this.code >= 5000;
  }
}

/**
 * Whether `err` is a ClientError: an instance, one from another copy of this module (same brand
 * symbol), or any error object named "ClientError" with an integer `code` — so a plugin that
 * cannot import Sluice (a compiled binary loading it from disk) can still throw one.
 */
export function isClientError(err: unknown): err is ClientError {
  if (err instanceof ClientError) return true;
  // deno-lint-ignore no-explicit-any
  const e = err as any;
  return !!e && typeof e === "object" && Number.isInteger(e.code) &&
    (e[CLIENT_ERROR_BRAND] === true || e.name === "ClientError");
}

/** Like `isClientError`, for Disconnect (brand, or an error named "Disconnect" with an integer `code`). */
export function isDisconnect(err: unknown): err is Disconnect {
  if (err instanceof Disconnect) return true;
  // deno-lint-ignore no-explicit-any
  const e = err as any;
  return !!e && typeof e === "object" && Number.isInteger(e.code) &&
    (e[DISCONNECT_BRAND] === true || e.name === "Disconnect");
}

/** This module's ClientError for anything `isClientError` accepts (fields checked). */
export function asClientError(error: ClientError): ClientError {
  if (error instanceof ClientError) return error;
  const err = error as { code: number; message?: unknown; temporary?: unknown };
  const message = typeof err.message === "string" && err.message ? err.message : undefined;
  return new ClientError(err.code, message, typeof err.temporary === "boolean" ? err.temporary : undefined);
}

/** This module's Disconnect for anything `isDisconnect` accepts (fields checked). */
export function asDisconnect(error: Disconnect): Disconnect {
  if (error instanceof Disconnect) return error;
  const err = error as { code: number; reason?: unknown; message?: unknown };
  const reason = typeof err.reason === "string"
    ? err.reason
    : typeof err.message === "string"
    ? err.message
    : undefined;
  return new Disconnect(err.code, reason);
}

/** Reply error codes (protocol.md §4.2). */
export const ErrorCode = {
  Internal: 100,
  Unauthorized: 101,
  UnknownChannel: 102,
  PermissionDenied: 103,
  MethodNotFound: 104,
  AlreadySubscribed: 105,
  LimitExceeded: 106,
  BadRequest: 107,
  NotAvailable: 108,
  TokenExpired: 109,
  Expired: 110,
  TooManyRequests: 111,
  UnrecoverablePosition: 112,
} as const;

const errorMessages: Record<number, string> = {
  100: "internal server error",
  101: "unauthorized",
  102: "unknown channel",
  103: "permission denied",
  104: "method not found",
  105: "already subscribed",
  106: "limit exceeded",
  107: "bad request",
  108: "not available",
  109: "token expired",
  110: "expired",
  111: "too many requests",
  112: "unrecoverable position",
  113: "concurrent pagination",
};

export function defaultErrorMessage(code: number): string {
  return errorMessages[code] ?? "error";
}

/** Disconnect codes (protocol.md §4.1). */
export const DisconnectCode = {
  ConnectionClosed: 3000,
  Shutdown: 3001,
  InternalServerError: 3004,
  Expired: 3005,
  SubExpired: 3006,
  Slow: 3008,
  WriteError: 3009,
  InsufficientState: 3010,
  ForceReconnect: 3011,
  NoPong: 3012,
  TooManyRequests: 3013,
  StateInvalidated: 3014,
  InvalidToken: 3500,
  BadRequest: 3501,
  Stale: 3502,
  ForceNoReconnect: 3503,
  ConnectionLimit: 3504,
  ChannelLimit: 3505,
  InappropriateProtocol: 3506,
  PermissionDenied: 3507,
  NotAvailable: 3508,
  TooManyErrors: 3509,
} as const;

const disconnectReasons: Record<number, string> = {
  3000: "connection closed",
  3001: "shutdown",
  3004: "internal server error",
  3005: "connection expired",
  3006: "subscription expired",
  3008: "slow",
  3009: "write error",
  3010: "insufficient state",
  3011: "force reconnect",
  3012: "no pong",
  3013: "too many requests",
  3014: "state invalidated",
  3500: "invalid token",
  3501: "bad request",
  3502: "stale",
  3503: "force disconnect",
  3504: "connection limit",
  3505: "channel limit",
  3506: "inappropriate protocol",
  3507: "permission denied",
  3508: "not available",
  3509: "too many errors",
};

export function defaultDisconnectReason(code: number): string {
  return disconnectReasons[code] ?? "disconnect";
}

/** Unsubscribe push codes (protocol.md §4.3): < 2500 terminal for the subscription, ≥ 2500 resubscribe. */
export const UnsubscribeCode = {
  Server: 2000,
  InsufficientState: 2500,
  Expired: 2501,
  StateInvalidated: 2502,
} as const;

export const unsubscribeReasons: Record<number, string> = {
  2000: "server unsubscribe",
  2500: "insufficient state",
  2501: "subscription expired",
  2502: "state invalidated",
};

// Ready-made instances for the common cases (immutable; safe to share).
export const errInternal = (): ClientError => new ClientError(ErrorCode.Internal);
export const errBadRequest = (message?: string): ClientError =>
  new ClientError(ErrorCode.BadRequest, message);
export const errPermissionDenied = (): ClientError => new ClientError(ErrorCode.PermissionDenied);
export const errUnknownChannel = (): ClientError => new ClientError(ErrorCode.UnknownChannel);
export const errNotAvailable = (): ClientError => new ClientError(ErrorCode.NotAvailable);
