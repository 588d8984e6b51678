import type { Command } from "commander";
import { ClawHubError } from "../../errors/index.ts";
import type { CommandSpec } from "../command.ts";

/**
 * Command words by the words before them ("" for the top level), each command's flags (its own
 * and, for the top level, the global ones), and the flags that take a value.
 */
async function tree(): Promise<{
  words: Map<string, Set<string>>;
  flags: Map<string, string[]>;
  valued: Set<string>;
}> {
  const { allCommands } = await import("./index.ts");
  const { buildProgram } = await import("../main.ts");
  const specs = await allCommands();
  const program = buildProgram(
    specs,
    { stdout: { write: () => 0 }, stderr: { write: () => 0 }, isTTY: false },
    async () => {},
  );
  const words = new Map<string, Set<string>>();
  const flags = new Map<string, string[]>();
  const valued = new Set<string>();
  const walk = (cmd: Command, path: string[]) => {
    const key = path.join(" ");
    flags.set(
      key,
      cmd.options.map((o) => o.long).filter((l): l is string => Boolean(l)),
    );
    for (const o of cmd.options) if (o.long && (o.required || o.optional)) valued.add(o.long);
    for (const sub of cmd.commands) {
      const set = words.get(key) ?? new Set<string>();
      set.add(sub.name());
      words.set(key, set);
      walk(sub, [...path, sub.name()]);
    }
  };
  walk(program, []);
  return { words, flags, valued };
}

/** Values offered after a flag, and for the first argument of some commands. */
async function values(): Promise<{ flags: Record<string, string>; args: Record<string, string> }> {
  const { AGENTS } = await import("../../install/index.ts");
  return {
    flags: {
      "--agent": Object.keys(AGENTS).join(" "),
      "--embedder": "local none",
      "--sort": "newest updated downloads stars installs",
      "--visibility": "public org private",
      "--default-visibility": "org private public",
      "--role": "owner publisher reader admin user",
      "--kind": "agent caller",
    },
    args: { completion: "bash zsh fish" },
  };
}

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

type Tree = Awaited<ReturnType<typeof tree>> & { values: Awaited<ReturnType<typeof values>> };

function bash(t: Tree): string {
  const global = (t.flags.get("") ?? []).join(" ");
  const cases = [...new Set([...t.words.keys(), ...t.flags.keys()])].map((key) => {
    const words = [...(t.words.get(key) ?? [])].join(" ");
    const flags = key
      ? [...(t.flags.get(key) ?? []), ...(t.flags.get("") ?? [])].join(" ")
      : global;
    const args = t.values.args[key] ?? "";
    return `    ${quote(key)}) words=${quote(words)}; flags=${quote(flags)}; args=${quote(args)};;`;
  });
  const flagValues = Object.entries(t.values.flags).map(
    ([flag, list]) => `    ${flag}) COMPREPLY=( $(compgen -W ${quote(list)} -- "$cur") ); return;;`,
  );
  return `# clawhub completion for bash: add to ~/.bashrc
#   source <(clawhub completion bash)
_clawhub_at() {
  words="" flags="" args=""
  case "$1" in
${cases.join("\n")}
  esac
}
_clawhub() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path="" w i skip=0 done=0 words flags args
  ((COMP_CWORD > 0)) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local valued=${quote([...t.valued].join(" "))}
  # A flag's value: known values, else the shell's default (files).
  case "$prev" in
${flagValues.join("\n")}
  esac
  if [[ "$prev" == --* && " $valued " == *" $prev "* ]]; then COMPREPLY=(); return; fi
  # The command path: words that name a (sub)command, skipping flags and their values
  # (global options may come first) and stopping at the first positional argument.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    if [[ "$w" == -* ]]; then
      [[ "$w" != *=* && " $valued " == *" $w "* ]] && skip=1
      continue
    fi
    ((done)) && continue
    _clawhub_at "$path"
    if [[ " $words " == *" $w "* ]]; then path="\${path:+$path }$w"; else done=1; fi
  done
  _clawhub_at "$path"
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags --json --help" -- "$cur") )
  elif ((done)); then
    COMPREPLY=()
  elif [[ -n "$words" ]]; then
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  elif [[ -n "$args" ]]; then
    COMPREPLY=( $(compgen -W "$args" -- "$cur") )
  fi
}
complete -o default -F _clawhub clawhub
`;
}

function zsh(t: Tree): string {
  return `#compdef clawhub
# clawhub completion for zsh: add to ~/.zshrc
#   source <(clawhub completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(t)
  .split("\n")
  .filter((l) => !l.startsWith("#"))
  .join("\n")}`;
}

function fish(t: Tree): string {
  const lines = [
    "# clawhub completion for fish: clawhub completion fish > ~/.config/fish/completions/clawhub.fish",
    "complete -c clawhub -f",
  ];
  for (const [key, words] of t.words) {
    const path = key.split(" ").filter(Boolean);
    const condition =
      path.length === 0
        ? "__fish_use_subcommand"
        : `__fish_seen_subcommand_from ${path[path.length - 1]}`;
    lines.push(`complete -c clawhub -n ${quote(condition)} -a ${quote([...words].join(" "))}`);
  }
  for (const [key, flags] of t.flags) {
    const path = key.split(" ").filter(Boolean);
    if (path.length === 0) continue;
    for (const flag of flags)
      lines.push(
        `complete -c clawhub -n ${quote(`__fish_seen_subcommand_from ${path[path.length - 1]}`)} -l ${flag.replace(/^--/, "")}`,
      );
  }
  return `${lines.join("\n")}\n`;
}

/** `clawhub completion bash|zsh|fish`. */
export const completionCommand: CommandSpec = {
  path: ["completion"],
  args: "<shell>",
  summary: "print a shell completion script (bash, zsh or fish)",
  help: "bash: source <(clawhub completion bash) in ~/.bashrc\nzsh:  source <(clawhub completion zsh) in ~/.zshrc\nfish: clawhub completion fish > ~/.config/fish/completions/clawhub.fish",
  async run([shell], _options) {
    const t = { ...(await tree()), values: await values() };
    const script =
      shell === "bash"
        ? bash(t)
        : shell === "zsh"
          ? zsh(t)
          : shell === "fish"
            ? fish(t)
            : undefined;
    if (script === undefined)
      throw new ClawHubError(
        "USAGE",
        `unknown shell ${JSON.stringify(shell)}: use bash, zsh or fish`,
      );
    return { data: { shell, script }, text: script.trimEnd() };
  },
};
