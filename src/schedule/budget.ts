import type { Calibration, StepCalibration } from "../plan/calibration";
import type { Estimate } from "../plan/model";
import { JOIN_MEMORY_MIB, stepMemoryBytes, stepMillicores } from "../plan/pods";
import type { Plan } from "../plan/plan";
import type { ArgoDocument } from "../workflow/argo";
import { JOIN_STEP } from "../workflow/argo/batched/chainTemplate";
import { containerStep, podTemplates, stepsByTemplate, workflowSpec } from "./manifest";
import { SchedulingContext, SchedulingPolicy, SchedulingPolicyError } from "./policy";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/*
 * `budget`: pods sized from what their steps measured, so that they pack the nodes the planner
 * priced (src/plan/pods.ts sizes them by the same rules), and no more pods at once than the plan has slots.
 *
 * - CPU request: the step's mean cores while it ran (CPU seconds / wall seconds in the calibration),
 *   rounded up to 50m, at least 100m, at most one core (the steps are single-threaded); the planner's
 *   `stepMillicores`. No CPU limit: a pod may use an idle core.
 * - Memory request and limit: the step's measured peak, scaled to the plan's largest tile for a tile
 *   step (runtime baseline plus growth per point, src/plan/pods.ts `stepMemoryBytes`), times the
 *   planner's headroom, rounded up to a MiB. The split and merge steps stream their data, so their
 *   measured peak is taken as it is, as the planner takes it.
 * - A tile batch pod (a containerSet) asks for the SUM of its containers, as the planner counts it:
 *   its containers run at once. Its `join` container keeps the rendering's CPU and memory and gets the
 *   pod's whole ephemeral-storage request, the planner's `podDiskGiB` (its tiles' pieces, the chain's
 *   window of intermediates, its rasters: all on the pod's emptyDir), so that the scheduler puts no
 *   more batch pods on a node than its volume (the plan's `nodeVolumeGiB`) holds. The join is the
 *   container that owns the pieces; one request per pod keeps the sum exact.
 * - `spec.parallelism`: the plan's slots, nodes × slots per node.
 *
 * A pod's requests are at most the per-slot share the planner priced, so any mix of `slotsPerNode`
 * such pods fits one planned node (the merge runs alone). A request that does not fit the node at all
 * (a stale calibration, a plan made for another workflow) is an error, not a pod that stays Pending.
 * Requests the workflow's `resources:` set are replaced: the plan was priced from the measurements.
 */

/** Node capacity left for pods, as the planner counts it (src/plan/model.ts `slotsPerNode`). */
function allocatable(plan: Plan, chosen: Estimate): { cpu: number; memoryBytes: number } {
  const a = plan.request.assumptions;
  const m = chosen.candidate.machine;
  return { cpu: m.vcpus - a.reservedCpuPerNode, memoryBytes: (m.memoryGiB - a.reservedMemoryGiB - a.reservedMemoryFraction * m.memoryGiB) * GiB };
}

/** Mean cores a step kept busy, in millicores: the planner's rule (src/plan/pods.ts), so the pods are the ones it priced. */
export const measuredMillicores: (step: StepCalibration) => number = stepMillicores;

/** Memory a step's pod needs on this plan, in MiB (rounded up). */
export function plannedMemoryMiB(step: StepCalibration, calibration: Calibration, plan: Plan, chosen: Estimate): number {
  const bytes = step.phase === "tile" ? stepMemoryBytes(step, calibration.runtimeBaselineMiB, chosen.tileCounts.maxPoints) : step.peakMemoryMiB * MiB;
  return Math.ceil((bytes * plan.request.assumptions.memoryHeadroom) / MiB);
}

function chosenPlan(context: SchedulingContext): { plan: Plan; chosen: Estimate } {
  const plan = context.plan;
  if (!plan) throw new SchedulingPolicyError("needs the stack's plan to size pods (give the stack: `naaw render --schedule budget --stack NAME`, or naaw:schedulingPolicy in a stack the planner prices)");
  if (!plan.chosen) throw new SchedulingPolicyError(`the plan has no cluster to pack: ${plan.reason ?? "it is not feasible"}`);
  return { plan, chosen: plan.chosen };
}

