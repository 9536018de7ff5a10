import { load } from "js-yaml";

/**
 * Config for a cluster that already exists (kind, k3d, an institute's cluster), read and checked
 * before any resource is made. Keys are the stack's `naaw:` keys without the prefix; values are as
 * Pulumi keeps them (strings, structured config as JSON text) or already parsed.
 */

/** Config that cannot work: every problem, each naming its key and what it expects. */
export class ClusterConfigError extends Error {
  /** Pulumi's RunError marker (duck-typed, src/ has no Pulumi import): `pulumi up` prints the problems, no stack. */
  readonly __pulumiRunError = true;
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems in the stack config:\n  ${problems.join("\n  ")}`);
  }
}

/** An S3-compatible store as config gives it. */
export interface ArtifactStoreSettings {
  /** @example "https://object.example.org" */
  readonly endpoint: string;
  /** @example "naaw-artifacts" */
  readonly bucket: string;
  /** @default "us-east-1" (what MinIO and most S3-compatible stores accept) */
  readonly region: string;
}

export interface ExistingClusterSettings {
  /** `naaw:kubeconfig` (secret): the kubeconfig text; absent when only a context is given. */
  readonly kubeconfig?: string;
  /** `naaw:kubeContext`: the context to use (in `kubeconfig`, or in the ambient kubeconfig). */
  readonly context?: string;
  readonly artifacts: ArtifactStoreSettings;
  /** `naaw:artifactAccessKey` / `naaw:artifactSecretKey` (secrets). */
  readonly accessKey: string;
  readonly secretKey: string;
  /** `naaw:registry.server`. @example "localhost:5000/naaw" */
  readonly registryServer: string;
  /** `naaw:namespace`: where workflow pods and the credentials secret live. @default "naaw" */
  readonly namespace: string;
}

export const DEFAULT_ARTIFACT_REGION = "us-east-1";
export const DEFAULT_NAMESPACE = "naaw";

type Raw = Readonly<Record<string, unknown>>;

/** A structured value: Pulumi hands structured config over as JSON text. */
function structured(value: unknown): unknown {
  if (typeof value === "string" && /^\s*[{[]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  return value;
}

function nonEmpty(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

/** `naaw:artifacts`: {endpoint, bucket, region?}, endpoint an http(s) URL. */
export function checkArtifactStore(raw: Raw, problems: string[], options: { requireBucket?: boolean } = {}): ArtifactStoreSettings | undefined {
  const value = structured(raw.artifacts);
  const expect = "{endpoint, bucket, region?} with endpoint an http(s) URL";
  if (value === undefined) {
    problems.push(`naaw:artifacts is missing: set it to ${expect}`);
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(`naaw:artifacts must be ${expect}, got '${String(value)}'`);
    return undefined;
  }
  const o = value as Record<string, unknown>;
  const before = problems.length;
  let url: URL | undefined;
  try {
    url = nonEmpty(o.endpoint) ? new URL(o.endpoint) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    problems.push(`naaw:artifacts.endpoint must be an http(s) URL such as https://s3.example.org, got '${String(o.endpoint)}'`);
  }
  const requireBucket = options.requireBucket ?? true;
  if (o.bucket !== undefined || requireBucket) {
    if (!nonEmpty(o.bucket) || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.bucket)) {
      problems.push(`naaw:artifacts.bucket must be a bucket name (3-63 lowercase letters, digits, dots, hyphens), got '${String(o.bucket)}'`);
    }
  }
  if (o.region !== undefined && !nonEmpty(o.region)) problems.push(`naaw:artifacts.region must be a region name, got '${String(o.region)}'`);
  if (problems.length > before) return undefined;
  return { endpoint: String(o.endpoint), bucket: o.bucket === undefined ? "" : String(o.bucket), region: nonEmpty(o.region) ? o.region : DEFAULT_ARTIFACT_REGION };
}

/** `naaw:registry.server`. */
export function checkRegistry(raw: Raw, problems: string[]): string | undefined {
  const value = structured(raw.registry);
  const server = typeof value === "object" && value !== null ? (value as Record<string, unknown>).server : undefined;
  if (!nonEmpty(server) || /\s|^[a-z]+:\/\//i.test(server)) {
    problems.push(`naaw:registry.server must be a registry host and path without a scheme (e.g. registry.example.org/naaw), got '${String(server)}'`);
    return undefined;
  }
  return server;
}

/** `naaw:artifactAccessKey` / `naaw:artifactSecretKey`. */
export function checkCredentials(raw: Raw, problems: string[]): { accessKey: string; secretKey: string } | undefined {
  const missing = ["artifactAccessKey", "artifactSecretKey"].filter((k) => !nonEmpty(raw[k]));
  for (const k of missing) problems.push(`naaw:${k} is missing: set it with \`pulumi config set --secret naaw:${k} ...\` (the artifact store's S3 credentials)`);
  return missing.length > 0 ? undefined : { accessKey: String(raw.artifactAccessKey), secretKey: String(raw.artifactSecretKey) };
}

