#!/usr/bin/env node
/**
 * `htrac` executable: runs the CLI with the real process streams and exits with its code.
 */
import readline from "node:readline";
import { runCli } from "./program.js";

function write(stream: NodeJS.WriteStream, s: string): void {
  try {
    stream.write(s);
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
  stderr: (s) => write(process.stderr, s),
  readStdin,
  stdinIsTTY: process.stdin.isTTY === true,
  stdoutIsTTY: process.stdout.isTTY === true,
  prompt,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
