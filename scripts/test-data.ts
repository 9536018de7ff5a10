// `npm run test-data` (and `pretest`): put the tests' real data files under test/data/, each checked by
// its sha256. The files are not in the repository; their facts are (test/data/lidar.manifest.json and
// test/data/argo.sources.json: origin repository, commit, path, size, sha256). Each file comes
//   - from the directory an environment variable names, where the network is closed (CI here):
//     NAAW_TEST_DATA for the LAS/LAZ files, NAAW_TEST_SCHEMAS for Argo's JSON schema;
//   - otherwise from its public origin at the pinned commit, over HTTPS (NAAW_TEST_DATA_ORIGIN: a mirror
//     of raw.githubusercontent.com's layout instead; NAAW_TEST_DATA_TIMEOUT: seconds of silence, default 60).
// A file already in place with the right hash is left alone, so a second run reads and hashes only.
//
//   ts-node scripts/test-data.ts [--dest DIR] [--only lidar|argo]... [--quiet]
//
// Exit 0 when every file is in place; 1, with one line per file that is not, naming it and what to do.
import { createHash } from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as path from "path";

const REPO = path.resolve(__dirname, "..");
export const TEST_DATA_DIR = path.join(REPO, "test", "data");

/** One file's facts, as lidar.manifest.json and argo.sources.json both spell them. */
export interface SourceFacts {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly origin_repo: string;
  readonly origin_path: string;
  readonly origin_commit: string;
}

export interface DataSet {
  readonly name: string;
  /** Under the destination (test/data/), gitignored. */
  readonly dir: string;
  /** The committed facts, in test/data/. */
  readonly facts: string;
  /** The variable naming a local directory that holds the files, and where .ci/run points it. */
  readonly env: string;
  readonly example: string;
}

export const DATA_SETS: readonly DataSet[] = [
  { name: "lidar", dir: "lidar", facts: "lidar.manifest.json", env: "NAAW_TEST_DATA", example: "/path/to/lidar-copy" },
  { name: "argo", dir: "argo", facts: "argo.sources.json", env: "NAAW_TEST_SCHEMAS", example: "/path/to/argo-schema-copy" },
];

export function dataSet(name: string): DataSet {
  const found = DATA_SETS.find((s) => s.name === name);
  if (!found) throw new Error(`no test data set '${name}' (sets: ${DATA_SETS.map((s) => s.name).join(", ")})`);
  return found;
}

/** A set's files, checked to be what the rest of this script relies on. */
export function readFacts(set: DataSet): SourceFacts[] {
  const file = path.join(TEST_DATA_DIR, set.facts);
  const facts = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
  if (!Array.isArray(facts)) throw new Error(`${file}: expected a list of files`);
  return facts.map((entry: Record<string, unknown>, i) => {
    for (const key of ["file", "sha256", "origin_repo", "origin_path", "origin_commit"]) {
      if (typeof entry[key] !== "string" || entry[key] === "") throw new Error(`${file}: entry ${i}: '${key}' must be a non-empty string`);
    }
    if (!Number.isInteger(entry.bytes)) throw new Error(`${file}: entry ${i}: 'bytes' must be an integer`);
    // A file name is joined to directories below: it must stay a plain name.
    if (path.basename(entry.file as string) !== entry.file) throw new Error(`${file}: entry ${i}: '${String(entry.file)}' is not a plain file name`);
    if (!/^[0-9a-f]{64}$/.test(entry.sha256 as string)) throw new Error(`${file}: entry ${i}: 'sha256' is not 64 hex digits`);
    if (!/^[0-9a-f]{40}$/.test(entry.origin_commit as string)) throw new Error(`${file}: entry ${i}: 'origin_commit' must be a full commit id, not a branch`);
    return entry as unknown as SourceFacts;
  });
}

export const DEFAULT_ORIGIN = "https://raw.githubusercontent.com";

/**
 * The file at its origin, at the pinned commit (never a branch, so the bytes cannot move). `base` is
 * GitHub's raw host, or a mirror with the same `<owner>/<repo>/<commit>/<path>` layout
 * (NAAW_TEST_DATA_ORIGIN; the tests of this script point it at a local HTTPS server).
 */
export function originUrl(facts: SourceFacts, base = DEFAULT_ORIGIN): string {
  const segments = facts.origin_path.split("/").map(encodeURIComponent).join("/");
  return `${base.replace(/\/+$/, "")}/${facts.origin_repo}/${facts.origin_commit}/${segments}`;
}

