import { describe, expect, it } from "vitest";
import { parseSkillMd, type RuleId, type ValidationMode } from "./index.ts";

function md(frontmatter: string, body = "\n# Title\n\nDo the thing.\n"): string {
  return `---\n${frontmatter}\n---\n${body}`;
}

function check(text: string, mode: ValidationMode = "strict", folderName = "my-skill") {
  return parseSkillMd(text, { mode, folderName });
}

function rules(text: string, mode: ValidationMode = "strict", folderName = "my-skill") {
  return check(text, mode, folderName).issues.map((i) => `${i.severity}:${i.rule}`);
}

const base = "name: my-skill\ndescription: Does a thing.";

describe("strict mode: the Agent Skills spec", () => {
  it("accepts a minimal valid skill with no issue and builds the manifest", () => {
    const result = check(md(base));
    expect(result.issues).toEqual([]);
    expect(result.manifest).toMatchObject({
      slug: "my-skill",
      name: "my-skill",
      description: "Does a thing.",
    });
  });

  it("accepts every optional spec field", () => {
    const result = check(
      md(
        `${base}\nlicense: Apache-2.0\ncompatibility: Requires git and network access\nmetadata:\n  author: me\n  version: "1.0"\nallowed-tools: Bash(git:*) Read`,
      ),
    );
    expect(result.issues).toEqual([]);
    expect(result.manifest?.allowedTools).toEqual(["Bash(git:*)", "Read"]);
    expect(result.manifest?.license).toBe("Apache-2.0");
    expect(result.manifest?.metadata).toEqual({ author: "me", version: "1.0" });
  });

  describe("name", () => {
    const nameIs = (name: string) => md(`name: ${JSON.stringify(name)}\ndescription: d`);
    it("accepts exactly 64 characters and refuses 65", () => {
      const n64 = `a${"-b".repeat(31)}a`;
      expect(n64).toHaveLength(64);
      expect(rules(nameIs(n64), "strict", n64)).toEqual([]);
      const n65 = `${n64}b`;
      expect(rules(nameIs(n65), "strict", n65)).toEqual(["error:name.length"]);
    });
    it("accepts a single character", () => {
      expect(rules(nameIs("a"), "strict", "a")).toEqual([]);
    });
    it("requires a name", () => {
      expect(rules(md("description: d"))).toEqual(["error:name.missing"]);
      expect(rules(nameIs(""))).toEqual(["error:name.missing"]);
    });
    it("requires a string, and reads scalars as the text written", () => {
      expect(rules(md("name: [a]\ndescription: d"), "strict", "a")).toEqual(["error:name.type"]);
      // Digits are text (the failsafe schema, as the spec's reference reader): `0123` stays 0123.
      const r = check(md("name: 0123\ndescription: d"), "strict", "0123");
      expect(r.issues).toEqual([]);
      expect(r.manifest?.name).toBe("0123");
    });
    it.each([
      ["My-Skill", "name.charset"],
      ["my_skill", "name.charset"],
      ["my skill", "name.charset"],
      ["skíll", "name.charset"],
      ["-my-skill", "name.hyphen-edge"],
      ["my-skill-", "name.hyphen-edge"],
      ["my--skill", "name.hyphen-double"],
    ])("refuses %j (%s)", (name, rule) => {
      expect(rules(nameIs(name), "strict", name)).toEqual([`error:${rule}`]);
    });
    it("requires the name to equal the folder", () => {
      expect(rules(md(base), "strict", "other")).toEqual(["error:name.folder-mismatch"]);
    });
  });

  describe("description", () => {
    const descIs = (d: string) => md(`name: my-skill\ndescription: ${JSON.stringify(d)}`);
    it("accepts 1 and exactly 1024 characters, refuses 1025", () => {
      expect(rules(descIs("x"))).toEqual([]);
      expect(rules(descIs("x".repeat(1024)))).toEqual([]);
      expect(rules(descIs("x".repeat(1025)))).toEqual(["error:description.length"]);
    });
    it("counts characters, not bytes or UTF-16 units", () => {
      expect(rules(descIs("é".repeat(1024)))).toEqual([]);
      expect(rules(descIs("😀".repeat(1024)))).toEqual([]);
      expect(rules(descIs("😀".repeat(1025)))).toEqual(["error:description.length"]);
    });
    it("is required and must be a string", () => {
      expect(rules(md("name: my-skill"))).toEqual(["error:description.missing"]);
      expect(rules(md("name: my-skill\ndescription: [a, b]"))).toEqual(["error:description.type"]);
    });
  });

  describe("compatibility", () => {
    const compatIs = (c: string) => md(`${base}\ncompatibility: ${JSON.stringify(c)}`);
    it("accepts 1 and exactly 500 characters, refuses 0 and 501", () => {
      expect(rules(compatIs("x"))).toEqual([]);
      expect(rules(compatIs("x".repeat(500)))).toEqual([]);
      expect(rules(compatIs("x".repeat(501)))).toEqual(["error:compatibility.length"]);
      expect(rules(compatIs(""))).toEqual(["error:compatibility.length"]);
    });
    it("must be a string; a scalar is its text", () => {
      expect(rules(md(`${base}\ncompatibility: [a]`))).toEqual(["error:compatibility.type"]);
      expect(rules(md(`${base}\ncompatibility: 3`))).toEqual([]);
    });
  });

  it("requires license to be a string", () => {
    expect(rules(md(`${base}\nlicense:\n  spdx: MIT`))).toEqual(["error:license.type"]);
  });

  it("requires metadata to map strings to strings", () => {
    expect(rules(md(`${base}\nmetadata: [a]`))).toEqual(["error:metadata.type"]);
    expect(rules(md(`${base}\nmetadata:\n  openclaw:\n    emoji: x`))).toEqual([
      "error:metadata.value-type",
    ]);
    // `3`, `yes`, `null` and `1.0` are text: metadata values stay strings.
    expect(rules(md(`${base}\nmetadata:\n  count: 3\n  ok: yes\n  none: null\n  v: 1.0`))).toEqual(
      [],
    );
    expect(rules(md(`${base}\nmetadata:\n  list: [3]`))).toEqual(["error:metadata.value-type"]);
    expect(rules(md(`${base}\nmetadata: '{"a":"b"}'`))).toEqual(["error:metadata.json-string"]);
  });

  it("requires allowed-tools to be a space-delimited string", () => {
    expect(rules(md(`${base}\nallowed-tools: [Read, Write]`))).toEqual([
      "error:allowed-tools.type",
    ]);
  });

  it("refuses keys the spec does not define", () => {
    expect(rules(md(`${base}\nversion: 1.0.0\nhomepage: https://x`))).toEqual([
      "error:frontmatter.unknown-key",
      "error:frontmatter.unknown-key",
    ]);
  });

  it("lists every violation at once, each with its line", () => {
    const result = check(
      md("name: Bad--Name-\ndescription: ''\nextra: 1\ncompatibility: [5]"),
      "strict",
      "folder",
    );
    const found = result.issues.map((i) => [i.rule, i.line]);
    expect(found).toEqual(
      expect.arrayContaining([
        ["frontmatter.unknown-key", 4],
        ["name.charset", 2],
        ["name.hyphen-edge", 2],
        ["name.hyphen-double", 2],
        ["name.folder-mismatch", 2],
        ["description.missing", 3],
        ["compatibility.type", 5],
      ]),
    );
    expect(result.manifest).toBeUndefined();
  });

  it("refuses a missing, late, unterminated or undelimited frontmatter", () => {
    expect(rules("# Title\n\nBody.\n")).toEqual([
      "error:frontmatter.missing",
      "error:name.missing",
      "error:description.missing",
    ]);
    expect(rules(`\n\n${md(base)}`)).toEqual(["error:frontmatter.not-first"]);
    expect(rules(`---\n${base}\n\n# Title\n`)).toContain("error:frontmatter.unterminated");
    expect(rules(`${base}\n---\n# Body\n`)).toEqual(["error:frontmatter.undelimited"]);
  });

  it("refuses invalid YAML, duplicate keys and a non-mapping frontmatter", () => {
    expect(rules(md("name: my-skill\ndescription: Use when: things"))).toContain(
      "error:frontmatter.yaml",
    );
    expect(rules(md("name: my-skill\nname: my-skill\ndescription: d"))).toContain(
      "error:frontmatter.yaml",
    );
    expect(rules(md("- a\n- b"))).toContain("error:frontmatter.not-mapping");
  });

  it("finds a repeated key among thousands in one pass, and caps the frontmatter's size", () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `k${i}: v`).join("\n");
    const repeated = parseSkillMd(md(`name: my-skill\ndescription: d\n${keys}\nk42: again`), {
      mode: "strict",
      folderName: "my-skill",
    });
    const dup = repeated.issues.find((i) => i.rule === "frontmatter.yaml");
    expect(dup?.message).toContain('"k42" is repeated');
    expect(dup?.line).toBe(5004);
    // 40k keys (the red-team's 389 KB file) are refused for size before any YAML is parsed.
    const huge = Array.from({ length: 40_000 }, (_, i) => `key${i}: value`).join("\n");
    for (const mode of ["strict", "lenient"] as const)
      expect(rules(md(`name: my-skill\ndescription: d\n${huge}`), mode)).toEqual([
        "error:frontmatter.too-large",
      ]);
  });

  it("keeps keys named like Object members as data in lenient salvage", () => {
    const parsed = parseSkillMd(
      md("name: my-skill\ndescription: Use when: x\n__proto__: p\ntoString: t"),
      { mode: "lenient", folderName: "my-skill" },
    );
    const fm = parsed.manifest?.frontmatter as Record<string, unknown>;
    expect(Object.getPrototypeOf(fm)).toBe(Object.prototype);
    expect(Object.hasOwn(fm, "__proto__")).toBe(true);
    expect(fm.toString).toBe("t");
  });

  it("warns about an empty body and a body over 500 lines", () => {
    expect(rules(md(base, "\n"))).toEqual(["warning:body.empty"]);
    const long = `\n${"line\n".repeat(501)}`;
    expect(rules(md(base, long))).toEqual(["warning:body.too-long"]);
    expect(rules(md(base, `\n${"line\n".repeat(499)}`))).toEqual([]);
  });
});

