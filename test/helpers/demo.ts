import { strict as assert } from "assert";
import * as path from "path";
import { compileWorkflow } from "../../src/workflow/compile";
import { WorkflowGraph } from "../../src/workflow/validate";

/** The repository's root. */
export const ROOT = path.resolve(__dirname, "..", "..");

/** The demo workflow (workflows/lidar.yaml) compiled from the repository's root, as the CLI sees it. */
export function demoGraph(): WorkflowGraph {
  const previous = process.cwd();
  process.chdir(ROOT);
  try {
    const { graph, diagnostics } = compileWorkflow("workflows/lidar.yaml");
    assert.ok(graph, `the demo does not compile: ${diagnostics.map((d) => d.message).join("; ")}`);
    return graph;
  } finally {
    process.chdir(previous);
  }
}
