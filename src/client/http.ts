import { ClawHubError, type ErrorCode } from "../errors/index.ts";
import { nextDelay, retryPolicy } from "../resilience/index.ts";
import type {
  AdminUserListResponse,
  CreatedTokenResponse,
  CreatedUserResponse,
  LogInfoResponse,
  ModerationQueueItem,
  ModerationStatus,
  OkResponse,
  OrgRole,
  OrgView,
  PublisherKeyView,
  PublishResponse,
  ResolveResponse,
  SearchResponse,
  SearchResult,
  SearchStatusResponse,
  SelectorResolveResponse,
  SkillDetailResponse,
  SkillListResponse,
  TokenListResponse,
  UserStateResponse,
  VersionAttestationResponse,
  VersionDetailResponse,
  VersionListResponse,
  Visibility,
  WhoamiResponse,
} from "../schema/index.ts";

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** Registry API base URL, e.g. http://127.0.0.1:3000. */
  registry: string;
  token?: string | undefined;
  fetch?: typeof fetch;
  /** Attempts for idempotent requests on 429, 5xx and network errors (default 3). */
  retries?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

/** Skill detail as the API returns it (the shared shape in src/schema). */
export type SkillDetail = SkillDetailResponse;
/** One version with its files. */
export type VersionDetail = VersionDetailResponse;
export type { SearchResult };

const STATUS_CODES: Record<number, ErrorCode> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "ALREADY_EXISTS",
  410: "GONE",
  413: "LIMIT_EXCEEDED",
  415: "INVALID_ARGUMENT",
  429: "RATE_LIMITED",
};

const HINTS: Partial<Record<ErrorCode, string>> = {
  UNAUTHENTICATED: "Log in with `clawhub login --token clh_...`.",
  RATE_LIMITED: "Wait a moment and try again.",
  SERVER_ERROR: "The registry failed; try again later.",
  NETWORK_ERROR: "Check the registry URL (--registry or CLAWHUB_REGISTRY) and that it is running.",
};

/** A typed client of the ClawHub API v1 (works against clawhub serve and the public registry). */
export type RegistryClient = ReturnType<typeof createClient>;

