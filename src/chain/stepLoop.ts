import * as fs from "fs";
import * as path from "path";
import { ChainInputError, ChainStopped, ChainWaiter, ChainWork, exportFile, listItems, startHeartbeat } from "./protocol";

/**
 * One container's loop of the pod chain (docs/pod-chain.md), for a step written in TypeScript (the
 * built-in `join`): for each item in order, wait until at most `window` items are in flight and its
 * producers are done, run the step into outputs.partial, rename it to outputs, export, mark done,
 * clean up. runtime/python/naaw_runtime/chain.py is the same loop for notebook components.
 */

export interface ChainStepOptions {
  readonly work: string;
  readonly itemsFrom: string;
  readonly step: string;
  /** Every step of the pod. */
  readonly chain: readonly string[];
  /** The steps whose results this one reads, per item. */
  readonly producers: readonly string[];
  /** `OUTPUT=DIR` (as given to --export): the output also goes to DIR/<item>.<ext>. */
  readonly exports: readonly string[];
  readonly window: number;
  /** The step's own checks of its arguments, run inside the loop's error handling, so a bad one aborts the pod. */
  readonly check?: () => void;
}

/** A step's work on one item: writes its outputs (`<output>.npy|.json`) into `outputsDir`. */
export type ChainItemRun = (item: string, outputsDir: string, stepDir: string) => void | Promise<void>;

/** An item the step cannot process, with the exit code the built-in gives it (2: bad input). */
export class ChainItemError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

function exportsOf(given: readonly string[]): { output: string; dir: string }[] {
  return given.map((setting) => {
    const at = setting.indexOf("=");
    if (at <= 0 || at === setting.length - 1) throw new ChainInputError(`--export ${setting} must look like OUTPUT=DIR`);
    return { output: setting.slice(0, at), dir: setting.slice(at + 1) };
  });
}

export function checkChainOptions(options: ChainStepOptions): void {
  if (new Set(options.chain).size !== options.chain.length) throw new ChainInputError(`--chain ${options.chain.join(",")}: a step is named twice`);
  if (!options.chain.includes(options.step)) throw new ChainInputError(`step ${options.step} is not in --chain ${options.chain.join(",")}`);
  if (!Number.isInteger(options.window) || options.window < 1) throw new ChainInputError(`--window ${options.window}: give a whole number of at least 1 (items in flight in the pod)`);
  for (const producer of options.producers) {
    if (!options.chain.includes(producer) || producer === options.step) throw new ChainInputError(`${producer} is not another step of --chain ${options.chain.join(",")}`);
  }
}

function outputFile(outputsDir: string, output: string): string {
  for (const ext of [".npy", ".json"]) {
    const file = path.join(outputsDir, `${output}${ext}`);
    if (fs.existsSync(file)) return file;
  }
  throw new ChainItemError(`no output '${output}' in ${outputsDir} to export`, 2);
}

/** Runs the loop; the exit code: 0 all done, 2 bad input, 1 failed or stopped by another step, 70 an internal error. */
export async function runChainStep(options: ChainStepOptions, run: ChainItemRun, report: (line: string) => void): Promise<number> {
  let items: string[] = [];
  let listing: Error | undefined;
  try {
    items = listItems(options.itemsFrom);
  } catch (error) {
    listing = error as Error;
  }
  const work = new ChainWork(options.work, options.chain, items);
  fs.mkdirSync(options.work, { recursive: true });
  const stopHeartbeat = startHeartbeat(work, options.step);
  const waiter = new ChainWaiter(work, options.step);
  let current: string | undefined;
  try {
    if (listing) throw listing;
    options.check?.();
    checkChainOptions(options);
    const exports = exportsOf(options.exports);
    for (const [index, item] of items.entries()) {
      current = item;
      waiter.checkAbort(index);
      if (index >= options.window) {
        // Backpressure: at most `window` items in flight, so only their intermediates are on disk.
        const earlier = items[index - options.window]!;
        await waiter.until(() => !fs.existsSync(path.join(work.root, earlier)), index, earlier, () => options.chain.filter((s) => !work.isDone(earlier, s)));
      }
      await waiter.until(() => options.producers.every((p) => work.isDone(item, p)), index, item, () => options.producers.filter((p) => !work.isDone(item, p)));
      const stepDir = work.stepDir(item, options.step);
      const partial = path.join(stepDir, "outputs.partial");
      fs.rmSync(partial, { recursive: true, force: true });
      fs.mkdirSync(partial, { recursive: true });
      await run(item, partial, stepDir);
      const outputs = work.outputsDir(item, options.step);
      fs.rmSync(outputs, { recursive: true, force: true });
      fs.renameSync(partial, outputs);
      for (const { output, dir } of exports) exportFile(outputFile(outputs, output), dir, item);
      work.finish(item, options.step);
    }
    return 0;
  } catch (error) {
    if (error instanceof ChainStopped) {
      process.stderr.write(`naaw: ${error.message}\n`);
      report(error.message);
      return 1;
    }
    // A system error (ENOSPC, EACCES on the shared disk) is the pod's to fix, not a bug: one line, exit 1, as the Python twin does.
    const systemError = typeof (error as NodeJS.ErrnoException).code === "string" && typeof (error as NodeJS.ErrnoException).syscall === "string";
    const known = error instanceof ChainItemError || error instanceof ChainInputError || systemError;
    const message = (error as Error).message.split("\n").join(" ");
    const line = work.fail(error instanceof ChainInputError ? undefined : current, options.step, message);
    process.stderr.write(known ? `naaw: ${line}\n` : `naaw: internal error (please report it): ${(error as Error).stack ?? String(error)}\n`);
    report(line);
    return error instanceof ChainItemError ? error.exitCode : error instanceof ChainInputError ? 2 : systemError ? 1 : 70;
  } finally {
    await stopHeartbeat();
  }
}
