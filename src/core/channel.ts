/**
 * @module
 * Channel names: validation, namespace resolution and user-limited channels, with Centrifugo's
 * rules (`ns:name`, `$private`, `name#user1,user2`).
 */
import type { ChannelOptions, Config } from "../config/mod.ts";
import { topLevelChannelOptions } from "../config/mod.ts";

export interface ResolvedChannel {
  /** "" for channels without a namespace. */
  readonly namespace: string;
  readonly options: ChannelOptions;
}

export class ChannelRules {
  /**
   * One ResolvedChannel per namespace, shared: every subscription keeps the one of its channel,
   * and a fresh object per resolve cost each idle connection one per subscription.
   */
  private readonly namespaces: Map<string, ResolvedChannel>;
  private readonly topLevel: ResolvedChannel;
  private readonly regexes = new Map<ChannelOptions, RegExp>();
  readonly maxLength: number;
  readonly privatePrefix: string;
  readonly namespaceBoundary: string;
  readonly userBoundary: string;
  readonly userSeparator: string;

  constructor(config: Config) {
    this.topLevel = Object.freeze({ namespace: "", options: topLevelChannelOptions(config) });
    this.namespaces = new Map(
      config.namespaces.map((ns) => [ns.name, Object.freeze({ namespace: ns.name, options: ns })]),
    );
    this.maxLength = config.channel_max_length;
    this.privatePrefix = config.channel_private_prefix;
    this.namespaceBoundary = config.channel_namespace_boundary;
    this.userBoundary = config.channel_user_boundary;
    this.userSeparator = config.channel_user_separator;
    for (const { options } of [this.topLevel, ...this.namespaces.values()]) {
      if (options.channel_regex) this.regexes.set(options, new RegExp(options.channel_regex));
    }
  }

  /** Why a channel name is unacceptable, or undefined when it is fine. */
  invalidName(channel: string): string | undefined {
    if (channel.length === 0) return "empty channel";
    if (channel.length > this.maxLength) return `channel longer than ${this.maxLength} characters`;
    // deno-lint-ignore no-control-regex
    if (!/^[\x00-\x7f]*$/.test(channel)) return "channel must be ASCII";
    return undefined;
  }

  /** The namespace and options of a channel, or undefined when its namespace is not configured. */
  resolve(channel: string): ResolvedChannel | undefined {
    const name = this.namespaceOf(channel);
    return name === "" ? this.topLevel : this.namespaces.get(name);
  }

  namespaceOf(channel: string): string {
    const body = this.isPrivate(channel) ? channel.slice(this.privatePrefix.length) : channel;
    const at = this.namespaceBoundary ? body.indexOf(this.namespaceBoundary) : -1;
    return at > 0 ? body.slice(0, at) : "";
  }

  isPrivate(channel: string): boolean {
    return this.privatePrefix !== "" && channel.startsWith(this.privatePrefix);
  }

  isUserLimited(channel: string): boolean {
    return this.userBoundary !== "" && channel.includes(this.userBoundary);
  }

  /** For `name#u1,u2`: whether `user` is one of the listed users. */
  userAllowed(channel: string, user: string): boolean {
    const at = channel.lastIndexOf(this.userBoundary);
    if (at < 0) return true;
    const users = channel.slice(at + this.userBoundary.length);
    // An empty separator means the whole part after the boundary is one user id.
    return this.userSeparator === "" ? users === user : users.split(this.userSeparator).includes(user);
  }

  /** Whether the part after `ns:` matches the namespace's `channel_regex` (true when none). */
  matchesRegex(channel: string, resolved: ResolvedChannel): boolean {
    const re = this.regexes.get(resolved.options);
    if (!re) return true;
    // As Centrifugo: the regex sees the name without the private prefix and without `ns:`.
    const body = this.isPrivate(channel) ? channel.slice(this.privatePrefix.length) : channel;
    const at = resolved.namespace ? body.indexOf(this.namespaceBoundary) : -1;
    return re.test(at >= 0 ? body.slice(at + this.namespaceBoundary.length) : body);
  }
}

export function hasHistory(o: ChannelOptions): boolean {
  return o.history_size > 0 && o.history_ttl > 0;
}
