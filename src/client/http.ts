import { ClawHubError, type ErrorCode } from "../errors/index.ts";

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

/** Skill detail as the API returns it. */
export interface SkillDetail {
  skill: {
    slug: string;
    displayName: string;
    summary: string | null;
    ownerHandle?: string;
    tags: Record<string, string>;
    stats: Record<string, number>;
    createdAt: number;
    updatedAt: number;
  } | null;
  latestVersion: { version: string; createdAt: number; changelog: string } | null;
  owner: { handle: string | null; displayName?: string | null } | null;
  moderation?: { isSuspicious: boolean; isMalwareBlocked: boolean } | null;
}

/** One version with its files. */
export interface VersionDetail {
  version: {
    version: string;
    createdAt: number;
    changelog: string;
    files?: Array<{ path: string; size: number; sha256: string; contentType?: string }>;
    fingerprint?: string;
    integrity?: string;
  } | null;
  skill: { slug: string; displayName: string } | null;
}

/** A search hit. */
export interface SearchResult {
  slug?: string;
  ownerHandle?: string | null;
  displayName?: string;
  summary?: string | null;
  version?: string | null;
  score: number;
  downloads?: number;
  explain?: {
    tier: number;
    bm25: number;
    cosine: number | null;
    /** Absent from servers older than semantic feedback. */
    feedback?: number;
    popularity: number;
  };
}

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
  const retries = options.retries ?? 3;
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function request(
    path: string,
    init: RequestInit & {
      query?: Record<string, string | number | undefined>;
      idempotent?: boolean;
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
        if (idempotent && attempt < retries) {
          await sleep(200 * 2 ** attempt);
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
      if (res.ok) return res;
      const retryable = res.status === 429 || res.status >= 500;
      if (retryable && idempotent && attempt < retries) {
        const after = Number(res.headers.get("retry-after"));
        await res.body?.cancel();
        await sleep(
          Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : 250 * 2 ** attempt,
        );
        continue;
      }
      const text = (await res.text().catch(() => "")).trim().slice(0, 2000);
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
    (await (await request(path, init)).json()) as T;
  const jsonBody = (method: string, body: unknown) => ({
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const owner = (ownerHandle?: string) => (ownerHandle ? { ownerHandle } : {});
  const enc = encodeURIComponent;

  return {
    registry: base,
    whoami: () =>
      json<{ user: { handle: string | null; displayName?: string | null; role?: string | null } }>(
        "/api/v1/whoami",
      ),
    search: (
      q: string,
      opts: { limit?: number; ownerHandle?: string; exact?: boolean; explain?: boolean } = {},
    ) =>
      json<{ results: SearchResult[] }>("/api/v1/search", {
        query: {
          q,
          limit: opts.limit,
          ownerHandle: opts.ownerHandle,
          mode: opts.exact ? "exact" : undefined,
          explain: opts.explain ? "1" : undefined,
        },
      }),
    searchStatus: () =>
      json<{ documents: number; embedded: number; pending: number; embedder: string | null }>(
        "/api/v1/search/status",
      ),
    listSkills: (opts: { limit?: number; sort?: string; cursor?: string } = {}) =>
      json<{
        items: Array<NonNullable<SkillDetail["skill"]> & { latestVersion?: { version: string } }>;
        nextCursor: string | null;
      }>("/api/v1/skills", { query: opts }),
    skill: (slug: string, ownerHandle?: string) =>
      json<SkillDetail>(`/api/v1/skills/${enc(slug)}`, { query: owner(ownerHandle) }),
    versions: (slug: string, opts: { ownerHandle?: string; limit?: number } = {}) =>
      json<{
        items: Array<{ version: string; createdAt: number; changelog: string }>;
        nextCursor: string | null;
      }>(`/api/v1/skills/${enc(slug)}/versions`, {
        query: { ...owner(opts.ownerHandle), limit: opts.limit ?? 200 },
      }),
    version: (slug: string, version: string, ownerHandle?: string) =>
      json<VersionDetail>(`/api/v1/skills/${enc(slug)}/versions/${enc(version)}`, {
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
      json<{ match: { version: string } | null; latestVersion: { version: string } | null }>(
        "/api/v1/resolve",
        { query: { slug, hash, ...owner(ownerHandle) } },
      ),
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
      },
      files: Array<{ path: string; data: Uint8Array }>,
    ) {
      const form = new FormData();
      form.set("payload", JSON.stringify(payload));
      for (const f of files) form.append("files[]", new Blob([new Uint8Array(f.data)]), f.path);
      return json<{ ok: true; version: string; versionId: string; fingerprint?: string }>(
        "/api/v1/skills",
        { method: "POST", body: form },
      );
    },
    remove: (slug: string, ownerHandle?: string) =>
      json<{ ok: true }>(`/api/v1/skills/${enc(slug)}`, {
        method: "DELETE",
        query: owner(ownerHandle),
      }),
    undelete: (slug: string, ownerHandle?: string) =>
      json<{ ok: true }>(`/api/v1/skills/${enc(slug)}/undelete`, {
        method: "POST",
        query: owner(ownerHandle),
      }),
    reportInstall: (slug: string, ownerHandle?: string) =>
      json<{ ok: true }>("/api/cli/telemetry/install", {
        ...jsonBody("POST", { event: "install", slug, ...owner(ownerHandle) }),
        idempotent: true,
      }),
    admin: {
      createUser: (handle: string, role = "user") =>
        json<{ handle: string; role: string }>(
          "/api/v1/admin/users",
          jsonBody("POST", { handle, role }),
        ),
      listUsers: () =>
        json<{
          items: Array<{ handle: string; role: string; disabled: boolean; createdAt: number }>;
        }>("/api/v1/admin/users"),
      setDisabled: (handle: string, disabled: boolean) =>
        json<{ ok: true }>(
          `/api/v1/admin/users/${enc(handle)}/${disabled ? "disable" : "enable"}`,
          { method: "POST" },
        ),
      createToken: (handle: string, opts: { name?: string; expiresInDays?: number } = {}) =>
        json<{ token: string; id: string; prefix: string; expiresAt: number | null }>(
          "/api/v1/admin/tokens",
          jsonBody("POST", { handle, ...opts }),
        ),
      listTokens: (handle?: string) =>
        json<{
          items: Array<{
            id: string;
            handle: string;
            name: string;
            prefix: string;
            createdAt: number;
            expiresAt: number | null;
            revokedAt: number | null;
            lastUsedAt: number | null;
          }>;
        }>("/api/v1/admin/tokens", { query: { handle } }),
      revokeToken: (id: string) =>
        json<{ ok: true }>(`/api/v1/admin/tokens/${enc(id)}`, { method: "DELETE" }),
    },
  };
}
