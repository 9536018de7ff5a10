// scripts/test-data.ts (`npm run test-data`): the tests' real data files put in place from a local copy
// (NAAW_TEST_DATA / NAAW_TEST_SCHEMAS), each checked by its sha256, or downloaded from their origin, here
// a local HTTPS server on 127.0.0.1 standing in for GitHub's raw host (NAAW_TEST_DATA_ORIGIN).
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as https from "https";
import { AddressInfo } from "net";
import * as path from "path";
import { dataSet, originUrl, readFacts } from "../scripts/test-data";
import { tempDir } from "./helpers/notebooks";
import { argoSchemaFile, LIDAR_DIR, LIDAR_MANIFEST, lidarFile, TEST_DATA_DIR } from "./helpers/testData";

const ROOT = path.resolve(__dirname, "..");
const SCRIPT = path.join(ROOT, "scripts", "test-data.ts");

interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The script as `npm run test-data` runs it, with only the given variables of ours set. */
function testData(args: readonly string[], env: Record<string, string>): Promise<Result> {
  const base = { ...process.env };
  for (const name of ["NAAW_TEST_DATA", "NAAW_TEST_SCHEMAS", "NAAW_TEST_DATA_ORIGIN", "NAAW_TEST_DATA_TIMEOUT"]) delete base[name];
  // Asynchronous: the download tests answer from a server in this very process.
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", SCRIPT, ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
}

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Every name in `dir` (no leftovers of an aborted copy may hide there). */
function namesIn(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

describe("npm run test-data", function () {
  this.timeout(120_000);
  let scratch: { dir: string; cleanup: () => void };
  before(() => (scratch = tempDir("naaw-test-data-")));
  after(() => scratch.cleanup());

  it("has put every LAS/LAZ file and Argo's schema in place for the tests, matching their pinned hashes", function () {
    assert.equal(LIDAR_MANIFEST.length, 12);
    for (const facts of LIDAR_MANIFEST) assert.equal(sha256(lidarFile(facts.file)), facts.sha256, facts.file);
    const [schema] = readFacts(dataSet("argo"));
    assert.equal(sha256(argoSchemaFile()), schema!.sha256);
    // None of them is committed: they are ignored by git, their facts are not.
    const ignored = (file: string): number | null => spawnSync("git", ["check-ignore", "-q", file], { cwd: ROOT }).status;
    assert.equal(ignored(path.join(LIDAR_DIR, "AHN3.laz")), 0, "test/data/lidar/ is gitignored");
    assert.equal(ignored(argoSchemaFile()), 0, "test/data/argo/ is gitignored");
    assert.equal(ignored(path.join(TEST_DATA_DIR, "lidar.manifest.json")), 1, "the facts are not ignored");
  });

  it("pins each file to an exact commit of its origin", function () {
    const facts = LIDAR_MANIFEST.find((f) => f.file === "AHN3.laz")!;
    assert.equal(originUrl(facts), "https://raw.githubusercontent.com/eEcoLiDAR/laserchicken/dc880c58a380b76fa0f74d04fa7fed205911b3d9/testdata/AHN3.laz");
  });

  describe("from a local copy (NAAW_TEST_DATA)", function () {
    let good: string;
    before(function () {
      good = path.join(scratch.dir, "good");
      fs.mkdirSync(good);
      for (const facts of LIDAR_MANIFEST) fs.copyFileSync(lidarFile(facts.file), path.join(good, facts.file));
    });

    it("copies every file and checks it: the copies match their hashes, and a second run copies nothing", async function () {
      const dest = path.join(scratch.dir, "dest-good");
      const first = await testData(["--dest", dest, "--only", "lidar"], { NAAW_TEST_DATA: good });
      assert.equal(first.status, 0, first.stderr);
      assert.equal(first.stderr, "");
      assert.deepEqual(namesIn(path.join(dest, "lidar")), LIDAR_MANIFEST.map((f) => f.file).sort());
      for (const facts of LIDAR_MANIFEST) {
        assert.equal(sha256(path.join(dest, "lidar", facts.file)), facts.sha256, facts.file);
        assert.match(first.stdout, new RegExp(`^test-data: lidar/${facts.file.replace(/\./g, "\\.")}: copied from `, "m"));
      }
      const again = await testData(["--dest", dest, "--only", "lidar"], { NAAW_TEST_DATA: path.join(scratch.dir, "no-such-dir-is-needed-now") });
      assert.equal(again.status, 1, "a variable naming no directory is an error even when nothing is missing");
      const second = await testData(["--dest", dest, "--only", "lidar"], { NAAW_TEST_DATA: good });
      assert.equal(second.status, 0, second.stderr);
      assert.equal((second.stdout.match(/: present$/gm) ?? []).length, LIDAR_MANIFEST.length);
    });

    it("fails naming the file whose copy is corrupt, and leaves no copy of it", async function () {
      const bad = path.join(scratch.dir, "bad");
      fs.cpSync(good, bad, { recursive: true });
      const victim = path.join(bad, "simple.laz");
      const bytes = fs.readFileSync(victim);
      bytes[bytes.length >> 1] ^= 0xff; // one flipped byte: same size, other hash
      fs.writeFileSync(victim, bytes);
      const dest = path.join(scratch.dir, "dest-bad");
      const result = await testData(["--dest", dest, "--only", "lidar"], { NAAW_TEST_DATA: bad });
      assert.equal(result.status, 1);
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      const expected = LIDAR_MANIFEST.find((f) => f.file === "simple.laz")!;
      assert.equal(lines[0], `test-data: lidar/simple.laz: NAAW_TEST_DATA=${bad}: simple.laz has sha256 ${sha256(victim)} (${expected.bytes} bytes), expected ${expected.sha256} (${expected.bytes} bytes)`);
      assert.ok(!namesIn(path.join(dest, "lidar")).includes("simple.laz"));
      assert.deepEqual(namesIn(path.join(dest, "lidar")).filter((n) => n.startsWith(".")), [], "no temporary file left");
    });

    it("fails naming a file missing from the copy", async function () {
      const partial = path.join(scratch.dir, "partial");
      fs.cpSync(good, partial, { recursive: true });
      fs.rmSync(path.join(partial, "warsaw_small.las"));
      const result = await testData(["--dest", path.join(scratch.dir, "dest-partial"), "--only", "lidar"], { NAAW_TEST_DATA: partial });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /^test-data: lidar\/warsaw_small\.las: NAAW_TEST_DATA=.*partial: warsaw_small\.las is missing there \(expected 102284 bytes, sha256 e416058a/m);
      assert.equal(result.stderr.trimEnd().split("\n").length, 1);
    });

    it("replaces a damaged file already in place", async function () {
      const dest = path.join(scratch.dir, "dest-damaged");
      assert.equal((await testData(["--dest", dest, "--only", "lidar"], { NAAW_TEST_DATA: good })).status, 0);
      const target = path.join(dest, "lidar", "1_4_w_evlr.las");
      fs.truncateSync(target, 100);
      const repaired = await testData(["--dest", dest, "--only", "lidar"], { NAAW_TEST_DATA: good });
      assert.equal(repaired.status, 0, repaired.stderr);
      assert.match(repaired.stdout, /^test-data: lidar\/1_4_w_evlr\.las: copied from /m);
      assert.equal(sha256(target), LIDAR_MANIFEST.find((f) => f.file === "1_4_w_evlr.las")!.sha256);
    });
  });

  describe("from the origin over HTTPS (a local server on 127.0.0.1)", function () {
    const schemaFacts = readFacts(dataSet("argo"))[0]!;
    let server: https.Server | undefined;
    let origin = "";
    let certificate = "";
    /** What the server does with the next requests. */
    let behaviour: "redirect" | "missing" | "wrong bytes" | "silent" = "redirect";
    const requests: string[] = [];

    before(function () {
      const keys = path.join(scratch.dir, "tls");
      fs.mkdirSync(keys);
      certificate = path.join(keys, "cert.pem");
      const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(keys, "key.pem"), "-out", certificate, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { encoding: "utf8" });
      if (made.error || made.status !== 0) {
        // Without openssl there is no certificate for the stand-in origin; the local-copy tests still run.
        this.skip();
      }
      const served = fs.readFileSync(argoSchemaFile());
      const pinned = new URL(originUrl(schemaFacts)).pathname;
      server = https.createServer({ key: fs.readFileSync(path.join(keys, "key.pem")), cert: fs.readFileSync(certificate) }, (request, response) => {
        requests.push(request.url ?? "");
        if (behaviour === "silent") return; // never answers: the script must give up on its own
        if (behaviour === "missing") return void response.writeHead(404).end("Not Found");
        if (request.url === pinned) return void response.writeHead(302, { Location: "/elsewhere/schema.json" }).end();
        if (request.url !== "/elsewhere/schema.json") return void response.writeHead(404).end();
        const body = behaviour === "wrong bytes" ? Buffer.from(served).fill(0x20, 0, 16) : served;
        response.writeHead(200, { "Content-Length": body.length }).end(body);
      });
      return new Promise<void>((resolve) =>
        server!.listen(0, "127.0.0.1", () => {
          origin = `https://127.0.0.1:${(server!.address() as AddressInfo).port}`;
          resolve();
        }),
      );
    });

    after(function () {
      server?.closeAllConnections();
      server?.close();
    });

    const download = (dest: string, extra: Record<string, string> = {}): Promise<Result> =>
      testData(["--dest", dest, "--only", "argo"], { NAAW_TEST_DATA_ORIGIN: origin, NODE_EXTRA_CA_CERTS: certificate, ...extra });

    it("downloads the file at its pinned commit, following a redirect, and checks its hash", async function () {
      behaviour = "redirect";
      requests.length = 0;
      const dest = path.join(scratch.dir, "dl-good");
      const result = await download(dest);
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(requests, [`/argoproj/argo-workflows/${schemaFacts.origin_commit}/api/jsonschema/schema.json`, "/elsewhere/schema.json"]);
      assert.equal(sha256(path.join(dest, "argo", "schema.json")), schemaFacts.sha256);
      assert.match(result.stdout, /^test-data: argo\/schema\.json: downloaded from https:\/\/127\.0\.0\.1:\d+\/argoproj\/argo-workflows\//m);
    });

    it("fails naming the file, the URL and the variable to set when the origin does not have it", async function () {
      behaviour = "missing";
      const dest = path.join(scratch.dir, "dl-missing");
      const result = await download(dest);
      assert.equal(result.status, 1);
      assert.match(
        result.stderr,
        /^test-data: argo\/schema\.json: cannot download schema\.json from https:\/\/127\.0\.0\.1:\d+\/argoproj\/argo-workflows\/16a52d6\S+: HTTP 404 from \S+; where the network is closed, set NAAW_TEST_SCHEMAS to a directory that holds the files \(e\.g\. NAAW_TEST_SCHEMAS=\/path\/to\/argo-schema-copy npm run test-data\)$/m,
      );
      assert.deepEqual(namesIn(path.join(dest, "argo")), [], "nothing left behind");
    });

    it("refuses downloaded bytes that do not match the pinned hash", async function () {
      behaviour = "wrong bytes";
      const dest = path.join(scratch.dir, "dl-wrong");
      const result = await download(dest);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /^test-data: argo\/schema\.json: schema\.json downloaded from \S+ has sha256 [0-9a-f]{64} \(610501 bytes\), expected 3f84c572/m);
      assert.deepEqual(namesIn(path.join(dest, "argo")), []);
    });

    it("gives up on an origin that stops answering, after NAAW_TEST_DATA_TIMEOUT seconds", async function () {
      behaviour = "silent";
      const started = Date.now();
      const result = await download(path.join(scratch.dir, "dl-silent"), { NAAW_TEST_DATA_TIMEOUT: "1" });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /cannot download schema\.json from \S+: no data for 1 s; where the network is closed, set NAAW_TEST_SCHEMAS/);
      assert.ok(Date.now() - started < 30_000);
    });
  });
});
