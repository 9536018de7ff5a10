/**
 * The NaaW side panel for the open notebook: its components (click one to select its cells), the
 * analysis' problems (also marked at their cells), the workflows under workflows/ that use it
 * (validated, their DAG drawn, run locally with live progress and a link to the report) and the
 * cost of a stack's plan. Everything shown is what the naaw CLI answers through the server routes.
 */
import { IMermaidManager } from '@jupyterlab/mermaid';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';
import * as api from './api';
import { markCells, selectCells } from './cellMarks';

const REFRESH_DELAY_MS = 400;
const RUN_POLL_MS = 500;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

function where(d: api.Diagnostic): string {
  const at = d.cell !== undefined ? `cell ${d.cell}` : d.file;
  return [at, d.line !== undefined ? `line ${d.line}` : ''].filter(Boolean).join(', ');
}

function diagnosticList(diagnostics: readonly api.Diagnostic[]): HTMLElement {
  const list = element('ul', 'naaw-diagnostics');
  for (const d of diagnostics) {
    const item = element('li', `naaw-diagnostic naaw-${d.severity}`);
    item.append(element('span', 'naaw-where', where(d)), element('span', 'naaw-message', ` ${d.severity}: ${d.message}`));
    list.append(item);
  }
  return list;
}

const typed = (values: readonly api.Typed[]): string => values.map(v => `${v.name}: ${v.type}`).join(', ') || '–';

export class NaawPanel extends Widget {
  private readonly heading = element('div', 'naaw-heading', 'Open a notebook to see its NaaW components.');
  private readonly componentsNode = element('ol', 'naaw-components');
  private readonly problemsNode = element('div', 'naaw-problems');
  private readonly workflowsNode = element('div', 'naaw-workflows');
  private readonly planNode = element('div', 'naaw-plan');
  private watched: NotebookPanel | null = null;
  private readonly watchedCells = new WeakSet<object>();
  private timer: number | undefined;
  private generation = 0;

  constructor(
    tracker: INotebookTracker,
    private readonly mermaid: IMermaidManager | null,
  ) {
    super();
    this.id = 'naaw-panel';
    this.addClass('naaw-panel');
    this.title.caption = 'NaaW: components, workflows, cost';
    this.title.label = 'NaaW';
    const section = (title: string, body: HTMLElement) => {
      const node = element('section', 'naaw-section');
      node.append(element('h3', '', title), body);
      return node;
    };
    this.node.append(
      this.heading,
      section('Components', this.componentsNode),
      this.problemsNode,
      section('Workflows', this.workflowsNode),
      section('Cost', this.planNode),
    );
    tracker.currentChanged.connect(() => this.watch(tracker.currentWidget));
    this.watch(tracker.currentWidget);
    void this.showStacks();
  }

  /** Follows a notebook: its saves (analyze the file) and its tags (analyze what the editor holds). */
  private watch(panel: NotebookPanel | null): void {
    if (panel === this.watched) return;
    this.watched = panel;
    this.node.scrollTop = 0; // another notebook: its components and problems first
    if (!panel) {
      this.heading.textContent = 'Open a notebook to see its NaaW components.';
      return;
    }
    void panel.context.ready.then(() => {
      if (this.watched !== panel) return;
      panel.context.saveState.connect((_, state) => state === 'completed' && this.refreshSoon(false));
      const model = panel.content.model;
      const follow = () => {
        for (const cell of model?.cells ?? []) {
          if (this.watchedCells.has(cell)) continue;
          this.watchedCells.add(cell);
          cell.metadataChanged.connect((_, change) => change.key === 'tags' && this.refreshSoon(true));
        }
      };
      model?.cells.changed.connect(follow);
      follow();
      this.refreshSoon(false);
    });
  }

