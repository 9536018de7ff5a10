/*
 * Argo Workflows on the cluster: the Helm chart we pin and the values we give it, as plain data so the
 * tests read exactly what `pulumi up` installs.
 *
 * Why `helm.v3.Release` and the chart's own full CRDs (crds.full: true): since chart 1.0 the full,
 * validating CRDs are applied by a pre-install/pre-upgrade hook Job. A Release runs Helm itself, hooks
 * included, so the API server validates every Workflow against Argo's real schema and a chart bump
 * upgrades the CRDs; `helm.v4.Chart` renders templates only and would skip the hook (no CRDs at all),
 * and `crds.full: false` installs CRDs that accept anything (x-kubernetes-preserve-unknown-fields).
 */

/** The chart, pinned. The images are pinned apart, to the Argo whose schema our renderings are checked against. */
export const ARGO_CHART = {
  repo: "https://argoproj.github.io/argo-helm",
  chart: "argo-workflows",
  /** argo-helm release argo-workflows-1.1.1 (2026-08-11: "support Argo Workflows v4.1 features"). */
  version: "1.1.1",
  /** `images.tag`: the schema in test data (and shared/schemas/argo) is Argo v4.1.2's. */
  argoVersion: "v4.1.2",
} as const;

/** Names on the cluster, fixed so the cluster's pod identities and the bus agree without asking. */
export const BUS_NAMES = {
  argoNamespace: "argo",
  releaseName: "argo-workflows",
  /** The service account of every workflow pod (the pod role's identity on AWS). */
  workflowServiceAccount: "naaw-workflow",
  /** The Argo server's service account: the UI reads artifacts, so it needs the store's access too. */
  serverServiceAccount: "naaw-argo-server",
  serverService: "argo-workflows-server",
  serverPort: 2746,
} as const;

export interface Toleration {
  readonly key: string;
  readonly operator: "Equal" | "Exists";
  readonly value?: string;
  readonly effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule";
}

/** What the bus needs from the cluster and the plan, resolved to plain values. */
export interface BusInputs {
  /** The namespace workflows run in. @example "naaw" */
  readonly workflowNamespace: string;
  readonly artifacts: {
    readonly bucket: string;
    /** S3-compatible endpoint URL. @example "https://s3.eu-west-1.amazonaws.com" */
    readonly endpoint: string;
    readonly region: string;
    /** `role`: pods get credentials from their service account (EKS Pod Identity); `secret`: a Secret with accessKey/secretKey in the workflow namespace. */
    readonly auth: { readonly kind: "role" } | { readonly kind: "secret"; readonly secretName: string };
  };
  readonly scheduling: {
    readonly nodeSelector: Readonly<Record<string, string>>;
    readonly tolerations: readonly Toleration[];
    readonly capacityType: "spot" | "on-demand";
  };
  /** The plan's tile pods at once (Estimate.parallelism); undefined on a cluster that was not planned. */
  readonly parallelism?: number;
  /** Hours a finished Workflow object is kept before Argo deletes it (its results stay in the store). @default 72 */
  readonly ttlHours?: number;
}

/** Argo's S3 `endpoint` is host[:port] without a scheme; `insecure` says plain HTTP. */
export function argoS3Endpoint(url: string): { endpoint: string; insecure: boolean } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`artifact endpoint '${url}' is not a URL; expected e.g. https://s3.eu-west-1.amazonaws.com`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error(`artifact endpoint '${url}' must be http:// or https://`);
  return { endpoint: parsed.host, insecure: parsed.protocol === "http:" };
}

/**
 * Pods the controller may create per second: enough to fill the planned slots within a minute or so,
 * never a flood of the API server (Argo's `resourceRateLimit`), at least 5/s.
 */
export function podCreationRate(parallelism: number | undefined): { limit: number; burst: number } {
  const limit = Math.min(50, Math.max(5, Math.ceil((parallelism ?? 0) / 30)));
  return { limit, burst: limit * 2 };
}

/** The chart's values: every setting the issue names, nothing secret (credentials stay in their Secret). */
export function argoChartValues(inputs: BusInputs): Record<string, unknown> {
  const { endpoint, insecure } = argoS3Endpoint(inputs.artifacts.endpoint);
  const sdkCredentials = inputs.artifacts.auth.kind === "role";
  const s3: Record<string, unknown> = { bucket: inputs.artifacts.bucket, endpoint, insecure, region: inputs.artifacts.region };
  if (sdkCredentials) s3.useSDKCreds = true;
  else {
    const name = (inputs.artifacts.auth as { secretName: string }).secretName;
    s3.accessKeySecret = { name, key: "accessKey" };
    s3.secretKeySecret = { name, key: "secretKey" };
  }
  const ttlSeconds = Math.round((inputs.ttlHours ?? 72) * 3600);
  const workflowDefaults = {
    spec: {
      serviceAccountName: BUS_NAMES.workflowServiceAccount,
      podGC: { strategy: "OnPodSuccess" },
      ttlStrategy: { secondsAfterCompletion: ttlSeconds },
      // Karpenter never consolidates a node from under a running step; with spot, AWS still may (the
      // spot policy retries those).
      podMetadata: { annotations: { "karpenter.sh/do-not-disrupt": "true" } },
      ...(Object.keys(inputs.scheduling.nodeSelector).length > 0 ? { nodeSelector: { ...inputs.scheduling.nodeSelector } } : {}),
      // The taint of the planned capacity (spot or not): only workflow pods tolerate it.
      ...(inputs.scheduling.tolerations.length > 0 ? { tolerations: inputs.scheduling.tolerations.map((t) => ({ ...t })) } : {}),
      ...(inputs.parallelism ? { parallelism: inputs.parallelism } : {}),
    },
  };
  return {
    images: { tag: ARGO_CHART.argoVersion },
    crds: { install: true, full: true, keep: true },
    singleNamespace: false,
    controller: {
      workflowNamespaces: [inputs.workflowNamespace],
      // Workflows at once: each needs at least one slot, so more than the slots only queue pods.
      ...(inputs.parallelism ? { parallelism: inputs.parallelism } : {}),
      resourceRateLimit: podCreationRate(inputs.parallelism),
      workflowDefaults,
      nodeSelector: { "kubernetes.io/os": "linux" },
    },
    workflow: {
      serviceAccount: { create: true, name: BUS_NAMES.workflowServiceAccount },
      rbac: { create: true },
    },
    server: {
      enabled: true,
      // `client`: the UI and the API act with the caller's own Kubernetes token; nothing is open.
      authModes: ["client"],
      serviceType: "ClusterIP",
      serviceAccount: { create: true, name: BUS_NAMES.serverServiceAccount },
      secure: false,
    },
    useStaticCredentials: !sdkCredentials,
    artifactRepository: { archiveLogs: true, s3 },
  };
}

/** `kubectl port-forward` to the UI, then http://localhost:2746 (client auth: `argo auth token`, or a kubectl token). */
export function argoUiCommand(): string {
  return `kubectl -n ${BUS_NAMES.argoNamespace} port-forward svc/${BUS_NAMES.serverService} ${BUS_NAMES.serverPort}:${BUS_NAMES.serverPort}`;
}