/** Creates a registry client. Errors are ClawHubErrors carrying the server's plain-text message. */
export function createClient(options: ClientOptions) {
  const base = options.registry.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  // The shared retry policy: idempotent requests retry on network errors, 429 and 5xx.
  const policy = retryPolicy({
    initialIntervalMs: 250,
    backoffCoefficient: 2,
    maximumIntervalMs: 5000,
    maximumAttempts: options.retries ?? 3,
    jitter: 0.2,
  });
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function request(
    path: string,
    init: RequestInit & {
      query?: Record<string, string | number | undefined>;
      idempotent?: boolean;
      /** The answer must be JSON (a page from something else is "not a registry"). */
      expectJson?: boolean;
    } = {},
  ): Promise<Response> {
    const url = new URL(`${base}${path}`);
    for (const [k, v] of Object.entries(init.query ?? {}))
      if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
    const headers = new Headers(init.headers);
    if (options.token) headers.set("authorization", `Bearer ${options.token}`);
    const idempotent = init.idempotent ?? (init.method ?? "GET") === "GET";
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await doFetch(url, { ...init, headers, signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        const delay = idempotent
          ? nextDelay(policy, attempt, `${path}/${Math.random()}`)
          : undefined;
        if (delay !== undefined) {
          await sleep(delay);
          continue;
        }
        const why =
          error instanceof Error
            ? error.cause instanceof Error
              ? error.cause.message
              : error.message
            : String(error);
        throw new ClawHubError("NETWORK_ERROR", `cannot reach the registry at ${base}: ${why}`, {
          cause: error,
          hint: HINTS.NETWORK_ERROR,
        });
      }
      if (res.ok) {
        if (init.expectJson && !/json/i.test(res.headers.get("content-type") ?? "")) {
          await res.body?.cancel();
          throw (await notARegistry(res, true)) as ClawHubError;
        }
        return res;
      }
      const retryable = res.status === 429 || res.status >= 500;
      const delay =
        retryable && idempotent
          ? nextDelay(policy, attempt, `${path}/${Math.random()}`)
          : undefined;
      if (delay !== undefined) {
        // The server's Retry-After wins over the policy's delay (capped at 30 s).
        const after = Number(res.headers.get("retry-after"));
        await res.body?.cancel();
        await sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : delay);
        continue;
      }
      // A 404 that is not one of ours (an HTML page, another app): say what the URL is not.
      // A 404 page (HTML, or no type at all) rather than an API error: is this a registry?
      const type404 = res.headers.get("content-type") ?? "";
      if (res.status === 404 && (type404 === "" || /html/i.test(type404))) {
        const not = await notARegistry(res, false);
        if (not) {
          await res.body?.cancel();
          throw not;
        }
      }
      let text = (await res.text().catch(() => "")).trim().slice(0, 2000);
      // The registry answers a bare "Skill not found" (the official CLIs match that text);
      // name the skill and the registry, which only the client knows together.
      if (res.status === 404 && text === "Skill not found") {
        const slug =
          url.searchParams.get("slug") ?? /^\/api\/v1\/(?:skills|stars)\/([^/?]+)/.exec(path)?.[1];
        const ownerHandle = url.searchParams.get("ownerHandle");
        if (slug && slug !== "-")
          text = `skill \`${ownerHandle ? `@${ownerHandle}/` : ""}${decodeURIComponent(slug)}\` not found on ${base}`;
      }
      const code =
        STATUS_CODES[res.status] ?? (res.status >= 500 ? "SERVER_ERROR" : "INVALID_ARGUMENT");
      const hint = HINTS[code];
      throw new ClawHubError(code, text || `HTTP ${res.status}`, {
        details: { status: res.status },
        ...(hint ? { hint } : {}),
      });
    }
  }
  const json = async <T>(path: string, init?: Parameters<typeof request>[1]): Promise<T> =>
    (await (await request(path, { ...init, expectJson: true })).json()) as T;

  /**
   * The error for a URL that answers, but not as a ClawHub registry: what its discovery
   * document says (checked once per client).
   */
  let discovery: Promise<string> | undefined;
  async function notARegistry(res: Response, json: true): Promise<ClawHubError>;
  async function notARegistry(res: Response, json: false): Promise<ClawHubError | undefined>;
  async function notARegistry(res: Response, json: boolean): Promise<ClawHubError | undefined> {
    discovery ??= (async () => {
      try {
        const r = await doFetch(`${base}/.well-known/clawhub.json`, {
          signal: AbortSignal.timeout(timeoutMs),
        });
        const type = r.headers.get("content-type") ?? "no content type";
        if (!r.ok) return `returned ${r.status} ${type.split(";")[0]}`;
        const body = (await r.json().catch(() => undefined)) as { apiBase?: unknown } | undefined;
        return typeof body?.apiBase === "string"
          ? ""
          : `returned ${type.split(";")[0]}, not a discovery document`;
      } catch (error) {
        return `failed: ${error instanceof Error ? error.message : String(error)}`;
      }
    })();
    const why = await discovery;
    // A real registry: a 404 is the API's own answer; a non-JSON 200 is the server's fault.
    if (why === "" && !json) return undefined;
    if (why === "")
      return new ClawHubError(
        "SERVER_ERROR",
        `${base} answered ${res.status} with ${res.headers.get("content-type") ?? "no content type"} where JSON was expected`,
      );
    return new ClawHubError(
      "NETWORK_ERROR",
      `${base} is not a ClawHub registry (GET /.well-known/clawhub.json ${why})`,
      {
        hint: "Check --registry or CLAWHUB_REGISTRY: the registry's base URL, e.g. http://127.0.0.1:3000.",
      },
    );
  }
  const jsonBody = (method: string, body: unknown) => ({
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const owner = (ownerHandle?: string) => (ownerHandle ? { ownerHandle } : {});
  const enc = encodeURIComponent;

  return {
    registry: base,
    whoami: () => json<WhoamiResponse>("/api/v1/whoami"),
    search: (
      q: string,
      opts: { limit?: number; ownerHandle?: string; exact?: boolean; explain?: boolean } = {},
    ) =>
      json<SearchResponse>("/api/v1/search", {
        query: {
          q,
          limit: opts.limit,
          ownerHandle: opts.ownerHandle,
          mode: opts.exact ? "exact" : undefined,
          explain: opts.explain ? "1" : undefined,
        },
      }),
    searchStatus: () => json<SearchStatusResponse>("/api/v1/search/status"),
    listSkills: (opts: { limit?: number; sort?: string; cursor?: string } = {}) =>
      json<SkillListResponse>("/api/v1/skills", { query: opts }),
    skill: (slug: string, ownerHandle?: string) =>
      json<SkillDetailResponse>(`/api/v1/skills/${enc(slug)}`, { query: owner(ownerHandle) }),
    versions: (slug: string, opts: { ownerHandle?: string; limit?: number } = {}) =>
      json<VersionListResponse>(`/api/v1/skills/${enc(slug)}/versions`, {
        query: { ...owner(opts.ownerHandle), limit: opts.limit ?? 200 },
      }),
    version: (slug: string, version: string, ownerHandle?: string) =>
      json<VersionDetailResponse>(`/api/v1/skills/${enc(slug)}/versions/${enc(version)}`, {
        query: owner(ownerHandle),
      }),
    file: async (
      slug: string,
      path: string,
      opts: { version?: string; ownerHandle?: string } = {},
    ) =>
      (
        await request(`/api/v1/skills/${enc(slug)}/file`, {
          query: { path, version: opts.version, ...owner(opts.ownerHandle) },
        })
      ).text(),
    resolve: (slug: string, hash: string, ownerHandle?: string) =>
      json<ResolveResponse>("/api/v1/resolve", { query: { slug, hash, ...owner(ownerHandle) } }),
    /** Resolves `latest`, a version, a range or a tag on the server. */
    resolveSelector: (slug: string, selector: string, ownerHandle?: string) =>
      json<SelectorResolveResponse>("/api/v1/resolve", {
        query: { slug, selector: selector || "latest", ...owner(ownerHandle) },
      }),
    /** Downloads a version's archive; returns the bytes and the integrity headers. */
    async download(
      slug: string,
      opts: { version?: string; tag?: string; ownerHandle?: string } = {},
    ) {
      const res = await request("/api/v1/download", {
        query: { slug, version: opts.version, tag: opts.tag, ...owner(opts.ownerHandle) },
      });
      const bytes = Buffer.from(await res.arrayBuffer());
      return {
        bytes,
        sha256: res.headers.get("x-clawhub-artifact-sha256") ?? undefined,
        integrity: res.headers.get("x-clawhub-integrity") ?? undefined,
      };
    },
    /** Publishes with multipart `payload` + `files[]`. */
    async publish(
      payload: {
        slug: string;
        version: string;
        displayName?: string;
        changelog?: string;
        tags?: string[];
        ownerHandle?: string;
        visibility?: Visibility;
        /** The publisher's DSSE envelope over the version's statement. */
        attestation?: unknown;
      },
      files: Array<{ path: string; data: Uint8Array }>,
    ) {
      const form = new FormData();
      form.set("payload", JSON.stringify(payload));
      for (const f of files) form.append("files[]", new Blob([new Uint8Array(f.data)]), f.path);
      return json<PublishResponse>("/api/v1/skills", { method: "POST", body: form });
    },
    remove: (slug: string, ownerHandle?: string) =>
      json<OkResponse>(`/api/v1/skills/${enc(slug)}`, {
        method: "DELETE",
        query: owner(ownerHandle),
      }),
    undelete: (slug: string, ownerHandle?: string) =>
      json<OkResponse>(`/api/v1/skills/${enc(slug)}/undelete`, {
        method: "POST",
        query: owner(ownerHandle),
      }),
    star: (slug: string, on: boolean, ownerHandle?: string) =>
      json<{ ok: true; starred?: boolean; alreadyStarred?: boolean; alreadyUnstarred?: boolean }>(
        `/api/v1/stars/${enc(slug)}`,
        { method: on ? "POST" : "DELETE", query: owner(ownerHandle) },
      ),
    setTag: (slug: string, tag: string, version: string, ownerHandle?: string) =>
      json<{ ok: true; slug: string; tag: string; version: string }>(
        `/api/v1/skills/${enc(slug)}/tags`,
        { ...jsonBody("POST", { tag, version }), query: owner(ownerHandle) },
      ),
    reportInstall: (slug: string, ownerHandle?: string) =>
      json<OkResponse>("/api/cli/telemetry/install", {
        ...jsonBody("POST", { event: "install", slug, ...owner(ownerHandle) }),
        idempotent: true,
      }),
    setVisibility: (slug: string, visibility: Visibility, ownerHandle?: string) =>
      json<{ ok: true; slug: string; ownerHandle: string; visibility: Visibility }>(
        `/api/v1/skills/${enc(slug)}/visibility`,
        { ...jsonBody("POST", { visibility }), query: owner(ownerHandle) },
      ),
    /** Moderation of flagged versions (docs/security.md#moderation). */
    moderation: {
      queue: (limit?: number) =>
        json<{ items: ModerationQueueItem[] }>("/api/v1/moderation/queue", { query: { limit } }),
      decide: (
        slug: string,
        sel: { version?: string; ownerHandle?: string },
        decision: "approve" | "reject",
        reason: string,
      ) =>
        json<{ slug: string; version: string; status: string; reason: string }>(
          `/api/v1/skills/${enc(slug)}/review`,
          {
            ...jsonBody("POST", { version: sel.version, decision, reason }),
            query: owner(sel.ownerHandle),
          },
        ),
      rescan: (slug: string, sel: { version?: string; ownerHandle?: string }) =>
        json<{ slug: string; version: string; verdict: string; rules: string[]; status: string }>(
          `/api/v1/skills/${enc(slug)}/rescan`,
          { ...jsonBody("POST", { version: sel.version }), query: owner(sel.ownerHandle) },
        ),
      appeal: (slug: string, sel: { version?: string; ownerHandle?: string }, message: string) =>
        json<{ slug: string; version: string; appealed: true }>(
          `/api/v1/skills/${enc(slug)}/appeal`,
          { ...jsonBody("POST", { version: sel.version, message }), query: owner(sel.ownerHandle) },
        ),
      status: (slug: string, sel: { version?: string; ownerHandle?: string }) =>
        json<{ moderation: ModerationStatus }>(`/api/v1/skills/${enc(slug)}/moderation`, {
          query: { version: sel.version, ...owner(sel.ownerHandle) },
        }),
      notifications: () =>
        json<{
          items: { kind: string; subject: string; message: string; createdAt: number }[];
        }>("/api/v1/notifications"),
    },
    /** Publisher keys (docs/security.md#signed-versions). */
    keys: {
      add: (name: string, publicKey: string) =>
        json<{ key: PublisherKeyView }>("/api/v1/keys", jsonBody("POST", { name, publicKey })),
      list: () => json<{ items: PublisherKeyView[] }>("/api/v1/keys"),
      get: (keyId: string) => json<{ key: PublisherKeyView }>(`/api/v1/keys/${enc(keyId)}`),
      revoke: (keyId: string) =>
        json<OkResponse>(`/api/v1/keys/${enc(keyId)}`, { method: "DELETE" }),
      ofUser: (handle: string) =>
        json<{ items: PublisherKeyView[] }>(`/api/v1/users/${enc(handle)}/keys`),
    },
    /** The transparency log (docs/security.md#transparency-log); NOT_FOUND where none is kept. */
    log: {
      info: () => json<LogInfoResponse>("/api/v1/log"),
      checkpoint: async () => (await request("/api/v1/log/checkpoint")).text(),
      inclusion: (index: number, size: number) =>
        json<{ index: number; size: number; proof: string[] }>("/api/v1/log/proof/inclusion", {
          query: { index, size },
        }),
      consistency: (from: number, to: number) =>
        json<{ from: number; to: number; proof: string[] }>("/api/v1/log/proof/consistency", {
          query: { from, to },
        }),
      entries: (start: number, limit = 1000) =>
        json<{
          start: number;
          entries: {
            index: number;
            leafHash: string;
            envelope: VersionAttestationResponse["envelope"] | null;
          }[];
        }>("/api/v1/log/entries", { query: { start, limit } }),
      /** A version's attestation, with the consistency proof from the `since` size. */
      attestation: (
        slug: string,
        opts: { version?: string; tag?: string; ownerHandle?: string; since?: number } = {},
      ) =>
        json<VersionAttestationResponse>(`/api/v1/skills/${enc(slug)}/attestation`, {
          query: {
            version: opts.version,
            tag: opts.tag,
            since: opts.since,
            ...owner(opts.ownerHandle),
          },
        }),
    },
    orgs: {
      list: (all = false) =>
        json<{ items: OrgView[] }>("/api/v1/orgs", { query: { all: all ? "1" : undefined } }),
      create: (
        handle: string,
        opts: { displayName?: string; defaultVisibility?: Visibility } = {},
      ) => json<{ org: OrgView }>("/api/v1/orgs", jsonBody("POST", { handle, ...opts })),
      show: (org: string) => json<{ org: OrgView }>(`/api/v1/orgs/${enc(org)}`),
      setDefaultVisibility: (org: string, defaultVisibility: Visibility) =>
        json<{ org: OrgView }>(
          `/api/v1/orgs/${enc(org)}`,
          jsonBody("PATCH", { defaultVisibility }),
        ),
      setMember: (org: string, handle: string, role: OrgRole) =>
        json<{ org: OrgView }>(
          `/api/v1/orgs/${enc(org)}/members/${enc(handle)}`,
          jsonBody("PUT", { role }),
        ),
      removeMember: (org: string, handle: string) =>
        json<{ org: OrgView }>(`/api/v1/orgs/${enc(org)}/members/${enc(handle)}`, {
          method: "DELETE",
        }),
    },
    admin: {
      createUser: (handle: string, role = "user") =>
        json<CreatedUserResponse>("/api/v1/admin/users", jsonBody("POST", { handle, role })),
      listUsers: () => json<AdminUserListResponse>("/api/v1/admin/users"),
      setDisabled: (handle: string, disabled: boolean) =>
        json<UserStateResponse>(
          `/api/v1/admin/users/${enc(handle)}/${disabled ? "disable" : "enable"}`,
          { method: "POST" },
        ),
      createToken: (handle: string, opts: { name?: string; expiresInDays?: number } = {}) =>
        json<CreatedTokenResponse>("/api/v1/admin/tokens", jsonBody("POST", { handle, ...opts })),
      listTokens: (handle?: string) =>
        json<TokenListResponse>("/api/v1/admin/tokens", { query: { handle } }),
      gc: (graceSeconds?: number) =>
        json<{
          scanned: number;
          removed: number;
          bytes: number;
          temporary: number;
          uploadsExpired?: number;
        }>(
          "/api/v1/admin/gc",
          jsonBody("POST", graceSeconds === undefined ? {} : { graceSeconds }),
        ),
      revokeToken: (id: string) =>
        json<OkResponse>(`/api/v1/admin/tokens/${enc(id)}`, { method: "DELETE" }),
    },
  };
}
