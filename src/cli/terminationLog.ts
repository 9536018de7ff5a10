import * as fs from "fs";

/**
 * Kubernetes' default terminationMessagePath. What a container writes there becomes its terminated
 * state's message, which Argo puts in the failed node's message ("main: Error (exit code 2): <it>"),
 * so `pulumi up` and `naaw submit` can name a built-in's error, not only its exit code (the Python
 * runtime does the same for notebook components).
 */
const TERMINATION_LOG = "/dev/termination-log";
/** The kubelet keeps at most 4096 bytes of it. */
const LIMIT = 4096;

/** Writes the one-line error there when running in a Kubernetes container (the file exists and is writable); never creates it. */
export function writeTerminationMessage(message: string, file: string = process.env.NAAW_TERMINATION_LOG ?? TERMINATION_LOG): void {
  try {
    if (!fs.statSync(file).isFile()) return;
    fs.accessSync(file, fs.constants.W_OK);
    fs.writeFileSync(file, Buffer.from(message.split("\n").join(" ")).subarray(0, LIMIT));
  } catch {
    // not in a Kubernetes container, or a read-only mount: the message is on stderr as well
  }
}