interface KubeconfigDoc {
  readonly contexts: readonly string[];
  readonly currentContext?: string;
}

/** A kubeconfig's context names, after checking it has clusters, contexts and users. */
export function parseKubeconfig(text: string, key: string, problems: string[]): KubeconfigDoc | undefined {
  let doc: unknown;
  try {
    doc = load(text);
  } catch (error) {
    problems.push(`${key} must be a kubeconfig (YAML); it does not parse: ${(error as Error).message.split("\n")[0]}`);
    return undefined;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    problems.push(`${key} must be a kubeconfig (a YAML mapping with clusters, contexts and users)`);
    return undefined;
  }
  const o = doc as Record<string, unknown>;
  const lacking = ["clusters", "contexts", "users"].filter((k) => !Array.isArray(o[k]) || (o[k] as unknown[]).length === 0);
  if (lacking.length > 0) {
    problems.push(`${key} must be a kubeconfig with clusters, contexts and users; it has no ${lacking.join(", no ")}`);
    return undefined;
  }
  const contexts = (o.contexts as unknown[]).map((c) => (typeof c === "object" && c !== null ? String((c as Record<string, unknown>).name ?? "") : "")).filter(Boolean);
  const current = typeof o["current-context"] === "string" ? (o["current-context"] as string) : undefined;
  return { contexts, currentContext: current };
}

/** The context named (or the current one) must be in the kubeconfig. */
export function checkContext(doc: KubeconfigDoc, context: string | undefined, where: string, problems: string[]): void {
  if (context !== undefined) {
    if (!doc.contexts.includes(context)) problems.push(`naaw:kubeContext '${context}' is not a context of ${where}; it has ${doc.contexts.join(", ") || "none"}`);
  } else if (!doc.currentContext || !doc.contexts.includes(doc.currentContext)) {
    problems.push(`${where} has no current-context: set naaw:kubeContext to one of ${doc.contexts.join(", ")}`);
  }
}

/**
 * The existing cluster's settings, every problem at once. `ambientKubeconfig` is the text of the
 * kubeconfig kubectl would use (`$KUBECONFIG` or `~/.kube/config`), read by the caller when only a
 * context is configured.
 */
export function existingClusterSettings(raw: Raw, ambientKubeconfig?: { path: string; text?: string }): ExistingClusterSettings {
  const problems: string[] = [];
  const kubeconfig = raw.kubeconfig;
  const context = raw.kubeContext;
  let kubeconfigText: string | undefined;
  if (context !== undefined && !nonEmpty(context)) problems.push(`naaw:kubeContext must be a context name, got '${String(context)}'`);
  const contextName = nonEmpty(context) ? context : undefined;
  if (kubeconfig !== undefined) {
    if (!nonEmpty(kubeconfig)) problems.push("naaw:kubeconfig must be a kubeconfig (YAML), got an empty value");
    else {
      const doc = parseKubeconfig(kubeconfig, "naaw:kubeconfig", problems);
      if (doc) checkContext(doc, contextName, "naaw:kubeconfig", problems);
      kubeconfigText = kubeconfig;
    }
  } else if (contextName !== undefined) {
    const where = ambientKubeconfig?.path ?? "~/.kube/config";
    if (ambientKubeconfig?.text === undefined) problems.push(`naaw:kubeContext '${contextName}' needs a kubeconfig: ${where} cannot be read; set naaw:kubeconfig (secret) or KUBECONFIG`);
    else {
      const doc = parseKubeconfig(ambientKubeconfig.text, where, problems);
      if (doc) checkContext(doc, contextName, where, problems);
      kubeconfigText = ambientKubeconfig.text;
    }
  } else {
    problems.push("naaw:kubeconfig (secret, the kubeconfig's text) or naaw:kubeContext (a context of ~/.kube/config) must be set");
  }
  const artifacts = checkArtifactStore(raw, problems);
  const credentials = checkCredentials(raw, problems);
  const registryServer = checkRegistry(raw, problems);
  const namespace = raw.namespace === undefined ? DEFAULT_NAMESPACE : raw.namespace;
  if (typeof namespace !== "string" || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) problems.push(`naaw:namespace must be a Kubernetes namespace name (lowercase letters, digits, hyphens), got '${String(namespace)}'`);
  if (problems.length > 0) throw new ClusterConfigError(problems);
  return {
    kubeconfig: kubeconfigText,
    context: contextName,
    artifacts: artifacts!,
    accessKey: credentials!.accessKey,
    secretKey: credentials!.secretKey,
    registryServer: registryServer!,
    namespace: namespace as string,
  };
}

/** Scheduling on a cluster that is not ours: no selector, no taint to tolerate, on-demand nodes. */
export const EXISTING_SCHEDULING = { nodeSelector: {}, tolerations: [], capacityType: "on-demand" } as const;
