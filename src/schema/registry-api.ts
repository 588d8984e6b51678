/**
 * Response shapes of the ClawHub API v1, as `clawhub serve` sends them and `src/client` reads
 * them: one definition, typed on both sides (the server's handlers `satisfies` them, the client
 * parses into them). Fields the public registry or older servers may leave out are optional.
 */

/** `GET /.well-known/clawhub.json`. */
export interface WellKnownResponse {
  apiBase: string;
  authBase: string;
  registry: string;
  minCliVersion: string;
}

/** `GET /api/v1/whoami`. */
export interface WhoamiResponse {
  user: {
    handle: string | null;
    displayName?: string | null;
    image?: string | null;
    role?: string | null;
  };
  /** The latest notifications of the last 14 days (moderation of your versions), newest first. */
  notifications?: { kind: string; subject: string; message: string; createdAt: number }[];
}

/** The parts of a search hit's score (`explain=1`). */
export interface SearchExplain {
  tier: number;
  bm25: number;
  cosine: number | null;
  /** Absent from servers older than semantic feedback. */
  feedback?: number;
  popularity: number;
}

/** One hit of `GET /api/v1/search`. */
export interface SearchResult {
  slug?: string;
  ownerHandle?: string | null;
  displayName?: string;
  summary?: string | null;
  version?: string | null;
  score: number;
  downloads?: number;
  updatedAt?: number;
  owner?: { handle: string | null; displayName?: string | null; image?: string | null };
  /** Where the skill comes from: always "clawhub" here (OpenClaw requires it). */
  source?: "clawhub";
  explain?: SearchExplain;
}

/** `GET /api/v1/search`. */
export interface SearchResponse {
  results: SearchResult[];
}

/** `GET /api/v1/search/status`. */
export interface SearchStatusResponse {
  documents: number;
  embedded: number;
  pending: number;
  embedder: string | null;
}

/** A version as listings show it. */
export interface VersionSummary {
  version: string;
  createdAt: number;
  changelog: string;
  changelogSource?: "user" | null;
  license?: string;
}

/** A skill as detail and listings show it. */
/** Who may see a skill: everyone, members of the owning org, or those who may publish there. */
export type Visibility = "public" | "org" | "private";
/** Every visibility, in the order of how far it reaches. */
export const VISIBILITIES: readonly Visibility[] = ["public", "org", "private"];

/** A member's role in an org: owners manage it, publishers publish, readers read org skills. */
export type OrgRole = "owner" | "publisher" | "reader";
/** Every org role, from the most to the least it may do. */
export const ORG_ROLES: readonly OrgRole[] = ["owner", "publisher", "reader"];

/** An org as `GET /api/v1/orgs[/{org}]` shows it to a member. */
export interface OrgView {
  handle: string;
  displayName: string | null;
  defaultVisibility: Visibility;
  createdAt: number;
  /** The caller's role; null for admins who are not members. */
  role: OrgRole | null;
  members?: Array<{ handle: string; role: OrgRole; since: number }>;
}

export interface SkillSummary {
  slug: string;
  displayName: string;
  summary: string | null;
  description?: string | null;
  ownerHandle?: string;
  visibility?: Visibility;
  tags: Record<string, string>;
  stats: Record<string, number>;
  createdAt: number;
  updatedAt: number;
}

/** OpenClaw metadata of a skill's latest version. */
export interface SkillMetadata {
  setup: Array<{ key: string; required: boolean }>;
  os: string[] | null;
  systems: string[] | null;
}

/** An owner as the API shows it. */
export interface OwnerSummary {
  handle: string | null;
  displayName?: string | null;
  image?: string | null;
}

/** Moderation state of a skill, shown to those who manage it. */
export interface ModerationSummary {
  isSuspicious: boolean;
  isMalwareBlocked: boolean;
  verdict?: string;
  [key: string]: unknown;
}

/** `GET /api/v1/skills/{slug}`. */
export interface SkillDetailResponse {
  skill: SkillSummary | null;
  latestVersion: VersionSummary | null;
  metadata?: SkillMetadata | null;
  owner: OwnerSummary | null;
  moderation?: ModerationSummary | null;
}

/** One item of `GET /api/v1/skills`. */
export type SkillListItem = SkillSummary & {
  latestVersion?: VersionSummary | undefined;
  metadata?: SkillMetadata | null;
  owner?: OwnerSummary | null;
};

/** `GET /api/v1/skills`. */
export interface SkillListResponse {
  items: SkillListItem[];
  nextCursor: string | null;
}

/** `GET /api/v1/skills/{slug}/versions`. */
export interface VersionListResponse {
  items: VersionSummary[];
  nextCursor: string | null;
}

/** One file of a version. */
export interface VersionFile {
  path: string;
  size: number;
  sha256: string;
  contentType?: string;
}

/** `GET /api/v1/skills/{slug}/versions/{version}`. */
export interface VersionDetailResponse {
  version:
    | (VersionSummary & {
        files?: VersionFile[];
        fingerprint?: string;
        integrity?: string;
        size?: number;
      })
    | null;
  skill: { slug: string; displayName: string } | null;
}

