import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      "coverage/**",
      "examples/cdktf/cdktf.out/**",
      "examples/cdktf/dist/**",
      "examples/cdktf/node_modules/**",
      "**/*.js",
      "!bench/**/*.js",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-require-imports": "off",
    },
  },
  {
    files: ["bench/**/*.js"],
    languageOptions: {
      globals: {
        require: "readonly",
        module: "writable",
        process: "readonly",
        console: "readonly",
        __dirname: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        global: "readonly",
        Buffer: "readonly",
        performance: "readonly",
      },
    },
  },
  {
    // AssemblyScript: its integers are 64-bit where declared so, not JavaScript numbers.
    files: ["wasm/**/*.ts"],
    rules: { "no-loss-of-precision": "off" },
  },
);
