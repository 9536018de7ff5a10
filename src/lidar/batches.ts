import * as fs from "fs";
import * as path from "path";
import { LidarInputError } from "./errors";
import { splitPointClouds } from "./split";

/*
 * The split of a country-sized input on Argo (docs/argo-scale.md): the input keys are cut into
 * batches of a few files, each batch is split by one pod into pieces keyed by tile, and the pieces
 * are grouped into a fixed number of buckets of tiles, one pod per bucket. A bucket is a hash of the
 * tile key, so every split pod puts a tile's pieces under the same prefix without knowing the other
 * pods' tiles, and the bucket pod downloads exactly its own tiles' pieces:
 *   <pieces>/<bucket>/<tile>/<input index>.npy + .json
 * The pieces are today's split of one file (src/lidar/pieces.ts), so a bucket pod's join of a tile's
 * pieces in input order gives the tile byte for byte as one split of all inputs writes it.
 */

const POINT_CLOUD_KEY = /\.la[sz]$/i;

/** One split pod's files: `k0` … `k<n-1>` are S3 keys, the unused ones `absent` (an optional artifact Argo skips). */
export interface InputBatch {
  readonly id: string;
  /** The batch's position: its files are inputs `index × perBatch + slot` of the sorted input. */
  readonly index: number;
  readonly [slot: `k${number}`]: string;
}

