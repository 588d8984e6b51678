/**
 * Look-alike names: a new slug that reads like an official name or like another owner's skill
 * is how users are led to install the wrong thing (typosquats of popular skills and of the
 * registry's own CLI). Slugs are ASCII (a-z, 0-9, hyphens), so confusion comes from digits that
 * read as letters, letter pairs that read as one letter, hyphens, and one-key typos.
 */

/** Names of official tooling nobody else may publish or imitate. */
export const OFFICIAL_NAMES = [
  "clawhub",
  "clawdhub",
  "openclaw",
  "clawdbot",
  "moltbot",
  "clawhub-cli",
  "openclaw-cli",
  "clawdhub-cli",
  "openclaw-agent",
  "clawhub-agent",
  "openclaw-core",
  "clawhub-core",
];

// Digits and letter pairs that read as one letter in most fonts (UTS #39's idea, for the ASCII
// a slug can hold): c1awhub, 0penclaw, rnoltbot, c1aw-hub all read as the real names.
const DIGITS: Record<string, string> = {
  "0": "o",
  "1": "l",
  "3": "e",
  "4": "a",
  "5": "s",
  "7": "t",
};

/** The name as it reads: digits as letters, rn as m, vv as w, cl as d, no hyphens. */
export function slugSkeleton(slug: string): string {
  return slug
    .toLowerCase()
    .replace(/[0134578]/g, (d) => DIGITS[d] ?? d)
    .replace(/-/g, "")
    .replace(/rn/g, "m")
    .replace(/vv/g, "w")
    .replace(/cl/g, "d");
}

/** Damerau-Levenshtein distance, stopping early past `max` (names are at most 96 characters). */
export function editDistance(a: string, b: string, max = 2): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (prev2[j - 2] as number) + 1);
      row.push(d);
      best = Math.min(best, d);
    }
    if (best > max) return max + 1;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length] as number;
}

/** Why a new slug is refused: the rule and the name it resembles. */
export interface NameProblem {
  rule: "official-lookalike" | "confusable" | "typosquat";
  resembles: string;
  message: string;
}

/** A published skill a new slug is compared with. */
export interface KnownSkill {
  slug: string;
  owner: string;
  downloads: number;
}

/**
 * Checks a new skill's slug against the official names and the skills of other owners:
 * refused when it reads like an official name (same skeleton, or one edit from it), reads like
 * another owner's slug (same skeleton, different spelling), or is one edit from a popular one
 * (`popularDownloads` or more; names of 5 characters or more, where one edit is a typo rather
 * than another word).
 */
export function checkNewSlug(
  slug: string,
  owner: string,
  known: Iterable<KnownSkill>,
  options: { popularDownloads?: number } = {},
): NameProblem | undefined {
  const popular = options.popularDownloads ?? 100;
  const skeleton = slugSkeleton(slug);
  for (const name of OFFICIAL_NAMES) {
    const other = slugSkeleton(name);
    if (skeleton === other || editDistance(skeleton, other, 1) <= 1)
      return {
        rule: "official-lookalike",
        resembles: name,
        message:
          slug === name
            ? `"${slug}" is a name of the official ClawHub/OpenClaw tooling`
            : `"${slug}" reads like "${name}", a name of the official ClawHub/OpenClaw tooling`,
      };
  }
  for (const k of known) {
    if (k.owner === owner || k.slug === slug) continue;
    if (slugSkeleton(k.slug) === skeleton)
      return {
        rule: "confusable",
        resembles: `@${k.owner}/${k.slug}`,
        message: `"${slug}" reads like @${k.owner}/${k.slug} (the same letters once digits, hyphens and look-alike pairs are read as letters)`,
      };
    if (k.downloads >= popular && slug.length >= 5 && editDistance(slug, k.slug, 1) <= 1)
      return {
        rule: "typosquat",
        resembles: `@${k.owner}/${k.slug}`,
        message: `"${slug}" is one keystroke from @${k.owner}/${k.slug}, a popular skill of another owner`,
      };
  }
  return undefined;
}
