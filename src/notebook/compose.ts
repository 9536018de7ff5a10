import { DiagnosticSink } from "../diagnostics";
import { Binding, bindingsAfter, Definition, mergeType, namesTouched } from "./bindings";
import { CellRole } from "./roles";
import { CellEvent, NotebookAnalysis, ParameterFact, ValueType } from "./pythonAnalysis";
import { compareText } from "../textOrder";

export interface ValueSpec {
  readonly name: string;
  readonly type: ValueType;
}

export interface ParamSpec extends ValueSpec {
  readonly default: unknown;
}

/** Where an input comes from: the component that last bound it before the reader. */
export interface InputSpec extends ValueSpec {
  readonly from: string;
}

/** A component as the notebook defines it, before it is turned into code and an image. */
export interface ComponentDraft {
  readonly name: string;
  readonly cells: readonly number[];
  readonly inputs: readonly InputSpec[];
  readonly outputs: readonly ValueSpec[];
  readonly params: readonly ParamSpec[];
  /** Top-level modules its code imports (its own cells, the imports cells, copied imports). */
  readonly modules: readonly string[];
  /** Definitions from earlier components that its code uses, copied ahead of its cells. */
  readonly copied: readonly Definition[];
}

export interface AnalyzedCell {
  readonly index: number;
  readonly role: CellRole;
  readonly events: readonly CellEvent[];
  /** `blocks[b - 1]` encloses block `b` of the cell (see CellEvent). */
  readonly blocks: readonly number[];
}

function roleName(role: CellRole): string {
  switch (role.kind) {
    case "component":
      return `component '${role.name}'`;
    case "untagged":
      return "an untagged cell";
    default:
      return `the ${role.kind} cell`;
  }
}

function valueType(type: Binding["type"]): ValueType {
  return type === "module" ? "any" : type;
}

/** A name bound in a component's namespace (or a copy's), and where it is bound for certain. */
interface LocalBinding extends Binding {
  /** The block (of that cell) in which the name is bound on every path, though `maybe` after it. */
  readonly definiteIn?: { readonly cell: number; readonly block: number };
}

/** The names one piece of code has bound so far: a component's cells, or a copied statement. */
type Scope = Map<string, LocalBinding>;

/** Where a read happens, for resolving it and for saying where it is. */
interface ReadSite {
  readonly scope: Scope;
  /** The cell and block whose bindings the read sees for certain (block ids are per cell). */
  readonly cell: number;
  readonly block: number;
  /** The component's cell where the code runs: providers are looked for before it. */
  readonly runsIn: number;
  /** Where a problem with the read is reported: the line that reads the name. */
  readonly at: { readonly cell: number; readonly line: number };
  /** Set when the read is in the body of a function (or class) the component calls. */
  readonly call?: { readonly name: string; readonly cell: number; readonly line: number };
}

/** A name read by component code that it has not (definitely) bound itself. */
interface ExternalRead {
  readonly name: string;
  readonly site: ReadSite;
  /** The component bound it on some paths only: an outside value counts if there is one. */
  readonly maybeLocal: boolean;
}

/** The event's block: 0 at the cell's top level. */
function blockOf(event: CellEvent): number {
  return event.block ?? 0;
}

/**
 * Joins tagged cells into components and resolves every name they read: a local binding, an
 * input from an earlier component, a param, the imports cell, a builtin, or an error that names
 * the cell to fix.
 */
export class NotebookComposer {
  private readonly cells: readonly AnalyzedCell[];
  private readonly touched = new Map<number, Set<string>>();
  private readonly cellBindings = new Map<number, Map<string, Binding>>();
  private readonly componentBindings = new Map<string, Map<string, Binding>>();
  private readonly params = new Map<string, ParameterFact>();
  private readonly ambient = new Map<string, Binding>();
  private readonly builtins: ReadonlySet<string>;
  private readonly componentNames: readonly string[];
  /** Names each component provides to the cells after it. */
  private readonly outputs = new Map<string, Map<string, ValueType>>();

