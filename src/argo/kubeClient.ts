import type { ApiException, KubeConfig } from "@kubernetes/client-node";
import { KubeApiError, RunRequestError } from "./errors";
import { secondsText } from "./retry";

/**
 * @kubernetes/client-node, loaded on first use: it takes seconds to load (an ESM graph through
 * require), which every other `naaw` command would otherwise pay at start.
 */
export function clientNode(): typeof import("@kubernetes/client-node") {
  return require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
}

/*
 * The Kubernetes API calls a run needs, for argoproj.io/v1alpha1 Workflows in one namespace:
 * create, get, list by label, delete. The kubeconfig comes as text (a Pulumi output, a file's
 * contents) and is read by @kubernetes/client-node, which applies its client certificates, tokens
 * and exec plugins (EKS: `aws eks get-token`). Every failure becomes a KubeApiError that says
 * whether trying again may help, and whose message holds no credential.
 */

/** Where a run lives: the kubeconfig (YAML text), the context in it (its current one when unset), the namespace. */
export interface RunTarget {
  readonly kubeconfig: string;
  readonly context?: string;
  readonly namespace: string;
}

const GROUP = "argoproj.io";
const VERSION = "v1alpha1";
const PLURAL = "workflows";


export interface WorkflowsClient {
  /** The API server's URL (no credentials in it). */
  readonly server: string;
  readonly context: string;
  readonly namespace: string;
  create(manifest: Record<string, unknown>): Promise<Record<string, unknown>>;
  get(name: string): Promise<Record<string, unknown>>;
  list(labelSelector: string): Promise<Record<string, unknown>[]>;
  /** False when there was no such Workflow. */
  delete(name: string): Promise<boolean>;
  /** Removes credentials from a text about to be shown (an error from the client, an exec plugin's output). */
  redact(text: string): string;
}

/** Error codes of Node's sockets and DNS that mean "not reachable now". */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "ERR_STREAM_PREMATURE_CLOSE",
]);
/** Node's TLS error codes (an untrusted or expired certificate, a wrong host name): permanent. */
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|HOSTNAME_MISMATCH/;
/** HTTP statuses worth retrying: throttled, or the server (or a proxy in front of it) briefly unable. */
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Tokens as they look in the wild, in case one reaches a message by a path we did not foresee. */
const TOKEN_PATTERNS: readonly RegExp[] = [
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, // a JWT (service-account and OIDC tokens)
  /\bk8s-aws-v1\.[A-Za-z0-9_-]+/g, // an EKS token from `aws eks get-token`
];

function secretStrings(kc: KubeConfig): string[] {
  const user = kc.getCurrentUser();
  if (!user) return [];
  const found: unknown[] = [user.token, user.password, user.keyData, user.certData];
  const providerConfig = (user.authProvider as { config?: Record<string, unknown> } | undefined)?.config;
  if (providerConfig) found.push(...Object.values(providerConfig));
  const env = (user.exec as { env?: { value?: unknown }[] } | undefined)?.env;
  if (Array.isArray(env)) found.push(...env.map((e) => e?.value));
  return found.filter((s): s is string => typeof s === "string" && s.length >= 6);
}

export function makeRedactor(secrets: readonly string[]): (text: string) => string {
  const sorted = [...new Set(secrets)].sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const secret of sorted) out = out.split(secret).join("[redacted]");
    for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, (_match, scheme?: string) => (typeof scheme === "string" && /^(bearer|basic)$/i.test(scheme) ? `${scheme} [redacted]` : "[redacted]"));
    return out;
  };
}

/** The server URL without any user:password part. */
function displayUrl(server: string): string {
  try {
    const url = new URL(server);
    url.username = "";
    url.password = "";
    return url.toString().replace(/\/$/, "");
  } catch {
    return server;
  }
}

/** Reads the kubeconfig text and selects the context; a problem is a RunRequestError that quotes nothing of the file. */
export function loadKubeConfig(target: RunTarget): KubeConfig {
  const kc = new (clientNode().KubeConfig)();
  try {
    kc.loadFromString(target.kubeconfig);
  } catch (error) {
    // js-yaml's message quotes the offending line, which may hold a token: give only its position.
    const mark = (error as { mark?: { line?: number; column?: number } }).mark;
    const where = mark?.line !== undefined ? ` at line ${mark.line + 1}, column ${(mark.column ?? 0) + 1}` : "";
    throw new RunRequestError(`the kubeconfig is not a valid kubeconfig${where}${mark ? " (YAML syntax)" : ""}; check it with \`kubectl config view\``);
  }
  const contexts = kc.getContexts().map((c) => c.name);
  if (target.context !== undefined) {
    if (!kc.getContextObject(target.context)) {
      throw new RunRequestError(`the kubeconfig has no context '${target.context}'; it has ${contexts.length ? contexts.map((c) => `'${c}'`).join(", ") : "none"}`);
    }
    kc.setCurrentContext(target.context);
  } else if (!kc.getCurrentContext() || !kc.getContextObject(kc.getCurrentContext())) {
    throw new RunRequestError(
      `the kubeconfig has no current context; name one with --context (it has ${contexts.length ? contexts.map((c) => `'${c}'`).join(", ") : "none"})`,
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw new RunRequestError(`context '${kc.getCurrentContext()}' of the kubeconfig names no cluster with a server URL`);
  if (cluster.server.startsWith("http:") && !cluster.skipTLSVerify) {
    throw new RunRequestError(
      `the cluster of context '${kc.getCurrentContext()}' is at ${displayUrl(cluster.server)}, plain HTTP, which @kubernetes/client-node refuses unless the cluster says insecure-skip-tls-verify: true; use its https:// URL`,
    );
  }
  return kc;
}

function statusBodyMessage(body: unknown): string | undefined {
  let parsed = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() ? body.trim().slice(0, 300) : undefined;
    }
  }
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? message : undefined;
}

