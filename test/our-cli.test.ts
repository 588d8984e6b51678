import { appendFile, cp, lstat, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox, OFFICIAL_BIN, OUR_BIN, type Sandbox } from "./helpers/registry.ts";

const EXAMPLES = fileURLToPath(new URL("../examples/skills", import.meta.url));

/** Our CLI against clawhub serve, then both CLIs on one project. Steps run in order. */
describe("clawhub CLI against clawhub serve", () => {
  let sb: Sandbox;
  const ours = (args: string[], cwd?: string) => sb.run(OUR_BIN, args, cwd ? { cwd } : {});
  const official = (args: string[], cwd?: string) =>
    sb.run(OFFICIAL_BIN, [...args, "--no-input"], cwd ? { cwd } : {});
  const json = async <T>(args: string[], cwd?: string): Promise<T> => {
    const r = await ours([...args, "--json"], cwd);
    expect(r.code, `${args.join(" ")}\n${r.stdout}${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const project = () => join(sb.root, "project");

  beforeAll(async () => {
    sb = await createSandbox();
    for (const name of ["text-stats", "release-notes"])
      await cp(join(EXAMPLES, name), join(sb.root, "src", name), { recursive: true });
  });
  afterAll(async () => {
    await sb?.close();
  });

  it("logs in, reports the user and prints the token", async () => {
    expect((await ours(["login", "--token", sb.adminToken])).stdout).toContain(
      "Logged in as @admin",
    );
    expect((await ours(["whoami"])).stdout.trim()).toBe("admin");
    expect((await ours(["token"])).stdout.trim()).toBe(sb.adminToken);
    const config = JSON.parse(
      await readFile(join(sb.home, ".config/clawhub/config.json"), "utf8"),
    ) as { token: string; registry: string };
    expect(config).toEqual({ registry: sb.server.url, token: sb.adminToken });
  });

  it("publishes, recognises unchanged content, and publishes explicit versions", async () => {
    expect((await ours(["skill", "publish", join(sb.root, "src/text-stats")])).stdout).toContain(
      "Published text-stats@1.0.0",
    );
    expect((await ours(["skill", "publish", join(sb.root, "src/text-stats")])).stdout).toContain(
      "text-stats@1.0.0 is already published",
    );
    expect(
      (await ours(["skill", "publish", join(sb.root, "src/release-notes"), "--version", "0.9.0"]))
        .code,
    ).toBe(0);
    const bad = await ours([
      "skill",
      "publish",
      join(sb.root, "src/release-notes"),
      "--version",
      "0.9.0",
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("version 0.9.0 of release-notes already exists");
  });

  it("searches, explores and inspects", async () => {
    const found = await json<{ results: Array<{ slug: string }> }>([
      "search",
      "word count reading time",
    ]);
    expect(found.results[0]?.slug).toBe("text-stats");
    expect((await ours(["search", "release", "--explain"])).stdout).toMatch(
      /release-notes v0\.9\.0\s+@admin.*tier/,
    );
    expect((await ours(["explore", "--sort", "newest"])).stdout).toMatch(
      /release-notes\s+v0\.9\.0/,
    );
    const inspect = await ours(["inspect", "text-stats", "--files"]);
    expect(inspect.stdout).toContain("scripts/stats.mjs");
    expect(inspect.stdout).toMatch(/integrity sha512-/);
  });

  it("installs, then installs again from the cache without downloading", async () => {
    const first = await json<{
      installed: Array<{ version: string; cached: boolean; path: string }>;
    }>(["install", "text-stats", "release-notes@^0.9", "--workdir", project()]);
    expect(first.installed.map((o) => [o.version, o.cached])).toEqual([
      ["1.0.0", false],
      ["0.9.0", false],
    ]);
    const again = await ours(["install", "text-stats", "--workdir", project()]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("text-stats 1.0.0 is already installed");
    const forced = await json<{ installed: Array<{ cached: boolean }> }>([
      "install",
      "text-stats",
      "--force",
      "--workdir",
      project(),
    ]);
    expect(forced.installed[0]?.cached).toBe(true);
    const lock = JSON.parse(await readFile(join(project(), ".clawhub/lock.json"), "utf8")) as {
      skills: Record<string, { version: string; ownerHandle: string }>;
    };
    expect(lock.skills["release-notes"]).toMatchObject({ version: "0.9.0", ownerHandle: "admin" });
    expect((await ours(["list", "--workdir", project()])).stdout).toMatch(
      /release-notes\s+0\.9\.0/,
    );
  });

  it("keeps going when one skill of a batch fails, recording the others", async () => {
    const r = await ours([
      "install",
      "nope-nope",
      "release-notes",
      "--workdir",
      join(sb.root, "batch"),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("1 installed, 1 failed");
    expect(r.stderr).toContain(`nope-nope: skill \`nope-nope\` not found on ${sb.server.url}`);
    expect((await ours(["list", "--workdir", join(sb.root, "batch")])).stdout).toContain(
      "release-notes",
    );
  });

  it("updates, skips pinned skills, and refuses to overwrite local changes without --force", async () => {
    await ours([
      "skill",
      "publish",
      join(sb.root, "src/release-notes"),
      "--version",
      "1.0.0",
      "--changelog",
      "stable",
    ]);
    expect(
      (await ours(["pin", "release-notes", "--reason", "frozen", "--workdir", project()])).code,
    ).toBe(0);
    expect((await ours(["update", "--all", "--workdir", project()])).stdout).toContain(
      "release-notes skipped: pinned (frozen)",
    );
    expect((await ours(["unpin", "release-notes", "--workdir", project()])).code).toBe(0);

    const skillMd = join(project(), "skills/release-notes/SKILL.md");
    await appendFile(skillMd, "\nmy local note\n");
    const refused = await ours(["update", "release-notes", "--workdir", project()]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "release-notes has local changes that match no published version",
    );
    expect(await readFile(skillMd, "utf8")).toContain("my local note");
    const forced = await ours(["update", "release-notes", "--force", "--workdir", project()]);
    expect(forced.stdout).toContain("Updated release-notes 0.9.0 -> 1.0.0");
    expect(await readFile(skillMd, "utf8")).not.toContain("my local note");
    expect((await ours(["update", "--all", "--workdir", project()])).stdout).toContain(
      "release-notes@1.0.0 is up to date",
    );
  });

  it("installs for agents: a canonical copy in .agents/skills, symlinked or copied", async () => {
    const dir = join(sb.root, "agents-project");
    const r = await json<{ installed: Array<{ path: string; links: string[] }> }>([
      "install",
      "text-stats",
      "--agent",
      "claude",
      "--agent",
      "codex",
      "--workdir",
      dir,
    ]);
    expect(r.installed[0]?.path).toBe(join(dir, ".agents/skills/text-stats"));
    expect(await readlink(join(dir, ".claude/skills/text-stats"))).toBe(
      "../../.agents/skills/text-stats",
    );
    expect(await readFile(join(dir, ".codex/skills/text-stats/SKILL.md"), "utf8")).toContain(
      "name: text-stats",
    );
    await ours(["install", "release-notes", "--agent", "cursor", "--copy", "--workdir", dir]);
    expect((await lstat(join(dir, ".cursor/skills/release-notes"))).isDirectory()).toBe(true);
    // Uninstall finds the links and copies from the lockfile, without repeating --agent.
    expect((await ours(["uninstall", "text-stats", "--workdir", dir])).code).toBe(0);
    expect((await ours(["uninstall", "release-notes", "--workdir", dir])).code).toBe(0);
    expect(await readdir(join(dir, ".claude/skills"))).toEqual([]);
    expect(await readdir(join(dir, ".cursor/skills"))).toEqual([]);
    expect(await readdir(join(dir, ".agents/skills"))).toEqual([]);

    const global = await json<{ installed: Array<{ path: string; links: string[] }> }>([
      "install",
      "text-stats",
      "--global",
      "--agent",
      "claude",
    ]);
    expect(global.installed[0]?.links).toEqual([join(sb.home, ".claude/skills/text-stats")]);
  });

  it("uninstalls", async () => {
    expect((await ours(["uninstall", "text-stats", "--workdir", project()])).stdout).toContain(
      "Uninstalled text-stats",
    );
    const lock = JSON.parse(await readFile(join(project(), ".clawhub/lock.json"), "utf8")) as {
      skills: Record<string, unknown>;
    };
    expect(Object.keys(lock.skills)).toEqual(["release-notes"]);
  });

  it("syncs a folder of skills", async () => {
    const root = join(sb.root, "sync-root");
    await cp(join(sb.root, "src/text-stats"), join(root, "text-stats"), { recursive: true });
    await cp(join(EXAMPLES, "release-notes"), join(root, "release-notes"), { recursive: true });
    await writeFile(join(root, "release-notes/NOTES.md"), "changed\n");
    const r = await json<{ results: Array<{ slug: string; status: string; version: string }> }>([
      "sync",
      "--root",
      root,
    ]);
    expect(r.results.map((x) => [x.slug, x.status, x.version])).toEqual([
      ["release-notes", "published", "1.0.1"],
      ["text-stats", "unchanged", "1.0.0"],
    ]);
  });

  it("cross-checks with the official CLI: each lists and updates what the other installed", async () => {
    const dir = join(sb.root, "shared-project");
    expect((await official(["login", "--token", sb.adminToken])).code).toBe(0);
    // Official installs an old version, ours lists it and updates it.
    expect(
      (await official(["install", "release-notes", "--version", "0.9.0", "--workdir", dir])).code,
    ).toBe(0);
    expect((await ours(["list", "--workdir", dir])).stdout).toMatch(/release-notes\s+0\.9\.0/);
    expect((await ours(["update", "release-notes", "--workdir", dir])).stdout).toContain(
      "Updated release-notes 0.9.0 -> 1.0.1",
    );
    // Ours installs an old version, the official CLI lists it and updates it.
    expect((await ours(["install", "text-stats@1.0.0", "--workdir", dir])).code).toBe(0);
    // New content: identical content would resolve (by fingerprint) to the newest version.
    await writeFile(join(sb.root, "src/text-stats/CHANGES.md"), "1.1.0: more\n");
    expect(
      (await official(["skill", "publish", join(sb.root, "src/text-stats"), "--version", "1.1.0"]))
        .code,
    ).toBe(0);
    expect((await official(["list", "--workdir", dir])).stdout).toMatch(/text-stats\s+1\.0\.0/);
    const up = await official(["update", "text-stats", "--workdir", dir]);
    expect(up.stdout + up.stderr).toContain("Updated text-stats -> v1.1.0");
    expect((await ours(["list", "--workdir", dir])).stdout).toMatch(/text-stats\s+1\.1\.0/);
  });
});
