import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's `clawhub` binary. */
export const CLAWHUB_BIN = fileURLToPath(new URL("../../bin/clawhub.js", import.meta.url));

/** What a finished CLI run printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `clawhub` binary in a child process with a clean environment: only PATH, a home
 * and config directory inside `cwd`, and `env`.
 */
export function runClawhub(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLAWHUB_BIN, ...args],
      {
        cwd,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: cwd,
          XDG_CONFIG_HOME: join(cwd, ".config"),
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Starts a long-running Node child (the CLI, an agent) and resolves once its stdout matches
 * `ready`; rejects with its output if it exits first.
 */
export function startProcess(
  args: string[],
  ready: RegExp,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", ...env },
  });
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const match = ready.exec(out);
      if (match) resolve({ child, match });
    });
    child.once("exit", (code) =>
      reject(new Error(`${args.join(" ")} exited with ${code}\n${out}${err}`)),
    );
  });
}

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}
