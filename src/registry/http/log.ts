/**
 * The transparency log's routes: its key, the latest signed checkpoint, inclusion and
 * consistency proofs, its leaves (for monitors) and a version's attestation with everything a
 * client needs to verify it in one answer. Hashes travel as standard base64, as in checkpoints.
 */
import type { LogInfoResponse, VersionAttestationResponse } from "../../schema/index.ts";
import { MAX_LOG_PAGE } from "../log.ts";
import { intParam, ownerParam, type RouteContext } from "./common.ts";

const b64 = (hashes: readonly Buffer[]) => hashes.map((h) => h.toString("base64"));
const MAX_SIZE = Number.MAX_SAFE_INTEGER;

/** Mounts the transparency log routes. */
export function mountLogRoutes(ctx: RouteContext): void {
  const { app, registry } = ctx;
  app.get("/api/v1/log", async (c) => {
    const log = registry.transparencyLog();
    const checkpoint = await log.checkpoint();
    return c.json({
      origin: log.origin,
      verifierKey: log.verifierKey,
      keyId: log.keyId,
      size: checkpoint.size,
    } satisfies LogInfoResponse);
  });
  app.get("/api/v1/log/checkpoint", async (c) => {
    const checkpoint = await registry.transparencyLog().checkpoint();
    return c.body(checkpoint.note, 200, {
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-store",
    });
  });
  app.get("/api/v1/log/proof/inclusion", async (c) => {
    const index = intParam(c.req.query("index"), "index", -1, 0, MAX_SIZE);
    const size = intParam(c.req.query("size"), "size", -1, 1, MAX_SIZE);
    const proof = await registry.transparencyLog().inclusion(index, size);
    return c.json({ index, size, proof: b64(proof) });
  });
  app.get("/api/v1/log/proof/consistency", async (c) => {
    const from = intParam(c.req.query("from"), "from", -1, 0, MAX_SIZE);
    const to = intParam(c.req.query("to"), "to", -1, 0, MAX_SIZE);
    const proof = await registry.transparencyLog().consistency(from, to);
    return c.json({ from, to, proof: b64(proof) });
  });
  app.get("/api/v1/log/entries", async (c) => {
    const start = intParam(c.req.query("start"), "start", 0, 0, MAX_SIZE);
    const limit = intParam(c.req.query("limit"), "limit", 100, 1, MAX_LOG_PAGE);
    const entries = await registry.logEntries(c.get("principal"), start, limit);
    return c.json({
      start,
      entries: entries.map((e) => ({
        index: e.index,
        leafHash: e.leafHash.toString("base64"),
        // A skill the reader may not see keeps its name to itself; its leaf still counts.
        envelope: e.visible ? JSON.parse(e.envelope) : null,
      })),
    });
  });
  app.get("/api/v1/skills/:slug/attestation", async (c) => {
    const since = c.req.query("since");
    const a = await registry.attestation(
      c.get("principal"),
      {
        slug: c.req.param("slug"),
        ownerHandle: ownerParam(c),
        version: c.req.query("version"),
        tag: c.req.query("tag"),
      },
      since === undefined ? undefined : intParam(since, "since", 0, 0, MAX_SIZE),
    );
    return c.json({
      slug: a.skill.slug,
      ownerHandle: a.skill.ownerHandle,
      version: a.version.version,
      envelope: JSON.parse(a.entry.envelope),
      logIndex: a.entry.index,
      checkpoint: a.checkpoint.note,
      inclusionProof: b64(a.inclusion),
      ...(a.consistency ? { consistencyProof: b64(a.consistency) } : {}),
    } satisfies VersionAttestationResponse);
  });
}
