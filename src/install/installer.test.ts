import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, type Sandbox } from "../../test/helpers/registry.ts";
import { createClient } from "../client/index.ts";
import { isClawHubError } from "../errors/index.ts";
import { createInstaller, parseSkillRef } from "./index.ts";

describe("skill references", () => {
  it.each([
    ["pdf-tools", { slug: "pdf-tools" }],
    ["@acme/pdf-tools", { ownerHandle: "acme", slug: "pdf-tools" }],
    ["acme/pdf-tools@1.2.3", { ownerHandle: "acme", slug: "pdf-tools", selector: "1.2.3" }],
    ["pdf-tools@^1.2", { slug: "pdf-tools", selector: "^1.2" }],
    ["@Acme/PDF-Tools@beta", { ownerHandle: "acme", slug: "pdf-tools", selector: "beta" }],
  ])("parses %j", (spec, expected) => {
    expect(parseSkillRef(spec)).toEqual(expected);
  });
  it.each(["", "../evil", "a/b/c", "@/x", "x@", "..", "a\\\\b"])("refuses %j", (spec) => {
    expect(() => parseSkillRef(spec)).toThrow(/invalid skill reference/);
  });
});

describe("installer integrity", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await createSandbox();
    const fd = new FormData();
    fd.set("payload", JSON.stringify({ slug: "tamper-me", version: "1.0.0" }));
    fd.append(
      "files[]",
      new Blob(["---\nname: tamper-me\ndescription: Integrity test.\n---\n\nBody.\n"]),
      "SKILL.md",
    );
    const res = await fetch(`${sb.server.url}/api/v1/skills`, {
      method: "POST",
      headers: { authorization: `Bearer ${sb.adminToken}` },
      body: fd,
    });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await sb?.close();
  });

  it("refuses an archive that does not match the declared integrity, installing and caching nothing", async () => {
    const tampering: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes("/api/v1/download")) return res;
      const bytes = Buffer.from(await res.arrayBuffer());
      bytes[bytes.length - 30] = (bytes[bytes.length - 30] ?? 0) ^ 0xff; // flip a byte
      return new Response(bytes, { status: 200, headers: res.headers });
    };
    const workdir = await mkdtemp(join(tmpdir(), "clawhub-tamper-"));
    try {
      const installer = createInstaller({
        client: createClient({ registry: sb.server.url, fetch: tampering }),
        workdir,
        dir: "skills",
        cacheDir: join(workdir, "cache"),
      });
      const error = await installer.install(["tamper-me"]).catch((e: unknown) => e);
      expect(isClawHubError(error) && error.code).toBe("INTEGRITY_MISMATCH");
      expect(isClawHubError(error) && error.category).toBe("security");
      expect(await readdir(workdir)).toEqual([]);
      // The honest download then installs fine.
      const ok = createInstaller({
        client: createClient({ registry: sb.server.url }),
        workdir,
        dir: "skills",
        cacheDir: join(workdir, "cache"),
      });
      const [outcome] = await ok.install(["tamper-me"]);
      expect(outcome).toMatchObject({ version: "1.0.0", cached: false });
    } finally {
      await rm(workdir, { recursive: true, force: true });
    }
  });

  it("resolves ranges itself against a registry without selector resolution (the public one)", async () => {
    const oldRegistry: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      if (url.pathname === "/api/v1/resolve" && url.searchParams.has("selector"))
        return new Response("slug and hash are required", {
          status: 400,
          headers: { "content-type": "text/plain" },
        });
      return fetch(input, init);
    };
    const workdir = await mkdtemp(join(tmpdir(), "clawhub-oldreg-"));
    try {
      const installer = createInstaller({
        client: createClient({ registry: sb.server.url, fetch: oldRegistry }),
        workdir,
        dir: "skills",
        cacheDir: join(workdir, "cache"),
      });
      const [outcome] = await installer.install(["tamper-me@^1"]);
      expect(outcome).toMatchObject({ version: "1.0.0", status: "installed" });
    } finally {
      await rm(workdir, { recursive: true, force: true });
    }
  });
});
