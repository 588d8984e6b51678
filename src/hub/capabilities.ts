/**
 * The live capability registry: which agents serve which capability, the search index that
 * finds capabilities by meaning, discovery, the catalog workflows validate against, and waiting
 * for a capability to appear (woken by registration, not by polling).
 */
import { ClawHubError } from "../errors/index.ts";
import {
  createSearchEngine,
  type Embedder,
  type EngineHit,
  type RankingWeights,
} from "../search/index.ts";
import type { WireCapability } from "../wire/index.ts";
import type { CapabilityInfo } from "../workflow/index.ts";
import type { HubContext, Session } from "./types.ts";

/** A capability found by meaning, with the agents serving it. */
export interface CapabilityMatch {
  capability: WireCapability;
  score: number;
  similarity: number;
  /** Whether a call by query may route to it (at or above the floor and within the margin). */
  routable: boolean;
  agentIds: string[];
}

/** The capability room's face. */
export interface Capabilities {
  add(session: Session): void;
  remove(session: Session): void;
  /** Agent ids serving a capability (live set: do not keep it). */
  providers(name: string): ReadonlySet<string> | undefined;
  has(name: string): boolean;
  /** Capabilities nearest to a need, best first. */
  discover(query: string, options?: { limit?: number; floor?: number }): Promise<CapabilityMatch[]>;
  /**
   * Targets of a call by meaning: every capability at or above `floor` and within the hub's
   * margin of the best match, so a saturated right answer is never swapped for a weak one.
   */
  targetsFor(query: string, floor: number): Promise<Array<{ name: string; similarity: number }>>;
  /** What is known of each connected capability (schemas, context limit). */
  catalog(): Map<string, CapabilityInfo>;
  /** Resolves when an agent serving `name` registers, at `until`, or on abort. */
  waitFor(name: string, until: number, signal?: AbortSignal): Promise<boolean>;
  /** Resolves when capabilities registered so far are searchable by meaning. */
  idle(): Promise<void>;
  close(): void;
}

/** Options of {@link createCapabilities}. */
export interface CapabilitiesOptions {
  embedder?: Embedder | undefined;
}

/**
 * The ranking weights of capability discovery: reciprocal rank fusion of BM25 and the cosine
 * (with semantic feedback and the name tiers), not the registry's linear fusion. A hub's catalog
 * holds tens of capabilities, where BM25's magnitudes are noise (every word is rare, and one
 * repeated word outweighs a closer meaning) and only the order of each signal carries; on the
 * capability sets of bench/search-quality.ts rank fusion routes more needs right
 * (docs/search.md).
 */
export const CAPABILITY_WEIGHTS: Partial<RankingWeights> = {
  fusion: "rrf",
  bm25: 0.3,
  cosine: 0.7,
  feedback: 0.2,
  tiers: true,
};

