import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startRegistryServer } from "../src/registry/index.ts";
import { buildZip } from "./helpers/hostile-zip.ts";
import { runClawhub } from "./helpers/process.ts";

/** Runs the real `clawhub` binary in a child process with a clean environment. */
const clawhub = runClawhub;

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "clawhub-cli-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("clawhub skill (end to end)", () => {
  it("init -> validate --strict -> pack -> unpack", async () => {
    const init = await clawhub(
      ["skill", "init", "pdf-tools", "-d", "Extract text from PDFs. Use when a user shares a PDF."],
      work,
    );
    expect(init.code).toBe(0);
    expect(await readFile(join(work, "pdf-tools/SKILL.md"), "utf8")).toContain("name: pdf-tools");

    const validate = await clawhub(["skill", "validate", "pdf-tools", "--strict"], work);
    expect(validate.stdout).toContain(
      "1 skill(s) checked (strict): 1 valid, 0 with warnings, 0 invalid",
    );
    expect(validate.code).toBe(0);

    const pack = await clawhub(["--json", "skill", "pack", "pdf-tools", "-o", "out.zip"], work);
    expect(pack.code).toBe(0);
    const packed = JSON.parse(pack.stdout) as {
      integrity: string;
      fingerprint: string;
      files: unknown[];
    };
    expect(packed.integrity).toMatch(/^sha512-/);
    expect(packed.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(packed.files).toHaveLength(1);

    const unpack = await clawhub(["skill", "unpack", "out.zip", "copy"], work);
    expect(unpack.code).toBe(0);
    expect(unpack.stdout).toContain("Extracted 1 files");
    expect(await readdir(join(work, "copy"))).toEqual(["SKILL.md"]);

    // A second init refuses to overwrite; a user error exits 1 with a hint.
    const again = await clawhub(["skill", "init", "pdf-tools"], work);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists[\s\S]*hint: Pass --force/);
  });

  it("validates many skills at once, lists every problem and exits 1 when one is invalid", async () => {
    await mkdir(join(work, "skills/good"), { recursive: true });
    await writeFile(
      join(work, "skills/good/SKILL.md"),
      "---\nname: good\ndescription: Good.\n---\n\nBody.\n",
    );
    await mkdir(join(work, "skills/warn"), { recursive: true });
    await writeFile(
      join(work, "skills/warn/SKILL.md"),
      "---\nname: warn\ndescription: W.\nversion: 1.0.0\n---\n\nBody.\n",
    );
    await mkdir(join(work, "skills/bad"), { recursive: true });
    await writeFile(join(work, "skills/bad/SKILL.md"), "# no frontmatter and no paragraph\n");

    const run = await clawhub(["skill", "validate", "skills"], work);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      "3 skill(s) checked (lenient): 1 valid, 1 with warnings, 1 invalid",
    );
    expect(run.stdout).toMatch(/invalid\s+skills\/bad/);
    expect(run.stdout).toMatch(/SKILL\.md:1\s+warning\s+frontmatter\.missing/);
    expect(run.stdout).toMatch(/error\s+description\.missing/);
    expect(run.stdout).toMatch(/frontmatter\.unknown-key\s+1 skill\(s\)\s+1 warning\(s\)/);

    const json = await clawhub(["skill", "validate", "skills/good", "skills/warn", "--json"], work);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout) as {
      summary: { valid: number; warnings: number; byRule: Record<string, unknown> };
    };
    expect(body.summary).toMatchObject({
      valid: 1,
      warnings: 1,
      byRule: { "frontmatter.unknown-key": { warnings: 1, skills: 1 } },
    });
  });

  it("refuses a hostile archive with exit code 4, naming the entry and rule, and writes nothing", async () => {
    await writeFile(
      join(work, "evil.zip"),
      buildZip([
        { name: "SKILL.md", data: "x" },
        { name: "../../escape.sh", data: "rm -rf /" },
      ]),
    );
    const run = await clawhub(["skill", "unpack", "evil.zip", "out"], work);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('refused entry "../../escape.sh"');
    expect(run.stderr).toContain("[entry.path-traversal]");
    expect((await readdir(work)).sort()).toEqual(["evil.zip"]);

    const json = await clawhub(["skill", "unpack", "evil.zip", "out", "--json"], work);
    expect(json.code).toBe(4);
    const body = JSON.parse(json.stdout) as {
      error: { code: string; message: string; hint: string };
    };
    expect(body.error.code).toBe("UNSAFE_ARCHIVE");
    expect(body.error.hint).toContain("nothing was written");
  });

  it("maps usage errors to exit code 2, in text and JSON", async () => {
    const unknown = await clawhub(["skill", "validate", "--bogus"], work);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: unknown option '--bogus'");
    const missing = await clawhub(["skill", "pack", "--json"], work);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toEqual({
      error: {
        code: "USAGE",
        message: "missing required argument 'dir'",
        hint: "Run `clawhub --help` for usage.",
      },
    });
  });

  it("reports an invalid config file as a user error", async () => {
    await writeFile(join(work, "config.json"), "{not json");
    const run = await clawhub(["skill", "validate", "."], work, {
      CLAWHUB_CONFIG_PATH: join(work, "config.json"),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("is not a valid JSON object");
  });

  it("prints help and version", async () => {
    const help = await clawhub(["--help"], work);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: clawhub");
    const skillHelp = await clawhub(["skill", "validate", "--help"], work);
    expect(skillHelp.stdout).toContain("--strict");
    const version = await clawhub(["--version"], work);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("clawhub serve: no lock-outs", () => {
  it("a start on a busy port creates no admin; the next start shows the first admin's token", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as AddressInfo).port;
    const data = join(work, "data");
    try {
      const failed = await clawhub(
        ["serve", "--port", String(port), "--no-hub", "--embedder", "none", "--data", data],
        work,
      );
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(failed.stdout).not.toContain("clh_");
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
    const server = await startRegistryServer({ port: 0, dataDir: data, embedder: "none" });
    try {
      expect(server.bootstrap?.handle).toBe("admin");
    } finally {
      await server.close();
    }
  });

  it("names an unwritable data directory at once", async () => {
    await writeFile(join(work, "a-file"), "");
    const bad = join(work, "a-file", "data");
    const r = await clawhub(["serve", "--port", "0", "--no-hub", "--data", bad], work);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot write the data directory ${bad} (ENOTDIR)`);
  });
});
