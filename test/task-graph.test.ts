// The runner's DAG (src/local/taskGraph.ts): which tasks are ready, and when no step left needs the
// component services, so the runner can stop them while the last built-in steps (the merge) run.
import { strict as assert } from "assert";
import { Task, TaskGraph } from "../src/local/taskGraph";
import { compileWorkflow } from "../src/workflow/compile";
import type { WorkflowGraph } from "../src/workflow/validate";

/** Every ready task, handed out and finished, until none is ready. */
function finishReady(tasks: TaskGraph): Task[] {
  const finished: Task[] = [];
  for (let task = tasks.next(); task; task = tasks.next()) {
    tasks.finish(task);
    finished.push(task);
  }
  return finished;
}

describe("task graph: the run's DAG as it expands", function () {
  this.timeout(60_000);
  let graph: WorkflowGraph;
  before(() => {
    const compiled = compileWorkflow("workflows/lidar.yaml");
    assert.ok(compiled.graph, compiled.diagnostics.map((d) => d.message).join("; "));
    graph = compiled.graph;
  });

  it("needs the services until the last notebook step of the last tile, not for the merge", () => {
    const tasks = new TaskGraph(graph);
    // Before the split, the tiles' group (not yet expanded) stands for its notebook steps.
    assert.equal(tasks.notebookStepsLeft, true);
    assert.deepEqual(finishReady(tasks).map((t) => t.step.id), ["split"]);
    assert.equal(tasks.notebookStepsLeft, true);
    const [group] = tasks.takeGroupsToExpand();
    assert.equal(group!.id, "tiles");
    tasks.expand(group!, 2);
    // Every tile step but the last tile's export: that one still needs a service.
    let last: Task | undefined;
    const tileSteps: Task[] = [];
    for (let task = tasks.next(); task; task = tasks.next()) {
      assert.equal(task.step.foreach, "tiles");
      if (task.item === 1 && task.step.id === "export") last = task;
      else tasks.finish(task);
      tileSteps.push(task);
    }
    assert.equal(tileSteps.length, 2 * 6);
    assert.equal(tasks.notebookStepsLeft, true);
    tasks.finish(last!);
    // The merge is ready once both tiles are done; the services are not needed from then on.
    const merge = tasks.next();
    assert.equal(merge?.step.id, "merge");
    assert.equal(tasks.notebookStepsLeft, false);
    assert.equal(tasks.done, false);
    tasks.finish(merge!);
    assert.equal(tasks.done, true);
  });

  it("has no notebook steps left at once when a foreach has no items", () => {
    const tasks = new TaskGraph(graph);
    finishReady(tasks);
    tasks.expand(tasks.takeGroupsToExpand()[0]!, 0);
    assert.equal(tasks.notebookStepsLeft, false);
    assert.deepEqual(finishReady(tasks).map((t) => t.step.id), ["merge"]);
    assert.equal(tasks.done, true);
  });
});
