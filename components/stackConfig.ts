import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/**
 * The stack's `naaw:` values for the given keys, raw (secrets included): they are checked in `src/`
 * before any resource exists, and every secret one is wrapped again with `pulumi.secret` before use.
 */
export function stackConfig(keys: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(keys.map((k) => [k, pulumi.runtime.getConfig(`naaw:${k}`)]));
}

/** The kubeconfig kubectl would use: the first of `$KUBECONFIG`, else `~/.kube/config`. */
export function ambientKubeconfig(): { path: string; text?: string } {
  const file = process.env.KUBECONFIG?.split(path.delimiter).find(Boolean) ?? path.join(os.homedir(), ".kube", "config");
  try {
    return { path: file, text: fs.readFileSync(file, "utf8") };
  } catch {
    return { path: file };
  }
}
