/**
 * @module
 * `connect_proxy` — Centrifugo's HTTP proxy protocol, so an existing Centrifugo backend works
 * unchanged. Each hook becomes a JSON `POST` (`Content-Type: application/json`) to the
 * backend, whose answer is one of `{"result": {...}}`, `{"error": {code, message, temporary}}` or
 * `{"disconnect": {code, reason}}`:
 *
 * | hook | endpoint | called |
 * |---|---|---|
 * | `onConnecting` | connect | the client sent no token (a token goes to JWT verification) |
 * | `onRefresh` | refresh | a connection with `expire_at` expires (server-side refresh) |
 * | `onSubscribe` | subscribe | namespaces with `proxy_subscribe` |
 * | `onPublish` | publish | namespaces with `proxy_publish` |
 * | `onRpc` | rpc | every client RPC |
 * | `onSubRefresh` | sub_refresh | expiring subscriptions in namespaces with `proxy_sub_refresh` |
 *
 * Enabled automatically when any Centrifugo `proxy_*_endpoint` key is set; configured from those
 * keys, each overridable by a plugin option (`"plugins": {"connect_proxy": {...}}`):
 *
 * | option | config key | meaning |
 * |---|---|---|
 * | `connect_endpoint` (alias `endpoint`) | `proxy_connect_endpoint` | http(s) URL; `""` turns the proxy off |
 * | `refresh_endpoint` | `proxy_refresh_endpoint` | 〃 |
 * | `subscribe_endpoint` | `proxy_subscribe_endpoint` | 〃 |
 * | `publish_endpoint` | `proxy_publish_endpoint` | 〃 |
 * | `rpc_endpoint` | `proxy_rpc_endpoint` | 〃 |
 * | `sub_refresh_endpoint` | `proxy_sub_refresh_endpoint` | 〃 |
 * | `timeout` | — | one timeout for every proxy ("1s", "250ms", or seconds as a number) |
 * | `connect_timeout`, `refresh_timeout`, … | `proxy_connect_timeout`, … | per proxy (default 1s; 0 = none) |
 * | `http_headers` | `proxy_http_headers` | names of the client's HTTP request headers to forward (case-insensitive) |
 * | `emulated_headers` | `proxy_emulated_headers` | names of the SDK's emulated `headers` (sent in connect) to forward |
 * | `static_http_headers` | `proxy_static_http_headers` | headers added to every request |
 * | `include_connection_meta` | `proxy_include_connection_meta` | adds the connection's `meta` (not to connect) |
 * | `connect_http_headers`, `rpc_include_connection_meta`, … | `proxy_connect_http_headers`, … | the four above for one proxy (Centrifugo v6's sections), over the shared one |
 *
 * Header priority (lowest first): static headers, then emulated headers listed in
 * `emulated_headers` (kept for the connection's later proxy calls, as Centrifugo does), then
 * request headers listed in `http_headers`; `Content-Type` is always `application/json`. As in
 * Centrifugo ≥ 6.9, `http_headers` never takes an emulated header: its value is the client's own.
 *
 * Answers are read as Centrifugo reads them. `error` reaches the client as it is (any code,
 * message, temporary); `disconnect` closes the connection (any code). An answer with none
 * of the three (or `null`) is Centrifugo's "no result": connect → no credentials (anonymous where
 * allowed, else 3501), subscribe → allowed, publish → published as sent, rpc → no data,
 * refresh and sub_refresh → expired. Refresh and sub_refresh answers carrying `error` or
 * `disconnect` end the connection (3005) or the subscription, a refresh result without a new
 * `expire_at` ends the connection too, and their failures are retried by the server rather than
 * reported to the client. `null` fields count as absent, and `b64info`/`b64data` (when not
 * empty) win over `info`/`data` and must decode to JSON.
 *
 * Failures: a transport error, a timeout, a status other than 200, a body that is not JSON, or a
 * field of the wrong type (an error code that is not a non-negative 32-bit integer, say) throws a
 * plain `Error`: the hook runner logs it (naming plugin and hook) and the client gets 100
 * (internal, temporary) — a unidirectional client gets disconnect 3004.
 *
 * This file holds the factory and the hooks; `settings.ts` the options, `envelope.ts` the
 * requests and the answer's envelope, `results.ts` each proxy's result, `backend.ts` the HTTP call.
 */
import {
  ClientError,
  type Config,
  connectProxyOptions,
  definePlugin,
  ErrorCode,
  type Logger,
  type Plugin,
  type PluginContext,
} from "sluice";
import { ProxyBackend } from "./backend.ts";
import { resultOrThrow } from "./envelope.ts";
import {
  connectResult,
  publishResult,
  refreshResult,
  rpcResult,
  subRefreshResult,
  subscribeResult,
} from "./results.ts";
import { checkOptions, KINDS, resolveSettings } from "./settings.ts";

/** What a failed refresh or sub_refresh call gives the connection (subscription), in seconds: Centrifugo's minute. */
const ONE_MORE_MINUTE = 60;

/**
 * The plugin factory: options, under which Centrifugo's `proxy_*` keys of `config` (when given)
 * are mapped by `connectProxyOptions`. Only the hooks of configured proxies are present (a namespace with
 * `proxy_subscribe` but no subscribe proxy then answers 108); server-side refresh is chosen in
 * `setup`, only for the refresh proxies that are configured.
 */