  constructor(
    cells: readonly AnalyzedCell[],
    analysis: NotebookAnalysis,
    private readonly sink: DiagnosticSink,
  ) {
    this.cells = cells;
    this.builtins = new Set(analysis.builtins);
    for (const c of cells) {
      this.touched.set(c.index, namesTouched(c.events));
      this.cellBindings.set(c.index, bindingsAfter([{ cell: c.index, events: c.events }]));
    }
    for (const cellAnalysis of analysis.cells) {
      for (const p of cellAnalysis.parameters ?? []) this.params.set(p.name, p);
    }
    const imports = cells.filter((c) => c.role.kind === "imports").map((c) => ({ cell: c.index, events: c.events }));
    for (const [name, binding] of bindingsAfter(imports)) this.ambient.set(name, binding);
    const names: string[] = [];
    for (const c of cells) {
      if (c.role.kind === "component" && !names.includes(c.role.name)) names.push(c.role.name);
    }
    this.componentNames = names;
    for (const name of names) {
      this.componentBindings.set(name, bindingsAfter(this.cellsOf(name).map((c) => ({ cell: c.index, events: c.events }))));
      this.outputs.set(name, new Map());
    }
  }

  private cellsOf(component: string): AnalyzedCell[] {
    return this.cells.filter((c) => c.role.kind === "component" && c.role.name === component);
  }

  private roleOf(cell: number): CellRole {
    return this.cells.find((c) => c.index === cell)?.role ?? { kind: "untagged" };
  }

  /** Whether block `inner` of `cell` is `outer` or nested in it. */
  private isWithin(cell: number, inner: number, outer: number): boolean {
    const parents = this.cells.find((c) => c.index === cell)?.blocks ?? [];
    for (let b = inner; b > 0; b = parents[b - 1] ?? 0) if (b === outer) return true;
    return outer === 0;
  }

  /** Whether a read at `site` sees the binding for certain: bound on every path, or on every path of a block around the read. */
  private isCertain(binding: LocalBinding, site: ReadSite): boolean {
    if (!binding.maybe) return true;
    const where = binding.definiteIn;
    return where !== undefined && where.cell === site.cell && this.isWithin(site.cell, site.block, where.block);
  }

  /** The latest cell before `cell` (outside `exclude`) that changes `name`, among cells of the given roles. */
  private latestProvider(name: string, cell: number, accept: (role: CellRole) => boolean): number | undefined {
    for (let i = this.cells.length - 1; i >= 0; i--) {
      const c = this.cells[i];
      if (c.index >= cell || !accept(c.role)) continue;
      if (this.touched.get(c.index)?.has(name)) return c.index;
    }
    return undefined;
  }

  compose(): ComponentDraft[] {
    const drafts = this.componentNames.map((name) => this.composeComponent(name));
    this.collectLaterReaders();
    return drafts.map((d) => ({
      ...d,
      outputs: [...(this.outputs.get(d.name) ?? new Map<string, ValueType>())]
        .map(([name, type]) => ({ name, type }))
        .sort((a, b) => compareText(a.name, b.name)),
    }));
  }

