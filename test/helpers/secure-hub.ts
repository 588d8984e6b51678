import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach } from "vitest";
import { type ControlPlane, createMemoryControlPlane } from "../../src/control-plane/index.ts";
import {
  createHub,
  createHubSecurity,
  type Hub,
  type HubSecurity,
  type LocalIdentity,
} from "../../src/hub/index.ts";
import type { Agent } from "../../src/sdk/index.ts";

/** A secured hub on a free loopback port, its security, and an admin identity issued by it. */
export interface SecureHubSandbox {
  hub: Hub;
  security: HubSecurity;
  controlPlane: ControlPlane;
  admin: LocalIdentity;
  /** Agents to stop on close. */
  agents: Agent[];
  close(): Promise<void>;
}

/** Starts a secured hub (createHubSecurity in a temporary directory) and issues an admin. */
export async function createSecureHubSandbox(): Promise<SecureHubSandbox> {
  const dir = await mkdtemp(join(tmpdir(), "clawhub-secure-"));
  const controlPlane = createMemoryControlPlane();
  const security = await createHubSecurity({ dir, controlPlane });
  const hub = await createHub({ port: 0, heartbeatIntervalMs: 200, controlPlane, security });
  const admin = await security.issueLocal({ name: "operator", kind: "caller", roles: ["admin"] });
  const agents: Agent[] = [];
  return {
    hub,
    security,
    controlPlane,
    admin,
    agents,
    async close() {
      await Promise.all(agents.splice(0).map((a) => a.stop()));
      await hub.close();
      await security.close();
      await controlPlane.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh secured hub for each test of a file: created before each, closed after each, and
 * handed to `assign` (which sets the file's own variables).
 */
export function useSecureHub(assign: (sandbox: SecureHubSandbox) => void): void {
  let sandbox: SecureHubSandbox | undefined;
  beforeEach(async () => {
    sandbox = await createSecureHubSandbox();
    assign(sandbox);
  });
  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
  });
}
