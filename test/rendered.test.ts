import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { compileWorkflow } from "../src/workflow/compile";
import { committedPlans } from "../src/plan/planWorkflow";
import { committedRenderings, renderWorkflow } from "../src/workflow/render";
import { ensureDemoData } from "../scripts/demoData";

const REPO = path.resolve(__dirname, "..");

describe("workflows/rendered: the committed renderings are the real ones", () => {
  const workflows = fs.readdirSync(path.join(REPO, "workflows")).filter((f) => /\.ya?ml$/.test(f));

  it("there is a workflow to check", () => assert.ok(workflows.includes("lidar.yaml")));

  for (const name of workflows) {
    it(`${name}: every rendering under workflows/rendered/ is fresh (else run npm run render and review the diff)`, () => {
      const { graph, diagnostics } = compileWorkflow(path.join("workflows", name).split(path.sep).join("/"), undefined);
      assert.ok(graph, diagnostics.map((d) => d.message).join("\n"));
      const renderings = committedRenderings(graph);
      assert.strictEqual(renderings.size, 3);
      for (const [file, rendering] of renderings) {
        assert.deepStrictEqual(rendering.problems, [], file);
        const committed = path.join(REPO, "workflows", "rendered", file);
        assert.ok(fs.existsSync(committed), `workflows/rendered/${file} is missing: run npm run render`);
        assert.ok(fs.readFileSync(committed, "utf8") === rendering.text, `workflows/rendered/${file} is stale: run npm run render`);
      }
    });
  }

  describe("the committed plans: one per stack, as naaw plan --stack prints it", function () {
    this.timeout(300_000);
    before(function () {
      // The dev stack is priced from the demo data's LAS headers (npm run demo:data makes them).
      ensureDemoData();
    });

    it("every stack of lidar.yaml has a fresh plan under workflows/rendered/ (else run npm run render and review the cost diff)", function () {
      const { graph } = compileWorkflow("workflows/lidar.yaml");
      const plans = committedPlans("workflows/lidar.yaml", graph!);
      assert.deepStrictEqual([...plans.keys()], ["lidar.plan.aws-lidar.txt", "lidar.plan.dev.txt", "lidar.plan.openstack-lidar.txt"]);
      for (const [file, text] of plans) {
        const committed = path.join(REPO, "workflows", "rendered", file);
        assert.ok(fs.existsSync(committed), `workflows/rendered/${file} is missing: run npm run render`);
        assert.ok(fs.readFileSync(committed, "utf8") === text, `workflows/rendered/${file} is stale: run npm run render`);
      }
    });
  });

  it("rendering is deterministic: the same workflow gives byte-identical output for every engine", () => {
    const first = compileWorkflow("workflows/lidar.yaml").graph!;
    const second = compileWorkflow("workflows/lidar.yaml").graph!;
    for (const target of ["argo", "cwl", "mermaid"] as const) {
      assert.strictEqual(renderWorkflow(first, target).text, renderWorkflow(second, target).text, target);
    }
    assert.doesNotMatch(renderWorkflow(first, "argo").text, /20\d\d-\d\d-\d\dT/, "no timestamps");
  });

  it("the Mermaid picture shows every step, the foreach group and the fan-in", () => {
    const text = renderWorkflow(compileWorkflow("workflows/lidar.yaml").graph!, "mermaid").text;
    for (const id of ["split", "load", "normalize", "filter", "neighbors", "features", "export", "merge"]) assert.match(text, new RegExp(`\\b${id}\\["`));
    assert.match(text, /subgraph tiles\["foreach tiles: each of split\.tiles"\]/);
    assert.match(text, /export -->\|"raster\[\], raster_info\[\]"\| merge/, "the fan-in, its edge text quoted (Mermaid reads an unquoted [ as a node shape)");
  });
});
