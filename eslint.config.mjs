// typescript-eslint's recommended rules over the project's own TypeScript. Formatting is Prettier's
// (.prettierrc.json); `npm run lint` runs both checks and is part of `npm test`.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "out/", ".tools/", "gitops/charts/", "bin/*.js"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        rules: {
            // Commands load their modules with require() inside the action, so that `crossborder images`
            // does not pay for the Pulumi SDKs the plan needs (startup time is benchmarked).
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        },
    },
    {
        // CommonJS configuration files (.mocharc.cjs): Node's require and module.
        files: ["**/*.cjs"],
        languageOptions: {
            sourceType: "commonjs",
            globals: { require: "readonly", module: "writable", process: "readonly" },
        },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        files: ["test/**/*.ts"],
        rules: {
            // Tests read recorded resource inputs and parsed documents whose shapes are the providers' and
            // the charts'; an unexpected shape fails the assertion that reads it, which is the check wanted.
            "@typescript-eslint/no-explicit-any": "off",
        },
    },
);
