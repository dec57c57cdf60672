/**
 * @module
 * The shape of an endpoint as the router calls it: the request and the runtime's connection in
 * (remote address, close notification, hold-open, WebSocket upgrade), the response out.
 */
import type { ConnInfo } from "../runtime/types.ts";

export type Handler = (req: Request, conn: ConnInfo) => Response | Promise<Response>;