export default function connectProxy(
  given: Record<string, unknown> = {},
  config?: Readonly<Config>,
): Plugin {
  checkOptions(given);
  // Centrifugo's proxy_* keys under the given options; the loader has done this already (it is
  // idempotent), a programmatic `createServer(config, {plugins: [connectProxy()]})` has not.
  const options = config ? connectProxyOptions(config, given) : given;
  const settings = resolveSettings(options);
  const backend = new ProxyBackend(settings);
  let log: Logger | undefined;

  const plugin: Plugin = {
    name: "connect_proxy",

    setup(ctx: PluginContext) {
      log = backend.logger = ctx.logger;
      const enabled = KINDS.filter((k) => settings[k].endpoint !== "");
      // As in Centrifugo: with a refresh proxy the server refreshes, and the SDK is not asked.
      if (settings.refresh.endpoint !== "") ctx.refreshOnServer("connections");
      if (settings.sub_refresh.endpoint !== "") ctx.refreshOnServer("subscriptions");
      log.debug("connect proxy ready", {
        proxies: enabled.map((k) => `${k}=${settings[k].label}`),
      });
    },

    async onConnecting(event) {
      if (settings.connect.endpoint === "" || event.token !== undefined) return undefined;
      const envelope = await backend.callForConnect(event);
      const result = resultOrThrow(envelope);
      // No result: no credentials, as in Centrifugo — the connection goes on as one without a
      // token (anonymous where allowed, else disconnect 3501, which the SDK does not retry).
      return result ? connectResult(result) : undefined;
    },

    async onRefresh(event) {
      if (settings.refresh.endpoint === "") return undefined;
      const { client } = event;
      let envelope;
      try {
        envelope = await backend.callForClient("refresh", event, {});
      } catch (err) {
        // As Centrifugo: a backend that fails gives the connection one more minute, then is asked again.
        if (event.signal.aborted) throw err;
        log?.warn("refresh proxy failed; the connection lives one more minute", { client: client.id, err });
        return { expireAt: Math.floor(Date.now() / 1000) + ONE_MORE_MINUTE };
      }
      if (!envelope.result) {
        // Centrifugo: no result (an error, a disconnect, or nothing) means the connection expired.
        log?.info("refresh proxy answered without a result; the connection expires", {
          client: client.id,
          code: (envelope.error ?? envelope.disconnect)?.code,
        });
        return { expired: true };
      }
      const result = refreshResult(envelope.result);
      if (!result.expired && result.expireAt === undefined) {
        // Centrifugo extends a connection only to a new expire_at; without one it expires.
        log?.info("refresh proxy result has no expire_at; the connection expires", { client: client.id });
        return { expired: true };
      }
      return result;
    },

    async onSubscribe(event) {
      if (!event.options.proxy_subscribe) return undefined;
      if (settings.subscribe.endpoint === "") throw new ClientError(ErrorCode.NotAvailable);
      const fields: Record<string, unknown> = { channel: event.channel };
      if (event.data !== undefined) fields.data = event.data;
      const answer = resultOrThrow(await backend.callForClient("subscribe", event, fields));
      // No result: allowed with the namespace's options, as in Centrifugo.
      const result = answer ? subscribeResult(answer) : {};
      // As in Centrifugo, the sub_refresh proxy refreshes only its namespaces' subscriptions;
      // elsewhere an expiring one is the SDK's to refresh, with a subscription token.
      if (result.expireAt !== undefined && !event.options.proxy_sub_refresh) result.clientRefresh = true;
      return result;
    },

    async onPublish(event) {
      if (!event.options.proxy_publish) return undefined;
      if (settings.publish.endpoint === "") throw new ClientError(ErrorCode.NotAvailable);
      const fields = { channel: event.channel, data: event.data };
      const result = resultOrThrow(await backend.callForClient("publish", event, fields));
      // No result: published as sent, as in Centrifugo.
      return result ? publishResult(result) : {};
    },

    async onRpc(event) {
      if (settings.rpc.endpoint === "") return undefined;
      const fields: Record<string, unknown> = {};
      if (event.method) fields.method = event.method;
      if (event.data !== undefined) fields.data = event.data;
      const result = resultOrThrow(await backend.callForClient("rpc", event, fields));
      return result ? rpcResult(result) : {};
    },

    async onSubRefresh(event) {
      if (settings.sub_refresh.endpoint === "") return undefined;
      if (!event.options.proxy_sub_refresh) return undefined;
      let envelope;
      try {
        envelope = await backend.callForClient("sub_refresh", event, { channel: event.channel });
      } catch (err) {
        if (event.signal.aborted) throw err;
        log?.warn("sub refresh proxy failed; the subscription lives one more minute", {
          client: event.client.id,
          channel: event.channel,
          err,
        });
        return { expireAt: Math.floor(Date.now() / 1000) + ONE_MORE_MINUTE };
      }
      if (!envelope.result) {
        log?.info("sub refresh proxy answered without a result; the subscription expires", {
          client: event.client.id,
          channel: event.channel,
          code: (envelope.error ?? envelope.disconnect)?.code,
        });
        return { expired: true };
      }
      return subRefreshResult(envelope.result);
    },
  };

  // Only the hooks of configured proxies: namespaces that need a missing one answer 108.
  if (settings.subscribe.endpoint === "") delete plugin.onSubscribe;
  if (settings.publish.endpoint === "") delete plugin.onPublish;
  if (settings.rpc.endpoint === "") delete plugin.onRpc;
  return definePlugin(plugin);
}
