/**
 * The hub's wire: the protocol (loaded from proto/), payload and tensor codecs, and the one
 * mapping between ClawHubError and gRPC status for each side. Shared by the hub and the SDK.
 */

export {
  type Batcher,
  createBatcher,
  createStreamBatcher,
  MAX_FRAME_BYTES,
  payloadBytes,
} from "./batch.ts";
export {
  callSignedFields,
  payloadDigest,
  resultDigest,
  resultSignedFields,
  type SignedRequestFields,
} from "./digest.ts";
export { failStream, unary } from "./handlers.ts";
export {
  abortStream,
  type CallbackWritable,
  createOutbox,
  DEFAULT_PEER_BUFFER_BYTES,
  type Outbox,
  type OutboxOptions,
} from "./outbox.ts";
export {
  decodeJson,
  decodePayload,
  encodeJson,
  encodePayload,
  type WirePayload,
} from "./payload.ts";
export {
  type AgentMessage,
  type CallerFrame,
  type CallerReply,
  CHANNEL_OPTIONS,
  type HubMessage,
  type HubProtocol,
  hubAddress,
  hubAddresses,
  hubProtocol,
  type WireAgentInfo,
  type WireCallError,
  type WireCallRequest,
  type WireCallResponse,
  type WireCapability,
  type WireCapabilityMatch,
  type WireCreateEnrollmentRequest,
  type WireEnrollResponse,
  type WireFlowRequest,
  type WireHubEvent,
  type WireIdentityInfo,
  type WireListIdentitiesResponse,
  type WireListRunsRequest,
  type WireListRunsResponse,
  type WireLockRequest,
  type WireNodeView,
  type WireRegister,
  type WireRunRequest,
  type WireRunSummary,
  type WireRunView,
  type WireSignature,
  type WireStreamCall,
  type WireStreamResult,
  type WireTask,
  type WireTaskFailure,
  type WireTaskResult,
  type WireTelemetry,
  type WireUsage,
  type WireValidateFlowResponse,
} from "./proto.ts";
export {
  errorFromWire,
  errorToWire,
  failureFromWire,
  failureToWire,
  fromGrpcError,
  toGrpcError,
} from "./status.ts";
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
