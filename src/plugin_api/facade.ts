/**
 * @module
 * The node as plugins see it (`ctx.node`): server API operations with parsed JSON in and out.
 */
import type { Node } from "../core/node.ts";
import type { NodeFacade } from "./types.ts";

export function nodeFacade(node: Node): NodeFacade {
  return {
    id: node.id,
    async publish(channel, data, opts = {}) {
      const r = await node.publish(channel, JSON.stringify(data) ?? "null", opts);
      return { offset: r.offset, epoch: r.epoch };
    },
    async history(channel, opts = {}) {
      const h = await node.history(channel, node.resolveChannel(channel), {
        limit: opts.limit ?? -1,
        since: opts.since,
        reverse: opts.reverse,
      });
      return {
        publications: h.publications.map((p) => ({ data: JSON.parse(p.data), offset: p.offset })),
        offset: h.offset,
        epoch: h.epoch,
      };
    },
    async presence(channel) {
      const entries = await node.presence(channel);
      return Object.fromEntries(
        Object.entries(entries).map(([id, info]) => [id, { user: info.user, client: info.client }]),
      );
    },
    disconnect: (user, code = 3503, reason = "force disconnect") =>
      node.disconnectUser({ user }, code, reason),
    subscribe: (user, channel) => node.subscribeUser({ user }, { channel }),
    unsubscribe: (user, channel) => node.unsubscribeUser({ user }, channel),
  };
}
