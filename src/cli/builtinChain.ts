import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { ChainInputError } from "../chain/protocol";
import { ChainItemError, runChainStep } from "../chain/stepLoop";
import { LidarInputError } from "../lidar/errors";
import { BuiltinInputError, checkRules } from "../local/builtinStep";
import { writeTerminationMessage } from "./terminationLog";

interface BuiltinChainOptions {
  readonly work: string;
  readonly itemsFrom: string;
  readonly chain: string;
  readonly step?: string;
  readonly param: string[];
  readonly export: string[];
  readonly window: string;
}

const collect = (value: string, all: string[]): string[] => [...all, value];

/** The built-ins that can run as a pod chain's container: only `join`, each tile's first step. */
const CHAIN_BUILTINS = ["join"];

/** `--param crs=VALUE` (a str, taken verbatim): the join's only param here, its `plan` being the item's directory of pieces. */
function joinParams(given: readonly string[]): { crs: string } {
  const params: Record<string, string> = {};
  for (const setting of given) {
    const at = setting.indexOf("=");
    const name = at > 0 ? setting.slice(0, at) : "";
    if (name !== "crs") throw new ChainInputError(`--param ${setting}: builtin-chain join takes only --param crs=EPSG:<code> (its pieces are the item's directory)`);
    if (name in params) throw new ChainInputError(`--param ${name} is given twice`);
    params[name] = setting.slice(at + 1);
  }
  const crs = params.crs ?? "";
  try {
    checkRules("builtin/join", { crs });
  } catch (error) {
    if (error instanceof BuiltinInputError) throw new ChainInputError(error.message.replace(/'crs'/, "--param crs"));
    throw error;
  }
  return { crs };
}

export function builtinChainCommand(): Command {
  return new Command("builtin-chain")
    .description("run a built-in (join) as one container of a pod's tile chain: item by item, pipelined with the other containers (docs/pod-chain.md)")
    .argument("<name>", `the built-in: ${CHAIN_BUILTINS.join(", ")}`)
    .requiredOption("--work <dir>", "the work directory the pod's containers share")
    .requiredOption("--items-from <dir>", "the items are this directory's subdirectories, sorted (join: each holds one tile's pieces)")
    .requiredOption("--chain <steps>", "every step of the pod, comma-separated")
    .option("--step <id>", "this container's step id (default: the built-in's name)")
    .option("--param <name=value>", "a param value (join: crs)", collect, [])
    .option("--export <output=dir>", "also put the output at DIR/<item>.<ext> (repeatable)", collect, [])
    .option("--window <n>", "items in flight in the pod at most", "2")
    .addHelpText("after", "\nExample:\n  naaw builtin-chain join --work /tmp/naaw/work --items-from /tmp/naaw/files/pieces --chain join,load,normalize,filter,neighbors,features,export --param crs=EPSG:28992")
    .action(async (name: string, options: BuiltinChainOptions) => {
      const step = options.step ?? name;
      const chain = options.chain.split(",").filter((s) => s !== "");
      let crs = "";
      const loop = {
        work: options.work,
        itemsFrom: options.itemsFrom,
        step,
        chain,
        producers: [],
        exports: options.export,
        window: Number(options.window),
        check: () => {
          if (!CHAIN_BUILTINS.includes(name)) throw new ChainInputError(`builtin-chain runs ${CHAIN_BUILTINS.join(", ")}, not '${name}'`);
          if (!/^\d+$/.test(options.window)) throw new ChainInputError(`--window ${options.window}: give a whole number of at least 1 (items in flight in the pod)`);
          crs = joinParams(options.param).crs;
        },
      };
      const code = await runChainStep(
        loop,
        async (item, outputsDir, stepDir) => {
          const { joinTileDirectory } = await import("../lidar/pieces");
          const files = path.join(stepDir, "files");
          fs.rmSync(files, { recursive: true, force: true });
          let tile: string;
          try {
            tile = joinTileDirectory({ dir: path.join(options.itemsFrom, item), outDir: files, crs }).npy;
          } catch (error) {
            if (error instanceof LidarInputError) throw new ChainItemError(error.message, 2);
            throw error;
          }
          // As the local join's `tile` output: a file value, here the path of the joined .npy (its sidecar beside it).
          fs.writeFileSync(path.join(outputsDir, "tile.json"), JSON.stringify(path.resolve(tile)));
        },
        writeTerminationMessage,
      );
      process.exitCode = code;
    });
}
