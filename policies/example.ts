// An example of a custom scheduling policy: name it in a stack (`naaw:schedulingPolicy:
// ./policies/example.ts`) or on the command line (`npx naaw render workflows/lidar.yaml --to argo
// --schedule ./policies/example.ts`). It is type-checked before it is loaded, and what it returns
// may differ from the rendered manifest only in scheduling fields (docs/scheduling.md).
import { podTemplates, workflowSpec } from "../src/schedule/manifest";
import type { SchedulingPolicy } from "../src/schedule/policy";

/**
 * The PriorityClass workflow pods run at, so that on a shared cluster the scheduler places them
 * before best-effort work and preempts that work when nodes are full. It must exist on the cluster
 * (`kubectl create priorityclass naaw-batch --value=1000 --description="NaaW workflow steps"`): the
 * API server refuses a pod that names a missing class.
 */
export const PRIORITY_CLASS = "naaw-batch";

const policy: SchedulingPolicy = {
  name: "example-priority",
  description: `every workflow pod at PriorityClass ${PRIORITY_CLASS}, labelled with the policy's name`,
  apply(manifest) {
    workflowSpec(manifest).podPriorityClassName = PRIORITY_CLASS;
    // A label on each pod says which policy placed it: `kubectl get pods -l naaw.dev/priority=naaw-batch`.
    for (const template of podTemplates(manifest)) {
      template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, "naaw.dev/priority": PRIORITY_CLASS } };
    }
    return manifest;
  },
};

export default policy;
