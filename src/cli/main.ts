/**
 * The CLI program of the `htrac` executable (started by launcher.ts): runs the CLI with the
 * real process streams and exits with its code.
 */
import fs from "node:fs";
import path from "node:path";
import { runCli } from "./program.js";
import { importPackage } from "../store/esm.js";

function write(stream: NodeJS.WriteStream, s: string | Buffer): void {
  try {
    stream.write(s);
  } catch {
    /* EPIPE: the reader went away */
  }
}
process.stdout.on("error", () => {});

let fileOut: boolean | undefined;
/** Whether stdout is a regular file or a device other than a terminal (written blocking). */
function stdoutIsFile(): boolean {
  if (fileOut === undefined) {
    try {
      const st = fs.fstatSync(1);
      fileOut = st.isFile() || (st.isCharacterDevice() && !process.stdout.isTTY);
    } catch {
      fileOut = false;
    }
  }
  return fileOut;
}

/** `writev` to fd 1 until every byte is out (a short write continues where it stopped). */
function writevAll(parts: Buffer[]): void {
  try {
    let rest = parts;
    while (rest.length) {
      let n = fs.writevSync(1, rest);
      let k = 0;
      while (k < rest.length && n >= rest[k].length) n -= rest[k++].length;
      rest = rest.slice(k);
      if (n > 0) rest[0] = rest[0].subarray(n);
    }
  } catch {
    /* EPIPE and such: the reader went away */
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

async function prompt(question: string): Promise<string> {
  // (loaded on demand: only the setup wizard asks questions)
  const readline = await importPackage<typeof import("node:readline")>("node:readline");
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) =>
    rl.question(question, (a) => {
      rl.close();
      resolve(a);
    }),
  );
}

/** Run the CLI on this process's arguments and streams, then exit with its code. */
async function main(): Promise<void> {
  const code = await runCli(process.argv.slice(2), {
    stdout: (s) => write(process.stdout, s),
    stdoutBytes: (parts) => {
      if (stdoutIsFile()) {
        // A file or /dev/null: process.stdout writes each buffer with its own call; gathered
        // writes (1024 buffers per call) take a fraction of the time.
        for (let i = 0; i < parts.length; i += 1024) writevAll(parts.slice(i, i + 1024));
        return;
      }
      // Corked: a pipe or terminal gets them in gathered writes (writev), not one call each.
      process.stdout.cork();
      for (const b of parts) write(process.stdout, b);
      process.stdout.uncork();
    },
    stderr: (s) => write(process.stderr, s),
    readStdin,
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    prompt,
    env: process.env,
    cwd: process.cwd(),
    self: process.argv[1] ? [process.execPath, path.resolve(process.argv[1])] : undefined,
  });
  process.exitCode = code;
  // Everything the command wrote has been handed to the OS (nothing buffered in the streams,
  // as with a file, /dev/null, a terminal, or a pipe that took it all): leave now instead of
  // tearing down a heap of ~100 MB first (~15 ms of a 10k-item `ready`). A pipe still
  // draining keeps the process until it has written everything.
  if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
}

// (no top-level await: the executable is bundled as a CommonJS script, see launcher.ts)
void main();
