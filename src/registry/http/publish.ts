/** Publishing: the upload flow of the official CLI and the publish itself. */
import type { Context } from "hono";
import { ClawHubError } from "../../errors/index.ts";
import type { PublishResponse, UploadUrlResponse } from "../../schema/index.ts";
import { maxArchiveBytes } from "../../skill/index.ts";
import { parseVisibility } from "../access.ts";
import type { Principal, PublishFile } from "../service.ts";
import {
  type Env,
  jsonBody,
  limitedBody,
  parseJsonObject,
  type RouteContext,
  readBody,
  tagsOf,
} from "./common.ts";
import { readPublishForm } from "./multipart.ts";

/** Mounts the publish routes. */
export function mountPublishRoutes(ctx: RouteContext): void {
  const { app, registry, baseOf, requireUser } = ctx;
  const limits = registry.limits;
  const maxBody = maxArchiveBytes(limits) + 1024 * 1024;
  let inFlight = 0;
  /** Counts `bytes` against the publishes in flight; refuses past the limit (one always passes). */
  const reserve = (bytes: number) => {
    if (inFlight > 0 && inFlight + bytes > ctx.maxPublishBytes)
      throw new ClawHubError(
        "RESOURCE_EXHAUSTED",
        `the registry is receiving ${Math.ceil(inFlight / 1048576)} MiB of publishes (limit ${Math.round(ctx.maxPublishBytes / 1048576)} MiB); retry shortly`,
        { details: { retryAfterMs: 2_000 } },
      );
    inFlight += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      inFlight -= bytes;
    };
  };
  // ---- publish -------------------------------------------------------------------------------
  app.post("/api/v1/skills/-/upload-url", async (c) => {
    const principal = requireUser(c);
    const body = await jsonBody<{
      path?: unknown;
      size?: unknown;
      sha256?: unknown;
      contentType?: unknown;
    }>(c, 64 * 1024);
    if (
      typeof body.path !== "string" ||
      typeof body.size !== "number" ||
      typeof body.sha256 !== "string"
    ) {
      throw new ClawHubError("INVALID_ARGUMENT", "path, size and sha256 are required");
    }
    const { ticket } = await registry.createUpload(principal, {
      path: body.path,
      size: body.size,
      sha256: body.sha256,
      ...(typeof body.contentType === "string" ? { contentType: body.contentType } : {}),
    });
    return c.json({
      uploadUrl: `${baseOf(c)}/api/v1/uploads/${ticket}`,
      uploadTicket: ticket,
    } satisfies UploadUrlResponse);
  });
  app.post("/api/v1/uploads/:ticket", async (c) => {
    const principal = requireUser(c);
    const bytes = await limitedBody(c, limits.maxFileBytes);
    return c.json(await registry.completeUpload(principal, c.req.param("ticket"), bytes));
  });

  app.post("/api/v1/skills", async (c) => {
    const principal = requireUser(c);
    const declared = Number(c.req.header("content-length") ?? "NaN");
    let first: () => void;
    try {
      first = reserve(
        Number.isFinite(declared) && declared >= 0 ? Math.min(declared, maxBody) : maxBody,
      );
    } catch (error) {
      // Read and drop the body (nothing is kept), so the client gets the 429 rather than a
      // connection closed under its upload.
      await readBody(c, maxBody, () => undefined).catch(() => {});
      throw error;
    }
    const releases = [first];
    try {
      return await publish(c, principal, (bytes) => releases.push(reserve(bytes)));
    } finally {
      for (const release of releases) release();
    }
  });

  async function publish(
    c: Context<Env>,
    principal: Principal,
    reserveMore: (bytes: number) => void,
  ) {
    const type = c.req.header("content-type") ?? "";
    let payload: Record<string, unknown>;
    let files: PublishFile[];
    if (type.startsWith("multipart/form-data")) {
      const form = await readPublishForm(c, {
        maxBody,
        maxFileBytes: limits.maxFileBytes,
        maxFiles: limits.maxFiles,
        maxPayloadBytes: 4 * 1024 * 1024,
      });
      if (form.payload === undefined)
        throw new ClawHubError("INVALID_ARGUMENT", "multipart field 'payload' (JSON) is required");
      payload = parseJsonObject(form.payload, "payload");
      files = form.files;
    } else {
      payload = await jsonBody<Record<string, unknown>>(c, 4 * 1024 * 1024);
      const list = payload.files;
      if (!Array.isArray(list)) throw new ClawHubError("INVALID_ARGUMENT", "files is required");
      files = [];
      for (const f of list as Array<Record<string, unknown>>) {
        if (typeof f?.path !== "string" || typeof f.storageId !== "string")
          throw new ClawHubError("INVALID_ARGUMENT", "each file needs path and storageId");
        const bytes = await registry.uploadedFile(principal, {
          path: f.path,
          storageId: f.storageId,
          uploadTicket: typeof f.uploadTicket === "string" ? f.uploadTicket : undefined,
        });
        reserveMore(bytes.length);
        files.push({
          path: f.path,
          bytes,
          ...(typeof f.contentType === "string" ? { contentType: f.contentType } : {}),
        });
      }
    }
    const str = (v: unknown) => (typeof v === "string" ? v : undefined);
    const result = await registry.publish(principal, {
      slug: str(payload.slug) ?? "",
      displayName: str(payload.displayName),
      ownerHandle: str(payload.ownerHandle),
      visibility: parseVisibility(payload.visibility),
      version: str(payload.version) ?? "",
      changelog: str(payload.changelog),
      tags: tagsOf(payload.tags),
      files,
      ...(payload.attestation !== undefined ? { attestation: payload.attestation } : {}),
    });
    // 200, as the public ClawHub API documents it (its OpenAPI document and end-to-end tests);
    // its CLI takes either, other clients may not.
    return c.json(result satisfies PublishResponse, 200);
  }
}
