#!/usr/bin/env node
// The crossborder command. Sources are TypeScript; tsx compiles them on load (esbuild, no type check:
// `npm run typecheck` does that), so the command always runs the code in the checkout.
"use strict";
require("tsx/cjs");
const { run } = require("../cli/main.ts");
run(process.argv.slice(2)).then((code) => process.exit(code));
