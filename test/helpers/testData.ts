// Where the tests find their real data files: test/data/, filled by `npm run test-data` (scripts/test-data.ts,
// also run by `pretest`), never a directory beside the checkout. Every test that reads a LAS/LAZ file or Argo's schema goes
// through here, so a missing file fails with what to run instead of ENOENT.
import * as fs from "fs";
import * as path from "path";
import { dataSet, readFacts, SourceFacts, TEST_DATA_DIR } from "../../scripts/test-data";

export { TEST_DATA_DIR };

/** One LAS/LAZ test file's facts (test/data/lidar.manifest.json, as measured when the file was chosen). */
export interface LidarFacts extends SourceFacts {
  readonly las_version: string;
  readonly point_format: number;
  readonly laz: boolean;
  readonly point_count: number;
  readonly class_hist: Record<string, number>;
  readonly return_number_hist: Record<string, number>;
  readonly bbox_header: readonly number[];
}

const LIDAR = dataSet("lidar");
const ARGO = dataSet("argo");

/** The directory of the LAS/LAZ test files. */
export const LIDAR_DIR = path.join(TEST_DATA_DIR, LIDAR.dir);
export const LIDAR_MANIFEST: readonly LidarFacts[] = readFacts(LIDAR) as LidarFacts[];

function present(dir: string, file: string, env: string, example: string): string {
  const full = path.join(dir, file);
  if (!fs.existsSync(full)) {
    throw new Error(`test data ${path.relative(process.cwd(), full)} is missing: run \`npm run test-data\` (where the network is closed: ${env}=${example} npm run test-data)`);
  }
  return full;
}

/** The path of a LAS/LAZ test file by name; it must be one of the manifest's, and be in place. */
export function lidarFile(name: string): string {
  if (!LIDAR_MANIFEST.some((f) => f.file === name)) throw new Error(`${name} is not a test file of test/data/${LIDAR.facts}`);
  return present(LIDAR_DIR, name, LIDAR.env, LIDAR.example);
}

/** Argo Workflows v4.1.2's JSON schema (api/jsonschema/schema.json at the commit in test/data/argo.sources.json). */
export function argoSchemaFile(): string {
  const [schema] = readFacts(ARGO);
  return present(path.join(TEST_DATA_DIR, ARGO.dir), schema!.file, ARGO.env, ARGO.example);
}
