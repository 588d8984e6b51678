/**
 * How deeply a JSON text nests its arrays and objects, measured in one pass without parsing (so
 * in linear time and constant stack). `JSON.parse` takes any depth, but `JSON.stringify`, ajv
 * and every recursive walk afterwards overflow the stack on a value nested 10,000 deep: callers
 * refuse such a text before they parse it, with a message that names the limit.
 */
export function jsonNestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return deepest;
}

/** Nesting allowed in JSON the registry and skills accept from users (request bodies, metadata). */
export const MAX_JSON_DEPTH = 64;
