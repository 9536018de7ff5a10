import * as path from "path";

/**
 * Karpenter's own schemas, as @kubernetes-models/karpenter generates them from the Go API types
 * (karpenter.sh/v1, karpenter.k8s.aws/v1). The package is ESM-only with `import`-only exports, so it
 * is required by file path (Node 20.19+ loads ESM through require).
 */
const PACKAGE = path.resolve(__dirname, "..", "..", "node_modules", "@kubernetes-models", "karpenter");

type Validating = { validate(): void };
type ModelClass = new (data: unknown) => Validating;

function model(file: string, name: string): ModelClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(path.join(PACKAGE, file)) as Record<string, ModelClass>)[name]!;
}

const MODELS: Readonly<Record<string, () => ModelClass>> = {
  "karpenter.sh/v1/NodePool": () => model("karpenter.sh/v1/NodePool.js", "NodePool"),
  "karpenter.k8s.aws/v1/EC2NodeClass": () => model("karpenter.k8s.aws/v1/EC2NodeClass.js", "EC2NodeClass"),
};

/**
 * Validates a rendered Karpenter object against its schema (types, enums, patterns, required
 * fields); returns the schema's complaint, or undefined when it is valid. Unknown fields pass the
 * schema: the TypeScript types in src/cluster/aws.ts catch those at compile time.
 */
export function validateKarpenter(object: { apiVersion: string; kind: string }): string | undefined {
  const make = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!make) return `no Karpenter model for ${object.apiVersion} ${object.kind}`;
  try {
    new (make())(object).validate();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
