import { ComponentInterface } from "../catalog";
import { WorkflowType } from "../spec";
import { GraphForeach } from "../validate";

/*
 * The typed model a CWL rendering works with: how each value is carried (Carrier), a reference
 * resolved to a CWL source, and what each tool and each foreach subworkflow must declare.
 */

/** How a value is carried between CWL steps. */
export type Carrier =
  /** A plain CWL value (a workflow param, a literal, an item of a plain list). */
  | { readonly kind: "plain"; readonly type: WorkflowType; readonly optional?: boolean }
  /** A File holding a value as NAME.npy / NAME.json. */
  | { readonly kind: "value"; readonly type: WorkflowType }
  /** A File whose path is a `str` value (a tile of split, an item of a list of files). */
  | { readonly kind: "path"; readonly secondaryFiles?: readonly object[] }
  | { readonly kind: "array"; readonly of: Carrier };

export interface Resolved {
  readonly source: string;
  readonly carrier: Carrier;
}

/** What the steps using one component need from its tool. */
export interface ToolUse {
  readonly id: string;
  readonly component: ComponentInterface;
  /** `str` params bound to a file item: `NAME-file`. */
  readonly fileParams: Set<string>;
  /** Params bound to another step's JSON output: `NAME-json`. */
  readonly jsonParams: Set<string>;
  inForeach: boolean;
}

export interface GroupPlan {
  readonly group: GraphForeach;
  readonly id: string;
  readonly item: Carrier;
  readonly itemSource: string;
  /** Subworkflow input id → what the main workflow passes and how it is carried. */
  readonly inputs: Map<string, Resolved>;
  /** Subworkflow output id → inner source and how it is carried (one item's value). */
  readonly outputs: Map<string, Resolved>;
  readonly steps: Map<string, object>;
  stepExpressions: boolean;
  multipleSources: boolean;
}
