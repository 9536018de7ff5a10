import * as pulumi from "@pulumi/pulumi";
import { loadPolicy, SchedulingPolicyError } from "../src/schedule";
import type { SchedulingPolicy } from "../src/schedule";

/**
 * The stack's scheduling policy (`naaw:schedulingPolicy`: a built-in's name or a TypeScript module's
 * path), loaded and type-checked before anything is made; a bad one fails the preview in one line.
 */
export function loadSchedulingPolicy(nameOrPath: string, baseDir: string): SchedulingPolicy {
  try {
    return loadPolicy(nameOrPath, baseDir);
  } catch (error) {
    if (error instanceof SchedulingPolicyError) throw new pulumi.RunError(`naaw:schedulingPolicy: ${error.message}`);
    throw error;
  }
}
