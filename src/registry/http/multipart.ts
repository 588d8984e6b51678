import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { Busboy, type BusboyInstance } from "@fastify/busboy";
import type { Context } from "hono";
import { ClawHubError } from "../../errors/index.ts";
import { rememberDigests } from "../digests.ts";
import type { PublishFile } from "../service.ts";
import { type Env, readBody } from "./common.ts";

/** Limits of a multipart publish, checked while it streams in. */
export interface FormLimits {
  /** Bytes of the whole body. */
  maxBody: number;
  maxFileBytes: number;
  maxFiles: number;
  /** Bytes of the `payload` field (JSON). */
  maxPayloadBytes: number;
}

/**
 * Reads a publish's multipart body as it streams: each file part straight into its own buffer,
 * the body never held whole. Before, the body was buffered, copied into a FormData and copied
 * again per file (4 concurrent 45 MiB publishes: +913 MiB of RSS). A part over a limit stops
 * the upload there with LIMIT_EXCEEDED, without reading the rest.
 */
export async function readPublishForm(
  c: Context<Env>,
  limits: FormLimits,
): Promise<{ payload: string | undefined; files: PublishFile[] }> {
  const type = c.req.header("content-type") ?? "";
  if (!c.req.raw.body) throw new ClawHubError("INVALID_ARGUMENT", "Malformed multipart body");

  let failure: ClawHubError | undefined;
  const fail = (error: ClawHubError) => {
    failure ??= error;
  };
  let payload: string | undefined;
  const files: PublishFile[] = [];
  let parser: BusboyInstance;
  try {
    parser = Busboy({
      headers: { "content-type": type },
      // The official CLI sends each file's path in the part's filename: keep it whole.
      preservePath: true,
      limits: {
        fileSize: limits.maxFileBytes,
        files: limits.maxFiles,
        fields: 16,
        fieldSize: limits.maxPayloadBytes,
        parts: limits.maxFiles + 16,
        headerPairs: 32,
      },
    });
  } catch {
    throw new ClawHubError("INVALID_ARGUMENT", "Malformed multipart body");
  }
  const finished = new Promise<void>((resolve, reject) => {
    parser.on("finish", resolve);
    parser.on("error", () =>
      reject(new ClawHubError("INVALID_ARGUMENT", "Malformed multipart body")),
    );
  });
  finished.catch(() => {});
  parser.on("file", (field, stream, filename, _encoding, mimeType) => {
    if (field !== "files[]" && field !== "files") {
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    // Digested as the chunks arrive: a few hundred µs per chunk instead of 45 MiB at the end.
    const sha256 = createHash("sha256");
    let crc = 0;
    stream.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      sha256.update(chunk);
      crc = crc32(chunk, crc);
    });
    stream.on("limit", () =>
      fail(
        new ClawHubError(
          "LIMIT_EXCEEDED",
          `${filename} is larger than the per-file limit of ${limits.maxFileBytes} bytes`,
        ),
      ),
    );
    stream.on("end", () => {
      if (!stream.truncated) {
        const bytes = Buffer.concat(chunks);
        rememberDigests(bytes, { sha256: sha256.digest("hex"), crc32: crc });
        files.push({ path: filename, bytes, contentType: mimeType });
      }
      chunks.length = 0;
    });
  });
  parser.on("field", (field, value, _nameTruncated, valueTruncated) => {
    if (field !== "payload") return;
    if (valueTruncated)
      fail(
        new ClawHubError(
          "LIMIT_EXCEEDED",
          `the payload field is larger than ${limits.maxPayloadBytes} bytes`,
        ),
      );
    payload = value;
  });
  parser.on("filesLimit", () =>
    fail(new ClawHubError("LIMIT_EXCEEDED", `too many files (limit ${limits.maxFiles})`)),
  );
  parser.on("partsLimit", () =>
    fail(new ClawHubError("LIMIT_EXCEEDED", "too many parts in the multipart body")),
  );

  try {
    await readBody(c, limits.maxBody, async (chunk) => {
      // Honour the parser's backpressure: it holds at most one chunk beyond what it handed on.
      if (!parser.write(chunk))
        await Promise.race([new Promise((r) => parser.once("drain", r)), finished]);
      return !failure;
    });
  } catch (error) {
    fail(
      error instanceof ClawHubError
        ? error
        : new ClawHubError("INVALID_ARGUMENT", "Malformed multipart body"),
    );
  }
  if (failure) {
    parser.destroy();
    throw failure;
  }
  parser.end();
  await finished;
  if (failure) throw failure;
  return { payload, files };
}
