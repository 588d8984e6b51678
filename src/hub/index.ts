/**
 * The hub: agents connect over gRPC (proto/), register capabilities, and get tasks routed to
 * them by name or meaning and by load. State, locks and events live in the control plane.
 *
 * Rooms: `core.ts` wires `sessions.ts` (registration, heartbeats), `capabilities.ts` (index,
 * discovery), `dispatcher.ts` (placement, retries) and `broker.ts` (locks, pub/sub) over an
 * `AgentChannel`; `grpc/` puts them on the network; `hub.ts` composes it all.
 */
export { CAPABILITY_WEIGHTS, type CapabilityMatch } from "./capabilities.ts";
export {
  type AgentEndpoint,
  createHubCore,
  type HubCore,
  type HubCoreOptions,
} from "./core.ts";
export type { CallInput } from "./dispatcher.ts";
export { createHub, type Hub, type HubOptions, outputOf } from "./hub.ts";
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
export {
  createSchemaCache,
  MAX_SCHEMA_BYTES,
  type SchemaCache,
  type SchemaProblem,
  type SchemaRef,
} from "./schema.ts";
export {
  createHubSecurity,
  type EnrollResult,
  type HubSecurity,
  type HubSecurityOptions,
  type IdentityRecord,
  type LocalIdentity,
  openHubAudit,
  type Peer,
} from "./security.ts";
export type { HubTls } from "./trust.ts";
export type { AgentChannel, CallOutcome, PeerIdentity } from "./types.ts";
