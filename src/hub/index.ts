/**
 * The hub: agents connect over gRPC (proto/), register capabilities, and get tasks routed to
 * them by name or meaning and by load. State, locks and events live in the control plane.
 */
export {
  type CallInput,
  type CallOutcome,
  type CapabilityMatch,
  createHub,
  type Hub,
  type HubOptions,
  outputOf,
} from "./hub.ts";
export {
  DEFAULT_ROUTING_WEIGHTS,
  hasRoom,
  loadOf,
  type RejectReason,
  type RouteCandidate,
  type RouteDecision,
  type RouteRequest,
  type RoutingWeights,
  route,
  type ScoredCandidate,
  scoreOf,
} from "./routing.ts";
export { createSchemaCache, type SchemaProblem } from "./schema.ts";
