/**
 * @module
 * The plugins shipped with Sluice, by name. A static table of imports so `bun build --compile`
 * bundles them into the executable; user plugins load from disk instead.
 */
export const shippedPlugins: Record<string, () => Promise<Record<string, unknown>>> = {
  connect_proxy: () => import("./connect_proxy/plugin.ts"),
  publish_validate: () => import("./publish_validate.ts"),
  redis_broker: () => import("./redis_broker/plugin.ts"),
};
