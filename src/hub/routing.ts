/**
 * Routing: which agent gets a task. A pure function of the candidates' state, so the formula is
 * tested directly and documented in docs/hub.md.
 *
 * 1. Filter: the agent serves a matching capability (by name, or by meaning within the margin
 *    of the best match, chosen by the caller of {@link route}), carries every required label,
 *    is not draining, the input fits its context limit, and it has room: a free concurrency
 *    slot or space in its bounded queue, and its share of held input bytes. Agents whose circuit
 *    for the capability is open are left out while an agent with a closed circuit remains; when
 *    every one is open the call still goes through (the caller's own breaker, e.g. a
 *    workflow's, decides whether to wait), so two layers of breakers never lock each other out.
 * 2. Score: higher is better,
 *      score = w.similarity * similarity
 *            - w.load       * load
 *            - w.kvCache    * kvCacheUtilization
 *            - w.vram       * vramUsed / vramTotal
 *            - w.latency    * (1 - fastest / latency)
 *            - w.throughput * (1 - tokensPerSecond / best tokensPerSecond)
 *            - w.failures   * failureRate
 *            + w.affinity   * (agent served this session last)
 *    where load = u / (1 + u) and u = pending / maxConcurrency, pending being the larger of the
 *    hub's own count (running + queued on this agent) and the agent's reported
 *    in-flight + queue depth (it may also serve other hubs); latency is the EWMA of this agent's
 *    observed dispatch-to-result time for the capability and `fastest` the lowest among the
 *    candidates (an agent with no history counts as the fastest, so new agents get tried);
 *    the throughput term applies when some candidate reports tokens/s; failureRate is the EWMA
 *    of the agent's failed and timed-out attempts of the capability.
 * 3. Pick the best score; ties go to fewer pending tasks, then to the agent dispatched to least
 *    recently (round robin among equals), then to the smaller agent id.
 */

/** Weights of the routing score. */
export interface RoutingWeights {
  similarity: number;
  load: number;
  kvCache: number;
  vram: number;
  latency: number;
  throughput: number;
  failures: number;
  affinity: number;
}

/**
 * Defaults: meaning first; a fully loaded agent (u -> infinity) loses 0.5, one busy slot
 * (u = 1) 0.25; an agent twice as slow as the fastest loses 0.15, one that fails or times out
 * half its attempts 0.25; session affinity (0.15) beats a small load difference but not a busy
 * agent.
 */
export const DEFAULT_ROUTING_WEIGHTS: RoutingWeights = {
  similarity: 1,
  load: 0.5,
  kvCache: 0.2,
  vram: 0.1,
  latency: 0.3,
  throughput: 0.1,
  failures: 0.5,
  affinity: 0.15,
};

/** One agent able to serve the task, as the router sees it. */
export interface RouteCandidate {
  agentId: string;
  capability: string;
  /** 1 for a call by name; the capability's similarity to the query otherwise. */
  similarity: number;
  labels: Readonly<Record<string, string>>;
  /** Tasks of this capability running on the agent (hub's count). */
  running: number;
  maxConcurrency: number;
  /** Tasks waiting in the agent's queue (hub's count) and its limit. */
  queued: number;
  queueLimit: number;
  /** The agent's own telemetry (0 when not reported). */
  reportedInFlight: number;
  reportedQueueDepth: number;
  kvCacheUtilization: number;
  vramUsedBytes: number;
  vramTotalBytes: number;
  /** Reported tokens per second (0: not reported). */
  tokensPerSecond: number;
  /** EWMA of observed latency for this capability, ms (0: no history yet). */
  latencyMs: number;
  /** EWMA of failed or timed-out attempts, 0..1. */
  failureRate: number;
  draining: boolean;
  circuitOpen: boolean;
  /** False when the input is larger than this agent's context limit for the capability. */
  fits: boolean;
  /** False when the agent already holds its share of queued input bytes. */
  roomForBytes: boolean;
  lastDispatchAt: number;
}

/** What a route asks for. */
export interface RouteRequest {
  labels?: Readonly<Record<string, string>>;
  /** The agent that served this call's session last, if any. */
  affinityAgentId?: string | undefined;
  /** Agents to avoid (already tried by this call) unless no other can serve. */
  avoid?: ReadonlySet<string>;
  weights?: Partial<RoutingWeights>;
  /** Rank every candidate (default: only the pick is computed). */
  explain?: boolean;
}

/** Why a candidate was filtered out. */
export type RejectReason = "labels" | "draining" | "too-large" | "circuit-open" | "full";

/** The decision, with the ranking and the rejections, for `call --explain` and tests. */
export interface RouteDecision {
  chosen: ScoredCandidate | undefined;
  /** Every candidate in order with `explain`; otherwise just the pick. */
  ranked: ScoredCandidate[];
  rejected: Array<{ agentId: string; capability: string; reason: RejectReason }>;
}

/** A candidate that passed the filter, with its score and load. */
export interface ScoredCandidate extends RouteCandidate {
  score: number;
  pending: number;
  load: number;
}

/** The load of a candidate in [0, 1): u / (1 + u), u = pending / maxConcurrency. */
export function loadOf(candidate: RouteCandidate): { pending: number; load: number } {
  const pending = Math.max(
    candidate.running + candidate.queued,
    candidate.reportedInFlight + candidate.reportedQueueDepth,
  );
  const u = pending / Math.max(1, candidate.maxConcurrency);
  return { pending, load: u / (1 + u) };
}

