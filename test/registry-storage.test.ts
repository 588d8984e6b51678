/**
 * The registry's storage under stress, through the HTTP API and the CLI: unreferenced blobs are
 * collected, a failed publish writes no files, an unwritable blob directory answers 503 without
 * paths, and SIGTERM lets a publish in flight finish.
 */
import { spawn } from "node:child_process";
import { mkdir, readdir, rename, utimes, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createSandbox, OUR_BIN, type Sandbox } from "./helpers/registry.ts";

const SKILL = (name: string, extra = "") =>
  `---\nname: ${name}\ndescription: ${name} for storage tests.\n---\n\nBody.${extra}\n`;

let sb: Sandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

async function publish(s: Sandbox, slug: string, version: string, extra = "") {
  const fd = new FormData();
  fd.set("payload", JSON.stringify({ slug, version }));
  fd.append("files[]", new Blob([SKILL(slug, extra)]), "SKILL.md");
  return fetch(`${s.server.url}/api/v1/skills`, {
    method: "POST",
    headers: { authorization: `Bearer ${s.adminToken}` },
    body: fd,
  });
}

async function blobFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const prefix of await readdir(dir).catch(() => [] as string[]))
    for (const name of await readdir(join(dir, prefix)).catch(() => [] as string[]))
      out.push(`${prefix}${name}`);
  return out.sort();
}

describe("registry storage", () => {
  it("collects unreferenced blobs and stale temporary files, keeping everything referenced", async () => {
    sb = await createSandbox({ rateLimits: false });
    const blobs = join(sb.root, "data", "blobs");
    expect((await publish(sb, "kept-skill", "1.0.0")).status).toBe(200);
    const referenced = await blobFiles(blobs);
    // An orphan (a publish that failed after writing) and a killed write, both two hours old.
    const orphan = "ab".padEnd(64, "c");
    await mkdir(join(blobs, "ab"), { recursive: true });
    await writeFile(join(blobs, "ab", orphan.slice(2)), "orphan bytes");
    const temp = join(blobs, "ab", `${"d".repeat(62)}.tmp-0a1b2c`);
    await writeFile(temp, "half");
    const old = new Date(Date.now() - 2 * 3_600_000);
    await utimes(join(blobs, "ab", orphan.slice(2)), old, old);
    await utimes(temp, old, old);
    // A young orphan is kept: a publish on another replica may be writing it now.
    const young = "ac".padEnd(64, "e");
    await mkdir(join(blobs, "ac"), { recursive: true });
    await writeFile(join(blobs, "ac", young.slice(2)), "young");
    const r = await sb.run(OUR_BIN, ["admin", "gc", "--json"], {
      env: { CLAWHUB_TOKEN: sb.adminToken },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ removed: 1, temporary: 1 });
    expect(await blobFiles(blobs)).toEqual([...referenced, young].sort());
    const download = await fetch(`${sb.server.url}/api/v1/download?slug=kept-skill`);
    expect(download.status).toBe(200);
  });

  it("writes no blob for a publish refused because the version exists", async () => {
    sb = await createSandbox({ rateLimits: false });
    const blobs = join(sb.root, "data", "blobs");
    expect((await publish(sb, "once-skill", "1.0.0")).status).toBe(200);
    const before = await blobFiles(blobs);
    const again = await publish(sb, "once-skill", "1.0.0", " Other content, other blobs.");
    expect(again.status).toBe(409);
    expect(await blobFiles(blobs)).toEqual(before);
  });

  it("answers 503 without server paths when the blob directory cannot be written", async () => {
    sb = await createSandbox({ rateLimits: false });
    const data = join(sb.root, "data");
    // The blob directory becomes unusable (a read-only or full disk looks the same to clients).
    await rename(join(data, "blobs"), join(data, "blobs-away")).catch(() => undefined);
    await writeFile(join(data, "blobs"), "not a directory");
    const res = await publish(sb, "stuck-skill", "1.0.0");
    expect(res.status).toBe(503);
    const text = await res.text();
    expect(text).toContain("cannot store files right now");
    expect(text).not.toContain(sb.root);
    // Reads keep working where they can, and say the same when they cannot.
    const download = await fetch(`${sb.server.url}/api/v1/download?slug=stuck-skill`);
    expect(download.status).toBe(404);
  });

  it("lets a publish in flight finish on SIGTERM, then exits 0", async () => {
    sb = await createSandbox({ rateLimits: false });
    const data = join(sb.root, "serve-data");
    const child = spawn(
      process.execPath,
      [OUR_BIN, "serve", "--port", "0", "--no-hub", "--embedder", "none", "--data", data, "--json"],
      { env: { PATH: process.env.PATH ?? "", HOME: sb.home }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    while (!out.includes("\n")) await new Promise((r) => setTimeout(r, 50));
    const started = JSON.parse(out.split("\n")[0] as string) as {
      url: string;
      bootstrap: { token: string };
    };
    const boundary = "----clawhub-test";
    const body = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="payload"\r\n\r\n${JSON.stringify({ slug: "slow-skill", version: "1.0.0" })}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="files[]"; filename="SKILL.md"\r\nContent-Type: text/markdown\r\n\r\n${SKILL("slow-skill")}\r\n--${boundary}--\r\n`,
    );
    const url = new URL(started.url);
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: "/api/v1/skills",
          method: "POST",
          headers: {
            authorization: `Bearer ${started.bootstrap.token}`,
            "content-type": `multipart/form-data; boundary=${boundary}`,
            "content-length": String(body.length),
          },
        },
        (res) => {
          let text = "";
          res.on("data", (d: Buffer) => {
            text += d.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on("error", reject);
      // Half the body, then SIGTERM while the request is in flight, then the rest.
      req.write(body.subarray(0, 100));
      setTimeout(() => {
        child.kill("SIGTERM");
        setTimeout(() => req.end(body.subarray(100)), 400);
      }, 200);
    });
    const done = await response;
    expect(done.status, done.text).toBe(200);
    expect(await exited).toBe(0);
  });
});