  private composeComponent(name: string): ComponentDraft {
    const own = this.cellsOf(name);
    const ownCells = new Set(own.map((c) => c.index));
    const inputs = new Map<string, InputSpec>();
    const params = new Map<string, ParamSpec>();
    const modules = new Set<string>();
    const copied = new Map<string, Definition>();
    const local: Scope = new Map();
    const expanded = new Set<string>();
    const reported = new Set<string>();

    for (const c of this.cells.filter((cell) => cell.role.kind === "imports")) {
      for (const e of c.events) if (e.kind === "define") e.modules.forEach((m) => modules.add(m));
    }

    /** Updates `scope` with what one event of `cell` binds; reads are resolved by the caller. */
    const bind = (scope: Scope, cell: number, event: CellEvent): void => {
      if (event.kind !== "write" && event.kind !== "define" && event.kind !== "delete") return;
      const previous = scope.get(event.name);
      const definiteIn = event.block !== undefined ? { cell, block: event.block } : previous?.definiteIn;
      switch (event.kind) {
        case "write":
          scope.set(event.name, {
            type: mergeType(previous?.type, event.type),
            maybe: event.maybe && (previous?.maybe ?? true),
            ...(event.merged && previous?.definition ? { definition: previous.definition } : {}),
            ...(definiteIn ? { definiteIn } : {}),
          });
          break;
        case "define": {
          const definition = this.cellBindings.get(cell)?.get(event.name)?.definition;
          scope.set(event.name, {
            type: previous?.type ?? "any",
            maybe: previous?.maybe ?? event.maybe,
            definition,
            ...(definiteIn ? { definiteIn } : {}),
          });
          event.modules.forEach((m) => modules.add(m));
          break;
        }
        case "delete":
          scope.delete(event.name);
          break;
      }
    };

    const expandCall = (definition: Definition, site: ReadSite): void => {
      // A function's body runs where it is called: its global reads and writes happen there, and
      // see what is bound there; a problem is reported at the line of the body that reads.
      const key = `${definition.cell}:${definition.line}:${definition.name}@${site.cell}:${site.block}:${site.scope === local}`;
      if (expanded.has(key)) return;
      expanded.add(key);
      const call = site.call ?? { name: definition.name, cell: site.at.cell, line: site.at.line };
      for (const read of definition.reads) {
        readName(read.name, { ...site, at: { cell: definition.cell, line: read.line }, call });
      }
      for (const written of definition.writes) {
        site.scope.set(written, { type: site.scope.get(written)?.type ?? "any", maybe: false });
        // The calling cell now provides the name to the cells after it.
        this.touched.get(site.runsIn)?.add(written);
        const bindings = this.componentBindings.get(name);
        if (bindings && !bindings.has(written)) bindings.set(written, { type: "any", maybe: false });
      }
    };

    const readName = (nameRead: string, site: ReadSite): void => {
      const binding = site.scope.get(nameRead);
      if (binding && this.isCertain(binding, site)) {
        if (binding.definition) expandCall(binding.definition, site);
        return;
      }
      // Bound on some paths only: a function defined there still runs its body where it is called.
      if (binding?.definition) expandCall(binding.definition, site);
      resolveExternal({ name: nameRead, site, maybeLocal: binding !== undefined });
    };

    /**
     * Copies a definition from an earlier component and runs its statement's events in a scope of
     * their own: the copy runs ahead of the component's cells, so it sees only what comes from
     * outside (inputs, params, the imports cells, other copies) and what it binds itself.
     */
    const copyDefinition = (definition: Definition, site: ReadSite): boolean => {
      const copy = definition.copy;
      if (!copy) {
        this.sink.error(
          `component '${name}' uses '${definition.name}', which is defined inside a loop or a \`with\` block in cell ${definition.cell}; ` +
            `define it at the top level of that cell (or inside an \`if\` or \`try\`), or in the imports cell, so it can be copied`,
          site.at,
        );
        return false;
      }
      const key = `${definition.cell}:${copy.line}`;
      if (copied.has(key)) return true;
      copied.set(key, definition);
      const scope: Scope = new Map();
      for (const event of copy.events) {
        if (event.kind === "read") {
          readName(event.name, { scope, cell: definition.cell, block: blockOf(event), runsIn: site.runsIn, at: { cell: definition.cell, line: event.line } });
        } else {
          bind(scope, definition.cell, event);
        }
      }
      return true;
    };

    const resolveExternal = (read: ExternalRead): void => {
      const { name: n, site } = read;
      const provider = this.latestProvider(n, site.runsIn, (role) => (role.kind === "component" && role.name !== name) || role.kind === "parameters");
      const providerRole = provider === undefined ? undefined : this.roleOf(provider);
      if (provider !== undefined && providerRole?.kind === "component") {
        const binding = this.componentBindings.get(providerRole.name)?.get(n) ?? this.cellBindings.get(provider)?.get(n);
        const definition = this.cellBindings.get(provider)?.get(n)?.definition;
        if (definition) {
          if (copyDefinition(definition, site)) expandCall(definition, site);
          return;
        }
        if (!inputs.has(n) && !params.has(n)) {
          const type = valueType(binding?.type ?? "any");
          inputs.set(n, { name: n, type, from: providerRole.name });
          this.outputs.get(providerRole.name)?.set(n, type);
        }
        return;
      }
      if (provider !== undefined && providerRole?.kind === "parameters") {
        const p = this.params.get(n);
        if (p && !params.has(n) && !inputs.has(n)) params.set(n, { name: n, type: p.type, default: p.default });
        return;
      }
      const ambient = this.ambient.get(n);
      if (ambient) {
        if (ambient.definition) expandCall(ambient.definition, site);
        return;
      }
      const laterParam = this.params.get(n);
      if (laterParam) {
        if (!params.has(n) && !inputs.has(n)) params.set(n, { name: n, type: laterParam.type, default: laterParam.default });
        return;
      }
      if (read.maybeLocal || this.builtins.has(n) || reported.has(n)) return;
      reported.add(n);
      this.reportUndefined(name, ownCells, read);
    };

    for (const c of own) {
      for (const event of c.events) {
        switch (event.kind) {
          case "read":
            readName(event.name, { scope: local, cell: c.index, block: blockOf(event), runsIn: c.index, at: { cell: c.index, line: event.line } });
            break;
          case "mutate": {
            // `a[i] = v` on an input: the component hands on its modified `a`.
            const input = inputs.get(event.name);
            if (input) this.componentBindings.get(name)?.set(event.name, { type: input.type, maybe: false });
            break;
          }
          case "starImport":
            this.sink.error(
              `component '${name}' uses \`from ${event.module} import *\`, which hides the names it brings in; import the names you use explicitly`,
              { cell: c.index, line: event.line },
            );
            break;
          default:
            bind(local, c.index, event);
        }
      }
    }

    return {
      name,
      cells: own.map((c) => c.index),
      inputs: [...inputs.values()].sort((a, b) => compareText(a.name, b.name)),
      outputs: [],
      params: [...params.values()].sort((a, b) => compareText(a.name, b.name)),
      modules: [...modules].sort(),
      copied: [...copied.values()].sort((a, b) => a.cell - b.cell || a.line - b.line),
    };
  }

