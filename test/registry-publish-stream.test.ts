/**
 * Publishes stream in and are bounded in bytes (issue 28, item 11): a multipart body is parsed
 * as it arrives, a part over a limit is refused without the rest, and the bytes of publishes in
 * flight at once are bounded: past the limit a publish is refused with 429 and Retry-After.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extractZip } from "../src/skill/index.ts";
import { publishBody } from "./helpers/multipart.ts";
import { createSandbox, type Sandbox } from "./helpers/registry.ts";

let sb: Sandbox;
beforeAll(async () => {
  sb = await createSandbox({
    limits: { maxTotalBytes: 8 * 1024 * 1024, maxFileBytes: 4 * 1024 * 1024, maxFiles: 5 },
    maxPublishBytes: 1024 * 1024,
    rateLimits: false,
  });
});
afterAll(async () => {
  await sb?.close();
});

const SKILL = (name: string) =>
  `---\nname: ${name}\ndescription: Streams in parts.\n---\n\n# ${name}\n\nInstructions.\n`;

/** A multipart body (payload + files[]) as bytes, with its content type. */
const multipart = (slug: string, files: Array<{ path: string; content: string | Buffer }>) =>
  publishBody({ slug, version: "1.0.0" }, files);

const post = (body: Buffer, type: string) =>
  fetch(`${sb.server.url}/api/v1/skills`, {
    method: "POST",
    headers: { authorization: `Bearer ${sb.adminToken}`, "content-type": type },
    body,
  });

describe("streamed publishes", () => {
  it("keeps each file's path and content", async () => {
    const { body, type } = multipart("paths", [
      { path: "SKILL.md", content: SKILL("paths") },
      { path: "scripts/run.sh", content: "#!/bin/sh\necho hi\n" },
    ]);
    const r = await post(body, type);
    expect(r.status, await r.clone().text()).toBe(200);
    const files = await fetch(`${sb.server.url}/api/v1/skills/paths/file?path=scripts/run.sh`);
    expect(await files.text()).toBe("#!/bin/sh\necho hi\n");
  });

  it("digests files as they stream in: hashes and the archive's CRCs match the bytes", async () => {
    // Random bytes over many chunks: the digests are computed chunk by chunk while parsing.
    const data = randomBytes(700 * 1024);
    const { body, type } = multipart("digests", [
      { path: "SKILL.md", content: SKILL("digests") },
      { path: "data/blob.bin", content: data },
    ]);
    const r = await post(body, type);
    expect(r.status, await r.clone().text()).toBe(200);
    const version = (await (
      await fetch(`${sb.server.url}/api/v1/skills/digests/versions/1.0.0`)
    ).json()) as { version: { files: Array<{ path: string; sha256: string }> } };
    expect(version.version.files.find((f) => f.path === "data/blob.bin")?.sha256).toBe(
      createHash("sha256").update(data).digest("hex"),
    );
    // The extractor checks every entry's CRC-32 against its content. (Random bytes are binary
    // the scanner cannot read: the version is held for review, served to its publisher.)
    const zip = Buffer.from(
      await (
        await fetch(`${sb.server.url}/api/v1/download?slug=digests`, {
          headers: { authorization: `Bearer ${sb.adminToken}` },
        })
      ).arrayBuffer(),
    );
    const dir = await mkdtemp(join(tmpdir(), "clawhub-digests-"));
    try {
      const out = await extractZip(zip, join(dir, "out"));
      expect(out.files.map((f) => f.path).sort()).toEqual(["SKILL.md", "data/blob.bin"]);
      expect((await readFile(join(dir, "out", "data/blob.bin"))).equals(data)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a file over the per-file limit and too many files with 413, naming the limit", async () => {
    const big = multipart("big", [
      { path: "SKILL.md", content: SKILL("big") },
      { path: "data.bin", content: Buffer.alloc(5 * 1024 * 1024, 1) },
    ]);
    // Over the in-flight budget too, but alone: one publish always passes that check.
    const r = await post(big.body, big.type);
    expect(r.status).toBe(413);
    expect(await r.text()).toContain("data.bin is larger than the per-file limit of 4194304 bytes");
    const many = multipart(
      "many",
      Array.from({ length: 7 }, (_, i) => ({ path: i ? `f${i}.md` : "SKILL.md", content: "x" })),
    );
    const m = await post(many.body, many.type);
    expect(m.status).toBe(413);
    expect(await m.text()).toContain("too many files (limit 5)");
  });

  it("bounds the bytes of publishes in flight: 429 with Retry-After past it, then room again", async () => {
    const slow = multipart("slow", [
      { path: "SKILL.md", content: SKILL("slow") },
      { path: "data.bin", content: Buffer.alloc(900 * 1024, 2) },
    ]);
    const url = new URL(`${sb.server.url}/api/v1/skills`);
    // The first publish sends half its body and waits.
    let answer!: (v: { status: number; text: string }) => void;
    const firstDone = new Promise<{ status: number; text: string }>((r) => (answer = r));
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: {
          authorization: `Bearer ${sb.adminToken}`,
          "content-type": slow.type,
          "content-length": slow.body.length,
        },
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => answer({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", () => {});
    const half = Math.floor(slow.body.length / 2);
    req.write(slow.body.subarray(0, half));
    await new Promise((r) => setTimeout(r, 200));
    const second = multipart("second", [
      { path: "SKILL.md", content: SKILL("second") },
      { path: "data.bin", content: Buffer.alloc(300 * 1024, 3) },
    ]);
    const refused = await post(second.body, second.type);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("2");
    expect(await refused.text()).toContain("MiB of publishes (limit 1 MiB)");
    req.end(slow.body.subarray(half));
    const first = await firstDone;
    expect(first.status, first.text).toBe(200);
    const again = await post(second.body, second.type);
    expect(again.status, await again.clone().text()).toBe(200);
  });
});
