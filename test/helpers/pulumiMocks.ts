import * as pulumi from "@pulumi/pulumi";

/** A resource the program registered, as the mocks saw it. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  readonly custom: boolean;
}

/** The state a mocked resource reports back: its inputs, plus what a provider would compute. */
export type MockState = (args: pulumi.runtime.MockResourceArgs) => Record<string, any>;

/** What AWS would compute for the resources whose outputs the AWS cluster reads (names and ARNs, the endpoint). */
export const awsMockState: MockState = (args) => {
  const state: Record<string, any> = { ...args.inputs };
  if (args.type === "aws:s3/bucket:Bucket") Object.assign(state, { bucket: args.name, arn: `arn:aws:s3:::${args.name}` });
  if (args.type === "aws:eks/cluster:Cluster") Object.assign(state, { endpoint: "https://eks.example", certificateAuthority: { data: "Q0E=" }, arn: "arn:aws:eks:eu-west-1:123456789012:cluster/x" });
  if (args.type === "aws:iam/role:Role") state.arn = `arn:aws:iam::123456789012:role/${args.name}`;
  return state;
};

/** What AWS answers to the calls the AWS cluster and the experiment make: the account, an ECR token. */
export const awsMockCalls = (args: pulumi.runtime.MockCallArgs): Record<string, any> | undefined => {
  if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/ci", userId: "AIDAEXAMPLE" };
  if (args.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken") return { userName: "AWS", password: "ecr-token-value", proxyEndpoint: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", authorizationToken: "x" };
  return undefined;
};

/** The answer to a provider function call the test expects, or undefined for one it does not. */
export type MockCall = (args: pulumi.runtime.MockCallArgs) => Record<string, any> | undefined;

/**
 * Installs Pulumi's mocks, recording every resource into `recorded`; a provider function call that
 * `answer` does not answer fails the test (by default every call does: the program makes none).
 * `preview`: as `pulumi preview` runs the program (a dry run: nothing is created).
 */
export function installRecordingMocks(recorded: RecordedResource[], state: MockState = (args) => args.inputs, answer: MockCall = () => undefined, preview = false): void {
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs, custom: args.custom ?? true });
        return { id: `${args.name}-id`, state: state(args) };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        const answered = answer(args);
        if (answered === undefined) throw new Error(`unexpected provider call ${args.token} ${JSON.stringify(args.inputs)}`);
        return answered;
      },
    },
    "naaw",
    "test",
    preview,
  );
}

/** Sets the stack's config and installs the recording mocks; returns what they record. */
export function recordResources(config: Record<string, string> = {}, secretKeys: string[] = [], state?: MockState): RecordedResource[] {
  const recorded: RecordedResource[] = [];
  pulumi.runtime.setAllConfig(config, secretKeys);
  installRecordingMocks(recorded, state);
  return recorded;
}

/** Waits until no resource has been registered for a while (registration is asynchronous). */
export async function settled(recorded: readonly RecordedResource[]): Promise<void> {
  let last = -1;
  let stable = 0;
  while (stable < 5) {
    await new Promise((r) => setTimeout(r, 40));
    if (recorded.length === last) stable++;
    else (stable = 0), (last = recorded.length);
  }
}

/** The value of an output, once the mocks resolve it. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Whether an output is marked secret. */
export function isSecret<T>(output: pulumi.Output<T>): Promise<boolean> {
  return (output as any).isSecret as Promise<boolean>;
}

/** Pulumi's marker for a secret value in resource inputs (the engine's `specialSigKey`/`specialSecretSig`). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** An input as the mocks received it: whether Pulumi marked it secret, and its value. */
export function unwrapInput(value: any): { secret: boolean; value: any } {
  if (value && typeof value === "object" && value[SIG_KEY] === SECRET_SIG) return { secret: true, value: value.value };
  return { secret: false, value };
}