  private refreshSoon(fromEditor: boolean): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.refresh(fromEditor), REFRESH_DELAY_MS);
  }

  /** Analyzes the notebook (as saved, or as in the editor) and shows what the CLI says. */
  async refresh(fromEditor = false): Promise<void> {
    const panel = this.watched;
    if (!panel) return;
    const generation = ++this.generation;
    const path = panel.context.path;
    this.heading.textContent = `${path}: analyzing…`;
    const answer = await api.components(path, fromEditor ? panel.content.model?.toJSON() : undefined);
    if (generation !== this.generation) return; // a newer refresh is under way
    const diagnostics = answer.diagnostics ?? [];
    const errors = diagnostics.filter(d => d.severity === 'error').length;
    this.heading.textContent = `${path}: ${answer.components?.length ?? 0} components` + (errors ? `, ${errors} error${errors > 1 ? 's' : ''}` : '');
    this.showComponents(panel, answer.components ?? []);
    this.problemsNode.replaceChildren(...(diagnostics.length ? [element('h3', '', 'Problems'), diagnosticList(diagnostics)] : []));
    markCells(panel.content, diagnostics);
    if (!fromEditor) await this.showWorkflows(path);
  }

  private showComponents(panel: NotebookPanel, components: readonly api.Component[]): void {
    this.componentsNode.replaceChildren(
      ...components.map(c => {
        const item = element('li', 'naaw-component');
        item.dataset.component = c.name;
        const name = element('button', 'naaw-component-name', c.name);
        name.title = 'select its cells';
        name.onclick = () => selectCells(panel.content, c.cells);
        const params = c.params.map(p => `${p.name}: ${p.type} = ${JSON.stringify(p.default)}`).join(', ') || '–';
        const facts = element('dl', 'naaw-facts');
        for (const [term, value] of [['cells', c.cells.join(', ')], ['inputs', typed(c.inputs)], ['outputs', typed(c.outputs)], ['params', params]]) {
          facts.append(element('dt', '', term), element('dd', `naaw-${term}`, value));
        }
        item.append(name, facts);
        return item;
      }),
    );
  }

  private async showWorkflows(notebook: string): Promise<void> {
    const answer = await api.workflows(notebook);
    const items = (answer.workflows ?? []).map(w => this.workflowItem(w));
    if (answer.diagnostics?.length) items.unshift(diagnosticList(answer.diagnostics));
    if (!items.length) items.push(element('p', 'naaw-none', 'No workflow under workflows/ uses this notebook.'));
    this.workflowsNode.replaceChildren(...items);
  }

  private workflowItem(w: api.Validation): HTMLElement {
    const item = element('div', `naaw-workflow ${w.valid ? 'naaw-valid' : 'naaw-invalid'}`);
    item.dataset.workflow = w.workflow;
    const errors = w.diagnostics.filter(d => d.severity === 'error').length;
    item.append(element('div', 'naaw-workflow-name', `${w.workflow}: ${w.valid ? `valid, ${w.steps} steps` : `${errors} error${errors === 1 ? '' : 's'}`}`));
    if (w.diagnostics.length) item.append(diagnosticList(w.diagnostics));
    if (!w.valid) return item;
    const dag = element('div', 'naaw-dag');
    const log = element('pre', 'naaw-run-log');
    const drawButton = element('button', 'naaw-draw', 'Draw DAG');
    drawButton.onclick = () => void this.drawDag(w.workflow, dag);
    const runButton = element('button', 'naaw-run', 'Run locally');
    runButton.onclick = () => void this.runLocally(w.workflow, runButton, log);
    item.append(drawButton, runButton, dag, log);
    return item;
  }

  private async drawDag(workflow: string, into: HTMLElement): Promise<void> {
    const answer = await api.render(workflow);
    const text = /```mermaid\n([\s\S]*?)```/.exec(answer.mermaid ?? '')?.[1];
    if (!text) {
      into.replaceChildren(diagnosticList(answer.diagnostics ?? [{ severity: 'error', file: workflow, message: 'no Mermaid picture in the rendering' }]));
      return;
    }
    into.replaceChildren(this.mermaid ? await this.mermaid.renderFigure(text) : element('pre', 'naaw-mermaid-text', text));
  }

  /** Starts `naaw run` on the server and follows it until it ends, then links its report. */
  private async runLocally(workflow: string, button: HTMLButtonElement, log: HTMLElement): Promise<void> {
    button.disabled = true;
    log.textContent = 'starting…';
    let run = await api.startRun(workflow);
    while (run.id && run.state === 'running') {
      log.textContent = run.lines.slice(-6).join('\n') || 'running…';
      await new Promise(resolve => window.setTimeout(resolve, RUN_POLL_MS));
      run = await api.runStatus(run.id);
    }
    button.disabled = false;
    if (!run.id || run.diagnostics?.length) {
      log.replaceChildren(diagnosticList(run.diagnostics ?? []));
      return;
    }
    log.textContent = run.lines.slice(-8).join('\n');
    log.classList.toggle('naaw-failed', run.state === 'failed');
    if (run.state === 'done' && run.report) {
      const link = element('a', 'naaw-report', `Open the run report (${run.report})`);
      link.href = api.fileUrl(run.report);
      link.target = '_blank';
      link.rel = 'noopener';
      log.append('\n', link);
    }
  }

  private async showStacks(): Promise<void> {
    const answer = await api.stacks();
    const select = element('select', 'naaw-stack');
    for (const stack of answer.stacks ?? []) select.append(new Option(stack, stack));
    const price = element('button', 'naaw-price', 'Price');
    const table = element('div', 'naaw-plan-table');
    price.onclick = () => void this.showPlan(select.value, table);
    this.planNode.replaceChildren(select, price, table);
    if (answer.diagnostics?.length) this.planNode.append(diagnosticList(answer.diagnostics));
  }

  private async showPlan(stack: string, into: HTMLElement): Promise<void> {
    into.textContent = `naaw plan --stack ${stack}…`;
    const plan = await api.plan(stack);
    if (!plan.breakdown || !plan.cost) {
      into.replaceChildren(diagnosticList(plan.diagnostics ?? []));
      return;
    }
    const table = element('table', 'naaw-cost');
    const row = (cells: string[], tag: 'td' | 'th' = 'td') => {
      const tr = element('tr');
      tr.append(...cells.map(c => element(tag, '', c)));
      return tr;
    };
    // Three columns: the side bar is narrow (the unit price is in the row's tooltip).
    table.append(row(['item', 'quantity', plan.cost.currency], 'th'));
    for (const line of plan.breakdown) {
      const tr = row([`${line.name}${line.period === 'run' ? '' : ` (a ${line.period})`}`, `${line.quantity} ${line.unit}`, line.cost.toFixed(2)]);
      tr.title = `${line.unitPrice} ${plan.cost.currency} a ${line.unit.replace(/s$/, '')}`;
      table.append(tr);
    }
    table.append(row(['total, the run', '', `${plan.cost.total.toFixed(2)} ${plan.cost.currency}`], 'th'));
    const summary = element(
      'p',
      'naaw-plan-summary',
      `${plan.nodes} × ${plan.instanceType}${plan.spot ? ' spot' : ''} on ${plan.cloud}, ${plan.makespanHours?.toFixed(1)} h`,
    );
    into.replaceChildren(summary, table);
  }
}
