// components/projectProvider.ts: a dynamic provider that runs the project's own TypeScript. The
// provider is serialized as Pulumi serializes it and run in a plain Node process, as the engine's
// dynamic-provider host runs it; its text must be small and hold nothing of the program.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { projectProvider } from "../components/projectProvider";
import { callHost, secretLookingValues } from "./fixtures/provider/callHost";
import { tempDir } from "./helpers/notebooks";

const ROOT = path.resolve(__dirname, "..");
const NOTE = path.join(__dirname, "fixtures", "provider", "noteResource.ts");

/** The provider's text, from the same call @pulumi/pulumi/dynamic makes for a dynamic.Resource. */
async function serialized(provider: pulumi.dynamic.ResourceProvider): Promise<{ text: string; containsSecrets: boolean }> {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return { text: sf.text, containsSecrets: sf.containsSecrets };
}

describe("projectProvider: the project's TypeScript in a Pulumi dynamic provider", function () {
  this.timeout(60_000);
  let scratch: { dir: string; cleanup: () => void };
  let text: string;
  let size: number;

  before(async () => {
    scratch = tempDir("naaw-provider-");
    const out = await serialized(projectProvider(NOTE, "noteResource"));
    assert.equal(out.containsSecrets, false);
    text = out.text;
    size = Buffer.byteLength(text);
  });
  after(() => scratch.cleanup());

  it("serializes to a few kilobytes that name only the implementation, its export and the TypeScript hook", () => {
    console.log(`      serialized provider: ${size} bytes`);
    assert.ok(size < 8192, `the serialized provider is ${size} bytes: it captures more than paths`);
    assert.ok(text.includes(JSON.stringify(NOTE)) && text.includes(JSON.stringify("noteResource")) && text.includes(JSON.stringify(path.join(ROOT, "bin", "register.js"))));
    // No module of the program, no TypeScript: only the delegating functions.
    assert.doesNotMatch(text, /@pulumi|ts-node|typescript/);
    assert.deepEqual(secretLookingValues(text), []);
  });

  it("flags a provider that captures a credential or a value of the environment (the check can fail)", async () => {
    const key = "AKIA" + "ABCDEFGHIJKLMNOP";
    process.env.NAAW_TEST_CAPTURED = "captured-value-of-the-environment";
    try {
      const captured = process.env.NAAW_TEST_CAPTURED;
      const naive: pulumi.dynamic.ResourceProvider = { create: async () => ({ id: `${key}-${captured}` }) };
      const found = secretLookingValues((await serialized(naive)).text);
      assert.ok(found.includes(String(/AKIA[0-9A-Z]{16}/)) && found.includes("$NAAW_TEST_CAPTURED"), found.join(", "));
    } finally {
      delete process.env.NAAW_TEST_CAPTURED;
    }
  });

  it("creates through the implementation in a plain Node process without ts-node", () => {
    const file = path.join(scratch.dir, "note.txt");
    const answer = callHost(text, "create", [{ file, text: "hello" }], scratch.dir);
    assert.equal(answer.status, 0, answer.stderr);
    assert.equal(fs.readFileSync(file, "utf8"), "hello");
    assert.equal(answer.result.outs.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert.equal(answer.result.id, "2cf24dba5fb0a30e");
    assert.notEqual(answer.result.outs.pid, process.pid);
  });

  it("delegates diff, and gives the host's defaults for the methods the implementation lacks", () => {
    const olds = { file: "/x", text: "a", sha256: "s", pid: 1 };
    assert.deepEqual(callHost(text, "diff", ["id", olds, { file: "/x", text: "b" }], scratch.dir).result, { changes: true, replaces: ["text"] });
    assert.deepEqual(callHost(text, "diff", ["id", olds, { file: "/x", text: "a" }], scratch.dir).result, { changes: false, replaces: [] });
    // noteResource has no read, update, check or delete: read returns the state, update no outputs, check the inputs.
    assert.deepEqual(callHost(text, "read", ["id", olds], scratch.dir).result, { id: "id", props: olds });
    assert.deepEqual(callHost(text, "update", ["id", olds, { file: "/x", text: "b" }], scratch.dir).result, {});
    assert.deepEqual(callHost(text, "check", [olds, { file: "/x", text: "b" }], scratch.dir).result, { inputs: { file: "/x", text: "b" } });
    assert.equal(callHost(text, "delete", ["id", olds], scratch.dir).status, 0);
  });

  it("rejects with the implementation's own message, no stack trace", () => {
    const answer = callHost(text, "create", [{ file: path.join(scratch.dir, "empty.txt"), text: "" }], scratch.dir);
    assert.equal(answer.status, 3, answer.stderr);
    assert.equal(answer.error, "note: `text` is empty; give the note's text");
  });

  it("says which file and export when the implementation cannot be loaded in the host", async () => {
    const moved = path.join(scratch.dir, "moved.ts");
    fs.writeFileSync(moved, "export const noteResource = { create: async () => ({ id: 'x' }) };\n");
    const { text: movedText } = await serialized(projectProvider(moved, "noteResource"));
    fs.writeFileSync(moved, "export const noteResource = { create: async (: broken\n");
    const answer = callHost(movedText, "create", [{}], scratch.dir);
    assert.equal(answer.status, 3, answer.stderr);
    assert.match(answer.error!, new RegExp(`^cannot load the resource implementation 'noteResource' from ${moved.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: `));
  });

  it("refuses a relative path, a missing file and a missing export when the program runs", () => {
    assert.throws(() => projectProvider("test/fixtures/provider/noteResource.ts", "noteResource"), /is not an absolute path/);
    assert.throws(() => projectProvider(path.join(ROOT, "src", "nowhere.ts"), "x"), /no module .*nowhere\.ts/);
    assert.throws(() => projectProvider(NOTE, "nothing"), /has no export 'nothing' with a create method/);
  });
});
