// `npm run render`: regenerate workflows/rendered/ from every workflow under workflows/.
// `npm run render -- --check` fails (exit 1) when a committed rendering is stale.
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../src/cli/render";
import { formatDiagnostic } from "../src/diagnostics";
import { compileWorkflow } from "../src/workflow/compile";
import { committedPlans } from "../src/plan/planWorkflow";
import { committedRenderings } from "../src/workflow/render";
import { ensureDemoData } from "./demoData";

const WORKFLOWS = path.join(__dirname, "..", "workflows");
const RENDERED = path.join(WORKFLOWS, "rendered");
const check = process.argv.includes("--check");
let stale = 0;
let failed = false;
// The dev stack's plan is priced from the demo data's LAS headers.
ensureDemoData();
for (const name of fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort()) {
  const file = path.relative(process.cwd(), path.join(WORKFLOWS, name)).split(path.sep).join("/");
  const { graph, diagnostics } = compileWorkflow(file);
  diagnostics.forEach((d) => console.error(formatDiagnostic(d)));
  if (!graph) {
    failed = true;
    continue;
  }
  const outputs = new Map<string, string>();
  for (const [target, rendering] of committedRenderings(graph)) {
    if (rendering.problems.length > 0) {
      rendering.problems.forEach((p) => console.error(p));
      failed = true;
      continue;
    }
    outputs.set(target, rendering.text);
  }
  for (const [target, text] of committedPlans(file, graph)) outputs.set(target, text);
  for (const [target, text] of outputs) {
    const out = path.join(RENDERED, target);
    const current = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : undefined;
    if (current === text) continue;
    stale += 1;
    if (check) console.error(`stale: workflows/rendered/${target} (run npm run render)`);
    else {
      writeFileAtomic(out, text);
      console.log(`wrote workflows/rendered/${target}`);
    }
  }
}
process.exitCode = failed || (check && stale > 0) ? 1 : 0;
