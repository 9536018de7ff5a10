import * as fs from "fs";
import * as path from "path";
import { BuildContext, LOCAL_CONTEXTS_DIR, localContextDir, writeBuildContext } from "../containerize/context";
import { sweepDead } from "./leftovers";

/** `<contexts>/.private-<pid>-<random>`: a context being written by one run. */
const PRIVATE = /^\.private-(\d+)-[A-Za-z0-9]+$/;

/**
 * The directory of a component's build context, written on first use, safe when several runs
 * start the same component at the same moment: the context is written into a private directory
 * and renamed into place, and a complete context is never replaced (another run may be starting a
 * service from it). The name carries the content hash, so whichever run wins wrote the same files.
 */
export function sharedContextDir(name: string, hash: string, context: BuildContext, root: string = LOCAL_CONTEXTS_DIR): string {
  const dir = path.join(root, `${name}-${hash.slice(0, 12)}`);
  if (fs.existsSync(path.join(dir, "component.json"))) return dir;
  fs.mkdirSync(root, { recursive: true });
  sweepDead(root, PRIVATE);
  const privateRoot = fs.mkdtempSync(path.join(root, `.private-${process.pid}-`));
  try {
    const mine = localContextDir(name, hash, context, privateRoot);
    try {
      fs.renameSync(mine, dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      // Another run was first; only a directory without its spec (not a context) is replaced.
      if (!fs.existsSync(path.join(dir, "component.json"))) writeBuildContext(dir, context);
    }
  } finally {
    fs.rmSync(privateRoot, { recursive: true, force: true });
  }
  return dir;
}
