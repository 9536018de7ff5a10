import type { ErrorObject } from "ajv";
import * as fs from "fs";
import { DiagnosticSink } from "../diagnostics";
import { ValueType } from "../notebook/pythonAnalysis";
import { constraintsOf } from "./paramConstraints";
import { parseReference, splitTemplate } from "./references";
import { workflowSchemaValidator } from "./schemaValidator";
import { Binding, ForeachSpec, ParamDeclaration, Position, Reference, StepSpec, WorkflowSpec } from "./spec";
import { nearestPosition, parseYamlWithPositions, PositionedYaml, YamlSyntaxError } from "./yamlPositions";

export { WORKFLOW_SCHEMA_FILE } from "./schemaValidator";

function schemaMessage(error: ErrorObject): string | undefined {
  const where = error.instancePath ? `'${error.instancePath.slice(1).replace(/\//g, ".")}'` : "the workflow";
  switch (error.keyword) {
    case "if":
      return undefined; // the branch's own errors say what is wrong
    case "additionalProperties":
      return `${where} has an unknown field '${error.params.additionalProperty}'`;
    case "required":
      return `${where} needs the field '${error.params.missingProperty}'`;
    case "pattern":
      return `${where} must match ${error.params.pattern}`;
    case "enum":
      return `${where} must be one of ${(error.params.allowedValues as unknown[]).join(", ")}`;
    default:
      return `${where} ${error.message}`;
  }
}

function schemaPath(error: ErrorObject): string {
  const base = error.instancePath.slice(1);
  if (error.keyword === "additionalProperties") return `${base}${base ? "/" : ""}${error.params.additionalProperty}#key`;
  return base;
}

class SpecBuilder {
  constructor(
    private readonly doc: PositionedYaml,
    private readonly sink: DiagnosticSink,
  ) {}

  at(pathInDoc: string): Position {
    return nearestPosition(this.doc.positions, pathInDoc);
  }

  error(message: string, at: Position): void {
    this.sink.error(message, { line: at.line, column: at.column });
  }

  binding(value: unknown, pathInDoc: string): Binding {
    const at = this.at(pathInDoc);
    if (typeof value !== "string" || !value.includes("${{")) return { kind: "literal", value, at };
    const parts = splitTemplate(value);
    const parsed: (string | Reference)[] = [];
    for (const part of parts) {
      if (typeof part === "string") {
        parsed.push(part);
        continue;
      }
      const reference = parseReference(part.expression);
      if (!reference) {
        this.error(`'\${{ ${part.expression} }}' is not a reference; use \${{ params.NAME }}, \${{ steps.ID.outputs.NAME }} or \${{ item }}`, at);
        return { kind: "invalid", text: value, at };
      }
      parsed.push(reference);
    }
    if (parsed.length === 1 && typeof parsed[0] !== "string") return { kind: "reference", reference: parsed[0], text: value, at };
    return { kind: "template", parts: parsed, text: value, at };
  }

  step(raw: Record<string, unknown>, pathInDoc: string): StepSpec {
    const withRaw = (raw.with ?? {}) as Record<string, unknown>;
    const bindings = new Map<string, Binding>();
    const keysAt = new Map<string, Position>();
    for (const [name, value] of Object.entries(withRaw)) {
      bindings.set(name, this.binding(value, `${pathInDoc}/with/${name}`));
      keysAt.set(name, this.at(`${pathInDoc}/with/${name}#key`));
    }
    const resources = raw.resources as { cpu?: string | number; memory?: string } | undefined;
    return {
      kind: "step",
      id: raw.id as string,
      uses: raw.uses as string,
      with: bindings,
      ...(raw.retry ? { retry: raw.retry as StepSpec["retry"] } : {}),
      ...(resources ? { resources: { ...(resources.cpu !== undefined ? { cpu: String(resources.cpu) } : {}), ...(resources.memory ? { memory: resources.memory } : {}) } } : {}),
      at: this.at(pathInDoc),
      usesAt: this.at(`${pathInDoc}/uses`),
      withKeysAt: keysAt,
    };
  }

  workflow(file: string, raw: Record<string, unknown>): WorkflowSpec {
    const params: ParamDeclaration[] = Object.entries((raw.params ?? {}) as Record<string, Record<string, unknown>>).map(([name, p]) => {
      const constraints = constraintsOf(p);
      return {
        name,
        type: p.type as ValueType,
        ...("default" in p ? { default: p.default } : {}),
        ...(typeof p.description === "string" ? { description: p.description } : {}),
        ...(constraints ? { constraints } : {}),
        at: this.at(`params/${name}#key`),
        fieldsAt: new Map(Object.keys(p).map((field) => [field, this.at(`params/${name}/${field}`)])),
      };
    });
    const steps = (raw.steps as Record<string, unknown>[]).map((s, i): StepSpec | ForeachSpec => {
      const at = `steps/${i}`;
      if (!("foreach" in s)) return this.step(s, at);
      return {
        kind: "foreach",
        id: s.id as string,
        foreach: this.binding(s.foreach, `${at}/foreach`),
        steps: (s.steps as Record<string, unknown>[]).map((inner, j) => this.step(inner, `${at}/steps/${j}`)),
        at: this.at(at),
      };
    });
    return { file, name: raw.name as string, description: (raw.description as string) ?? "", params, steps };
  }
}

/**
 * Reads a workflow file into the typed spec. Syntax and schema problems are all reported, with
 * line and column; the spec is returned only when the file has the schema's shape.
 */
export function parseWorkflow(file: string, text: string, sink: DiagnosticSink): WorkflowSpec | undefined {
  let doc: PositionedYaml;
  try {
    doc = parseYamlWithPositions(text, file);
  } catch (error) {
    if (!(error instanceof YamlSyntaxError)) throw error;
    sink.error(error.message, error.position);
    return undefined;
  }
  const validate = workflowSchemaValidator();
  if (!validate(doc.value)) {
    for (const error of validate.errors ?? []) {
      const message = schemaMessage(error);
      if (message) sink.error(`not a NaaW workflow (workflows/schema.json): ${message}`, nearestPosition(doc.positions, schemaPath(error)));
    }
    return undefined;
  }
  return new SpecBuilder(doc, sink).workflow(file, doc.value as Record<string, unknown>);
}

export function readWorkflow(file: string, sink: DiagnosticSink): WorkflowSpec | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    sink.error(code === "ENOENT" ? "no such workflow file" : `cannot read the workflow (${code})`);
    return undefined;
  }
  return parseWorkflow(file, text, sink);
}
