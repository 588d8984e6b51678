/**
 * `clawhub log checkpoint|proof|monitor`: the registry's transparency log from the client side
 * (docs/security.md#transparency-log). Every command checks what it reads against the log key
 * pinned for the registry and the last checkpoint seen, and keeps the newer checkpoint.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ClawHubError } from "../../errors/index.ts";
import type { CommandContext, CommandSpec } from "../command.ts";
import { clientFor, logStateDir } from "./shared.ts";

async function pinned(ctx: CommandContext) {
  const { createFileWitness, pinnedLog } = await import("../../install/index.ts");
  const client = await clientFor(ctx);
  const witness = createFileWitness(logStateDir(ctx));
  const log = await pinnedLog(client, witness);
  if (!log)
    throw new ClawHubError("NOT_FOUND", `${client.registry} keeps no transparency log`, {
      hint: "Only registries that log their versions (clawhub serve) can be checked.",
    });
  return { client, witness, ...log };
}

/** `clawhub log checkpoint`: the latest checkpoint, checked against the last one seen. */
export const logCheckpoint: CommandSpec = {
  path: ["log", "checkpoint"],
  summary: "fetch the registry's latest signed checkpoint, check it extends the last one seen",
  help:
    "Pins the log's key on first use. Exit 4 when the checkpoint is not signed by the pinned key,\n" +
    "is smaller than the last one seen (a rollback) or does not extend it (a rewritten or forked\n" +
    "history). The checkpoint is kept as the new last one seen.",
  async run(_args, _options, ctx) {
    const { advanced, latestCheckpoint } = await import("../../install/index.ts");
    const { client, witness, state, verifier, pinned: fresh } = await pinned(ctx);
    const { checkpoint, note } = await latestCheckpoint(client, state, verifier);
    await witness.save(advanced(state, checkpoint, note));
    const root = checkpoint.root.toString("base64");
    return {
      data: {
        registry: client.registry,
        origin: checkpoint.origin,
        size: checkpoint.size,
        root,
        previousSize: state.size,
        pinned: fresh,
        note,
      },
      text: [
        `${checkpoint.origin}: ${checkpoint.size} entries, root ${root}`,
        fresh
          ? `log key pinned: ${state.verifierKey}`
          : `consistent with the checkpoint seen at size ${state.size}`,
      ].join("\n"),
    };
  },
};

/** `clawhub log proof <skill>`: a version's statement and its proof of inclusion, checked. */
export const logProof: CommandSpec = {
  path: ["log", "proof"],
  args: "<skill>",
  summary:
    "show a published version's logged statement, checked: signature, inclusion, consistency",
  help: "<skill> is `slug`, `@owner/slug` or either with `@version` (default: latest). Exit 4 when a check fails.",
  async run([spec = ""], _options, ctx) {
    const { advanced, checkAttestation, checkPublisher, parseSkillRef } = await import(
      "../../install/index.ts"
    );
    const { slug, ownerHandle: owner, selector } = parseSkillRef(spec);
    if (!slug) throw new ClawHubError("USAGE", "name a skill: <slug>, @owner/slug, with @version");
    const { client, witness, state, verifier } = await pinned(ctx);
    const a = await client.log.attestation(slug, {
      ...(selector ? { version: selector } : {}),
      ...(owner ? { ownerHandle: owner } : {}),
      ...(state.size > 0 ? { since: state.size } : {}),
    });
    const { statement, checkpoint, leaf } = checkAttestation(state, verifier, a, {
      slug,
      owner: owner ?? "",
    });
    const publisher = await checkPublisher(client, a, statement);
    await witness.save(advanced(state, checkpoint, a.checkpoint));
    return {
      data: {
        logIndex: a.logIndex,
        leafHash: leaf.toString("base64"),
        checkpointSize: checkpoint.size,
        statement,
        publisher: publisher ?? null,
        signatures: a.envelope.signatures.map((s) => s.keyid),
      },
      text: [
        `@${statement.owner}/${statement.slug}@${statement.version}: log #${a.logIndex} of ${checkpoint.size}, verified`,
        `  published  ${statement.publishedAt}`,
        `  sha256     ${statement.sha256}`,
        `  sha512     ${statement.sha512}`,
        publisher
          ? `  signed by  @${publisher.handle} (key ${publisher.keyId.slice(0, 16)}) and the registry`
          : "  signed by  the registry (no publisher signature)",
      ].join("\n"),
    };
  },
};

/** What a monitor keeps between rounds: the tree's right edge at the size it has read. */
interface MonitorState {
  registry: string;
  size: number;
  /** Base64 hashes of the compact range. */
  hashes: string[];
}

