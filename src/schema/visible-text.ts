import { ClawHubError } from "../errors/index.ts";

/**
 * Characters that a terminal acts on or that hide or reorder text: C0 controls but tab and
 * newline, DEL, C1 controls (U+009B is CSI on its own), zero-width space, line and paragraph
 * separators, bidi embeddings, overrides and isolates, invisible operators, BOM, and Unicode tag
 * characters (U+E0000-E007F, as surrogate pairs). Zero-width joiners stay: emoji need them.
 */
const HIDDEN =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]/g;

// Per UTF-16 unit, so the escape is also valid inside a JSON string (--json output).
const escapeUnits = (match: string) => {
  let out = "";
  for (let i = 0; i < match.length; i++)
    out += `\\u${match.charCodeAt(i).toString(16).padStart(4, "0")}`;
  return out;
};

/**
 * Makes remote text safe to print: every hidden or controlling character becomes its visible
 * `\uXXXX` escape (one pass, linear). A skill's name or description can then not clear the
 * screen, set the window title, plant an OSC 8 link or reverse a line on a user's terminal.
 */
export function visibleText(text: string): string {
  return text.replace(HIDDEN, escapeUnits);
}

// The same class without the global flag: test() then keeps no lastIndex between calls.
const HIDDEN_ANY = new RegExp(HIDDEN.source);

/** Whether text holds any character that {@link visibleText} would escape. */
export function hasHiddenCharacters(text: string): boolean {
  return HIDDEN_ANY.test(text);
}

/**
 * One log line from text that may quote remote data: newlines and carriage returns escaped as
 * well, so a name holding a newline cannot forge a second line.
 */
export function logLine(text: string): string {
  return visibleText(text).replace(/\n/g, "\\n").replace(/\t/g, "\\t");
}

/** Longest display name of a skill, user or org, in characters (npm's package names stop at 214). */
export const MAX_DISPLAY_NAME = 200;

/** What is wrong with a display name (too long, hidden or controlling characters), if anything. */
export function displayNameProblem(value: string, what = "displayName"): string | undefined {
  const length = [...value].length;
  if (length > MAX_DISPLAY_NAME)
    return `${what} is ${length} characters; the limit is ${MAX_DISPLAY_NAME}`;
  if (hasHiddenCharacters(value))
    return `${what} holds control or invisible characters: ${visibleText(value).slice(0, 120)}`;
  return undefined;
}

/**
 * Refuses a display name that is too long or holds hidden or controlling characters: it is shown
 * on every listing, terminal and page, so it is checked once where it is stored.
 */
export function checkDisplayName(value: string, what = "displayName"): string {
  const problem = displayNameProblem(value, what);
  if (problem) throw new ClawHubError("INVALID_ARGUMENT", problem);
  return value;
}
