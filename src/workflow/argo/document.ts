import { COMPONENT_UID } from "../../containerize/dockerfile";
import { ArgoContext } from "./context";
import { groupTemplate, mainTemplate } from "./dag";
import { ArgoDocument, ArgoRendering } from "./model";
import { ArgoOptions } from "./options";
import { workflowParameter } from "./params";
import { planTemplates } from "./plans";
import { checkTemplateNames, checkValueTypes } from "./problems";
import { containerTemplates } from "./templates";
import { renderBatched } from "./batched";

/** The whole manifest: metadata, the workflow-wide spec, and the templates (main, groups, containers). */
export function renderDocument(ctx: ArgoContext, options: ArgoOptions): ArgoRendering {
  planTemplates(ctx);
  checkValueTypes(ctx);
  // Tasks first: resolving their bindings records what the templates must declare.
  const batched = options.batching ? renderBatched(ctx, options.batching) : undefined;
  const templates = batched
    ? [batched.main, ...batched.templates, ...containerTemplates(ctx, batched.lowered)]
    : (() => {
        const main = mainTemplate(ctx);
        const groupTemplates = ctx.graph.foreach.map((g) => groupTemplate(ctx, g));
        return [main, ...groupTemplates, ...containerTemplates(ctx)];
      })();
  checkTemplateNames(ctx, templates);

  const name = ctx.graph.spec.name;
  const labels = { "app.kubernetes.io/managed-by": "naaw", "naaw.dev/workflow": name };
  const description = ctx.graph.spec.description.trim();
  const metadata = {
    ...(options.template ? { name } : { generateName: `${name}-` }),
    labels,
    ...(description ? { annotations: { "workflows.argoproj.io/description": description } } : {}),
  };
  const spec = {
    entrypoint: "main",
    ...(ctx.graph.params.length > 0 ? { arguments: { parameters: ctx.graph.params.map((p) => workflowParameter(p)) } } : {}),
    ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
    ...(options.artifactRepositoryRef ? { artifactRepositoryRef: { ...options.artifactRepositoryRef } } : {}),
    // Pods of successful steps go at once (their results are in the artifact repository); failed
    // ones stay for `kubectl logs` until the workflow itself is deleted by the TTL.
    podGC: { strategy: "OnPodSuccess" },
    ttlStrategy: { secondsAfterCompletion: 86400, secondsAfterFailure: 86400, secondsAfterSuccess: 3600 },
    securityContext: {
      fsGroup: COMPONENT_UID,
      runAsGroup: COMPONENT_UID,
      runAsNonRoot: true,
      runAsUser: COMPONENT_UID,
      seccompProfile: { type: "RuntimeDefault" },
    },
    volumes: [{ name: "tmp", emptyDir: {} }],
    templates,
  };
  const document: ArgoDocument = {
    apiVersion: "argoproj.io/v1alpha1",
    kind: options.template ? "WorkflowTemplate" : "Workflow",
    metadata,
    spec,
  };
  return { document, problems: ctx.problems };
}