/** The keys of an S3 listing that a local `input` directory would give: LAS/LAZ objects directly under the prefix, sorted. */
export function inputKeys(listing: readonly string[], prefix: string): string[] {
  if (/[*?[]/.test(prefix)) throw new LidarInputError(`input '${prefix}': a glob cannot be listed on Argo; give the key of one LAS/LAZ file or the prefix of a folder of them`);
  const folder = prefix.replace(/\/+$/, "");
  const keys = listing.filter((key) => POINT_CLOUD_KEY.test(key) && (key === folder || (key.startsWith(`${folder}/`) && !key.slice(folder.length + 1).includes("/"))));
  if (keys.length === 0) throw new LidarInputError(`input '${prefix}': no LAS/LAZ objects (*.las, *.laz) under this key in the artifact bucket; upload them there first (aws s3 sync DIR s3://BUCKET/${folder}/)`);
  return [...new Set(keys)].sort();
}

/** The sorted keys cut into batches of `perBatch`, every batch with `perBatch` slots. */
export function planInputBatches(keys: readonly string[], perBatch: number, absent: string): InputBatch[] {
  if (!Number.isInteger(perBatch) || perBatch < 1) throw new RangeError(`files per split batch must be a whole number of at least 1, not ${perBatch}`);
  const batches: InputBatch[] = [];
  const width = String(Math.max(0, Math.ceil(keys.length / perBatch) - 1)).length;
  for (let index = 0; index * perBatch < keys.length; index++) {
    const slots: Record<string, string> = {};
    for (let slot = 0; slot < perBatch; slot++) slots[`k${slot}`] = keys[index * perBatch + slot] ?? absent;
    batches.push({ id: `inputs-${String(index).padStart(width, "0")}`, index, ...slots } as InputBatch);
  }
  return batches;
}

/** The bucket of a tile among `buckets`: FNV-1a of its key, so every pod agrees without talking. */
export function tileBucket(tile: string, buckets: number): string {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`tile batches must be a whole number of at least 1, not ${buckets}`);
  let hash = 0x811c9dc5;
  for (let i = 0; i < tile.length; i++) {
    hash ^= tile.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `b${String(hash % buckets).padStart(String(buckets - 1).length, "0")}`;
}

export interface SplitBatchOptions {
  readonly batch: InputBatch;
  /** The batch's downloaded files, slot `i` at `<inputDir>/<i>` (a slot whose key is `absent` has none). */
  readonly inputDir: string;
  readonly absent: string;
  readonly perBatch: number;
  /** Receives `<bucket>/<tile>/<input index>.npy` + `.json`. */
  readonly outDir: string;
  readonly buckets: number;
  readonly tileSize: number;
  readonly cellSize: number;
  readonly onProgress?: (pointsRead: number, pointsTotal: number) => void;
}

export interface SplitBatchResult {
  /** The buckets this batch wrote pieces into, sorted. */
  readonly buckets: readonly string[];
  /** The CRS the batch's files agree on ("" when none names one). */
  readonly crs: string;
  readonly pointCount: number;
}

/** Splits each file of a batch into pieces and files them under their tiles' buckets. */
export async function splitBatch(options: SplitBatchOptions): Promise<SplitBatchResult> {
  const touched = new Set<string>();
  const named: { key: string; crs: string }[] = [];
  let pointCount = 0;
  const scratch = path.join(options.outDir, ".split");
  for (let slot = 0; slot < options.perBatch; slot++) {
    const key = options.batch[`k${slot}`];
    if (key === undefined) throw new LidarInputError(`batch ${options.batch.id} has no slot k${slot}; it was made for fewer files per batch`);
    if (key === options.absent) continue;
    const downloaded = path.join(options.inputDir, String(slot));
    if (!fs.existsSync(downloaded)) throw new LidarInputError(`${key}: not downloaded to ${downloaded}; the object may have been deleted after the input was listed`);
    // The reader knows LAS from LAZ by the extension: give the download its key's.
    const file = path.join(scratch, `${slot}${path.extname(key).toLowerCase()}`);
    fs.mkdirSync(scratch, { recursive: true });
    fs.rmSync(file, { force: true });
    fs.symlinkSync(path.resolve(downloaded), file);
    const pieces = path.join(scratch, `pieces-${slot}`);
    const result = await splitPointClouds({ input: file, outDir: pieces, tileSize: options.tileSize, cellSize: options.cellSize, crs: "", onProgress: options.onProgress });
    pointCount += result.pointCount;
    named.push({ key, crs: result.crs });
    const input = options.batch.index * options.perBatch + slot;
    for (const tile of result.tiles) {
      const sidecar = JSON.parse(fs.readFileSync(tile.json, "utf8")) as { tile: string; source_files: string[] };
      const bucket = tileBucket(sidecar.tile, options.buckets);
      const dir = path.join(options.outDir, bucket, sidecar.tile);
      fs.mkdirSync(dir, { recursive: true });
      const name = String(input).padStart(6, "0");
      // The join sorts a tile's pieces by their source: the key, whose order is the input's.
      fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ ...sidecar, source_files: [key] }));
      fs.renameSync(tile.npy, path.join(dir, `${name}.npy`));
      touched.add(bucket);
    }
    fs.rmSync(pieces, { recursive: true, force: true });
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  return { buckets: [...touched].sort(), crs: agreedAcross(named), pointCount };
}

/** The CRS that non-empty values agree on ("" when none names one), as one split of all files computes it. */
export function agreedAcross(values: readonly { readonly key: string; readonly crs: string }[]): string {
  const first = values.find((v) => v.crs !== "");
  const other = first && values.find((v) => v.crs !== "" && v.crs !== first.crs);
  if (first && other) throw new LidarInputError(`${other.key}: its CRS ${other.crs} differs from ${first.crs} of ${first.key}; split files of one CRS together`);
  return first?.crs ?? "";
}

/** The fan-in of the split pods: every bucket that holds pieces, and the CRS of the whole input (else `crs`). */
export function planBuckets(perSplit: readonly { readonly key: string; readonly buckets: readonly string[]; readonly crs: string }[], crs: string): { buckets: string[]; crs: string } {
  const buckets = [...new Set(perSplit.flatMap((s) => s.buckets))].sort();
  if (buckets.length === 0) throw new LidarInputError("the split pods wrote no pieces: the input files hold no points");
  return { buckets, crs: agreedAcross(perSplit) || crs };
}
