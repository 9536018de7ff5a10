// Argo Workflows v4.1.2's own JSON schema (api/jsonschema/schema.json at the commit pinned in
// test/data/argo.sources.json, put in place by `npm run test-data`), made strict.
import Ajv2020, { ErrorObject, ValidateFunction } from "ajv/dist/2020";
import * as fs from "fs";
import { argoSchemaFile } from "./testData";

type Schema = Record<string, unknown>;

/**
 * The schema's definitions with `additionalProperties: false` on every object definition that lists
 * `properties` and does not already say what extra keys may be: Argo's schema allows unknown keys
 * everywhere, so a misspelt field (`withParams`) would pass; this is closer to `kubectl apply
 * --validate=strict`. Maps (`labels`, `resources.requests`) keep their own `additionalProperties`.
 */
export function strictDefinitions(definitions: Readonly<Record<string, Schema>>): Record<string, Schema> {
  const copy = JSON.parse(JSON.stringify(definitions)) as Record<string, Schema>;
  for (const definition of Object.values(copy)) {
    if (definition.properties !== undefined && definition.additionalProperties === undefined) definition.additionalProperties = false;
  }
  return copy;
}

export interface ArgoValidator {
  /** Errors of `document` against the definition, as `path: message` lines; empty when valid. */
  (document: unknown): string[];
}

function describe(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const extra = e.keyword === "additionalProperties" ? ` ('${(e.params as { additionalProperty: string }).additionalProperty}')` : "";
    return `${e.instancePath || "/"}: ${e.message}${extra}`;
  });
}

/** Validators for Workflow and WorkflowTemplate, strict or as published; compiled once. */
export function argoValidators(strict = true): { workflow: ArgoValidator; workflowTemplate: ArgoValidator; definitionCount: number } {
  const schema = JSON.parse(fs.readFileSync(argoSchemaFile(), "utf8")) as { definitions: Record<string, Schema> };
  const definitions = strict ? strictDefinitions(schema.definitions) : schema.definitions;
  // strict: false because the schema carries Kubernetes keywords (x-kubernetes-*) that Ajv does not know.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: "argo", definitions });
  const compile = (name: string): ArgoValidator => {
    const validate: ValidateFunction = ajv.compile({ $ref: `argo#/definitions/${name}` });
    return (document) => (validate(document) ? [] : describe(validate.errors));
  };
  return {
    workflow: compile("io.argoproj.workflow.v1alpha1.Workflow"),
    workflowTemplate: compile("io.argoproj.workflow.v1alpha1.WorkflowTemplate"),
    definitionCount: Object.keys(definitions).length,
  };
}
