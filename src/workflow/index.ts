/**
 * Workflows: DAGs of agent tasks. A spec (YAML/JSON, validated with every problem at once), a
 * pure scheduler, and an engine that journals every event in the control plane, runs tasks on
 * the hub behind circuit breakers and bulkheads, and resumes runs after a restart.
 */
export { chunk, estimateInputTokens, estimateTokens, wordsOf } from "./chunk.ts";
export {
  createWorkflowEngine,
  type NodeView,
  type RunSummary,
  type RunView,
  type TaskRunner,
  taskErrorOf,
  viewOf,
  type WorkflowEngine,
  type WorkflowEngineOptions,
} from "./engine.ts";
export { evaluate, parseExpr, render, templatePieces } from "./expr.ts";
export { toDot, toMermaid } from "./graph.ts";
export { runViewToWire, type WorkflowServiceOptions, workflowService } from "./grpc.ts";
export {
  initialState,
  paramsFor,
  type RunCommand,
  type RunEvent,
  type RunState,
  reduce,
  retryDelay,
  stepKey,
  type TaskError,
  type TaskRef,
} from "./scheduler.ts";
export {
  type CapabilityInfo,
  DEFAULT_RETRY,
  findCycles,
  MAX_NODES,
  type NodeRetry,
  type NodeSpec,
  parseWorkflowText,
  type SpecIssue,
  validateWorkflow,
  validateWorkflowAsync,
  type WorkflowSpec,
} from "./spec.ts";
