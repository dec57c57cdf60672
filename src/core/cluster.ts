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
import type { Logger } from "../log.ts";
import { base64ToBytes } from "../wire/base64.ts";
import {
  type Control,
  decodeControl,
  encodeControl,
  type NodeInfo,
  type ServerRefreshOptions,
  type ServerSubscribeOptions,
  type SurveyOp,
  type UserTarget,
} from "./control.ts";

/** How often a node announces itself, and how long a silent peer is still counted. */
const HEARTBEAT_MS = 3_000;
const PEER_TTL_MS = 2 * HEARTBEAT_MS + 1_000;
/** How long a survey waits for answers. */
const SURVEY_TIMEOUT_MS = 5_000;

/** A connection as control messages reach it. */
export interface ControlledClient {
  readonly id: string;
  disconnectNow(code: number, reason: string): void;
  serverSubscribe(opts: ServerSubscribeOptions): Promise<void>;
  serverUnsubscribe(channel: string): Promise<void>;
  serverRefresh(opts: ServerRefreshOptions): void;
}

/** What the cluster needs of its node. */
export interface ClusterHost {
  readonly id: string;
  readonly log: Logger;
  publishControl(msg: ControlMessage, toNode?: string): Promise<void>;
  nodeInfo(): NodeInfo;
  /** This node's connections addressed by a server API call. */
  targets(target: UserTarget): ControlledClient[];
  /** Subscriber counts of the channels with subscribers on this node. */
  channelCounts(): Record<string, number>;
  /** Feeds an `/emulation` request to a session held here. */
  emulateLocally(session: string, data: string | Uint8Array): "ok" | "no_session";
  /** Shared by the worker processes of one machine (`--workers`); undefined otherwise. */
  readonly workerGroup?: string;
  /** This node's metrics as data, for the workers' `/metrics`. */
  readonly metrics: { snapshot(): Promise<unknown> };
}

interface PendingSurvey {
  expected: Set<string>;
  results: Map<string, unknown>;
  done: () => void;
}

export class Cluster implements ControlHandler {
  private readonly peers = new Map<string, { info: NodeInfo; seenAt: number }>();
  private readonly surveys = new Map<string, PendingSurvey>();
  private heartbeat: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly node: ClusterHost) {}

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
  broadcast(msg: Control): Promise<void> {
    return this.node.publishControl(encodeControl({ ...msg, from: this.node.id }));
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
      this.node.publishControl(
        encodeControl({ type: "survey", from: this.node.id, id, op, payload }),
        toNode,
      )
        .catch((err) => {
          this.node.log.error("survey could not be sent", { op, err });
          finish();
        });
    });
  }

  async handleControl(raw: ControlMessage): Promise<void> {
    const msg = decodeControl(raw);
    if (typeof msg === "string") return this.drop(raw, msg);
    try {
      await this.dispatch(msg);
    } catch (err) {
      this.node.log.error("control message failed", { type: msg.type, err });
    }
  }

  private async dispatch(msg: Control): Promise<void> {
    const node = this.node;
    switch (msg.type) {
      case "node_info": {
        if (msg.from === node.id) return;
        const known = this.peers.has(msg.from);
        this.peers.set(msg.from, { info: msg.info, seenAt: Date.now() });
        // A node that just started learns about this one now, not at the next round (workers start together).
        if (!known) await this.announce();
        return;
      }
      case "subscribe":
        await Promise.all(node.targets(msg.target).map((c) => c.serverSubscribe(msg.opts)));
        return;
      case "unsubscribe":
        await Promise.all(node.targets(msg.target).map((c) => c.serverUnsubscribe(msg.channel)));
        return;
      case "disconnect": {
        const keep = new Set(msg.whitelist);
        for (const c of node.targets(msg.target)) {
          if (!keep.has(c.id)) c.disconnectNow(msg.code, msg.reason);
        }
        return;
      }
      case "refresh":
        for (const c of node.targets(msg.target)) c.serverRefresh(msg.opts);
        return;
      case "survey": {
        if (msg.from === node.id) return;
        const result = await this.answer(msg.op, msg.payload);
        await node.publishControl(
          encodeControl({ type: "survey_reply", from: node.id, id: msg.id, result }),
          msg.from,
        );
        return;
      }
      case "survey_reply": {
        const pending = this.surveys.get(msg.id);
        if (!pending || !pending.expected.has(msg.from)) return;
        pending.results.set(msg.from, msg.result);
        if (pending.results.size === pending.expected.size) pending.done();
        return;
      }
    }
  }

  /** This node's answer to a survey. */
  answer(op: SurveyOp, payload: Record<string, unknown>): unknown {
    const node = this.node;
    switch (op) {
      case "metrics":
        // Only the workers of one machine add up their metrics; other nodes say nothing.
        return node.workerGroup !== undefined && payload.group === node.workerGroup
          ? node.metrics.snapshot()
          : null;
      case "channels":
        return node.channelCounts();
      case "emulation": {
        if (typeof payload.session !== "string") return "bad_request";
        if (typeof payload.data === "string") return node.emulateLocally(payload.session, payload.data);
        if (typeof payload.data_b64 !== "string") return "bad_request";
        try {
          return node.emulateLocally(payload.session, base64ToBytes(payload.data_b64));
        } catch {
          return "bad_request";
        }
      }
      default:
        return null;
    }
  }

  private announce(): Promise<void> {
    return this.node.publishControl(
      encodeControl({ type: "node_info", from: this.node.id, info: this.node.nodeInfo() }),
    )
      .catch((err) => this.node.log.warn("node info could not be sent", { err }));
  }

  private drop(msg: ControlMessage, why: string): void {
    this.node.log.warn("control message dropped", { why, type: msg?.type });
  }
}
