import { Command } from "commander";
import * as fs from "fs";
import * as path from "path";
import { fileValue, listValue, StepValue, ValueBindingError } from "../local/values";
import { BUILTINS } from "../workflow/builtins";
import type { ComponentInterface } from "../workflow/catalog";
import type { WorkflowType } from "../workflow/spec";
import { isList, valueFileExtension } from "../workflow/types";
import { runAction, UsageError } from "./output";
import { writeTerminationMessage } from "./terminationLog";

interface BuiltinOptions {
  readonly outputs: string;
  readonly inputs?: string;
  readonly input: string[];
  readonly param: string[];
}

const collect = (value: string, all: string[]): string[] => [...all, value];

/**
 * An input of a built-in from the command line: `--input NAME=PATH` (repeatable, in order; how CWL
 * passes each file of a list), else `<inputs>/NAME/` (its files in name order; how Argo delivers a
 * fan-in) or `<inputs>/NAME.<ext>`.
 */
function inputValue(component: ComponentInterface, name: string, type: WorkflowType, options: BuiltinOptions): StepValue | undefined {
  const given = options.input.filter((i) => i.startsWith(`${name}=`)).map((i) => fileValue(i.slice(name.length + 1)));
  if (given.length > 0) return isList(type) ? listValue(given) : given[0];
  if (!options.inputs) return undefined;
  const dir = path.join(options.inputs, name);
  if (fs.existsSync(dir) && fs.statSync(dir).isDirectory()) {
    return listValue(fanInFiles(dir).map((f) => fileValue(path.join(dir, f))));
  }
  const single = path.join(options.inputs, `${name}.${valueFileExtension(type)}`);
  if (fs.existsSync(single)) return isList(type) ? listValue([fileValue(single)]) : fileValue(single);
  throw new UsageError(`builtin/${component.name}: input '${name}' is neither ${dir}/ nor ${single}`, 2);
}

/**
 * The files of a fan-in directory, by relative path: on Argo a batched group's pod uploads one folder
 * per batch (`<prefix>/<bucket>/<tile>.npy`), so the files may be one level down; names starting
 * with a dot (partial uploads, markers) are not items.
 */
function fanInFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((relative) => !relative.split(path.sep).some((part) => part.startsWith(".")) && fs.statSync(path.join(dir, relative)).isFile())
    .sort();
}

function linkInto(dir: string, files: readonly string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const file of files) {
    const target = path.join(dir, path.basename(file));
    if (path.resolve(target) === path.resolve(file)) continue;
    fs.rmSync(target, { force: true });
    try {
      fs.linkSync(file, target);
    } catch {
      fs.copyFileSync(file, target);
    }
  }
}

function writeJsonAtomic(file: string, value: unknown): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(value, null, 1) + "\n");
  fs.renameSync(temp, file);
}

export function builtinCommand(): Command {
  return new Command("builtin")
    .description("run a built-in step once, as Argo and CWL do: split (LAS/LAZ → tiles) or merge (tile rasters → GeoTIFFs)")
    .argument("<name>", `the built-in: ${Object.values(BUILTINS).map((b) => b.name).join(", ")}`)
    .requiredOption("--outputs <dir>", "directory for the step's outputs (split: tiles/<id>.npy + .json and tiles.json; merge: files.json)")
    .option("--inputs <dir>", "directory holding each input as NAME/ (a list, files in name order) or NAME.<ext>")
    .option("--input <name=path>", "one file of an input (repeatable; in order for a list)", collect, [])
    .option("--param <name=value>", "a param value, read as YAML unless the param is a str (repeatable)", collect, [])
    .addHelpText(
      "after",
      "\nExamples:\n  npx naaw builtin split --param input=data/lidar --param tile_size=500 --outputs /tmp/split\n" +
        "  npx naaw builtin merge --input rasters=a/raster.npy --input raster_infos=a/raster_info.json --param out=out --outputs /tmp/merge",
    )
    .action((name: string, options: BuiltinOptions) =>
      runAction(() => reportingTermination(async () => {
        // The steps (LAS/LAZ readers, GeoTIFF writer) are loaded when one runs, not at every start of naaw.
        const [{ BUILTIN_STEPS, BuiltinInputError }, { formatCount }, { ParamValueError, resolveParams }] = await Promise.all([
          import("../local/builtinSteps"),
          import("../local/progress"),
          import("../local/params"),
        ]);
        const component = BUILTINS[`builtin/${name}`];
        const step = BUILTIN_STEPS[name];
        if (!component || !step) throw new UsageError(`no built-in '${name}'; the built-ins are ${Object.keys(BUILTIN_STEPS).join(", ")}`, 2);
        let params: Record<string, unknown>;
        try {
          params = resolveParams(component.params, options.param, `builtin/${name}`);
        } catch (error) {
          if (error instanceof ParamValueError) throw new UsageError(error.message.replace(/--set /g, "--param "), 2);
          throw error;
        }
        const inputs: Record<string, StepValue> = {};
        for (const input of component.inputs) {
          const value = inputValue(component, input.name, input.type, options);
          if (value === undefined) throw new UsageError(`builtin/${name}: missing input '${input.name}': give --input ${input.name}=PATH or --inputs DIR`, 2);
          inputs[input.name] = value;
        }
        fs.mkdirSync(options.outputs, { recursive: true });
        let lastReport = 0;
        const onProgress = (done: number, total: number): void => {
          const now = performance.now();
          if (now - lastReport < 1000 && done < total) return;
          lastReport = now;
          process.stderr.write(`${name}: ${formatCount(done)} of ${formatCount(total)} points read\n`);
        };
        let produced: Record<string, StepValue>;
        try {
          produced = await step.run({ params, inputs, staging: options.outputs, onProgress });
        } catch (error) {
          if (error instanceof BuiltinInputError || error instanceof ValueBindingError) throw new UsageError(error.message, 2);
          throw error;
        }
        // Each output as <outputs>/<name>.json: a file list as its ids (file stems), as Argo's withParam wants them.
        // Files written elsewhere (merge writes its `out` directory) are also linked into <outputs>/<name>/,
        // where a CWL engine collects a list of files.
        for (const [output, value] of Object.entries(produced)) {
          // (A list of other values, such as bucket ids or batches, is only written as JSON.)
          if (value.kind === "value" && Array.isArray(value.value) && value.value.length > 0 && value.value.every((f) => typeof f === "string" && path.isAbsolute(f))) {
            linkInto(path.join(options.outputs, output), value.value as string[]);
          }
          const json = value.kind === "list" ? value.items.map((item) => (item.kind === "file" ? path.basename(item.path).replace(/\.[^.]+$/, "") : null)) : value.kind === "value" ? value.value : value.path;
          writeJsonAtomic(path.join(options.outputs, `${output}.json`), json);
        }
      })),
    );
}

/** A built-in's error of bad input also goes to the container's termination message (Argo's node message). */
async function reportingTermination(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof UsageError) writeTerminationMessage(`naaw: ${error.message}`);
    throw error;
  }
}
