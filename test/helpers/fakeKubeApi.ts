// A fake Kubernetes API server for Argo Workflows, on 127.0.0.1 and a free port: it answers
// create (POST, generateName -> name), get, list (labelSelector) and delete of
// argoproj.io/v1alpha1 workflows in one namespace, as the API server does (JSON objects, Status
// errors, bearer-token auth), and plays a scripted status progression over successive gets of a
// Workflow. It can also go away mid-run (close and destroy every socket) or stop answering.
// Every server a test starts, the test stops (stop()).
import { randomBytes } from "crypto";
import * as http from "http";
import { AddressInfo, Socket } from "net";

export type Status = Record<string, unknown>;
/** A status as a function of the Workflow's name (node ids start with it, as Argo's do). */
export type StatusStep = (workflowName: string) => Status;

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  /** Whether the request carried the expected bearer token (the token itself is not kept). */
  readonly authorized: boolean;
}

export interface FakeKubeApiOptions {
  /** @default "argo" */
  readonly namespace?: string;
  /** Statuses that successive gets of a created Workflow return; the last one repeats. @default [pending(), running(), succeeded()] */
  readonly progression?: readonly StatusStep[];
  /** After this many gets of a Workflow, the next request closes the server and destroys every socket. */
  readonly goAwayAfterGets?: number;
  /** After this many gets of a Workflow, requests are accepted and never answered. */
  readonly hangAfterGets?: number;
}

interface Stored {
  object: Record<string, unknown>;
  gets: number;
  progression: readonly StatusStep[];
}

const PREFIX = "/apis/argoproj.io/v1alpha1/namespaces/";

