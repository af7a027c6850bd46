// Lint: eslint's and typescript-eslint's recommended rules (no type-aware rules: fast).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "scratch/**", ".bench/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.ts", "tests/**/*.ts", "bench/**/*.ts"],
    rules: {
      "no-control-regex": "off", // the sanitizers match control characters on purpose
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
      // Defensive initialisation before try/catch is deliberate here.
      "no-useless-assignment": "off",
    },
  },
);