describe("frontmatter syntax", () => {
  it("reads CRLF line ends and a UTF-8 BOM, with correct lines", () => {
    const text = `\uFEFF---\r\nname: My-Skill\r\ndescription: d\r\n---\r\nbody\r\n`;
    const result = check(text, "strict", "My-Skill");
    expect(result.issues.map((i) => [i.rule, i.line])).toEqual([["name.charset", 2]]);
  });

  it("reads quoted, folded and literal multi-line values", () => {
    const result = check(
      md(
        `name: 'my-skill'\ndescription: >\n  Folded across\n  two lines.\ncompatibility: |\n  line one\n  line two`,
      ),
    );
    expect(result.issues).toEqual([]);
    expect(result.manifest?.description).toBe("Folded across two lines.");
    expect(result.manifest?.compatibility).toBe("line one\nline two\n");
  });

  it("reads double-quoted escapes", () => {
    const result = check(md('name: "my-skill"\ndescription: "Tabs\\tand \\"quotes\\""'));
    expect(result.manifest?.description).toBe('Tabs\tand "quotes"');
  });

  it("reports a YAML alias bomb as invalid YAML instead of expanding it", () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
      "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
      "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
      "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
    ].join("\n");
    const result = check(md(`${base}\n${bomb}`, "\nbody\n"));
    expect(result.issues.map((i) => i.rule)).toEqual(["frontmatter.yaml"]);
    expect(result.issues[0]?.message).toMatch(/alias/i);
    // Lenient mode salvages the plain keys and keeps the bomb's blocks as literal text.
    const lenient = check(md(`${base}\n${bomb}`, "\nbody\n"), "lenient");
    expect(lenient.manifest?.description).toBe("Does a thing.");
  });
});

