/**
 * The server extension's /naaw/ routes (jupyter/server/naaw_jupyter), through the server's own
 * authenticated connection (its token or cookie, and its XSRF header on POST). Every answer carries
 * `diagnostics` when something is wrong: the panel shows them, never a stack trace.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly file: string;
  readonly cell?: number;
  readonly line?: number;
  readonly column?: number;
  readonly message: string;
}

export interface Typed {
  readonly name: string;
  readonly type: string;
}

export interface Component {
  readonly name: string;
  readonly notebook: string;
  readonly cells: readonly number[];
  readonly inputs: readonly Typed[];
  readonly outputs: readonly Typed[];
  readonly params: readonly (Typed & { readonly default: unknown })[];
}

export interface Validation {
  readonly workflow: string;
  readonly valid: boolean;
  readonly steps?: number;
  readonly uses?: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
}

export interface PlanLine {
  readonly name: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitPrice: number;
  readonly cost: number;
  readonly period: string;
}

export interface Plan {
  readonly feasible?: boolean;
  readonly cloud?: string;
  readonly instanceType?: string;
  readonly nodes?: number;
  readonly spot?: boolean;
  readonly makespanHours?: number;
  readonly cost?: { readonly currency: string; readonly total: number };
  readonly breakdown?: readonly PlanLine[];
  readonly diagnostics?: readonly Diagnostic[];
}

export interface Run {
  readonly id: string;
  readonly workflow: string;
  readonly state: 'running' | 'done' | 'failed';
  readonly exitCode: number | null;
  readonly lines: readonly string[];
  readonly report: string | null;
}

const settings = ServerConnection.makeSettings();

/** A route's JSON answer, whatever its status (a 4xx answer is diagnostics too). */
async function request<T>(route: string, query: Record<string, string> = {}, body?: unknown): Promise<T & { diagnostics?: Diagnostic[] }> {
  const search = new URLSearchParams(query).toString();
  const url = URLExt.join(settings.baseUrl, 'naaw', route) + (search ? `?${search}` : '');
  const init: RequestInit = body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) };
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    return { diagnostics: [{ severity: 'error', file: '', message: `cannot reach the Jupyter server: ${String(error)}` }] } as T & { diagnostics: Diagnostic[] };
  }
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    const message =
      response.status === 404
        ? 'the NaaW server extension is not enabled: start Jupyter with --ServerApp.jpserver_extensions naaw_jupyter=True'
        : `the server answered ${response.status} ${response.statusText}`;
    return { diagnostics: [{ severity: 'error', file: '', message }] } as T & { diagnostics: Diagnostic[] };
  }
}

/** The components of the notebook as saved, or of `content` (the notebook as it is in the editor). */
export const components = (notebook: string, content?: unknown) =>
  request<{ components: Component[] }>('components', { notebook }, content === undefined ? undefined : { notebook, content });
export const workflows = (notebook: string) => request<{ workflows: Validation[] }>('workflows', { notebook });
export const render = (workflow: string) => request<{ mermaid: string | null }>('render', { workflow });
export const stacks = () => request<{ stacks: string[] }>('stacks');
export const plan = (stack: string) => request<Plan>('plan', { stack });
export const startRun = (workflow: string, params: Record<string, unknown> = {}) => request<Run>('runs', {}, { workflow, params });
export const runStatus = (id: string) => request<Run>(`runs/${id}`);

/** Where the browser opens a file of the server's root (the run report). */
export const fileUrl = (relative: string): string => URLExt.join(settings.baseUrl, 'files', ...relative.split('/').map(encodeURIComponent));
