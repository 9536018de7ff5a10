// The shape of a resource implementation that a Pulumi dynamic provider delegates to
// (components/projectProvider.ts). It mirrors the methods of Pulumi's `dynamic.ResourceProvider`
// without importing Pulumi, so the implementation lives in src/ as plain TypeScript, testable
// without Pulumi, and loads in the engine's plain Node dynamic-provider host.

/** A property that failed `check`, and why. */
export interface CheckFailure {
  readonly property: string;
  readonly reason: string;
}

export interface CheckResult<Inputs> {
  /** The inputs to use (defaults filled in); the new inputs as given when absent. */
  readonly inputs?: Inputs;
  readonly failures?: readonly CheckFailure[];
}

export interface DiffResult {
  /** Whether anything changed; undefined lets the engine compare the inputs itself. */
  readonly changes?: boolean;
  /** Properties whose change replaces the resource (create the new one, then delete the old). */
  readonly replaces?: readonly string[];
  readonly stables?: readonly string[];
  readonly deleteBeforeReplace?: boolean;
}

export interface CreateResult<Outputs> {
  /** The resource's id (never empty). */
  readonly id: string;
  readonly outs?: Outputs;
}

export interface ReadResult<Outputs> {
  /** The id, or "" when the resource no longer exists (a refresh then drops it from the state). */
  readonly id?: string;
  readonly props?: Outputs;
}

export interface UpdateResult<Outputs> {
  readonly outs?: Outputs;
}

/**
 * What a project resource implementation provides. Values are plain JSON (what the engine stores in
 * the state). A method that throws fails the operation with the error's message: make it one a user
 * can act on, since `create` and `update` errors are shown as they are.
 */
export interface ResourceImplementation<Inputs, Outputs> {
  check?(olds: Partial<Inputs>, news: Inputs): Promise<CheckResult<Inputs>>;
  diff?(id: string, olds: Outputs, news: Inputs): Promise<DiffResult>;
  create(inputs: Inputs): Promise<CreateResult<Outputs>>;
  read?(id: string, props: Outputs): Promise<ReadResult<Outputs>>;
  update?(id: string, olds: Outputs, news: Inputs): Promise<UpdateResult<Outputs>>;
  delete?(id: string, props: Outputs): Promise<void>;
}
