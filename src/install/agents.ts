/**
 * Agents ClawHub installs for, with the project and user (global) skill directories each one
 * documents. With `--agent`, the skill's canonical copy goes to `.agents/skills/<slug>` and each
 * agent directory gets a relative symlink to it, or a copy: with `--copy`, and always for
 * OpenClaw, which refuses symlinks (its tree digest rejects them and its workspace guard
 * refuses links leaving the workspace).
 *
 * Sources (checked 2026-12): Gemini CLI geminicli.com/docs/cli/using-agent-skills; GitHub
 * Copilot code.visualstudio.com agent skills reference (microsoft/vscode skills.md); Windsurf
 * docs.windsurf.com (Cascade skills: .windsurf/skills, ~/.codeium/windsurf/skills); OpenCode
 * opencode.ai/docs/skills; goose block.github.io/goose/docs/guides/context-engineering/using-skills;
 * Amp ampcode.com/manual (.agents/skills, ~/.config/agents/skills); Roo Code
 * docs.roocode.com/features/skills; Kiro kiro.dev/docs/skills; Claude Code, Codex, Cursor and
 * OpenClaw as before (docs/registry.md lists them all).
 */
import { cp, lstat, mkdir, readlink, rm, symlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { readOrigin } from "./lockfile.ts";

/** One agent's skill directories, relative to the project root and to the home directory. */
export interface AgentTarget {
  project: string;
  global: string;
  /** Always copy (never symlink) into this agent's directory. */
  copy?: boolean;
}

export const AGENTS = {
  openclaw: { project: "skills", global: ".openclaw/skills", copy: true },
  claude: { project: ".claude/skills", global: ".claude/skills" },
  codex: { project: ".codex/skills", global: ".codex/skills" },
  cursor: { project: ".cursor/skills", global: ".cursor/skills" },
  agents: { project: ".agents/skills", global: ".agents/skills" },
  gemini: { project: ".gemini/skills", global: ".gemini/skills" },
  copilot: { project: ".github/skills", global: ".copilot/skills" },
  windsurf: { project: ".windsurf/skills", global: ".codeium/windsurf/skills" },
  opencode: { project: ".opencode/skills", global: ".config/opencode/skills" },
  goose: { project: ".goose/skills", global: ".config/goose/skills" },
  amp: { project: ".agents/skills", global: ".config/agents/skills" },
  roo: { project: ".roo/skills", global: ".roo/skills" },
  kiro: { project: ".kiro/skills", global: ".kiro/skills" },
} as const satisfies Record<string, AgentTarget>;

/** An agent name accepted by `--agent`. */
export type AgentName = keyof typeof AGENTS;

/** The shared canonical location when installing for agents. */
export const CANONICAL = ".agents/skills";

/** What one agent directory got. */
export interface Placement {
  agent: AgentName;
  path: string;
  how: "link" | "copy";
}

/** Whether a name is an agent. */
export function isAgent(name: string): name is AgentName {
  return Object.hasOwn(AGENTS, name);
}

/** Where an agent's copy or link of a skill goes. */
export function agentPath(
  root: string,
  agent: AgentName,
  scope: "project" | "global",
  slug: string,
) {
  return join(root, AGENTS[agent][scope], slug);
}

/**
 * Puts the skill into each agent's directory (replacing what is there), skipping agents whose
 * directory is the canonical one.
 */
export async function placeForAgents(options: {
  root: string;
  scope: "project" | "global";
  target: string;
  slug: string;
  agents: readonly AgentName[];
  copy: boolean;
}): Promise<Placement[]> {
  const out: Placement[] = [];
  for (const agent of options.agents) {
    const path = agentPath(options.root, agent, options.scope, options.slug);
    if (path === options.target) continue;
    const dir = join(path, "..");
    await mkdir(dir, { recursive: true });
    await rm(path, { recursive: true, force: true });
    const copy = options.copy || (AGENTS[agent] as AgentTarget).copy === true;
    if (copy) await cp(options.target, path, { recursive: true });
    else await symlink(relative(dir, options.target), path, "dir");
    out.push({ agent, path, how: copy ? "copy" : "link" });
  }
  return out;
}

/**
 * Removes what ClawHub put into agents' directories for this skill: a link to the canonical
 * copy, or a copy carrying our origin.json. Anything else there (the user's own folder) stays.
 */
export async function removeFromAgents(options: {
  root: string;
  scope: "project" | "global";
  target: string;
  slug: string;
  agents: readonly AgentName[];
}): Promise<string[]> {
  const removed: string[] = [];
  for (const agent of options.agents) {
    const path = agentPath(options.root, agent, options.scope, options.slug);
    if (path === options.target) continue;
    const st = await lstat(path).catch(() => undefined);
    if (!st) continue;
    const ours = st.isSymbolicLink()
      ? (await readlink(path)).endsWith(join(CANONICAL, options.slug))
      : st.isDirectory() && (await readOrigin(path))?.slug === options.slug;
    if (!ours) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}