/**
 * A KubeApiError for a failed call: `action` says what was being done (`get workflow x`). Statuses
 * that a user must act on say what to do.
 */
export function classifyError(error: unknown, action: string, where: { server: string; context: string; namespace: string; requestTimeoutMs: number }, redact: (s: string) => string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof clientNode().ApiException || (typeof (error as { code?: unknown })?.code === "number" && "body" in (error as object))) {
    const status = (error as ApiException<unknown>).code;
    const said = statusBodyMessage((error as ApiException<unknown>).body);
    const detail = said ? `: ${redact(said)}` : "";
    const transient = TRANSIENT_STATUS.has(status);
    switch (status) {
      case 401:
        return new KubeApiError(
          `${action}: the API server at ${where.server} did not accept the credentials of context '${where.context}' (401 Unauthorized); refresh them (on EKS: aws eks update-kubeconfig) and check with \`kubectl --context ${where.context} auth whoami\``,
          false,
          status,
        );
      case 403:
        return new KubeApiError(
          `${action}: forbidden (403)${detail}; the user of context '${where.context}' needs create, get, list and delete on workflows.argoproj.io in namespace '${where.namespace}' (check with \`kubectl auth can-i create workflows.argoproj.io -n ${where.namespace}\`)`,
          false,
          status,
        );
      default:
        return new KubeApiError(`${action}: the API server answered ${status}${detail}`, transient, status);
    }
  }
  const e = error as { name?: string; code?: unknown; type?: string; message?: string; errno?: unknown };
  if (e?.name === "AbortError") {
    return new KubeApiError(`${action}: no answer from ${where.server} within ${secondsText(where.requestTimeoutMs)}`, true);
  }
  const code = typeof e?.code === "string" ? e.code : undefined;
  if (code && TLS_CODES.test(code)) {
    // No retry mends a certificate the kubeconfig does not trust.
    return new KubeApiError(
      `${action}: the TLS connection to ${where.server} failed (${code}); check the cluster's certificate-authority-data in the kubeconfig (context '${where.context}')`,
      false,
    );
  }
  if ((code && NETWORK_CODES.has(code)) || e?.type === "system") {
    return new KubeApiError(`${action}: cannot reach the API server at ${where.server} (${code ?? "network error"})`, true);
  }
  return new KubeApiError(`${action}: ${redact(e?.message ?? String(error))}`, false);
}

export interface ClientOptions {
  /** How long one request may take before it counts as unanswered. @default 30000 */
  readonly requestTimeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** A client for the Workflows of `target.namespace`, through the kubeconfig's (or `target.context`'s) cluster and user. */
export function workflowsClient(target: RunTarget, options: ClientOptions = {}): WorkflowsClient {
  if (!target.namespace || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(target.namespace)) {
    throw new RunRequestError(`namespace '${target.namespace ?? ""}' is not a Kubernetes namespace name (lower-case letters, digits and '-')`);
  }
  const kc = loadKubeConfig(target);
  const cluster = kc.getCurrentCluster()!;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const redact = makeRedactor(secretStrings(kc));
  const where = { server: displayUrl(cluster.server), context: kc.getCurrentContext(), namespace: target.namespace, requestTimeoutMs };
  const { createConfiguration, CustomObjectsApi, ServerConfiguration } = clientNode();
  const api = new CustomObjectsApi(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kc },
      // A request that gets no answer must not hang the watch: each one carries its own deadline.
      promiseMiddleware: [
        {
          pre: async (context) => {
            context.setSignal(AbortSignal.timeout(requestTimeoutMs));
            return context;
          },
          post: async (context) => context,
        },
      ],
    }),
  );
  const namespace = target.namespace;
  const call = async <T>(action: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw classifyError(error, action, where, redact);
    }
  };
  return {
    server: where.server,
    context: where.context,
    namespace,
    redact,
    create: (manifest) =>
      call(`create a Workflow in namespace '${namespace}'`, () => api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body: manifest })),
    get: (name) => call(`get workflow ${name}`, () => api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })),
    list: async (labelSelector) => {
      const list = await call(`list workflows in namespace '${namespace}'`, () =>
        api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, labelSelector }),
      );
      const items = (list as { items?: unknown }).items;
      return Array.isArray(items) ? (items as Record<string, unknown>[]) : [];
    },
    delete: async (name) => {
      try {
        await call(`delete workflow ${name}`, () => api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name }));
        return true;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404) return false;
        throw error;
      }
    },
  };
}