function statusError(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

/** `a=b,c!=d,e` as the API server reads a label selector (equality, inequality, existence). */
function matchesSelector(labels: Record<string, string>, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(",").every((term) => {
    const t = term.trim();
    const neq = /^([^!=]+)!=(.*)$/.exec(t);
    if (neq) return labels[neq[1]] !== neq[2];
    const eq = /^([^=]+)==?(.*)$/.exec(t);
    if (eq) return labels[eq[1]] === eq[2];
    return t in labels;
  });
}

export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  readonly token = `fake-token-${randomBytes(12).toString("hex")}`;
  readonly namespace: string;
  private readonly workflows = new Map<string, Stored>();
  private readonly sockets = new Set<Socket>();
  private gone = false;
  private hanging = false;
  private totalGets = 0;
  private address?: string;

  private constructor(
    private readonly server: http.Server,
    private readonly options: FakeKubeApiOptions,
  ) {
    this.namespace = options.namespace ?? "argo";
  }

  static async start(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    let api: FakeKubeApi | undefined;
    const server = http.createServer((req, res) => api!.handle(req, res));
    api = new FakeKubeApi(server, options);
    server.on("connection", (socket) => {
      api!.sockets.add(socket);
      socket.on("close", () => api!.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    void api.url;
    return api;
  }

  /** The server's URL (kept after it went away, for the messages that name it). */
  get url(): string {
    this.address ??= `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.address;
  }

  /**
   * A kubeconfig for this server with token auth. Plain HTTP on loopback: @kubernetes/client-node
   * accepts it only with insecure-skip-tls-verify, as it does for any http:// server.
   */
  kubeconfig(options: { readonly context?: string; readonly namespace?: string } = {}): string {
    const context = options.context ?? "fake";
    return [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "  - name: fake-cluster",
      "    cluster:",
      `      server: ${this.url}`,
      "      insecure-skip-tls-verify: true",
      "users:",
      "  - name: fake-user",
      "    user:",
      `      token: ${this.token}`,
      "contexts:",
      `  - name: ${context}`,
      "    context:",
      "      cluster: fake-cluster",
      "      user: fake-user",
      ...(options.namespace ? [`      namespace: ${options.namespace}`] : []),
      `current-context: ${context}`,
      "",
    ].join("\n");
  }

  /** A Workflow that exists before the test submits (a run from an earlier `up`), with its own progression. */
  seed(workflow: Record<string, unknown>, progression: readonly StatusStep[]): string {
    const object = this.materialize(workflow);
    const name = (object.metadata as { name: string }).name;
    object.status = progression[0]?.(name) ?? {};
    this.workflows.set(name, { object, gets: 0, progression });
    return name;
  }

  count(method: string, kind: "create" | "get" | "list" | "delete" | "any" = "any"): number {
    return this.requests.filter((r) => {
      if (r.method !== method) return false;
      if (kind === "any") return true;
      const named = /\/workflows\/[^/]+$/.test(r.path);
      if (kind === "create") return method === "POST";
      if (kind === "get") return method === "GET" && named;
      if (kind === "list") return method === "GET" && !named;
      return method === "DELETE";
    }).length;
  }

  /** Gets of one Workflow so far (the watch's polls). */
  gets(name: string): number {
    return this.workflows.get(name)?.gets ?? 0;
  }

  names(): string[] {
    return [...this.workflows.keys()];
  }

  object(name: string): Record<string, unknown> | undefined {
    return this.workflows.get(name)?.object;
  }

  /** Closes the server and destroys every open socket: new connections are refused. */
  goAway(): void {
    if (this.gone) return;
    this.gone = true;
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
  }

  async stop(): Promise<void> {
    this.hanging = false;
    this.gone = true;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()));
  }

  private materialize(workflow: Record<string, unknown>): Record<string, unknown> {
    const object = structuredClone(workflow);
    const metadata = { ...((object.metadata as Record<string, unknown>) ?? {}) };
    if (!metadata.name) metadata.name = `${String(metadata.generateName ?? "")}${randomBytes(4).toString("hex").slice(0, 5)}`;
    delete metadata.generateName;
    metadata.namespace = this.namespace;
    metadata.uid = randomBytes(16).toString("hex");
    metadata.resourceVersion = String(1 + this.workflows.size);
    metadata.creationTimestamp = new Date(Date.UTC(2026, 0, 1, 0, 0, this.workflows.size)).toISOString().replace(/\.000Z$/, "Z");
    object.metadata = metadata;
    return object;
  }

  private send(res: http.ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const authorized = req.headers.authorization === `Bearer ${this.token}`;
    this.requests.push({ method: req.method ?? "", path: url.pathname, query: Object.fromEntries(url.searchParams), authorized });
    if (this.gone) {
      req.socket.destroy();
      return;
    }
    if (this.hanging) return; // accepted, never answered
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => this.route(req, res, url, authorized, Buffer.concat(chunks).toString("utf8")));
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, authorized: boolean, body: string): void {
    if (!authorized) return this.send(res, 401, statusError(401, "Unauthorized", "Unauthorized"));
    const match = new RegExp(`^${PREFIX}([^/]+)/workflows(?:/([^/]+))?$`).exec(url.pathname);
    if (!match) return this.send(res, 404, statusError(404, "NotFound", "the server could not find the requested resource"));
    const [, namespace, name] = match;
    if (namespace !== this.namespace) return this.send(res, 404, statusError(404, "NotFound", `namespaces "${namespace}" not found`));
    const notFound = () => this.send(res, 404, statusError(404, "NotFound", `workflows.argoproj.io "${name}" not found`));
    switch (req.method) {
      case "POST": {
        if (name) return this.send(res, 405, statusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
        let manifest: Record<string, unknown>;
        try {
          manifest = JSON.parse(body) as Record<string, unknown>;
        } catch {
          return this.send(res, 400, statusError(400, "BadRequest", "the request body is not JSON"));
        }
        const given = (manifest.metadata as { namespace?: string } | undefined)?.namespace;
        if (given !== undefined && given !== namespace) {
          return this.send(res, 400, statusError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"));
        }
        const object = this.materialize(manifest);
        const created = (object.metadata as { name: string }).name;
        this.workflows.set(created, { object, gets: 0, progression: this.options.progression ?? [pending(), running(), succeeded()] });
        return this.send(res, 201, object);
      }
      case "GET": {
        if (!name) {
          const selector = url.searchParams.get("labelSelector") ?? undefined;
          const items = [...this.workflows.values()].map((s) => s.object).filter((o) => matchesSelector(((o.metadata as { labels?: Record<string, string> }).labels ?? {}), selector));
          return this.send(res, 200, { apiVersion: "argoproj.io/v1alpha1", kind: "WorkflowList", metadata: { resourceVersion: "100" }, items });
        }
        const stored = this.workflows.get(name);
        if (!stored) return notFound();
        this.totalGets += 1;
        if (this.options.goAwayAfterGets !== undefined && this.totalGets > this.options.goAwayAfterGets) {
          this.totalGets -= 1;
          this.goAway();
          return;
        }
        if (this.options.hangAfterGets !== undefined && this.totalGets > this.options.hangAfterGets) {
          this.totalGets -= 1;
          this.hanging = true;
          return;
        }
        const step = stored.progression[Math.min(stored.gets, stored.progression.length - 1)];
        stored.gets += 1;
        if (step) stored.object.status = step(name);
        return this.send(res, 200, stored.object);
      }
      case "DELETE": {
        if (!name || !this.workflows.has(name)) return notFound();
        this.workflows.delete(name);
        return this.send(res, 200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, group: "argoproj.io", kind: "workflows" } });
      }
      default:
        return this.send(res, 405, statusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource"));
    }
  }
}

// ---- Statuses as Argo's controller writes them -------------------------------------------------

export interface PodSpec {
  /** The step id (input parameter naaw-step). */
  readonly step: string;
  /** The foreach item (input parameter `item` of the enclosing DAG). */
  readonly tile?: string;
  readonly phase: "Pending" | "Running" | "Succeeded" | "Failed" | "Error";
  /** The node message, as Argo writes it (`main: Error (exit code 1): <termination message>`). */
  readonly message?: string;
  /** The template (container) name. @default lidar-<step> */
  readonly template?: string;
}

/** A node id as Argo makes them: the workflow name and a number. */
function nodeId(workflow: string, key: string): string {
  let h = 2166136261;
  for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return `${workflow}-${h}`;
}

/**
 * status.nodes for pods laid out as our renderings make them: a `main` DAG; top-level steps as its
 * pods; foreach steps under a `tiles` task group, one DAG per tile (input parameter `item`) whose
 * pods have it as boundaryID. Group phases follow their pods.
 */
export function lidarNodes(workflow: string, pods: readonly PodSpec[]): Record<string, Record<string, unknown>> {
  const nodes: Record<string, Record<string, unknown>> = {};
  const groupPhase = (phases: string[]) =>
    phases.some((p) => p === "Failed" || p === "Error") ? "Failed" : phases.every((p) => p === "Succeeded") ? "Succeeded" : "Running";
  const rootId = workflow;
  const tiles = [...new Set(pods.filter((p) => p.tile !== undefined).map((p) => p.tile!))];
  const groupId = nodeId(workflow, `${workflow}.tiles`);
  const rootChildren: string[] = [];
  for (const pod of pods.filter((p) => p.tile === undefined)) {
    const id = nodeId(workflow, `${workflow}.${pod.step}`);
    rootChildren.push(id);
    nodes[id] = podNode(id, `${workflow}.${pod.step}`, pod, rootId);
  }
  if (tiles.length) {
    rootChildren.push(groupId);
    const tileIds: string[] = [];
    tiles.forEach((tile, i) => {
      const dagName = `${workflow}.tiles(${i}:${tile})`;
      const dagId = nodeId(workflow, dagName);
      tileIds.push(dagId);
      const inTile = pods.filter((p) => p.tile === tile);
      const children = inTile.map((pod) => {
        const name = `${dagName}.${pod.step}`;
        const id = nodeId(workflow, name);
        nodes[id] = podNode(id, name, pod, dagId);
        return id;
      });
      nodes[dagId] = {
        id: dagId,
        name: dagName,
        displayName: `tiles(${i}:${tile})`,
        type: "DAG",
        templateName: "tiles",
        phase: groupPhase(inTile.map((p) => p.phase)),
        boundaryID: rootId,
        children,
        inputs: { parameters: [{ name: "item", value: tile }] },
        ...(groupPhase(inTile.map((p) => p.phase)) === "Failed" ? { message: `child '${children[0]}' failed` } : {}),
      };
    });
    nodes[groupId] = { id: groupId, name: `${workflow}.tiles`, displayName: "tiles", type: "TaskGroup", templateName: "tiles", phase: groupPhase(tiles.map((t) => String(nodes[nodeId(workflow, `${workflow}.tiles(${tiles.indexOf(t)}:${t})`)].phase))), boundaryID: rootId, children: tileIds };
  }
  nodes[rootId] = { id: rootId, name: workflow, displayName: workflow, type: "DAG", templateName: "main", phase: groupPhase(Object.values(nodes).map((n) => String(n.phase))), children: rootChildren };
  return nodes;
}

function podNode(id: string, name: string, pod: PodSpec, boundaryID: string): Record<string, unknown> {
  return {
    id,
    name,
    displayName: pod.step,
    type: "Pod",
    templateName: pod.template ?? `lidar-${pod.step}`,
    phase: pod.phase,
    boundaryID,
    startedAt: "2026-01-01T00:00:10Z",
    ...(pod.message !== undefined ? { message: pod.message } : {}),
    ...(pod.phase === "Succeeded" || pod.phase === "Failed" || pod.phase === "Error" ? { finishedAt: "2026-01-01T00:01:00Z" } : {}),
    inputs: { parameters: [{ name: "naaw-step", value: pod.step }] },
  };
}

export function pending(): StatusStep {
  return () => ({ phase: "Pending" });
}

export function running(pods: readonly PodSpec[] = []): StatusStep {
  return (name) => ({ phase: "Running", startedAt: "2026-01-01T00:00:05Z", progress: "0/1", nodes: lidarNodes(name, pods) });
}

export function succeeded(pods: readonly PodSpec[] = []): StatusStep {
  return (name) => ({ phase: "Succeeded", startedAt: "2026-01-01T00:00:05Z", finishedAt: "2026-01-01T00:05:00Z", nodes: lidarNodes(name, pods) });
}

export function failed(pods: readonly PodSpec[], message = "child failed"): StatusStep {
  return (name) => ({ phase: "Failed", message, startedAt: "2026-01-01T00:00:05Z", finishedAt: "2026-01-01T00:05:00Z", nodes: lidarNodes(name, pods) });
}
