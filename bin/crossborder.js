#!/usr/bin/env node
// The crossborder command. Sources are TypeScript, compiled on load by ./register (esbuild, types are
// stripped, not checked: `npm run typecheck` does that), so the command always runs the checkout's code.
"use strict";
require("./register");
const { run } = require("../cli/main.ts");
run(process.argv.slice(2)).then((code) => process.exit(code));