/** One entry of `GET /api/v1/moderation/queue`. */
export interface ModerationQueueItem {
  slug: string;
  ownerHandle: string;
  version: string;
  status: "held" | "approved" | "rejected";
  reason: string;
  heldAt: number;
  appeal: string | null;
  appealedAt: number | null;
  verdict: "clean" | "suspicious" | "malicious" | null;
  score: number | null;
}

/** `GET /api/v1/skills/{slug}/moderation` (owners, moderators): the scan and the review. */
export interface ModerationStatus {
  verdict: string;
  summary: string;
  reasonCodes: string[];
  evidence: {
    rule: string;
    severity: string;
    file: string;
    line?: number | undefined;
    evidence: string;
    explanation: string;
  }[];
  /** Whether readers who do not manage the skill are served this version. */
  availability: "served" | "held" | "blocked";
  review: {
    status: "held" | "approved" | "rejected";
    reason: string;
    decidedAt: number | null;
    appeal: string | null;
    appealedAt: number | null;
  } | null;
}

/** A publisher's signing key as the API shows it (`/api/v1/keys`). */
export interface PublisherKeyView {
  /** Hex SHA-256 of the raw Ed25519 public key: the DSSE key id of its signatures. */
  keyId: string;
  handle: string;
  name: string;
  /** Base64 of the 32 raw public key bytes. */
  publicKey: string;
  createdAt: number;
  revokedAt: number | null;
}

/** `GET /api/v1/log`: the transparency log's name and key, and its size now. */
export interface LogInfoResponse {
  origin: string;
  /** C2SP signed-note verifier key (`<origin>+<hash>+<base64>`), to pin. */
  verifierKey: string;
  /** DSSE key id of the registry's countersignature (hex SHA-256 of the public key). */
  keyId: string;
  size: number;
}

/** `GET /api/v1/skills/{slug}/attestation`: what a client needs to verify a version. */
export interface VersionAttestationResponse {
  slug: string;
  ownerHandle: string;
  version: string;
  /** DSSE envelope of the in-toto publish statement (registry signature, publisher's if any). */
  envelope: { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] };
  logIndex: number;
  /** The latest signed checkpoint (C2SP signed note). */
  checkpoint: string;
  /** Base64 hashes: the leaf's inclusion in the checkpoint's tree. */
  inclusionProof: string[];
  /** Base64 hashes from the `since` size to the checkpoint's (when `since` was asked). */
  consistencyProof?: string[];
}

/** `GET /api/v1/resolve`. */
export interface ResolveResponse {
  match: { version: string } | null;
  latestVersion: { version: string } | null;
}

/** `GET /api/v1/resolve?slug=&selector=`: a version, range or tag resolved on the server. */
export interface SelectorResolveResponse {
  slug: string;
  ownerHandle: string;
  /** The version the selector names (a range: its highest published match). */
  version: string;
  /** How the selector was read. */
  resolvedFrom: "latest" | "version" | "range" | "tag";
  latestVersion: { version: string } | null;
}

/** `POST /api/v1/skills` (201). */
export interface PublishResponse {
  ok: true;
  skillId?: string;
  versionId: string;
  version: string;
  fingerprint?: string;
  integrity?: string;
  /** Whether others are served the new version: a suspicious one is held for a moderator. */
  moderation?: {
    availability: "served" | "held" | "blocked";
    /** Why it is held, and the scanner's rules that flagged it (held versions only). */
    reason?: string;
    rules?: string[];
  };
}

/** Every write that only acknowledges. */
export interface OkResponse {
  ok: true;
}

/** `POST /api/v1/skills/-/upload-url`. */
export interface UploadUrlResponse {
  uploadUrl: string;
  uploadTicket: string;
}

/** A token as listings show it (never its secret). */
export interface TokenInfo {
  id: string;
  name: string;
  prefix: string;
  handle?: string | undefined;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** `GET /api/v1/tokens`, `GET /api/v1/admin/tokens`. */
export interface TokenListResponse {
  items: TokenInfo[];
}

/** `POST /api/v1/tokens`, `POST /api/v1/admin/tokens` (201): the secret, shown once. */
export type CreatedTokenResponse = TokenInfo & { token: string };

/** A user as the admin API shows it. */
export interface AdminUser {
  userId: string;
  handle: string;
  displayName?: string | null;
  role: string;
  disabled: boolean;
  createdAt: number;
}

/** `GET /api/v1/admin/users`. */
export interface AdminUserListResponse {
  items: AdminUser[];
}

/** `POST /api/v1/admin/users` (201). */
export interface CreatedUserResponse {
  userId: string;
  handle: string;
  role: string;
}

/** `POST /api/v1/admin/users/{handle}/disable|enable`. */
export interface UserStateResponse {
  ok: true;
  handle: string;
  disabled: boolean;
}
