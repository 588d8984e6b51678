/**
 * ClawHub as a library. The main factories are here; each bounded context is also importable
 * on its own with its whole surface and types: `clawhub-hub/sdk`, `/hub`, `/registry`,
 * `/control-plane`, `/identity`, `/audit`, `/workflow`, `/search`, `/skill` (docs/library.md).
 */
export { createAuditLog, verifyAuditLog } from "./audit/index.ts";
export { createMemoryControlPlane } from "./control-plane/index.ts";
export * from "./errors/index.ts";
export { createHub, type Hub, type HubOptions } from "./hub/index.ts";
export { openCertificateAuthority } from "./identity/index.ts";
export { type RunningServer, type ServerOptions, startRegistryServer } from "./registry/index.ts";
export { createAgent, createHubClient } from "./sdk/index.ts";
export { createHttpEmbedder, createLocalEmbedder } from "./search/index.ts";
export * as skill from "./skill/index.ts";
