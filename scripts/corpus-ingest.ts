/**
 * Publishes every skill of a corpus to a registry, as `@<owner>/<slug>` taken from its folder
 * path (`skills/<owner>/<slug>/`; a skill nested deeper keeps the first segment as owner and its
 * own folder name as slug). Owners are created through the admin API as needed. Runs in parallel
 * with progress, then prints how many were accepted, how many refused and why (grouped by rule),
 * and the time it took.
 *
 *   npm run corpus:ingest -- <corpus-dir> --registry <url> --token <admin-token> [--concurrency 8] [--json]
 *
 * Each skill is packed locally first (lenient validation, limits, ignore rules): a skill the
 * packer refuses is reported with its rule and never sent. Version: the skill's own semver
 * `version` when it has one, else 1.0.0.
 */
import { basename, relative, sep } from "node:path";
import { performance } from "node:perf_hooks";
import { createClient } from "../src/client/index.ts";
import { isClawHubError } from "../src/errors/index.ts";
import { findSkillDirs, packSkill, slugFromFolder } from "../src/skill/index.ts";

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const corpus = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
const registry = opt("--registry");
const token = opt("--token");
const concurrency = Number(opt("--concurrency") ?? 8);
const json = args.includes("--json");
if (!corpus || !registry || !token) {
  process.stderr.write(
    "usage: npm run corpus:ingest -- <corpus-dir> --registry <url> --token <admin-token> [--concurrency 8] [--json]\n",
  );
  process.exit(2);
}

const client = createClient({ registry, token, retries: 5 });
const started = performance.now();
const dirs = await findSkillDirs([corpus]);
const tty = Boolean(process.stderr.isTTY) && !json;

interface Job {
  dir: string;
  owner: string;
  slug: string;
}
const jobs: Job[] = [];
for (const dir of dirs) {
  const parts = relative(corpus, dir).split(sep);
  const skillsAt = parts.indexOf("skills");
  const owner = slugFromFolder(parts[skillsAt + 1] ?? parts[0] ?? "unknown").slice(0, 39);
  jobs.push({ dir, owner, slug: slugFromFolder(basename(dir)) });
}

// Owners first (409: already there).
const owners = [...new Set(jobs.map((j) => j.owner))];
let createdOwners = 0;
for (const owner of owners) {
  try {
    await client.admin.createUser(owner);
    createdOwners++;
  } catch (error) {
    if (!(isClawHubError(error) && error.code === "ALREADY_EXISTS")) throw error;
  }
}

const accepted: Job[] = [];
const refused = new Map<string, { count: number; examples: string[] }>();
const refuse = (reason: string, job: Job) => {
  const entry = refused.get(reason) ?? { count: 0, examples: [] };
  entry.count++;
  if (entry.examples.length < 3) entry.examples.push(`@${job.owner}/${job.slug}`);
  refused.set(reason, entry);
};
/** Groups a refusal under a stable name: the validator's rule id, or the registry rule it broke. */
function ruleOf(message: string): string | undefined {
  const tagged = /\[([a-z-]+\.[a-z-]+)\]/.exec(message)?.[1];
  if (tagged) return tagged;
  const known: Array<[RegExp, string]> = [
    [/slug "[^"]*" is reserved/, "registry: slug is reserved"],
    [/invalid slug/, "registry: slug must be 3-96 characters of a-z, 0-9, -"],
    [
      /version .* already exists/,
      "registry: version already exists (two folders give the same @owner/slug)",
    ],
    [/not valid semver/, "registry: version is not semver"],
    [/invalid file path/, "registry: invalid file path"],
  ];
  return known.find(([re]) => re.test(message))?.[1];
}

let next = 0;
let done = 0;
async function worker(): Promise<void> {
  while (next < jobs.length) {
    const job = jobs[next++] as Job;
    try {
      const packed = await packSkill(job.dir);
      await client.publish(
        {
          slug: job.slug,
          version: packed.manifest.version ?? "1.0.0",
          ownerHandle: job.owner,
          displayName: packed.manifest.displayName,
        },
        packed.contents,
      );
      accepted.push(job);
    } catch (error) {
      if (!isClawHubError(error)) throw error;
      const issues = (error.details?.issues as Array<{ rule: string }> | undefined) ?? [];
      const reason =
        issues[0]?.rule ??
        ruleOf(error.message) ??
        `${error.code}: ${error.message
          .split("\n")[0]
          ?.replace(/"[^"]*"/g, '"…"')
          .slice(0, 80)}`;
      refuse(reason, job);
    }
    done++;
    if (tty && (done % 25 === 0 || done === jobs.length))
      process.stderr.write(`\r\x1b[K[${done}/${jobs.length}] ${accepted.length} accepted`);
  }
}
await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
if (tty) process.stderr.write("\r\x1b[K");
const seconds = (performance.now() - started) / 1000;

const summary = {
  skills: jobs.length,
  owners: owners.length,
  ownersCreated: createdOwners,
  accepted: accepted.length,
  refused: jobs.length - accepted.length,
  refusedBy: Object.fromEntries([...refused].sort((a, b) => b[1].count - a[1].count)),
  seconds: Number(seconds.toFixed(1)),
  perSecond: Number((jobs.length / seconds).toFixed(1)),
};
if (json) {
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} else {
  process.stdout.write(
    `${summary.skills} skills from ${summary.owners} owners (${summary.ownersCreated} created) in ${summary.seconds} s (${summary.perSecond} skills/s)\n` +
      `accepted ${summary.accepted}, refused ${summary.refused}\n`,
  );
  for (const [reason, { count, examples }] of Object.entries(summary.refusedBy)) {
    process.stdout.write(
      `  ${String(count).padStart(5)}  ${reason}  (e.g. ${examples.join(", ")})\n`,
    );
  }
}
