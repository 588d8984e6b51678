/**
 * The official CLI's upload flow: announce a file, send its bytes (checked against the
 * announced size and sha256 before anything is stored), then publish by upload ticket. A ticket
 * is bound to its uploader: nobody publishes a blob someone else uploaded.
 */
import { randomBytes } from "node:crypto";
import { ClawHubError } from "../errors/index.ts";
import { formatBytes, type SkillLimits } from "../skill/index.ts";
import type { Principal } from "./access.ts";
import { checkPublishPath, contentTypeOf } from "./paths.ts";
import type { BlobStore, RegistryStore } from "./store/index.ts";

/** The upload operations of the registry service. */
export function createUploads(options: {
  store: RegistryStore;
  blobs: BlobStore;
  limits: SkillLimits;
  now: () => number;
  random?: (bytes: number) => Buffer;
  /** How long a ticket stays usable after it is announced. */
  ttlMs: number;
}) {
  const { store, blobs, limits, now, ttlMs } = options;
  const expired = (upload: { createdAt: number }) => now() - upload.createdAt >= ttlMs;
  const expiredError = () =>
    new ClawHubError("INVALID_ARGUMENT", "upload expired: announce the file again", {
      hint: `Upload tickets last ${Math.round(ttlMs / 60_000)} minutes.`,
    });
  const random = options.random ?? randomBytes;
  return {
    /** Registers an upload (official CLI flow): the bytes come next, then the publish. */
    async createUpload(
      principal: Principal,
      req: { path: string; size: number; sha256: string; contentType?: string },
    ) {
      checkPublishPath(req.path, limits);
      if (!Number.isInteger(req.size) || req.size < 0 || req.size > limits.maxFileBytes) {
        throw new ClawHubError(
          "LIMIT_EXCEEDED",
          `${req.path}: size ${req.size} is over the per-file limit of ${formatBytes(limits.maxFileBytes)}`,
        );
      }
      if (!/^[0-9a-f]{64}$/.test(req.sha256))
        throw new ClawHubError("INVALID_ARGUMENT", "sha256 must be 64 lowercase hex characters");
      const ticket = random(18).toString("base64url");
      await store.createUpload({
        ticket,
        userId: principal.user.id,
        path: req.path,
        sha256: req.sha256,
        size: req.size,
        contentType: req.contentType ?? contentTypeOf(req.path),
        createdAt: now(),
        completedAt: null,
      });
      return { ticket };
    },

    /**
     * Receives an upload's bytes; they must match the announced size and sha256 before anything
     * is stored. The storageId returned is the upload's ticket, never the content hash: a file
     * is referenced in a publish only through an upload its publisher made.
     */
    async completeUpload(principal: Principal, ticket: string, bytes: Buffer) {
      const upload = await store.upload(ticket);
      if (!upload || upload.userId !== principal.user.id)
        throw new ClawHubError("NOT_FOUND", "Upload not found");
      if (expired(upload)) throw expiredError();
      if (bytes.length !== upload.size)
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `upload is ${bytes.length} bytes; ${upload.size} were announced`,
        );
      await blobs.put(bytes, upload.sha256);
      await store.completeUpload(ticket, now());
      return { storageId: ticket };
    },

    /**
     * Loads the bytes of an uploaded file for a JSON publish (`files[].storageId`, optionally
     * with `uploadTicket`). Only a completed upload of the same user counts; the refusal is the
     * same whether or not some blob with that hash exists, so it reveals nothing.
     */
    async uploadedFile(
      principal: Principal,
      file: { path: string; storageId: string; uploadTicket?: string | undefined },
    ) {
      const ticket = file.uploadTicket ?? file.storageId;
      const upload = await store.upload(ticket);
      const usable =
        upload !== undefined &&
        upload.userId === principal.user.id &&
        upload.completedAt !== null &&
        (file.storageId === ticket || file.storageId === upload.sha256);
      if (usable && expired(upload)) throw expiredError();
      if (!usable)
        throw new ClawHubError(
          "INVALID_ARGUMENT",
          `no completed upload of yours for ${file.path.slice(0, 200)}`,
          { hint: "Upload each file (POST /api/v1/skills/-/upload-url) before publishing." },
        );
      return blobs.get(upload.sha256);
    },
  };
}
