import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/** Installs the TypeScript hook (sucrase) in a process that has none: the dynamic-provider host's. */
const REGISTER = path.resolve(__dirname, "..", "bin", "register.js");

/**
 * A Pulumi dynamic provider that runs this project's own TypeScript: the `exportName` export of
 * `moduleFile`, an object with create (and optionally check, diff, read, update, delete) as
 * src/resourceImplementation.ts describes.
 *
 * Why not write the provider's methods here: Pulumi serializes a dynamic provider by closure
 * serialization, capturing every value and function its methods reach, and the engine runs that
 * text in a plain Node process that knows no TypeScript. The methods below capture only two
 * absolute paths and a name; at call time they install the project's TypeScript hook
 * (bin/register.js), require the implementation and delegate to it. So the serialized text stays a
 * few kilobytes, holds no value of the program (no config, no secret), and the implementation is
 * ordinary src/ code, imported and tested like the rest.
 *
 * The implementation is loaded here too, once, so a wrong file or export name fails the program
 * (and `pulumi preview`) rather than the first create.
 */
export function projectProvider(moduleFile: string, exportName: string): pulumi.dynamic.ResourceProvider {
  if (!path.isAbsolute(moduleFile)) throw new Error(`projectProvider: '${moduleFile}' is not an absolute path; give path.join(__dirname, ...)`);
  let file: string;
  try {
    file = require.resolve(moduleFile);
  } catch {
    throw new Error(`projectProvider: no module ${moduleFile}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = (require(file) as Record<string, unknown>)[exportName] as { create?: unknown } | undefined;
  if (!loaded || typeof loaded.create !== "function") throw new Error(`projectProvider: ${file} has no export '${exportName}' with a create method`);
  const register = REGISTER;

  // Everything below is serialized: it may refer only to `file`, `exportName`, `register` and `implementation`.
  const implementation = (): any => {
    let loadedModule: Record<string, any>;
    try {
      require(register);
      loadedModule = require(file);
    } catch (error) {
      throw new Error(`cannot load the resource implementation '${exportName}' from ${file}: ${(error as Error).message}`);
    }
    const found = loadedModule[exportName];
    if (!found || typeof found.create !== "function") throw new Error(`${file} has no export '${exportName}' with a create method`);
    return found;
  };
  // Each method stands in for the implementation's, with the defaults Pulumi's dynamic-provider host
  // applies when a method is absent (the host checks which exist, and here they all do).
  return {
    check: (olds: any, news: any) => {
      const target = implementation();
      return target.check ? target.check(olds, news) : Promise.resolve({ inputs: news });
    },
    diff: (id: string, olds: any, news: any) => {
      const target = implementation();
      return target.diff ? target.diff(id, olds, news) : Promise.resolve({});
    },
    create: (inputs: any) => implementation().create(inputs),
    read: (id: string, props: any) => {
      const target = implementation();
      return target.read ? target.read(id, props) : Promise.resolve({ id, props });
    },
    update: (id: string, olds: any, news: any) => {
      const target = implementation();
      return target.update ? target.update(id, olds, news) : Promise.resolve({});
    },
    delete: (id: string, props: any) => {
      const target = implementation();
      return target.delete ? target.delete(id, props) : Promise.resolve();
    },
  };
}