/** `clawhub log monitor`: follows the log, re-verifying it, and reports watched versions. */
export const logMonitor: CommandSpec = {
  path: ["log", "monitor"],
  summary: "follow the registry's log: re-verify every new checkpoint, report new versions watched",
  help:
    "Reads every new leaf, rebuilds the tree's root and compares it with the signed checkpoint\n" +
    "(and each checkpoint with the last one seen), so a leaf served differently to this monitor\n" +
    "than to installers is caught. Reports the new versions of the --owner and --slug watched\n" +
    "(every one without either). Runs until interrupted; --once does one round. Exit 4 when the\n" +
    "log does not verify. Leaves of skills this token may not see are counted but not shown.",
  configure(cmd) {
    cmd.option("--owner <handle...>", "report new versions of these owners");
    cmd.option("--slug <slug...>", "report new versions of these slugs");
    cmd.option("--interval <seconds>", "seconds between rounds", "60");
    cmd.option("--once", "one round, then exit");
  },
  async run(_args, options, ctx) {
    const { advanced, latestCheckpoint } = await import("../../install/index.ts");
    const { CompactRange, leafHash, parseEnvelope, payloadOf, readPublishStatement, signedBy } =
      await import("../../trust/index.ts");
    const owners = new Set(
      (Array.isArray(options.owner) ? options.owner : []).map((o) =>
        String(o).replace(/^@/, "").toLowerCase(),
      ),
    );
    const slugs = new Set(
      (Array.isArray(options.slug) ? options.slug : []).map((s) => String(s).toLowerCase()),
    );
    const interval = Number(options.interval);
    if (!Number.isFinite(interval) || interval < 1)
      throw new ClawHubError("USAGE", "--interval is a number of seconds, at least 1");
    const { client, witness, verifier } = await pinned(ctx);
    const file = join(
      logStateDir(ctx),
      `${createHash("sha256").update(client.registry).digest("hex").slice(0, 32)}.monitor.json`,
    );
    let saved: MonitorState | undefined;
    try {
      saved = JSON.parse(await readFile(file, "utf8")) as MonitorState;
    } catch {
      saved = undefined;
    }
    const range =
      saved && saved.registry === client.registry
        ? new CompactRange(
            saved.size,
            saved.hashes.map((h) => Buffer.from(h, "base64")),
          )
        : new CompactRange();
    const reported: {
      index: number;
      owner: string;
      slug: string;
      version: string;
      publishedAt: string;
      sha256: string;
      /** The publisher key that signed (null: the registry alone): a key you do not know is news. */
      publisherKeyId: string | null;
    }[] = [];
    const line = (r: (typeof reported)[number]) =>
      `#${r.index} @${r.owner}/${r.slug}@${r.version} published ${r.publishedAt} sha256 ${r.sha256} ${r.publisherKeyId ? `signed with key ${r.publisherKeyId.slice(0, 16)}` : "registry-signed only"}`;
    // One round answers once; a running monitor prints each version as it sees it.
    const streaming = options.once !== true;
    const report = (r: (typeof reported)[number]) => {
      reported.push(r);
      if (streaming) ctx.io.stdout.write(`${ctx.json ? JSON.stringify(r) : line(r)}\n`);
    };
    const round = async () => {
      const state = (await witness.load(client.registry)) ?? (await pinned(ctx)).state;
      const { checkpoint, note } = await latestCheckpoint(client, state, verifier);
      while (range.size < checkpoint.size) {
        const page = await client.log.entries(
          range.size,
          Math.min(1000, checkpoint.size - range.size),
        );
        if (page.entries.length === 0) break;
        for (const e of page.entries) {
          if (e.index !== range.size)
            throw new ClawHubError(
              "VERIFICATION_FAILED",
              `the log served leaf ${e.index} where ${range.size} was due`,
            );
          let leaf: Buffer = Buffer.from(e.leafHash, "base64");
          if (e.envelope) {
            const envelope = parseEnvelope(e.envelope);
            const payload = payloadOf(envelope);
            // The leaf is recomputed from what is shown: a statement swapped for this reader
            // changes the root, which the signed checkpoint then refuses.
            leaf = leafHash(payload);
            if (!signedBy(envelope, verifier.publicKey))
              throw new ClawHubError(
                "VERIFICATION_FAILED",
                `leaf ${e.index} is not signed by the registry's log key`,
              );
            const s = readPublishStatement(payload);
            const watched =
              (owners.size === 0 && slugs.size === 0) || owners.has(s.owner) || slugs.has(s.slug);
            if (watched)
              report({
                index: e.index,
                owner: s.owner,
                slug: s.slug,
                version: s.version,
                publishedAt: s.publishedAt,
                sha256: s.sha256,
                publisherKeyId: s.publisherKeyId,
              });
          }
          range.append(leaf);
        }
        if (range.size > checkpoint.size) break;
      }
      if (range.size !== checkpoint.size || !range.root().equals(checkpoint.root))
        throw new ClawHubError(
          "VERIFICATION_FAILED",
          `the log's leaves do not hash to its signed checkpoint of size ${checkpoint.size}`,
        );
      await witness.save(advanced(state, checkpoint, note));
      await mkdir(logStateDir(ctx), { recursive: true, mode: 0o700 });
      await writeFile(
        `${file}.tmp`,
        JSON.stringify({
          registry: client.registry,
          size: range.size,
          hashes: range.hashes.map((h) => h.toString("base64")),
        } satisfies MonitorState),
        { mode: 0o600 },
      );
      await rename(`${file}.tmp`, file);
      return checkpoint.size;
    };
    let size = await round();
    if (options.once !== true) {
      let stop = false;
      void ctx.waitForShutdown().then(() => {
        stop = true;
      });
      while (!stop) {
        await new Promise((r) => setTimeout(r, interval * 1000));
        if (!stop) size = await round();
      }
    }
    return {
      data: { size, reported },
      text: [...(streaming ? [] : reported.map(line)), `log verified up to ${size} entries`].join(
        "\n",
      ),
    };
  },
};
