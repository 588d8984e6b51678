/** The process edge of the CLI: hands argv, stdio, environment and cwd to {@link main}. */
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2), {
  io: { stdout: process.stdout, stderr: process.stderr, isTTY: Boolean(process.stderr.isTTY) },
  env: process.env,
  cwd: process.cwd(),
  shutdown: () =>
    new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    }),
});
