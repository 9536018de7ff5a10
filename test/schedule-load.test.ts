// Custom scheduling policies: TypeScript modules named by path, type-checked with the compiler API
// before they are loaded (src/schedule/load.ts), then held to applyPolicy's guard like the built-ins.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { applyPolicy, budgetPolicy, defaultPolicy, loadPolicy, NO_CLUSTER_FACTS, podTemplates, policyDiagnostics, SchedulingPolicyError, spotPolicy, workflowSpec } from "../src/schedule";
import { ArgoDocument, renderArgo } from "../src/workflow/argo";
import { compileWorkflow } from "../src/workflow/compile";
import { argoValidators } from "./helpers/argoSchema";
import { tempDir } from "./helpers/notebooks";

const ROOT = path.resolve(__dirname, "..");
const FIXTURES = path.join(ROOT, "test", "fixtures", "schedule");

function renderedDemo(): ArgoDocument {
  const previous = process.cwd();
  process.chdir(ROOT);
  try {
    const { graph } = compileWorkflow("workflows/lidar.yaml");
    assert.ok(graph);
    return renderArgo(graph).document;
  } finally {
    process.chdir(previous);
  }
}

describe("loading scheduling policies", function () {
  let rendered: ArgoDocument;
  before(function () {
    rendered = renderedDemo();
  });

  it("a built-in by name; an unknown name lists the built-ins", function () {
    assert.equal(loadPolicy("default"), defaultPolicy);
    assert.equal(loadPolicy("budget"), budgetPolicy);
    assert.equal(loadPolicy("spot"), spotPolicy);
    assert.throws(() => loadPolicy("fastest"), (e: Error) => {
      assert.ok(e instanceof SchedulingPolicyError);
      assert.equal(e.message, "unknown scheduling policy 'fastest'; the built-ins are default, budget, spot, or give the path of a TypeScript module that exports one (./policies/mine.ts)");
      return true;
    });
  });

  it("policies/example.ts: type-checks, loads, and sets the PriorityClass and a label on every pod", function () {
    const policy = loadPolicy("./policies/example.ts", ROOT);
    assert.equal(policy.name, "example-priority");
    const result = applyPolicy(policy, rendered, { cluster: NO_CLUSTER_FACTS });
    assert.equal(workflowSpec(result).podPriorityClassName, "naaw-batch");
    for (const t of podTemplates(result)) assert.deepEqual(t.metadata, { labels: { "naaw.dev/priority": "naaw-batch" } }, t.name);
    assert.deepEqual(argoValidators(true).workflow(result), []);
  });

  it("a module with a type error is reported as file:line:col and not loaded", function () {
    const file = path.join(FIXTURES, ".not-in-tsconfig", "broken.ts");
    assert.throws(() => loadPolicy(path.relative(ROOT, file), ROOT), (e: Error) => {
      assert.ok(e instanceof SchedulingPolicyError);
      const [first, ...rest] = e.message.split("\n");
      assert.equal(first, "scheduling policy test/fixtures/schedule/.not-in-tsconfig/broken.ts does not type-check:");
      assert.deepEqual(rest.map((l) => l.replace(/^.*?(test\/fixtures)/, "$1")), ["test/fixtures/schedule/.not-in-tsconfig/broken.ts:12:5: Type 'string' is not assignable to type 'number'."]);
      return true;
    });
    assert.equal(require.cache[file], undefined, "a module that does not type-check was loaded");
  });

  it("a syntax error, an import of a missing module: the same, with their lines", function () {
    const { dir, cleanup } = tempDir("naaw-policy-");
    after(cleanup);
    const schedule = path.join(ROOT, "src", "schedule", "policy").replace(/\\/g, "/");
    const file = path.join(dir, "mine.ts");
    fs.writeFileSync(file, `import type { SchedulingPolicy } from "${schedule}";\nimport { helper } from "./helpers";\nconst p: SchedulingPolicy = { name: "mine", description: "", apply(m) { return m } ;\nexport default p;\n`);
    const problems = policyDiagnostics(file);
    assert.ok(problems.some((p) => /mine\.ts:2:24: Cannot find module '\.\/helpers'/.test(p)), problems.join("\n"));
    assert.ok(problems.includes(`${file}:3:84: ',' expected.`), problems.join("\n"));
    assert.throws(() => loadPolicy(file), /does not type-check:\n[\s\S]*\/mine\.ts:2:24: Cannot find module/);
  });

  it("a module that type-checks but exports no policy, a missing file, a .js file: errors that say what a policy is", function () {
    assert.throws(() => loadPolicy("test/fixtures/schedule/no-policy.ts", ROOT), /scheduling policy test\/fixtures\/schedule\/no-policy\.ts exports no SchedulingPolicy: `export default` \(or `export const policy`\) an object with a name, a description and apply\(manifest, context\)/);
    assert.throws(() => loadPolicy("./policies/nope.ts", ROOT), /scheduling policy \.\/policies\/nope\.ts: no such file \(.*policies\/nope\.ts\); give a path relative to .*, or a built-in: default, budget, spot/);
    assert.throws(() => loadPolicy("./policies/mine.js", ROOT), /a custom policy is a TypeScript module \(\.ts\)/);
  });

  it("a loaded policy that adds a task (export const policy) is refused by applyPolicy", function () {
    const policy = loadPolicy("test/fixtures/schedule/adds-task.ts", ROOT);
    assert.equal(policy.name, "adds-task");
    assert.throws(() => applyPolicy(policy, rendered, { cluster: NO_CLUSTER_FACTS }), /scheduling policy 'adds-task' changed spec\.templates\[name=main\]\.dag\.tasks\[name=extra\]/);
  });
});