/** What the scores of one decision are relative to: the fastest and the best-throughput candidate. */
export interface RouteField {
  fastestMs: number;
  bestTokensPerSecond: number;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** Merged weights, computed once per request (routing runs on every call). */
const merged = new WeakMap<Partial<RoutingWeights>, RoutingWeights>();
function weightsOf(request: RouteRequest): RoutingWeights {
  const given = request.weights;
  if (!given) return DEFAULT_ROUTING_WEIGHTS;
  let w = merged.get(given);
  if (!w) {
    w = { ...DEFAULT_ROUTING_WEIGHTS, ...given };
    merged.set(given, w);
  }
  return w;
}

/** The score of one candidate (see the module comment). */
export function scoreOf(
  candidate: RouteCandidate,
  request: RouteRequest = {},
  field: RouteField = { fastestMs: 0, bestTokensPerSecond: 0 },
): { score: number; pending: number; load: number } {
  const w = weightsOf(request);
  const { pending, load } = loadOf(candidate);
  const vram =
    candidate.vramTotalBytes > 0 ? clamp01(candidate.vramUsedBytes / candidate.vramTotalBytes) : 0;
  const kv = clamp01(candidate.kvCacheUtilization);
  const slowness =
    candidate.latencyMs > 0 && field.fastestMs > 0 ? 1 - field.fastestMs / candidate.latencyMs : 0;
  const slowThroughput =
    field.bestTokensPerSecond > 0
      ? 1 - clamp01(candidate.tokensPerSecond / field.bestTokensPerSecond)
      : 0;
  const affinity = request.affinityAgentId === candidate.agentId ? 1 : 0;
  const score =
    w.similarity * candidate.similarity -
    w.load * load -
    w.kvCache * kv -
    w.vram * vram -
    w.latency * clamp01(slowness) -
    w.throughput * slowThroughput -
    w.failures * clamp01(candidate.failureRate) +
    w.affinity * affinity;
  return { score, pending, load };
}

/** True when the agent can take one more task of this capability (now or queued). */
export function hasRoom(candidate: RouteCandidate): boolean {
  return (
    candidate.roomForBytes &&
    (candidate.running < candidate.maxConcurrency || candidate.queued < candidate.queueLimit)
  );
}

type Parts = { score: number; pending: number } | undefined;

/** Negative when `a` ranks before `b`: score, then fewer pending, then round robin, then id. */
function compare(a: RouteCandidate, as: Parts, b: RouteCandidate, bs: Parts): number {
  return (
    (bs?.score ?? 0) - (as?.score ?? 0) ||
    (as?.pending ?? 0) - (bs?.pending ?? 0) ||
    a.lastDispatchAt - b.lastDispatchAt ||
    (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0)
  );
}
const better = (a: ScoredCandidate, b: ScoredCandidate) => compare(a, a, b, b);

/** Filters, scores and picks (see the module comment). */
export function route(
  candidates: readonly RouteCandidate[],
  request: RouteRequest = {},
): RouteDecision {
  const rejected: RouteDecision["rejected"] = [];
  const kept: RouteCandidate[] = [];
  const labels = Object.entries(request.labels ?? {});
  const field: RouteField = { fastestMs: 0, bestTokensPerSecond: 0 };
  for (const c of candidates) {
    let reason: RejectReason | undefined;
    if (labels.some(([k, v]) => c.labels[k] !== v)) reason = "labels";
    else if (c.draining) reason = "draining";
    else if (!c.fits) reason = "too-large";
    else if (!hasRoom(c)) reason = "full";
    if (reason) {
      rejected.push({ agentId: c.agentId, capability: c.capability, reason });
      continue;
    }
    kept.push(c);
    if (c.latencyMs > 0 && (field.fastestMs === 0 || c.latencyMs < field.fastestMs))
      field.fastestMs = c.latencyMs;
    if (c.tokensPerSecond > field.bestTokensPerSecond)
      field.bestTokensPerSecond = c.tokensPerSecond;
  }
  // Scores sit beside the candidates; a ScoredCandidate is built only for what is returned,
  // since routing runs on every call over every capable agent.
  const scored = kept.map((c) => scoreOf(c, request, field));
  let usable = kept.map((_, i) => i);
  if (kept.some((c) => !c.circuitOpen)) {
    usable = usable.filter((i) => !(kept[i] as RouteCandidate).circuitOpen);
    for (let i = kept.length - 1; i >= 0; i--) {
      const c = kept[i] as RouteCandidate;
      if (c.circuitOpen)
        rejected.push({ agentId: c.agentId, capability: c.capability, reason: "circuit-open" });
    }
  }
  const avoid = request.avoid;
  const fresh = avoid?.size
    ? usable.filter((i) => !avoid.has((kept[i] as RouteCandidate).agentId))
    : usable;
  const pool = fresh.length > 0 ? fresh : usable;
  const full = (i: number): ScoredCandidate => ({
    ...(kept[i] as RouteCandidate),
    ...(scored[i] as { score: number; pending: number; load: number }),
  });
  // One pass finds the pick; the full order only when asked.
  let best = -1;
  for (const i of pool) {
    if (
      best < 0 ||
      compare(kept[i] as RouteCandidate, scored[i], kept[best] as RouteCandidate, scored[best]) < 0
    )
      best = i;
  }
  const chosen = best >= 0 ? full(best) : undefined;
  const ranked = request.explain ? pool.map(full).sort(better) : chosen ? [chosen] : [];
  return { chosen, ranked, rejected };
}
