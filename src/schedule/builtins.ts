import type { ArgoDocument } from "../workflow/argo";
import { budgetPolicy } from "./budget";
import { SchedulingPolicy } from "./policy";
import { spotPolicy } from "./spot";

/**
 * `default`: Argo's own behaviour. The manifest goes out as rendered (requests only where the
 * workflow's `resources:` set them, no workflow parallelism, the workflow's own retries); like
 * every policy it carries the cluster's nodeSelector and tolerations, which `applyPolicy` adds
 * before any policy runs, so its pods land on the capacity sized for them.
 */
export const defaultPolicy: SchedulingPolicy = {
  name: "default",
  description: "Argo's own scheduling: the manifest as rendered, with only the cluster's nodeSelector and tolerations",
  apply(manifest: ArgoDocument): ArgoDocument {
    return manifest;
  },
};

/** The built-in policies by name, in the order `naaw render --help` and errors list them. */
export const BUILTIN_POLICIES: ReadonlyMap<string, SchedulingPolicy> = new Map([defaultPolicy, budgetPolicy, spotPolicy].map((p) => [p.name, p]));