  private reportUndefined(component: string, ownCells: ReadonlySet<number>, read: ExternalRead): void {
    const { site } = read;
    const where = site.at;
    // The cell before which the name must be defined: where the code runs in the component.
    const before = site.runsIn;
    const subject = site.call
      ? `component '${component}' calls '${site.call.name}' (cell ${site.call.cell}, line ${site.call.line}), whose code reads '${read.name}'`
      : `component '${component}' reads '${read.name}'`;
    const elsewhere = this.latestProvider(read.name, Number.MAX_SAFE_INTEGER, (role) => role.kind === "untagged" || role.kind === "skip");
    if (elsewhere !== undefined) {
      this.sink.error(
        `${subject}, which is defined only in cell ${elsewhere} (${roleName(this.roleOf(elsewhere))}); ` +
          `tag that cell 'imports' or 'component:…', or define '${read.name}' in a component before '${component}'`,
        where,
      );
      return;
    }
    const later = this.cells.find((c) => !ownCells.has(c.index) && c.index > before && this.touched.get(c.index)?.has(read.name));
    if (later) {
      this.sink.error(
        `${subject}, which is defined only later, in cell ${later.index} (${roleName(later.role)}); move the definition before cell ${before}`,
        where,
      );
      return;
    }
    this.sink.error(
      `${subject}, which no cell defines and which is not a Python builtin; define it in the parameters cell, the imports cell or an earlier component`,
      where,
    );
  }

  /** A name a later untagged or skip cell reads (a plot, a check) is an output too, as Jupyter users expect. */
  private collectLaterReaders(): void {
    for (const c of this.cells) {
      if (c.role.kind !== "untagged" && c.role.kind !== "skip") continue;
      const bound = new Set<string>();
      for (const e of c.events) {
        if (e.kind === "write" || e.kind === "define") bound.add(e.name);
        if (e.kind !== "read" || bound.has(e.name)) continue;
        const provider = this.latestProvider(e.name, c.index, () => true);
        const role = provider === undefined ? undefined : this.roleOf(provider);
        if (provider === undefined || role?.kind !== "component") continue;
        const binding = this.componentBindings.get(role.name)?.get(e.name);
        if (!binding || binding.definition || binding.type === "module") continue;
        const outputs = this.outputs.get(role.name);
        if (outputs && !outputs.has(e.name)) outputs.set(e.name, valueType(binding.type));
      }
    }
  }
}

