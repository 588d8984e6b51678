/** The registry: ClawHub API v1 over HTTP, its service layer, and the server lifecycle. */
export { type AppOptions, createApp, ROUTES, STATUS_OF } from "./http.ts";
export {
  createRegistryLog,
  loadLogSigner,
  MAX_LOG_PAGE,
  type RegistryLog,
} from "./log.ts";
export {
  type Bucket,
  createRateLimiter,
  DEFAULT_RATE_LIMITS,
  type RateLimitConfig,
  type RateLimiter,
} from "./ratelimit.ts";
export { type RunningServer, type ServerOptions, startRegistryServer } from "./server.ts";
export {
  checkHandle,
  checkPublishPath,
  checkSlug,
  contentTypeOf,
  createRegistry,
  type Principal,
  type PublishFile,
  type PublishInput,
  RESERVED_SLUGS,
  type Registry,
  type RegistryOptions,
} from "./service.ts";
export * from "./store/index.ts";