describe("lenient mode: what a registry accepts", () => {
  const lenient = (text: string, folder = "my-skill") => check(text, "lenient", folder);
  const lenientRules = (text: string, folder = "my-skill") => rules(text, "lenient", folder);

  it("downgrades unknown keys to warnings", () => {
    expect(lenientRules(md(`${base}\nauthor: me`))).toEqual(["warning:frontmatter.unknown-key"]);
  });

  it("falls back to the folder name and the first paragraph when frontmatter is missing", () => {
    const result = lenient(
      "# Weather Tool\n\n> note\n\nGets the **weather** for a city.\nUses wttr.in.\n\nMore.\n",
      "weather-tool",
    );
    expect(result.issues.map((i) => i.rule)).toEqual([
      "frontmatter.missing",
      "name.missing",
      "description.missing",
    ]);
    expect(result.issues.every((i) => i.severity === "warning")).toBe(true);
    expect(result.manifest).toMatchObject({
      slug: "weather-tool",
      name: "weather-tool",
      displayName: "Weather Tool",
      description: "Gets the **weather** for a city. Uses wttr.in.",
    });
  });

  it("is invalid when there is no description and no body to take one from", () => {
    const result = lenient(md("name: my-skill", "\n# Only a heading\n"));
    expect(result.issues.find((i) => i.rule === "description.missing")?.severity).toBe("error");
    expect(result.manifest).toBeUndefined();
  });

  it("derives the slug from the folder when the name differs or is invalid", () => {
    const result = lenient(md("name: Snipara MCP - Smart Search\ndescription: d"), "snipara-mcp");
    expect(result.manifest).toMatchObject({
      slug: "snipara-mcp",
      name: "snipara-mcp",
      displayName: "Snipara MCP - Smart Search",
    });
    expect(result.issues.map((i) => i.rule)).toEqual(["name.charset", "name.folder-mismatch"]);
    const other = lenient(md("name: clickup\ndescription: d"), "clickup-skill");
    expect(other.manifest?.slug).toBe("clickup-skill");
  });

  it("normalises a folder name that is not a valid slug", () => {
    expect(lenient(md("description: d"), "My_Skill v2").manifest?.slug).toBe("my-skill-v2");
    expect(lenientRules(md("description: d"), "___")).toContain("error:slug.invalid");
  });

  it("salvages YAML with unquoted colons key by key", () => {
    const result = lenient(
      md(
        "name: my-skill\ndescription: Use when: (1) one, (2) two\nmetadata:\n  openclaw:\n    emoji: 🦀",
      ),
    );
    expect(result.issues.map((i) => i.rule)).toEqual(["frontmatter.yaml"]);
    expect(result.manifest?.description).toBe("Use when: (1) one, (2) two");
    expect(result.manifest?.emoji).toBe("🦀");
  });

  it("accepts frontmatter without an opening ---, or after blank lines", () => {
    const undelimited = lenient("name: my-skill\ndescription: Legacy form.\n\n---\n\n# Body\n");
    expect(undelimited.manifest?.description).toBe("Legacy form.");
    expect(undelimited.issues.map((i) => i.rule)).toEqual(["frontmatter.undelimited"]);
    const late = lenient(`\n\n${md(base)}`);
    expect(late.manifest?.description).toBe("Does a thing.");
  });

  it("reads an unterminated frontmatter as body", () => {
    const result = lenient("---\nname: my-skill\n\nSome instructions.\n");
    expect(result.issues.map((i) => i.rule)).toContain("frontmatter.unterminated");
    expect(result.manifest?.slug).toBe("my-skill");
  });

  it("parses metadata given as a legacy JSON string", () => {
    const json = JSON.stringify({
      openclaw: { requires: { bins: ["curl"] }, primaryEnv: "API_KEY" },
    });
    const result = lenient(md(`${base}\nmetadata: '${json}'`));
    expect(result.issues.map((i) => `${i.severity}:${i.rule}`)).toEqual([
      "warning:metadata.json-string",
    ]);
    expect(result.manifest?.openclaw?.requires.bins).toEqual(["curl"]);
    expect(result.manifest?.openclaw?.primaryEnv).toBe("API_KEY");
  });

  it("parses multi-line JSON metadata that plain YAML rejects", () => {
    const result = lenient(md(`${base}\nmetadata: {\n"openclaw": {"emoji": "x"}\n}`));
    expect(result.manifest?.openclaw?.emoji).toBe("x");
  });

  it.each(["openclaw", "clawdbot", "clawdis"])("reads metadata.%s into typed fields", (alias) => {
    const result = lenient(
      md(
        [
          base,
          "version: 1.2.0",
          "homepage: https://example.com",
          "metadata:",
          `  ${alias}:`,
          "    requires:",
          "      bins: [curl, jq]",
          "      anyBins: [rg, grep]",
          "      env: [TODO_KEY]",
          "      config: [~/.todo.json]",
          "    primaryEnv: TODO_KEY",
          "    os: [linux, macos]",
          "    always: false",
          "    emoji: '✅'",
          "    install:",
          "      - { kind: brew, formula: jq, bins: [jq] }",
          "      - { kind: node, package: typescript, bins: [tsc], label: TypeScript }",
          "    envVars:",
          "      - { name: TODO_KEY, description: API key, required: true }",
        ].join("\n"),
      ),
    );
    expect(result.issues.map((i) => i.rule)).toEqual([
      "frontmatter.unknown-key",
      "frontmatter.unknown-key",
    ]);
    const oc = result.manifest?.openclaw;
    expect(oc).toMatchObject({
      source: alias,
      requires: {
        bins: ["curl", "jq"],
        anyBins: ["rg", "grep"],
        env: ["TODO_KEY"],
        config: ["~/.todo.json"],
      },
      primaryEnv: "TODO_KEY",
      os: ["linux", "macos"],
      always: false,
      emoji: "✅",
      envVars: [{ name: "TODO_KEY", description: "API key", required: true }],
    });
    expect(oc?.install).toEqual([
      { kind: "brew", formula: "jq", bins: ["jq"], os: [] },
      { kind: "node", package: "typescript", bins: ["tsc"], os: [], label: "TypeScript" },
    ]);
    expect(result.manifest).toMatchObject({
      version: "1.2.0",
      homepage: "https://example.com",
      emoji: "✅",
    });
  });

  it("prefers metadata.openclaw over its aliases", () => {
    const result = lenient(
      md(`${base}\nmetadata:\n  clawdbot: { emoji: old }\n  openclaw: { emoji: new }`),
    );
    expect(result.manifest?.openclaw).toMatchObject({ source: "openclaw", emoji: "new" });
  });

  it("drops wrong-typed OpenClaw fields with a warning instead of failing", () => {
    const result = lenient(
      md(
        `${base}\nmetadata:\n  openclaw:\n    requires: { bins: 5 }\n    install: [{ bins: [x] }, { kind: apt, package: jq }]\n    envVars: { A: desc, B: { required: true } }`,
      ),
    );
    // A bare scalar where a list is expected is that one item (the text "5").
    expect(result.manifest?.openclaw?.requires.bins).toEqual(["5"]);
    expect(result.manifest?.openclaw?.install.map((s) => s.kind)).toEqual(["apt"]);
    expect(result.manifest?.openclaw?.envVars).toEqual([
      { name: "A", description: "desc" },
      { name: "B", required: true },
    ]);
    const warned = result.issues.filter((i) => i.rule === "openclaw.invalid").map((i) => i.field);
    expect(warned).toEqual([
      "metadata.openclaw.install[0].kind",
      "metadata.openclaw.install[1].kind",
    ]);
  });

  it("accepts a ClawHub license object and list-form allowed-tools", () => {
    const result = lenient(
      md(`${base}\nlicense:\n  spdx: MIT\n  commercialUse: true\nallowed-tools: [Read, Write]`),
    );
    // Text, as every frontmatter scalar.
    expect(result.manifest?.license).toEqual({ spdx: "MIT", commercialUse: "true" });
    expect(result.manifest?.allowedTools).toEqual(["Read", "Write"]);
    expect(result.issues.map((i) => `${i.severity}:${i.rule}`)).toEqual([
      "warning:allowed-tools.type",
    ]);
  });

  it("warns about a version that is not semver and reads v-prefixed ones", () => {
    expect(lenientRules(md(`${base}\nversion: latest`))).toContain("warning:version.invalid");
    expect(lenient(md(`${base}\nversion: v2.0.1`)).manifest?.version).toBe("2.0.1");
  });

  it("does not report nested metadata values as errors", () => {
    const result = lenient(md(`${base}\nmetadata:\n  tags: [a, b]`));
    expect(result.issues).toEqual([]);
  });

  const allRules: RuleId[] = [
    "name.length",
    "name.charset",
    "name.hyphen-edge",
    "name.hyphen-double",
    "frontmatter.unknown-key",
  ];
  it.each(allRules)("reports %s as a warning, not an error", (rule) => {
    const bad: Record<string, string> = {
      "name.length": "x".repeat(65),
      "name.charset": "Bad",
      "name.hyphen-edge": "-x",
      "name.hyphen-double": "a--b",
      "frontmatter.unknown-key": "ok",
    };
    const extra = rule === "frontmatter.unknown-key" ? "\nfoo: bar" : "";
    const name = bad[rule] ?? "x";
    const found = check(
      md(
        `name: "${rule === "frontmatter.unknown-key" ? "my-skill" : name}"\ndescription: d${extra}`,
      ),
      "lenient",
    ).issues.find((i) => i.rule === rule);
    expect(found?.severity).toBe("warning");
  });
});

