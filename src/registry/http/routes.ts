/** The routes the registry serves, and the OpenAPI document built from them. */

/** The routes served, for /api/v1/openapi.json (a test checks every route is listed). */
export const ROUTES: ReadonlyArray<{
  method: string;
  path: string;
  summary: string;
  auth?: "user" | "admin";
}> = [
  { method: "get", path: "/.well-known/clawhub.json", summary: "Registry discovery" },
  { method: "get", path: "/api/v1/whoami", summary: "The token's user", auth: "user" },
  {
    method: "get",
    path: "/api/v1/search",
    summary: "Search skills (q, limit, mode=exact, ownerHandle, explain=1)",
  },
  {
    method: "get",
    path: "/api/v1/search/status",
    summary: "Index status: documents, embedded, pending, embedder",
  },
  {
    method: "get",
    path: "/api/v1/skills",
    summary: "List skills (limit, cursor, sort, prefix, ownerHandle)",
  },
  {
    method: "post",
    path: "/api/v1/skills",
    summary: "Publish a version (multipart payload + files[], or JSON with storageIds)",
    auth: "user",
  },
  {
    method: "post",
    path: "/api/v1/skills/-/upload-url",
    summary: "Announce a file upload",
    auth: "user",
  },
  {
    method: "post",
    path: "/api/v1/uploads/{ticket}",
    summary: "Upload a file's bytes",
    auth: "user",
  },
  { method: "get", path: "/api/v1/skills/{slug}", summary: "Skill detail (ownerHandle)" },
  { method: "delete", path: "/api/v1/skills/{slug}", summary: "Soft-delete a skill", auth: "user" },
  {
    method: "post",
    path: "/api/v1/skills/{slug}/undelete",
    summary: "Restore a soft-deleted skill",
    auth: "user",
  },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/versions",
    summary: "Version history (limit, cursor)",
  },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/versions/{version}",
    summary: "One version with its files",
  },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/file",
    summary: "Raw text of one file (path, version, tag)",
  },
  { method: "get", path: "/api/v1/skills/{slug}/moderation", summary: "Moderation state" },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/verify",
    summary:
      "Verify a version: the stored archive re-hashed against what was published; security says it is not scanned",
  },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/attestation",
    summary:
      "A version's publish statement (DSSE envelope), log index, latest checkpoint and inclusion proof (version, tag, since: consistency proof from that size)",
  },
  {
    method: "get",
    path: "/api/v1/moderation/queue",
    summary: "Held versions and appeals, oldest first (moderators and admins; limit)",
    auth: "user",
  },
  {
    method: "post",
    path: "/api/v1/skills/{slug}/review",
    summary:
      "A moderator's decision on a version: decision approve|reject, reason (shown to the owner)",
    auth: "user",
  },
  {
    method: "post",
    path: "/api/v1/skills/{slug}/rescan",
    summary: "Scan a version again (owners, moderators): a clean verdict releases a held version",
    auth: "user",
  },
  {
    method: "post",
    path: "/api/v1/skills/{slug}/appeal",
    summary:
      "Appeal a held or blocked version with a message (owners): back to the moderators' queue",
    auth: "user",
  },
  {
    method: "get",
    path: "/api/v1/notifications",
    summary: "Your notifications, newest first: moderation decisions and rescans of your versions",
    auth: "user",
  },
  {
    method: "post",
    path: "/api/v1/keys",
    summary: "Register a publisher key (name, publicKey: Ed25519, base64 or PEM)",
    auth: "user",
  },
  { method: "get", path: "/api/v1/keys", summary: "Your publisher keys", auth: "user" },
  {
    method: "get",
    path: "/api/v1/keys/{keyId}",
    summary: "A publisher key by id: its owner, public key, revocation",
  },
  {
    method: "delete",
    path: "/api/v1/keys/{keyId}",
    summary: "Revoke one of your publisher keys",
    auth: "user",
  },
  {
    method: "get",
    path: "/api/v1/users/{handle}/keys",
    summary: "A user's publisher keys, revoked ones included",
  },
  {
    method: "get",
    path: "/api/v1/log",
    summary: "Transparency log: origin, verifier key (C2SP signed-note), DSSE key id, size",
  },
  {
    method: "get",
    path: "/api/v1/log/checkpoint",
    summary: "The latest signed checkpoint (C2SP tlog-checkpoint, text/plain)",
  },
  {
    method: "get",
    path: "/api/v1/log/proof/inclusion",
    summary: "Inclusion proof of leaf index in the tree of size (RFC 9162, base64 hashes)",
  },
  {
    method: "get",
    path: "/api/v1/log/proof/consistency",
    summary: "Consistency proof between tree sizes from and to (RFC 9162, base64 hashes)",
  },
  {
    method: "get",
    path: "/api/v1/log/entries",
    summary:
      "Log leaves from start (limit up to 1000): leaf hash and envelope (null for skills the reader may not see)",
  },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/card",
    summary: "Skill Card (Markdown) of a version: publisher, digests, files",
  },
  {
    method: "get",
    path: "/api/v1/skills/{slug}/install",
    summary: "Install resolution for OpenClaw: the version and its archive URL",
  },
  {
    method: "post",
    path: "/api/v1/skills/-/security-verdicts",
    summary: "Security verdicts of {slug, ownerHandle, version} items (honest: not scanned)",
  },
  {
    method: "get",
    path: "/api/v1/trending",
    summary: "Most installed skills (kind=skills, limit)",
  },
  {
    method: "post",
    path: "/api/v1/skills/{slug}/tags",
    summary: "Point a tag at a version",
    auth: "user",
  },
  {
    method: "get",
    path: "/api/v1/resolve",
    summary:
      "Map a local fingerprint to a version (slug, hash), or resolve a version, range or tag (slug, selector)",
  },
  {
    method: "get",
    path: "/api/v1/download",
    summary: "Deterministic ZIP of a version (slug, version, tag)",
  },
  { method: "post", path: "/api/v1/stars/{slug}", summary: "Star a skill", auth: "user" },
  { method: "delete", path: "/api/v1/stars/{slug}", summary: "Unstar a skill", auth: "user" },
  {
    method: "post",
    path: "/api/cli/telemetry/install",
    summary: "Count an install (slug; legacy roots snapshots accepted, not counted)",
  },
  {
    method: "post",
    path: "/api/cli/telemetry/sync",
    summary: "Older CLIs' sync telemetry (accepted, not counted)",
  },
  { method: "get", path: "/api/v1/tokens", summary: "Your tokens", auth: "user" },
  { method: "post", path: "/api/v1/tokens", summary: "Create a token for yourself", auth: "user" },
  { method: "get", path: "/api/v1/admin/users", summary: "List users", auth: "admin" },
  { method: "post", path: "/api/v1/admin/users", summary: "Create a user", auth: "admin" },
  {
    method: "post",
    path: "/api/v1/admin/users/{handle}/disable",
    summary: "Disable a user",
    auth: "admin",
  },
  {
    method: "post",
    path: "/api/v1/admin/users/{handle}/enable",
    summary: "Enable a user",
    auth: "admin",
  },
  { method: "get", path: "/api/v1/admin/tokens", summary: "List tokens", auth: "admin" },
  {
    method: "post",
    path: "/api/v1/admin/tokens",
    summary: "Create a token for a user",
    auth: "admin",
  },
  { method: "delete", path: "/api/v1/admin/tokens/{id}", summary: "Revoke a token", auth: "admin" },
  {
    method: "post",
    path: "/api/v1/skills/{slug}/visibility",
    summary: "Change who may see a skill (visibility: public, org, private)",
    auth: "user",
  },
  {
    method: "get",
    path: "/api/v1/orgs",
    summary: "Your orgs (all=1: every org, admins)",
    auth: "user",
  },
  {
    method: "post",
    path: "/api/v1/orgs",
    summary: "Create an org (handle, displayName, defaultVisibility); you become its owner",
    auth: "user",
  },
  { method: "get", path: "/api/v1/orgs/{org}", summary: "An org and its members", auth: "user" },
  {
    method: "patch",
    path: "/api/v1/orgs/{org}",
    summary: "Change the org's default visibility (owners)",
    auth: "user",
  },
  {
    method: "put",
    path: "/api/v1/orgs/{org}/members/{handle}",
    summary: "Add a member or change their role (role: owner, publisher, reader; owners)",
    auth: "user",
  },
  {
    method: "delete",
    path: "/api/v1/orgs/{org}/members/{handle}",
    summary: "Remove a member (owners, or the member leaving)",
    auth: "user",
  },
  {
    method: "post",
    path: "/api/v1/admin/gc",
    summary: "Remove unreferenced blobs older than graceSeconds (default 3600)",
    auth: "admin",
  },
  { method: "get", path: "/api/v1/openapi.json", summary: "This description" },
];

/** The OpenAPI 3.1 document of {@link ROUTES}. */
export function openApi(base: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    paths[r.path] ??= {};
    (paths[r.path] as Record<string, unknown>)[r.method] = {
      summary: r.summary,
      ...(params.length ? { parameters: params } : {}),
      ...(r.auth ? { security: [{ bearer: [] }] } : {}),
      responses: { "200": { description: "OK" }, "4XX": { description: "Plain-text error" } },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "ClawHub registry API", version: "1" },
    servers: [{ url: base }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "clh_ token" } },
    },
    paths,
  };
}
