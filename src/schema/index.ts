/**
 * One schema module for names and shapes, shared by the CLI, the registry, the hub and the SDK:
 * name rules (slug, owner handle, tag, capability name, agent id, topic), the duration syntax,
 * the archive file-mode rule, and the registry API's response shapes.
 */
export { archiveFileMode } from "./archive.ts";
export { parseBytes } from "./bytes.ts";
export { parseDuration } from "./duration.ts";
export { jsonNestingDepth, MAX_JSON_DEPTH } from "./json-depth.ts";
export {
  AGENT_ID,
  CAPABILITY_NAME,
  checkName,
  checkPublishableSlug,
  HANDLE,
  isName,
  type NameRule,
  RESERVED_SLUGS,
  SLUG,
  subjectMatches,
  TAG,
  TOPIC,
  TOPIC_PATTERN,
} from "./names.ts";
export {
  makePrivate,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  writePrivateFile,
} from "./private-files.ts";
export type {
  AdminUser,
  AdminUserListResponse,
  CreatedTokenResponse,
  CreatedUserResponse,
  LogInfoResponse,
  ModerationQueueItem,
  ModerationStatus,
  ModerationSummary,
  OkResponse,
  OrgRole,
  OrgView,
  OwnerSummary,
  PublisherKeyView,
  PublishResponse,
  ResolveResponse,
  SearchExplain,
  SearchResponse,
  SearchResult,
  SearchStatusResponse,
  SelectorResolveResponse,
  SkillDetailResponse,
  SkillListItem,
  SkillListResponse,
  SkillMetadata,
  SkillSummary,
  TokenInfo,
  TokenListResponse,
  UploadUrlResponse,
  UserStateResponse,
  VersionAttestationResponse,
  VersionDetailResponse,
  VersionFile,
  VersionListResponse,
  VersionSummary,
  Visibility,
  WellKnownResponse,
  WhoamiResponse,
} from "./registry-api.ts";
export { ORG_ROLES, VISIBILITIES } from "./registry-api.ts";
export type { SignedFields } from "./signed-fields.ts";
export {
  checkDisplayName,
  displayNameProblem,
  hasHiddenCharacters,
  logLine,
  MAX_DISPLAY_NAME,
  visibleText,
} from "./visible-text.ts";
