#!/usr/bin/env node
/**
 * `htrac` executable: runs the CLI with the real process streams and exits with its code.
 */
import readline from "node:readline";
import { runCli } from "./program.js";

function write(stream: NodeJS.WriteStream, s: string | Buffer, encoding: BufferEncoding = "utf8"): void {
  try {
    if (typeof s === "string") stream.write(s, encoding);
    else stream.write(s);
  } catch {
    /* EPIPE: the reader went away */
  }
}
process.stdout.on("error", () => {});

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

function prompt(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) =>
    rl.question(question, (a) => {
      rl.close();
      resolve(a);
    }),
  );
}

const code = await runCli(process.argv.slice(2), {
  stdout: (s) => write(process.stdout, s),
  // JSON output is ASCII: latin1 writes it as is (a copy instead of a UTF-8 encoding pass).
  stdoutAscii: (s) => write(process.stdout, s, "latin1"),
  stdoutBytes: (parts) => {
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
});
process.exitCode = code;