export function createCapabilities(
  ctx: HubContext,
  options: CapabilitiesOptions = {},
): Capabilities {
  const engine = createSearchEngine({
    embedder: options.embedder,
    logger: ctx.log,
    weights: CAPABILITY_WEIGHTS,
  });
  /** Capability name -> agents serving it; the search index holds one document per name. */
  const providers = new Map<string, Set<string>>();
  const waiters = new Map<string, Set<(found: boolean) => void>>();

  const index = (spec: WireCapability) =>
    engine.upsert({
      id: spec.name,
      name: spec.name,
      title: "",
      summary: spec.description,
      tags: [],
      owner: "",
      popularity: 0,
      text: `${spec.name.replace(/[._-]+/g, " ")}. ${spec.description}`,
    });

  /** Any live agent's spec of a capability (the first registrant's description is indexed). */
  const specOf = (name: string): WireCapability | undefined => {
    for (const id of providers.get(name) ?? []) {
      const entry = ctx.sessions.get(id)?.capabilities.get(name);
      if (entry) return entry.spec;
    }
    return undefined;
  };

  /** Waits (bounded) for pending capability embeddings, so a fresh agent is found by meaning. */
  const indexReady = async () => {
    if (engine.status().pending === 0) return;
    await Promise.race([engine.idle(), new Promise((r) => setTimeout(r, 5000).unref())]);
  };

  const hitsFor = async (query: string, limit: number): Promise<EngineHit[]> => {
    await indexReady();
    return engine.search(query, { limit: Math.min(100, Math.max(1, limit)) });
  };

  return {
    add(session) {
      for (const [name, entry] of session.capabilities) {
        let set = providers.get(name);
        if (!set) {
          set = new Set();
          providers.set(name, set);
        }
        set.add(session.id);
        if (set.size === 1) index(entry.spec);
        const waiting = waiters.get(name);
        if (waiting) {
          waiters.delete(name);
          for (const wake of waiting) wake(true);
        }
      }
    },
    remove(session) {
      for (const name of session.capabilities.keys()) {
        const set = providers.get(name);
        if (!set) continue;
        set.delete(session.id);
        if (set.size > 0) continue;
        providers.delete(name);
        engine.remove(name);
      }
    },
    providers: (name) => providers.get(name),
    has: (name) => (providers.get(name)?.size ?? 0) > 0,
    async discover(query, opts = {}) {
      const floor = opts.floor ?? ctx.config.minSimilarity;
      const hits = await hitsFor(query, opts.limit ?? 10);
      const best = hits.reduce((m, h) => Math.max(m, h.similarity), 0);
      const out: CapabilityMatch[] = [];
      for (const hit of hits) {
        const spec = specOf(hit.id);
        if (!spec) continue;
        out.push({
          capability: spec,
          score: hit.score,
          similarity: hit.similarity,
          routable: hit.similarity >= floor && hit.similarity >= best - ctx.config.routeMargin,
          agentIds: [...(providers.get(hit.id) ?? [])].sort(),
        });
      }
      return out;
    },
    async targetsFor(query, floor) {
      const matches = (await this.discover(query, { limit: 10, floor })).filter((m) => m.routable);
      if (matches.length === 0)
        throw new ClawHubError(
          "NOT_FOUND",
          `no capability matches "${query.slice(0, 200)}" closely enough (similarity >= ${floor})`,
          { hint: "`clawhub discover` shows the nearest capabilities and their similarity." },
        );
      return matches.map((m) => ({ name: m.capability.name, similarity: m.similarity }));
    },
    catalog() {
      const out = new Map<string, CapabilityInfo>();
      for (const [name, ids] of providers) {
        const spec = specOf(name);
        if (!spec) continue;
        let limit = 0;
        for (const id of ids) {
          const l = ctx.sessions.get(id)?.capabilities.get(name)?.spec.contextLimit ?? 0;
          if (l > 0) limit = limit === 0 ? l : Math.min(limit, l);
        }
        out.set(name, {
          inputSchema: spec.inputSchema
            ? (JSON.parse(spec.inputSchema) as Record<string, unknown>)
            : undefined,
          outputSchema: spec.outputSchema
            ? (JSON.parse(spec.outputSchema) as Record<string, unknown>)
            : undefined,
          contextLimit: limit || undefined,
        });
      }
      return out;
    },
    waitFor(name, until, signal) {
      if (this.has(name)) return Promise.resolve(true);
      if (ctx.closing || signal?.aborted || until <= ctx.now()) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const set = waiters.get(name) ?? new Set<(found: boolean) => void>();
        waiters.set(name, set);
        const done = (found: boolean) => {
          clearTimeout(timer);
          set.delete(done);
          if (set.size === 0 && waiters.get(name) === set) waiters.delete(name);
          signal?.removeEventListener("abort", abort);
          resolve(found);
        };
        const abort = () => done(false);
        const timer = setTimeout(abort, Math.max(0, until - ctx.now()));
        timer.unref();
        set.add(done);
        signal?.addEventListener("abort", abort, { once: true });
      });
    },
    idle: () => engine.idle(),
    close() {
      for (const set of waiters.values()) for (const done of [...set]) done(false);
      waiters.clear();
    },
  };
}
