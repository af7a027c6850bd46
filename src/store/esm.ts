/**
 * `import()` of a package (the ES-only execa, chokidar, clipboardy; resvg; node builtins
 * loaded on demand), by way of the `htrac` executable's launcher when it runs this code:
 * code that V8 takes from a code cache on Node 20 has lost its module context and cannot
 * call `import()` itself (`ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING`; see cli/launcher.ts).
 * Anywhere else (the library, tests) it is a plain `import()`.
 */

/** Where the launcher puts its `import()` (a registered symbol: one per process). */
export const IMPORT_HOOK = Symbol.for("htrac.importPackage");

/**
 * Load a package or builtin by name.
 * @param name a bare specifier (`execa`, `node:readline`)
 * @returns the module namespace (type it at the call: `importPackage<typeof import("execa")>`)
 */
export function importPackage<T>(name: string): Promise<T> {
  const hook = (globalThis as Record<symbol, unknown>)[IMPORT_HOOK] as
    ((name: string) => Promise<unknown>) | undefined;
  return (hook ? hook(name) : import(name)) as Promise<T>;
}
