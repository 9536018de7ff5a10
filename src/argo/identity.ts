import { createHash } from "crypto";
import { RunRequestError } from "./errors";

/*
 * A run's identity: the hash of what it runs (the WorkflowTemplate or Workflow manifest) and of its
 * parameters. It is put on the Workflow as a label, so submitting the same thing twice finds the
 * first run instead of starting a second one (`pulumi up` with nothing changed starts nothing).
 */

/** Label carrying the run identity; a label value (at most 63 characters of [a-z0-9]). */
export const RUN_IDENTITY_LABEL = "naaw.dev/run-identity";
/** Label carrying one submission's random nonce, so a create retried after a lost answer finds its own Workflow. */
export const SUBMISSION_LABEL = "naaw.dev/submission";
/** Label naming the workflow (as the renderer sets it on a rendered Workflow). */
export const WORKFLOW_LABEL = "naaw.dev/workflow";
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";

/** Hex digits kept of the sha256: 64 bits, ample for the runs of one namespace. */
const IDENTITY_HEX_DIGITS = 16;

/**
 * JSON with object keys sorted at every level, so two equal manifests give the same text whatever
 * order their keys were built in. Follows JSON.stringify otherwise (undefined members are left out,
 * undefined array elements become null); a bigint is written as its digits; a value JSON cannot
 * hold (a function, a symbol, NaN or an infinity) is an error rather than a silent null, since it
 * would make two different manifests hash alike.
 */
export function canonicalJson(value: unknown): string {
  const stack = new Set<object>();
  const visit = (v: unknown, where: string): string => {
    if (v === null) return "null";
    switch (typeof v) {
      case "string":
        return JSON.stringify(v);
      case "boolean":
        return v ? "true" : "false";
      case "bigint":
        return v.toString();
      case "number":
        if (!Number.isFinite(v)) throw new TypeError(`canonicalJson: ${where || "the value"} is ${v}, which JSON cannot hold`);
        return JSON.stringify(v);
      case "object": {
        if (stack.has(v as object)) throw new TypeError(`canonicalJson: ${where || "the value"} contains itself`);
        if (typeof (v as { toJSON?: unknown }).toJSON === "function") return visit((v as { toJSON(): unknown }).toJSON(), where);
        stack.add(v as object);
        try {
          if (Array.isArray(v)) return `[${v.map((item, i) => (item === undefined ? "null" : visit(item, `${where}[${i}]`))).join(",")}]`;
          const keys = Object.keys(v as object)
            .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
            .sort();
          return `{${keys.map((k) => `${JSON.stringify(k)}:${visit((v as Record<string, unknown>)[k], `${where}.${k}`)}`).join(",")}}`;
        } finally {
          stack.delete(v as object);
        }
      }
      default:
        throw new TypeError(`canonicalJson: ${where || "the value"} is a ${typeof v}, which JSON cannot hold`);
    }
  };
  return visit(value, "");
}

/**
 * The identity of running `template` with `parameters`: the first 16 hex digits of the sha256 of
 * their canonical JSON. Any change to the template (a new image hash from a changed notebook, a
 * changed workflow) or to a parameter gives a new identity.
 */
export function runIdentity(template: unknown, parameters: Readonly<Record<string, string>>): string {
  const text = canonicalJson({ parameters, template });
  return createHash("sha256").update(text).digest("hex").slice(0, IDENTITY_HEX_DIGITS);
}

/** A DNS-1123 subdomain, as Kubernetes requires of object names (and so of generateName prefixes). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Argo appends 5 characters to generateName; a Workflow's name is also used in pod names (at most 63 for a label). */
const MAX_TEMPLATE_NAME = 58;


export function checkIdentity(identity: string): void {
  if (!/^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/i.test(identity)) {
    throw new RunRequestError(`run identity '${identity}' is not a Kubernetes label value (at most 63 letters, digits, '-', '_' or '.'); use runIdentity()`);
  }
}

/**
 * A Workflow that runs the WorkflowTemplate `templateName` with `parameters` (each as a workflow
 * argument, in name order), named `<template>-xxxxx` by the API server, labelled with the run's
 * identity. Parameter values are strings, as Argo takes them.
 */
export function workflowFromTemplate(templateName: string, parameters: Readonly<Record<string, string>>, identity: string): Record<string, unknown> {
  if (!DNS_SUBDOMAIN.test(templateName) || templateName.length > MAX_TEMPLATE_NAME) {
    throw new RunRequestError(
      `WorkflowTemplate name '${templateName}' must be a DNS-1123 name (lower-case letters, digits, '-', '.') of at most ${MAX_TEMPLATE_NAME} characters`,
    );
  }
  checkIdentity(identity);
  for (const [name, value] of Object.entries(parameters)) {
    if (typeof value !== "string") throw new RunRequestError(`parameter '${name}' of ${templateName} must be a string (Argo parameters are text), got ${typeof value}`);
  }
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Workflow",
    metadata: {
      generateName: `${templateName}-`,
      labels: { [MANAGED_BY_LABEL]: "naaw", [WORKFLOW_LABEL]: templateName, [RUN_IDENTITY_LABEL]: identity },
    },
    spec: {
      workflowTemplateRef: { name: templateName },
      arguments: {
        parameters: Object.keys(parameters)
          .sort()
          .map((name) => ({ name, value: parameters[name] })),
      },
    },
  };
}
