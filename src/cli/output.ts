import { visibleText } from "../schema/index.ts";
/** Where the CLI writes, injected so tests run commands in-process without global mocks. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** True when stderr is a terminal: progress is drawn only then. */
  isTTY: boolean;
  /** Reads all of standard input (for `--token-stdin`); absent when there is none. */
  readStdin?: () => Promise<string>;
  /** Asks a question on the terminal without echoing the answer; absent when not a terminal. */
  askSecret?: (question: string) => Promise<string>;
  /** Asks a yes/no question on the terminal (default no); absent when not a terminal. */
  confirm?: (question: string) => Promise<boolean>;
}

/** A progress display for long operations. */
export interface Progress {
  update(done: number, total: number, label?: string): void;
  /** Clears the progress line. */
  done(): void;
}

const NO_PROGRESS: Progress = { update() {}, done() {} };

/**
 * A one-line progress display on stderr, redrawn at most every 100 ms. Disabled (a no-op) when
 * stderr is not a terminal or output is JSON, so pipes and scripts stay clean.
 */
export function createProgress(
  io: CliIo,
  options: { enabled: boolean; now?: () => number },
): Progress {
  if (!options.enabled || !io.isTTY) return NO_PROGRESS;
  const now = options.now ?? Date.now;
  let last = 0;
  let drawn = false;
  return {
    update(done, total, label) {
      const t = now();
      if (done < total && t - last < 100) return;
      last = t;
      const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
      const text = visibleText(`[${done}/${total}] ${pct}%${label ? ` ${label}` : ""}`);
      io.stderr.write(`\r\x1b[K${text.slice(0, 120)}`);
      drawn = true;
    },
    done() {
      if (drawn) io.stderr.write("\r\x1b[K");
      drawn = false;
    },
  };
}

/** Pads table columns to the widest cell. */
export function table(rows: string[][], gap = "  "): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join(gap),
    )
    .join("\n");
}
