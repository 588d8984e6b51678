import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isClawHubError } from "../errors/index.ts";
import { configPath, DEFAULT_REGISTRY, resolveConfig } from "./index.ts";

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "clawhub-config-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("config resolution", () => {
  it("finds the config file like the official CLI", () => {
    expect(configPath({ CLAWHUB_CONFIG_PATH: "/x/c.json" })).toBe("/x/c.json");
    expect(configPath({ CLAWDHUB_CONFIG_PATH: "/legacy.json" })).toBe("/legacy.json");
    expect(configPath({ XDG_CONFIG_HOME: "/xdg", HOME: "/home/u" })).toBe(
      "/xdg/clawhub/config.json",
    );
    expect(configPath({ HOME: "/home/u" })).toBe("/home/u/.config/clawhub/config.json");
  });

  it("resolves flag > env > config file > default for every key", async () => {
    const file = join(work, "config.json");
    await writeFile(
      file,
      JSON.stringify({
        registry: "http://file",
        token: "clh_file",
        dir: "from-file",
        hub: "file:1",
      }),
    );
    const env = { CLAWHUB_CONFIG_PATH: file };

    const fromFile = await resolveConfig({ flags: {}, env, cwd: work });
    expect(fromFile).toMatchObject({
      registry: "http://file",
      token: "clh_file",
      dir: "from-file",
      workdir: work,
      hub: "file:1",
    });
    expect(fromFile.sources).toEqual({
      registry: "config",
      token: "config",
      workdir: "default",
      dir: "config",
    });

    const fromEnv = await resolveConfig({
      flags: {},
      env: {
        ...env,
        CLAWHUB_REGISTRY: "http://env/",
        CLAWHUB_TOKEN: "clh_env",
        CLAWHUB_WORKDIR: "sub",
        CLAWHUB_HUB: "env:2",
      },
      cwd: work,
    });
    expect(fromEnv.hub).toBe("env:2");
    expect(fromEnv).toMatchObject({
      registry: "http://env",
      token: "clh_env",
      workdir: join(work, "sub"),
    });

    const fromFlag = await resolveConfig({
      flags: { registry: "http://flag", workdir: "/abs", hub: "flag:3" },
      env: { ...env, CLAWHUB_REGISTRY: "http://env", CLAWHUB_HUB: "env:2" },
      cwd: work,
    });
    expect(fromFlag.hub).toBe("flag:3");
    expect(fromFlag).toMatchObject({ registry: "http://flag", workdir: "/abs" });
    expect(fromFlag.sources.registry).toBe("flag");

    const defaults = await resolveConfig({
      flags: {},
      env: { CLAWHUB_CONFIG_PATH: join(work, "none.json") },
      cwd: work,
    });
    expect(defaults).toMatchObject({
      registry: DEFAULT_REGISTRY,
      token: undefined,
      dir: "skills",
      noInput: false,
      hub: "127.0.0.1:7070",
    });
  });

  it("honours legacy CLAWDHUB_* variables and CI for no-input", async () => {
    const cfg = await resolveConfig({
      flags: {},
      env: {
        CLAWHUB_CONFIG_PATH: join(work, "none.json"),
        CLAWDHUB_REGISTRY: "http://legacy",
        CI: "true",
      },
      cwd: work,
    });
    expect(cfg.registry).toBe("http://legacy");
    expect(cfg.noInput).toBe(true);
  });

  it("refuses a config file that is not a JSON object", async () => {
    const file = join(work, "config.json");
    await writeFile(file, "[1,2]");
    const error = await resolveConfig({
      flags: {},
      env: { CLAWHUB_CONFIG_PATH: file },
      cwd: work,
    }).catch((e: unknown) => e);
    expect(isClawHubError(error) && error.code).toBe("CONFIG_INVALID");
  });
});