function sha256Of(file: string): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buffer = Buffer.alloc(1 << 20);
    for (let n; (n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0; ) hash.update(buffer.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** Why `file` is not the expected bytes, or undefined when it is. */
function mismatch(file: string, facts: SourceFacts): string | undefined {
  const size = fs.statSync(file).size;
  const digest = sha256Of(file);
  if (digest === facts.sha256 && size === facts.bytes) return undefined;
  let why = `sha256 ${digest} (${size} bytes), expected ${facts.sha256} (${facts.bytes} bytes)`;
  // A host serving Git LFS pointers instead of the content gives a small text file that says so.
  if (size < 1024 && fs.readFileSync(file, "utf8").startsWith("version https://git-lfs")) why += "; it is a Git LFS pointer, not the file";
  return why;
}

class DataError extends Error {}

interface Options {
  readonly dest: string;
  readonly sets: readonly DataSet[];
  readonly quiet: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Seconds without a byte from the origin before a download is abandoned. */
  readonly idleSeconds: number;
  readonly origin: string;
}

const MAX_REDIRECTS = 5;

/** GET `url` into `target`, following redirects; fails on a status other than 200, a stall or too many bytes. */
function download(url: string, target: string, facts: SourceFacts, idleSeconds: number, redirects = MAX_REDIRECTS): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { headers: { "User-Agent": "naaw-test-data" }, timeout: idleSeconds * 1000 }, (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location) {
        response.resume();
        const next = new URL(location, url);
        if (next.protocol !== "https:") return reject(new Error(`redirected to ${next.href}, which is not HTTPS`));
        if (redirects === 0) return reject(new Error(`more than ${MAX_REDIRECTS} redirects`));
        return download(next.href, target, facts, idleSeconds, redirects - 1).then(resolve, reject);
      }
      if (status !== 200) {
        response.resume();
        return reject(new Error(`HTTP ${status} from ${url}`));
      }
      const out = fs.createWriteStream(target);
      let received = 0;
      response.on("data", (chunk: Buffer) => {
        received += chunk.length;
        // The size is known: a longer answer is not the file, and must not fill the disk.
        if (received > facts.bytes) response.destroy(new Error(`the answer is longer than the file's ${facts.bytes} bytes`));
      });
      response.on("error", (error) => {
        out.destroy();
        reject(error);
      });
      out.on("error", reject);
      out.on("finish", resolve);
      response.pipe(out);
    });
    request.on("timeout", () => request.destroy(new Error(`no data for ${idleSeconds} s`)));
    request.on("error", reject);
  });
}

/** A name beside `target` for writing before the rename, so a broken fetch never leaves a half file in place. */
function temporaryFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
}

async function fetchOne(set: DataSet, facts: SourceFacts, options: Options): Promise<string> {
  const dir = path.join(options.dest, set.dir);
  const target = path.join(dir, facts.file);
  if (fs.existsSync(target) && mismatch(target, facts) === undefined) return "present";
  fs.mkdirSync(dir, { recursive: true });
  const temporary = temporaryFor(target);
  const local = options.env[set.env];
  try {
    let how: string;
    if (local) {
      const source = path.resolve(local, facts.file);
      if (!fs.existsSync(source)) throw new DataError(`${set.env}=${local}: ${facts.file} is missing there (expected ${facts.bytes} bytes, sha256 ${facts.sha256})`);
      const why = mismatch(source, facts);
      if (why) throw new DataError(`${set.env}=${local}: ${facts.file} has ${why}`);
      fs.copyFileSync(source, temporary);
      how = `copied from ${source}`;
    } else {
      const url = originUrl(facts, options.origin);
      try {
        await download(url, temporary, facts, options.idleSeconds);
      } catch (error) {
        throw new DataError(
          `cannot download ${facts.file} from ${url}: ${(error as Error).message}; where the network is closed, ` +
            `set ${set.env} to a directory that holds the files (e.g. ${set.env}=${set.example} npm run test-data)`,
        );
      }
      const why = mismatch(temporary, facts);
      if (why) throw new DataError(`${facts.file} downloaded from ${url} has ${why}`);
      how = `downloaded from ${url}`;
    }
    // The local copy may be read-only (shared/ is): the tests' copy is an ordinary file.
    fs.chmodSync(temporary, 0o644);
    fs.renameSync(temporary, target);
    return how;
  } finally {
    fs.rmSync(temporary, { force: true });
  }
}

/** Every file of every set in place under options.dest; returns the problems, one line per file. */
export async function ensureTestData(options: Options): Promise<string[]> {
  const problems: string[] = [];
  for (const set of options.sets) {
    const local = options.env[set.env];
    if (local && !fs.statSync(local, { throwIfNoEntry: false })?.isDirectory()) {
      problems.push(`test-data: ${set.env}=${local} is not a directory`);
      continue;
    }
    for (const facts of readFacts(set)) {
      try {
        const how = await fetchOne(set, facts, options);
        if (!options.quiet) console.log(`test-data: ${set.dir}/${facts.file}: ${how}`);
      } catch (error) {
        if (!(error instanceof DataError) && !(error instanceof Error && "code" in error)) throw error;
        problems.push(`test-data: ${set.dir}/${facts.file}: ${error.message}`);
      }
    }
  }
  return problems;
}

function parseArgs(argv: readonly string[]): Options {
  let dest = TEST_DATA_DIR;
  const only: DataSet[] = [];
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--dest" && i + 1 < argv.length) dest = path.resolve(argv[++i]!);
    else if (arg === "--only" && i + 1 < argv.length) only.push(dataSet(argv[++i]!));
    else if (arg === "--quiet") quiet = true;
    else throw new Error(`usage: test-data [--dest DIR] [--only ${DATA_SETS.map((s) => s.name).join("|")}]... [--quiet] (unexpected '${arg}')`);
  }
  const origin = process.env.NAAW_TEST_DATA_ORIGIN || DEFAULT_ORIGIN;
  if (!origin.startsWith("https://")) throw new Error(`NAAW_TEST_DATA_ORIGIN=${origin}: the origin must be an https:// URL`);
  const idleSeconds = Number(process.env.NAAW_TEST_DATA_TIMEOUT || 60);
  if (!(idleSeconds > 0)) throw new Error(`NAAW_TEST_DATA_TIMEOUT=${process.env.NAAW_TEST_DATA_TIMEOUT}: expected a number of seconds`);
  return { dest, sets: only.length > 0 ? only : DATA_SETS, quiet, env: process.env, idleSeconds, origin };
}

if (require.main === module) {
  (async () => {
    const options = parseArgs(process.argv.slice(2));
    const problems = await ensureTestData(options);
    for (const line of problems) console.error(line);
    process.exitCode = problems.length > 0 ? 1 : 0;
  })().catch((error: Error) => {
    console.error(`test-data: ${error.message}`);
    process.exitCode = 1;
  });
}
