import type { Command } from "commander";
import { ClawHubError } from "../../errors/index.ts";
import type { CommandSpec } from "../command.ts";

/** Command words by the words before them ("" for the top level), and each command's flags. */
async function tree(): Promise<{ words: Map<string, Set<string>>; flags: Map<string, string[]> }> {
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
  const walk = (cmd: Command, path: string[]) => {
    const key = path.join(" ");
    flags.set(
      key,
      cmd.options.map((o) => o.long).filter((l): l is string => Boolean(l)),
    );
    for (const sub of cmd.commands) {
      const set = words.get(key) ?? new Set<string>();
      set.add(sub.name());
      words.set(key, set);
      walk(sub, [...path, sub.name()]);
    }
  };
  walk(program, []);
  return { words, flags };
}

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

function bash(t: Awaited<ReturnType<typeof tree>>): string {
  const cases = [...new Set([...t.words.keys(), ...t.flags.keys()])].map((key) => {
    const words = [...(t.words.get(key) ?? [])].join(" ");
    const flags = (t.flags.get(key) ?? []).join(" ");
    return `    ${quote(key)}) words=${quote(words)}; flags=${quote(flags)};;`;
  });
  return `# clawhub completion for bash: add to ~/.bashrc
#   source <(clawhub completion bash)
_clawhub() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    path="\${path:+$path }$w"
  done
  local words="" flags=""
  case "$path" in
${cases.join("\n")}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags --json --help" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  fi
}
complete -o default -F _clawhub clawhub
`;
}

function zsh(t: Awaited<ReturnType<typeof tree>>): string {
  return `#compdef clawhub
# clawhub completion for zsh: add to ~/.zshrc
#   source <(clawhub completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(t)
  .split("\n")
  .filter((l) => !l.startsWith("#"))
  .join("\n")}`;
}

function fish(t: Awaited<ReturnType<typeof tree>>): string {
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
    const t = await tree();
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
