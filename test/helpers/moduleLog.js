"use strict";
// Preload (`node -r test/helpers/moduleLog.js ...`): at exit, writes the path of every CommonJS
// module the process loaded, one a line, to the file named by NAAW_MODULE_LOG. Plain JavaScript,
// so it adds no loader of its own to what it records.
const fs = require("fs");

const logFile = process.env.NAAW_MODULE_LOG;
if (!logFile) throw new Error("moduleLog.js: set NAAW_MODULE_LOG to the file to write");
process.on("exit", () => {
  fs.writeFileSync(logFile, Object.keys(require.cache).join("\n") + "\n");
});
