/**
 * `clawhub-hub/sdk`: build agents that connect to a ClawHub hub (createAgent), and call them
 * (createHubClient). Tensors (Float32Array, `tensor.float16()`, `tensor.int8()`) travel packed.
 */

export { ClawHubError, isClawHubError } from "../errors/index.ts";
export { isTensor, type Tensor, tensor, toFloat32 } from "../wire/index.ts";
export type { RunView } from "../workflow/index.ts";
export {
  createHubAdmin,
  type EnrollmentRequest,
  type HubAdmin,
  type HubIdentity,
} from "./admin.ts";
export {
  type Agent,
  type AgentLease,
  type AgentOptions,
  type CapabilitySpec,
  createAgent,
  type Handler,
  type JsonSchema,
  type TaskContext,
  taskError,
} from "./agent.ts";
export {
  type AgentInfo,
  type CallOptions,
  type CallResult,
  type CapabilityMatch,
  createHubClient,
  type HubClient,
  type HubClientOptions,
  type HubEvent,
} from "./client.ts";
export { type EnrolledIdentity, type EnrollOptions, enroll } from "./enroll.ts";
export { keepRenewed, renewCertificate } from "./renew.ts";
export {
  type ClientTls,
  channelCredentials,
  channelOptions,
  createSigner,
} from "./tls.ts";
export { type FlowNode, type FlowOptions, type FlowTarget, ref, workflow } from "./workflow.ts";
