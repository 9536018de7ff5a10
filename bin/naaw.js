#!/usr/bin/env node
"use strict";
// Run the TypeScript CLI directly (see register.js).
require("./register");
require("../src/cli/main").main(process.argv);
