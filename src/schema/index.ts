/**
 * One schema module for names and shapes, shared by the CLI, the registry, the hub and the SDK:
 * name rules (slug, owner handle, tag, capability name, agent id, topic), the duration syntax,
 * the archive file-mode rule, and the registry API's response shapes.
 */
export { archiveFileMode } from "./archive.ts";
export { parseDuration } from "./duration.ts";
export {
  AGENT_ID,
  CAPABILITY_NAME,
  checkName,
  HANDLE,
  isName,
  type NameRule,
  SLUG,
  subjectMatches,
  TAG,
  TOPIC,
  TOPIC_PATTERN,
} from "./names.ts";
