import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { formatBytes, packSkill } from "../../skill/index.ts";
import type { CommandSpec } from "../command.ts";

/** `clawhub skill pack <dir>`: deterministic ZIP with integrity and fingerprint. */
export const skillPack: CommandSpec = {
  path: ["skill", "pack"],
  args: "<dir>",
  summary: "pack a skill into a deterministic ZIP and print its integrity and fingerprint",
  help:
    "The same files give the same bytes whatever their mtimes, umask or directory order.\n" +
    "Default output: <slug>-<version>.zip (or <slug>.zip) in the current directory.",
  configure(cmd) {
    cmd.option("-o, --output <file>", "where to write the archive");
    cmd.option("--strict", "validate against the Agent Skills spec exactly");
  },
  async run([dir = "."], options, ctx) {
    const packed = await packSkill(resolve(ctx.cwd, dir), {
      mode: options.strict ? "strict" : "lenient",
    });
    const { manifest } = packed;
    const defaultName = manifest.version
      ? `${manifest.slug}-${manifest.version}.zip`
      : `${manifest.slug}.zip`;
    const output = resolve(
      ctx.cwd,
      typeof options.output === "string" ? options.output : defaultName,
    );
    await writeFile(output, packed.zip);
    const warnings = packed.issues.filter((i) => i.severity === "warning");
    const data = {
      output,
      slug: manifest.slug,
      version: manifest.version ?? null,
      size: packed.zip.length,
      unpackedSize: packed.totalBytes,
      integrity: packed.integrity,
      fingerprint: packed.fingerprint,
      files: packed.files,
      warnings,
    };
    const lines = [
      `Packed ${manifest.slug}${manifest.version ? `@${manifest.version}` : ""} -> ${output}`,
      `  files:       ${packed.files.length} (${formatBytes(packed.totalBytes)} unpacked, ${formatBytes(packed.zip.length)} packed)`,
      `  integrity:   ${packed.integrity}`,
      `  fingerprint: ${packed.fingerprint}`,
    ];
    if (warnings.length > 0) {
      lines.push(`  ${warnings.length} warning(s):`);
      for (const w of warnings) lines.push(`    ${w.rule}  ${w.message}`);
    }
    return { data, text: lines.join("\n") };
  },
};
