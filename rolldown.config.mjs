// The `htrac` executable as one module (plus the TUI, loaded on demand): node resolves,
// links and evaluates ~40 small ES modules per start otherwise (~25 ms of every command).
// Packages stay external (resolved from node_modules as usual).
export default {
  input: "dist/src/cli/main.js",
  platform: "node",
  external: [/^[^./]/],
  output: {
    dir: "dist/bin",
    cleanDir: true,
    format: "esm",
    entryFileNames: "htrac.js",
    chunkFileNames: "[name]-[hash].js",
  },
};
