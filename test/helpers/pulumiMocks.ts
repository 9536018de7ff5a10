import * as pulumi from "@pulumi/pulumi";

/** A resource the program registered, as the mocks saw it. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
  readonly custom: boolean;
}

/**
 * Installs Pulumi's mocks, recording every resource; any provider function call fails the test,
 * since the program is not expected to make one.
 */
export function recordResources(config: Record<string, string> = {}, secretKeys: string[] = []): RecordedResource[] {
  const recorded: RecordedResource[] = [];
  pulumi.runtime.setAllConfig(config, secretKeys);
  pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs, custom: args.custom ?? true });
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        throw new Error(`unexpected provider call ${args.token}`);
      },
    },
    "naaw",
    "test",
    false,
  );
  return recorded;
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
