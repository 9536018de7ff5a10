/*
 * The typed model of the Argo manifest (Argo v4.1, `argoproj.io/v1alpha1`): the subset of a Workflow
 * that naaw writes, as plain data ready for YAML or the Kubernetes API. The scheduling policies
 * (src/schedule/) and the scale accounting (./scale.ts) read and rewrite documents of these types.
 */

export interface ArgoRendering {
  /** The manifest (plain data, ready for YAML or the Kubernetes API). */
  readonly document: ArgoDocument;
  /** What the manifest cannot express, each as `file:line:column: message`; empty when it can run. */
  readonly problems: readonly string[];
}

export interface ArgoParameter {
  name: string;
  value?: string;
  default?: string;
  enum?: string[];
  description?: string;
  valueFrom?: { path?: string; parameter?: string };
}

export interface ArgoArtifact {
  name: string;
  path?: string;
  from?: string;
  optional?: boolean;
  archive?: { none: Record<string, never> };
  s3?: { key: string };
  raw?: { data: string };
}

export interface ArgoTask {
  name: string;
  template: string;
  dependencies?: string[];
  withParam?: string;
  arguments?: { parameters?: ArgoParameter[]; artifacts?: ArgoArtifact[] };
}

export interface ArgoRetryStrategy {
  limit: string;
  retryPolicy: string;
  expression: string;
  backoff?: { duration: string; factor: string };
}

export interface ArgoContainer {
  image: string;
  command: string[];
  args: string[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string }[];
}

export interface ArgoTemplate {
  name: string;
  inputs?: { parameters?: ArgoParameter[]; artifacts?: ArgoArtifact[] };
  outputs?: { parameters?: ArgoParameter[]; artifacts?: ArgoArtifact[] };
  dag?: { tasks: ArgoTask[] };
  container?: ArgoContainer;
  /** Several containers in one pod, sharing its volumes (Argo's emissary runs them in dependency order). */
  containerSet?: ArgoContainerSet;
  /** A Kubernetes object the template creates (e.g. a child Workflow), run by one Argo pod. */
  resource?: { action: string; manifest: string; successCondition?: string; failureCondition?: string };
  retryStrategy?: ArgoRetryStrategy;
  /** Argo's data template: lists the artifact repository's keys under a prefix, then filters them (a pod, no image of ours). */
  data?: { source: { artifactPaths: ArgoArtifact }; transformation: { expression: string }[] };
  /** Labels and annotations of the template's pods. */
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
}

/** One container of a containerSet; `dependencies` name containers of the same set. */
export interface ArgoContainerNode extends Partial<ArgoContainer> {
  name: string;
  image: string;
  dependencies?: string[];
}

export interface ArgoContainerSet {
  containers: ArgoContainerNode[];
  volumeMounts?: { name: string; mountPath: string }[];
  /** Retries a failed container in place (no new pod, no Retry node). */
  retryStrategy?: { retries: string; duration?: string };
}

export interface ArgoDocument {
  apiVersion: "argoproj.io/v1alpha1";
  kind: "Workflow" | "WorkflowTemplate";
  metadata: { name?: string; generateName?: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown> & { entrypoint: string; templates: ArgoTemplate[] };
}
