import type { Command } from "commander";
import { ClawHubError } from "../../errors/index.ts";
import { logLine, visibleText } from "../../schema/index.ts";

/** `--log-format`: how `serve` and `hub` write their logs to stderr. */
export function logFormatOption(cmd: Command): void {
  cmd.option(
    "--log-format <format>",
    "text (one escaped line each) or json (one object per line: time, level, component, msg)",
    "text",
  );
}

const WARNING = /\b(failed|failure|error|refused|dropped|revoked|unreachable)\b/i;

/**
 * The logger the flag asks for. Library code logs lines such as `hub: agent x gone: ...`; text
 * escapes what they quote (logLine), json makes each an object a log shipper can parse, with
 * the component taken from the line's prefix. Either way a quoted newline cannot forge a line.
 */
export function loggerOf(
  options: Record<string, unknown>,
  write: (text: string) => void,
  now: () => number = Date.now,
): (line: string) => void {
  const format = String(options.logFormat ?? "text");
  if (format === "text") return (line) => write(`${logLine(line)}\n`);
  if (format !== "json")
    throw new ClawHubError("USAGE", `--log-format is text or json, got "${format.slice(0, 40)}"`);
  return (line) => {
    const m = /^([a-z][a-z-]{0,30}): /.exec(line);
    const msg = m ? line.slice(m[0].length) : line;
    write(
      `${JSON.stringify({
        time: new Date(now()).toISOString(),
        level: WARNING.test(msg) ? "warn" : "info",
        ...(m ? { component: m[1] } : {}),
        msg: visibleText(msg),
      })}\n`,
    );
  };
}
