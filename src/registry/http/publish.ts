/** Publishing: the upload flow of the official CLI and the publish itself. */
import { ClawHubError } from "../../errors/index.ts";
import type { PublishResponse, UploadUrlResponse } from "../../schema/index.ts";
import { maxArchiveBytes } from "../../skill/index.ts";
import { parseVisibility } from "../access.ts";
import type { PublishFile } from "../service.ts";
import { jsonBody, limitedBody, parseJsonObject, type RouteContext, tagsOf } from "./common.ts";

/** Mounts the publish routes. */
export function mountPublishRoutes(ctx: RouteContext): void {
  const { app, registry, baseOf, requireUser } = ctx;
  const limits = registry.limits;
  const maxBody = maxArchiveBytes(limits) + 1024 * 1024;
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
    const type = c.req.header("content-type") ?? "";
    let payload: Record<string, unknown>;
    let files: PublishFile[];
    if (type.startsWith("multipart/form-data")) {
      const raw = await limitedBody(c, maxBody);
      let form: FormData;
      try {
        form = await new Request("http://local/", {
          method: "POST",
          headers: { "content-type": type },
          body: raw,
        }).formData();
      } catch {
        throw new ClawHubError("INVALID_ARGUMENT", "Malformed multipart body");
      }
      const payloadField = form.get("payload");
      if (typeof payloadField !== "string")
        throw new ClawHubError("INVALID_ARGUMENT", "multipart field 'payload' (JSON) is required");
      payload = parseJsonObject(payloadField, "payload");
      files = [];
      for (const entry of [...form.getAll("files[]"), ...form.getAll("files")]) {
        if (typeof entry === "string")
          throw new ClawHubError("INVALID_ARGUMENT", "each files[] part must be a file");
        files.push({
          path: entry.name,
          bytes: Buffer.from(await entry.arrayBuffer()),
          contentType: entry.type,
        });
      }
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
    });
    // 200, as the public ClawHub API documents it (its OpenAPI document and end-to-end tests);
    // its CLI takes either, other clients may not.
    return c.json(result satisfies PublishResponse, 200);
  });
}
