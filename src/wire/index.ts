/**
 * The hub's wire: the protocol (loaded from proto/), payload and tensor codecs, and the one
 * mapping between ClawHubError and gRPC status for each side. Shared by the hub and the SDK.
 */
export {
  decodeJson,
  decodePayload,
  encodeJson,
  encodePayload,
  type WirePayload,
} from "./payload.ts";
export {
  type AgentMessage,
  CHANNEL_OPTIONS,
  type HubMessage,
  type HubProtocol,
  hubAddress,
  hubProtocol,
  type WireAgentInfo,
  type WireCallRequest,
  type WireCallResponse,
  type WireCapability,
  type WireCapabilityMatch,
  type WireHubEvent,
  type WireRegister,
  type WireTask,
  type WireTaskError,
  type WireTelemetry,
  type WireUsage,
} from "./proto.ts";
export { fromGrpcError, toGrpcError } from "./status.ts";
export {
  type DType,
  decodeTensor,
  encodeTensor,
  fromHalf,
  isTensor,
  type Tensor,
  tensor,
  toFloat32,
  toHalf,
  type WireTensor,
} from "./tensor.ts";
