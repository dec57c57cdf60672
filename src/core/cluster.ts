/**
 * @module
 * How nodes cooperate through the Controller: server API operations on users reach every node,
 * nodes announce themselves every few seconds (for `info` and emulation routing), and surveys ask
 * other nodes a question and gather the answers (`channels`, an `/emulation` request for a session
 * held elsewhere). With the memory controller there are no peers and everything stays local.
 *
 * Control messages may come from other processes, so each one is checked before it is used; a
 * malformed one is logged and dropped.
 */
import type { ControlHandler, ControlMessage } from "../broker/broker.ts";
import type { Node, ServerRefreshOptions, ServerSubscribeOptions, UserTarget } from "./node.ts";

/** How often a node announces itself, and how long a silent peer is still counted. */
const HEARTBEAT_MS = 3_000;
const PEER_TTL_MS = 2 * HEARTBEAT_MS + 1_000;
/** How long a survey waits for answers. */
const SURVEY_TIMEOUT_MS = 5_000;

export interface NodeInfo {
  uid: string;
  name: string;
  version: string;
  num_clients: number;
  num_users: number;
  num_channels: number;
  num_subs: number;
  uptime: number;
}

export type SurveyOp = "channels" | "emulation";

interface PendingSurvey {
  expected: Set<string>;
  results: Map<string, unknown>;
  done: () => void;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string";

function isTarget(v: unknown): v is UserTarget {
  return isObject(v) && isString(v.user) && (v.client === undefined || isString(v.client)) &&
    (v.session === undefined || isString(v.session));
}

export class Cluster implements ControlHandler {
  private readonly peers = new Map<string, { info: NodeInfo; seenAt: number }>();
  private readonly surveys = new Map<string, PendingSurvey>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly node: Node) {}

  start(): void {
    void this.announce();
    this.heartbeat = setInterval(() => void this.announce(), HEARTBEAT_MS);
  }

  stop(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const s of this.surveys.values()) s.done();
  }

  /** This node and every peer heard from recently. */
  nodes(): NodeInfo[] {
    const now = Date.now();
    const out = [this.node.nodeInfo()];
    for (const [id, p] of this.peers) {
      if (now - p.seenAt > PEER_TTL_MS) this.peers.delete(id);
      else out.push(p.info);
    }
    return out;
  }

  isPeer(nodeId: string): boolean {
    const p = this.peers.get(nodeId);
    return !!p && Date.now() - p.seenAt <= PEER_TTL_MS;
  }

  /** Sends a user operation to every node (this one included). */
  broadcast(msg: ControlMessage): Promise<void> {
    return this.node.controller.publishControl({ ...msg, from: this.node.id });
  }

  /**
   * Asks `toNode` (or every peer) and gathers the answers by node id. Peers that do not answer
   * within the timeout are left out; this node's own answer is not included.
   */
  survey(op: SurveyOp, payload: Record<string, unknown>, toNode?: string): Promise<Map<string, unknown>> {
    const expected = new Set(toNode ? [toNode] : [...this.peers.keys()].filter((id) => this.isPeer(id)));
    if (expected.size === 0) return Promise.resolve(new Map());
    const id = crypto.randomUUID();
    return new Promise((resolve) => {
      const results = new Map<string, unknown>();
      const finish = () => {
        clearTimeout(timer);
        this.surveys.delete(id);
        resolve(results);
      };
      const timer = setTimeout(finish, SURVEY_TIMEOUT_MS);
      this.surveys.set(id, { expected, results, done: finish });
      this.node.controller.publishControl({ type: "survey", from: this.node.id, id, op, payload }, toNode)
        .catch((err) => {
          this.node.log.error("survey could not be sent", { op, err });
          finish();
        });
    });
  }

  async handleControl(msg: ControlMessage): Promise<void> {
    if (!isObject(msg) || !isString(msg.type)) return this.drop(msg, "no type");
    try {
      await this.dispatch(msg);
    } catch (err) {
      this.node.log.error("control message failed", { type: msg.type, err });
    }
  }

  private async dispatch(msg: ControlMessage): Promise<void> {
    const node = this.node;
    switch (msg.type) {
      case "node_info": {
        if (!isString(msg.from) || msg.from === node.id || !isObject(msg.info)) return;
        this.peers.set(msg.from, { info: msg.info as unknown as NodeInfo, seenAt: Date.now() });
        return;
      }
      case "subscribe": {
        if (!isTarget(msg.target) || !isObject(msg.opts) || !isString(msg.opts.channel)) {
          return this.drop(msg);
        }
        const opts = msg.opts as unknown as ServerSubscribeOptions;
        await Promise.all(node.targets(msg.target).map((c) => c.serverSubscribe(opts)));
        return;
      }
      case "unsubscribe": {
        if (!isTarget(msg.target) || !isString(msg.channel)) return this.drop(msg);
        const channel = msg.channel;
        await Promise.all(node.targets(msg.target).map((c) => c.serverUnsubscribe(channel)));
        return;
      }
      case "disconnect": {
        if (!isTarget(msg.target) || !Number.isInteger(msg.code) || !isString(msg.reason)) {
          return this.drop(msg);
        }
        const keep = new Set(Array.isArray(msg.whitelist) ? msg.whitelist.filter(isString) : []);
        for (const c of node.targets(msg.target)) {
          if (!keep.has(c.id)) c.disconnectNow(msg.code as number, msg.reason);
        }
        return;
      }
      case "refresh": {
        if (!isTarget(msg.target) || !isObject(msg.opts)) return this.drop(msg);
        for (const c of node.targets(msg.target)) c.serverRefresh(msg.opts as ServerRefreshOptions);
        return;
      }
      case "survey": {
        if (!isString(msg.from) || !isString(msg.id) || !isString(msg.op) || msg.from === node.id) return;
        const result = this.answer(msg.op as SurveyOp, isObject(msg.payload) ? msg.payload : {});
        await node.controller.publishControl(
          { type: "survey_reply", from: node.id, id: msg.id, result },
          msg.from,
        );
        return;
      }
      case "survey_reply": {
        if (!isString(msg.from) || !isString(msg.id)) return this.drop(msg);
        const pending = this.surveys.get(msg.id);
        if (!pending || !pending.expected.has(msg.from)) return;
        pending.results.set(msg.from, msg.result);
        if (pending.results.size === pending.expected.size) pending.done();
        return;
      }
      default:
        this.drop(msg, "unknown type");
    }
  }

  /** This node's answer to a survey. */
  answer(op: SurveyOp, payload: Record<string, unknown>): unknown {
    const node = this.node;
    switch (op) {
      case "channels": {
        const out: Record<string, number> = {};
        for (const name of node.hub.channelNames()) out[name] = node.hub.channelSubscribers(name);
        return out;
      }
      case "emulation":
        return isString(payload.session) && isString(payload.data)
          ? node.emulateLocally(payload.session, payload.data)
          : "bad_request";
      default:
        return null;
    }
  }

  private announce(): Promise<void> {
    return this.node.controller.publishControl({
      type: "node_info",
      from: this.node.id,
      info: this.node.nodeInfo(),
    })
      .catch((err) => this.node.log.warn("node info could not be sent", { err }));
  }

  private drop(msg: unknown, why = "malformed"): void {
    this.node.log.warn("control message dropped", { why, type: isObject(msg) ? msg.type : undefined });
  }
}
