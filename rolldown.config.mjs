// The `htrac` executable: the CLI and TUI bundled as one CommonJS script (node resolves,
// links and evaluates ~40 small ES modules per start otherwise: ~25 ms of every command),
// started by a small launcher that keeps V8's code cache for it (src/cli/launcher.ts: ~30 ms
// of every command on Node 20). Packages stay external (resolved from node_modules as usual;
// ES-only ones are loaded with `import()`).
export default [
  {
    input: "dist/src/cli/main.js",
    platform: "node",
    external: [/^[^./]/],
    output: {
      dir: "dist/bin",
      cleanDir: true,
      format: "cjs",
      entryFileNames: "htrac-main.cjs",
      codeSplitting: false,
    },
  },
  {
    input: "dist/src/cli/launcher.js",
    platform: "node",
    external: [/^[^./]/],
    output: { dir: "dist/bin", format: "esm", entryFileNames: "htrac.js" },
  },
];