describe("hostile bodies are read in linear time", () => {
  const doc = (body: string) =>
    `---\nname: hostile\ndescription: A skill with a hostile body.\n---\n${body}`;
  it("takes the heading of a line of 200,000 spaces (cubic with the old regex)", () => {
    const r = parseSkillMd(doc(`# a${" ".repeat(200_000)}b\n`), {
      mode: "lenient",
      folderName: "hostile",
    });
    expect(r.manifest?.displayName).toBe(`a${" ".repeat(200_000)}b`);
    const plain = parseSkillMd(doc("intro\n\n#   Release Notes  ##\n"), {
      mode: "lenient",
      folderName: "hostile",
    });
    expect(plain.manifest?.displayName).toBe("Release Notes");
    expect(
      parseSkillMd(doc("## Only a subheading\n"), { mode: "lenient", folderName: "hostile" })
        .manifest?.displayName,
    ).toBe("Hostile");
  });
  it("counts the lines of a body ending in 500,000 newlines (quadratic with the old regex)", () => {
    const r = parseSkillMd(doc(`text\n${"\n".repeat(500_000)}`), {
      mode: "lenient",
      folderName: "hostile",
    });
    expect(r.issues.some((i) => i.rule === "body.too-long")).toBe(false);
    const long = parseSkillMd(doc(`${"line\n".repeat(600)}`), {
      mode: "lenient",
      folderName: "hostile",
    });
    expect(long.issues.some((i) => i.rule === "body.too-long")).toBe(true);
  });
});
