/** The process edge of the CLI: hands argv, stdio, environment and cwd to {@link main}. */
import { main } from "./main.ts";

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** A yes/no question on the terminal; anything but y or yes is no. */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** A hidden prompt: the answer is read with echo off, so a token never shows on screen. */
function askSecret(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let answer = "";
    const done = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          done();
          resolve(answer);
          return;
        }
        if (ch === "\u0003") {
          done();
          reject(new Error("cancelled"));
          return;
        }
        if (ch === "\u007f") answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    stdin.on("data", onData);
  });
}

process.exitCode = await main(process.argv.slice(2), {
  io: {
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: Boolean(process.stderr.isTTY),
    readStdin,
    ...(process.stdin.isTTY ? { askSecret } : {}),
    ...(process.stdin.isTTY && process.stderr.isTTY ? { confirm } : {}),
  },
  env: process.env,
  cwd: process.cwd(),
  shutdown: () =>
    new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        resolve();
        // Shutdown is bounded: servers get the grace period to drain, then the process exits
        // whatever is still open (a flood's timers once kept it alive for minutes). A second
        // signal exits at once, as with most servers.
        const grace = shutdownGraceMs(process.env.CLAWHUB_SHUTDOWN_GRACE_MS);
        setTimeout(() => {
          process.stderr.write(
            `clawhub: still closing ${grace} ms after ${signal}; exiting (CLAWHUB_SHUTDOWN_GRACE_MS sets the grace period)\n`,
          );
          process.exit(1);
        }, grace).unref();
        process.once(signal === "SIGINT" ? "SIGTERM" : "SIGINT", () => process.exit(130));
        process.once(signal, () => process.exit(130));
      };
      process.once("SIGINT", () => stop("SIGINT"));
      process.once("SIGTERM", () => stop("SIGTERM"));
    }),
});

/** The grace period after a stop signal: default 30 s, as Kubernetes gives a pod. */
function shutdownGraceMs(raw: string | undefined): number {
  const n = raw === undefined ? Number.NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : 30_000;
}
