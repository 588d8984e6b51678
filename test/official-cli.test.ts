import { chmod, cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, OFFICIAL_BIN, OUR_BIN, type Sandbox } from "./helpers/registry.ts";

const EXAMPLES = fileURLToPath(new URL("../examples/skills", import.meta.url));

/**
 * The official `clawhub` CLI (clawhub@0.23.3, installed as the devDependency alias
 * clawhub-official and run by its file path) against `clawhub serve`: every flow a user runs.
 * The steps build on each other, so they run in order in one sandbox.
 */
describe("official clawhub CLI against clawhub serve", () => {
  let sb: Sandbox;
  const official = (args: string[], cwd?: string) =>
    sb.run(OFFICIAL_BIN, [...args, "--no-input"], cwd ? { cwd } : {});

  beforeAll(async () => {
    sb = await createSandbox();
    await cp(join(EXAMPLES, "text-stats"), join(sb.root, "text-stats"), { recursive: true });
    await cp(join(EXAMPLES, "release-notes"), join(sb.root, "sync/skills/release-notes"), {
      recursive: true,
    });
  });
  afterAll(async () => {
    await sb?.close();
  });

  it("logs in with a token and reports who it is", async () => {
    const login = await official(["login", "--token", sb.adminToken]);
    expect(login.stdout + login.stderr).toContain("Logged in as @admin");
    expect(login.code).toBe(0);
    const whoami = await official(["whoami"]);
    expect(whoami.stdout.trim()).toBe("admin");
  });

  it("publishes a skill through its upload flow", async () => {
    const r = await official([
      "skill",
      "publish",
      join(sb.root, "text-stats"),
      "--version",
      "1.0.0",
      "--changelog",
      "first",
    ]);
    expect(r.stdout + r.stderr).toContain("Published text-stats@1.0.0");
    expect(r.code).toBe(0);
  });

  it("serves the integrity our `skill pack` prints for the same files, whatever their execute bits", async () => {
    const dir = join(sb.root, "text-stats");
    // The official CLI sends no modes; modes on disk must not change what either side computes.
    await chmod(join(dir, "SKILL.md"), 0o755);
    await chmod(join(dir, "scripts/stats.mjs"), 0o600);
    const packed = await sb.run(OUR_BIN, [
      "skill",
      "pack",
      dir,
      "-o",
      join(sb.root, "ts.zip"),
      "--json",
    ]);
    expect(packed.code, packed.stderr).toBe(0);
    const ours = JSON.parse(packed.stdout) as { integrity: string; fingerprint: string };
    const served = (await (
      await fetch(`${sb.server.url}/api/v1/skills/text-stats/versions/1.0.0`)
    ).json()) as { version: { integrity: string; fingerprint: string } };
    expect(served.version.integrity).toBe(ours.integrity);
    expect(served.version.fingerprint).toBe(ours.fingerprint);
  });

  it("searches, explores and inspects", async () => {
    const search = await official(["search", "reading time words"]);
    expect(search.stdout).toMatch(/text-stats v1\.0\.0\s+@admin/);
    const explore = await official(["explore"]);
    expect(explore.stdout).toMatch(/text-stats\s+v1\.0\.0/);
    const inspect = await official(["inspect", "text-stats", "--files"]);
    expect(inspect.stdout).toContain("latest=1.0.0");
    expect(inspect.stdout).toContain("SKILL.md");
    expect(inspect.stdout).toContain("scripts/stats.mjs");
  });

  it("installs, lists, updates to a newer version and uninstalls", async () => {
    const project = join(sb.root, "project");
    const install = await official(["install", "text-stats", "--workdir", project]);
    expect(install.stdout + install.stderr).toContain("Installed text-stats v1.0.0");
    const lock = JSON.parse(await readFile(join(project, ".clawhub/lock.json"), "utf8")) as {
      skills: Record<string, { version: string }>;
    };
    expect(lock.skills["text-stats"]?.version).toBe("1.0.0");
    const origin = JSON.parse(
      await readFile(join(project, "skills/text-stats/.clawhub/origin.json"), "utf8"),
    ) as { fingerprint: string };
    expect(origin.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect((await official(["list", "--workdir", project])).stdout).toMatch(/text-stats\s+1\.0\.0/);

    await writeFile(join(sb.root, "text-stats/CHANGELOG.md"), "# 1.1.0\n\n- more stats\n");
    const republish = await official([
      "skill",
      "publish",
      join(sb.root, "text-stats"),
      "--version",
      "1.1.0",
    ]);
    expect(republish.code).toBe(0);
    const update = await official(["update", "text-stats", "--workdir", project]);
    expect(update.stdout + update.stderr).toContain("Updated text-stats -> v1.1.0");
    expect((await official(["list", "--workdir", project])).stdout).toMatch(/text-stats\s+1\.1\.0/);
    expect(await readFile(join(project, "skills/text-stats/CHANGELOG.md"), "utf8")).toContain(
      "more stats",
    );

    const uninstall = await official(["uninstall", "text-stats", "--yes", "--workdir", project]);
    expect(uninstall.code).toBe(0);
    const after = JSON.parse(await readFile(join(project, ".clawhub/lock.json"), "utf8")) as {
      skills: Record<string, unknown>;
    };
    expect(after.skills).toEqual({});
  });

  it("syncs new local skills and recognises published ones by fingerprint", async () => {
    await cp(join(sb.root, "text-stats"), join(sb.root, "sync/skills/text-stats"), {
      recursive: true,
    });
    const sync = await official(["sync", "--all"], join(sb.root, "sync"));
    const out = sync.stdout + sync.stderr;
    expect(out).toContain("release-notes");
    expect(out).toContain("Published release-notes@1.0.0");
    expect(out).toMatch(/text-stats\s+synced \(1\.1\.0\)/);
    expect(sync.code).toBe(0);
  });
});