export const budgetPolicy: SchedulingPolicy = {
  name: "budget",
  description: "requests from the calibration's measured CPU and memory per step and the plan's disk per tile batch pod (ephemeral-storage), so pods pack the planned nodes; workflow parallelism equal to the plan's slots (nodes × slots per node)",
  apply(manifest: ArgoDocument, context: SchedulingContext): ArgoDocument {
    const { plan, chosen } = chosenPlan(context);
    const calibration = context.calibration ?? plan.calibration;
    const node = allocatable(plan, chosen);
    const stepsOf = stepsByTemplate(manifest);
    const where = `the calibration of ${calibration.workflow} (measured ${calibration.measuredAt})`;
    const measuredStep = (id: string, template: string) => {
      const step = calibration.steps.find((s) => s.step === id);
      if (!step) throw new SchedulingPolicyError(`step '${id}' (template '${template}') has no measurement in ${where}; run \`npx naaw plan --calibrate\` to measure the workflow as it is now`);
      return step;
    };
    for (const template of podTemplates(manifest)) {
      if (template.data) continue; // Argo's own pod: nothing of ours to size
      if (template.containerSet) {
        // A batch of tiles: its containers run at once, each sized for its own step (the join keeps its own
        // CPU and memory and carries the pod's disk).
        let podMiB = 0;
        for (const container of template.containerSet.containers) {
          const id = containerStep(container);
          if (id === JOIN_STEP) {
            const requests = { ...container.resources?.requests, "ephemeral-storage": `${chosen.podDiskGiB}Gi` };
            container.resources = { ...container.resources, requests };
            podMiB += JOIN_MEMORY_MIB;
            continue;
          }
          if (!calibration.steps.some((s) => s.step === id)) continue;
          const step = measuredStep(id, template.name);
          const millicores = measuredMillicores(step);
          const memoryMiB = plannedMemoryMiB(step, calibration, plan, chosen);
          podMiB += memoryMiB;
          container.resources = { requests: { cpu: `${millicores}m`, memory: `${memoryMiB}Mi` }, limits: { memory: `${memoryMiB}Mi` } };
        }
        if (podMiB * MiB > node.memoryBytes) {
          throw new SchedulingPolicyError(
            `the tile batch pod '${template.name}' runs its ${template.containerSet.containers.length} containers at once and needs ${podMiB}Mi memory, more than a ${chosen.candidate.machine.name} node leaves for pods (${Math.floor(node.memoryBytes / MiB)}Mi); plan again (\`npx naaw plan --stack NAME\`) with smaller tiles or larger machines`,
          );
        }
        continue;
      }
      const steps = stepsOf.get(template.name) ?? [];
      if (steps.length === 0) continue; // no task runs it
      const measured = steps.map((id) => measuredStep(id, template.name));
      const millicores = Math.max(...measured.map(measuredMillicores));
      const memoryMiB = Math.max(...measured.map((s) => plannedMemoryMiB(s, calibration, plan, chosen)));
      if (memoryMiB * MiB > node.memoryBytes || millicores / 1000 > node.cpu) {
        throw new SchedulingPolicyError(
          `step${steps.length > 1 ? "s" : ""} ${steps.map((s) => `'${s}'`).join(", ")} need ${millicores}m CPU and ${memoryMiB}Mi memory, more than a ${chosen.candidate.machine.name} node leaves for pods ` +
            `(${node.cpu} vCPU, ${Math.floor(node.memoryBytes / MiB)}Mi); plan again (\`npx naaw plan --stack NAME\`) with this calibration`,
        );
      }
      template.container!.resources = { requests: { cpu: `${millicores}m`, memory: `${memoryMiB}Mi` }, limits: { memory: `${memoryMiB}Mi` } };
    }
    workflowSpec(manifest).parallelism = chosen.parallelism;
    return manifest;
  },
};
