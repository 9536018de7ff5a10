// The run report (src/local/report.ts): one self-contained HTML file with the summary, the DAG as SVG,
// the step timings and a PNG preview per merged GeoTIFF.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PNG } from "pngjs";
import { encodeFloat32GeoTiff } from "../src/lidar/geotiff";
import { dagEdges, renderDagSvg } from "../src/local/dagSvg";
import { NAN_RGBA, previewRaster, previewSummaries } from "../src/local/preview";
import { ReportInput, StepTiming, writeReport } from "../src/local/report";
import { groupDigits } from "../src/digitGroups";
import { WorkflowGraph } from "../src/workflow/validate";
import { demoGraph } from "./helpers/demo";
import { tempDir } from "./helpers/notebooks";



/** A 4 x 3 raster (width 4, height 3) with an empty cell at row 1, column 2. */
const SMALL = { width: 4, height: 3, nanRow: 1, nanCol: 2 };

function writeSmallTif(file: string, scale: number): void {
  const values = Float32Array.from({ length: SMALL.width * SMALL.height }, (_, i) => i * scale);
  values[SMALL.nanRow * SMALL.width + SMALL.nanCol] = NaN;
  fs.writeFileSync(file, encodeFloat32GeoTiff(values, { width: SMALL.width, height: SMALL.height, originX: 1000, originY: 2000, cellSize: 10, crs: "EPSG:28992" }));
}

/** Timings as the runner records them: the foreach steps once per tile, `load` retried once on tile t1. */
function timings(graph: WorkflowGraph, tiles: readonly string[]): StepTiming[] {
  return graph.steps.flatMap((step, s): StepTiming[] =>
    step.foreach
      ? tiles.map((item, t) => ({ step: step.id, item, seconds: 0.125 * (s + 1) + t, cached: t === 0, attempts: step.id === "load" && item === "t1" ? 2 : 1 }))
      : [{ step: step.id, seconds: 1.5, cached: false, attempts: 1 }],
  );
}

function decodePngs(html: string): PNG[] {
  return [...html.matchAll(/src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)].map((m) => PNG.sync.read(Buffer.from(m[1]!, "base64")));
}

function pixel(png: PNG, x: number, y: number): number[] {
  const i = (y * png.width + x) * 4;
  return [...png.data.subarray(i, i + 4)];
}

describe("run report: numbers for people", function () {
  it("groups digits as toLocaleString(\"en-US\") does, without loading Intl", () => {
    const values = [0, 7, -7, 999, 1000, -1000, 12345.678, 21560000, 3864000, 0.001234, -0.5, 999999.9, 123456789012, 1e21, 1.5e-7, NaN, Infinity];
    for (const v of values) {
      // An exponent form (1e21, 1.5e-7) and NaN or Infinity are kept as String gives them.
      const expected = Number.isFinite(v) && !/e/.test(String(v)) ? v.toLocaleString("en-US", { maximumFractionDigits: 20 }) : String(v);
      assert.equal(groupDigits(v), expected, String(v));
    }
  });
});

describe("run report: report.html", function () {
  this.timeout(15_000);
  let dir: string;
  let cleanup: () => void;
  let graph: WorkflowGraph;
  let input: ReportInput;
  let html: string;
  const tiles = ["t0", "t1", "t2"];

  before(async () => {
    ({ dir, cleanup } = tempDir("naaw-report-"));
    graph = demoGraph();
    const rasters = ["perc_95_normalized_height", "point_density"].map((feature, i) => {
      const file = path.join(dir, `${feature}.tif`);
      writeSmallTif(file, i + 1);
      return { feature, path: file };
    });
    input = {
      workflow: "lidar",
      graph,
      rasters,
      steps: timings(graph, tiles),
      summary: { points: 1_234_567, tiles: tiles.length, seconds: 12.5, workers: 4, cachedSteps: 6, ranSteps: 14, params: { crs: "EPSG:28992", height_classes: [1, 3, 4, 5] } },
    };
    await writeReport(path.join(dir, "report.html"), input);
    html = fs.readFileSync(path.join(dir, "report.html"), "utf8");
  });
  after(() => cleanup());

  it("is one self-contained file, written without leaving a temporary file", () => {
    assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.endsWith(".tif")), ["report.html"]);
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    assert.doesNotMatch(html, /<script|<link|@import|url\(["']?(https?:)?\/\//i, "nothing to fetch: the machine may be offline");
    assert.doesNotMatch(html, /(src|href)="(?!data:)/, "no external sources");
  });

  it("makes the same previews in worker threads (several workers) as in the main thread (one)", async () => {
    const files = [0, 1, 2].map((i) => {
      const file = path.join(dir, `threads-${i}.tif`);
      writeSmallTif(file, i + 0.5);
      return file;
    });
    const inline = await previewSummaries(files, 1);
    const threaded = await previewSummaries(files, 2);
    assert.deepEqual(threaded, inline);
    assert.ok(Buffer.isBuffer(threaded[2]!.preview.png) && threaded[2]!.preview.png.length > 0);
    assert.equal(inline[1]!.grid.width, SMALL.width);
  });

  it("summarises the run: points, tiles, wall time, points per second, workers, steps, params", () => {
    for (const fact of ["1,234,567", "12.5 s", "98,770", ">4<", ">14<", ">6<", "height_classes", "[1,3,4,5]", "&quot;EPSG:28992&quot;"]) {
      assert.ok(html.includes(fact), `the summary lacks ${fact}`);
    }
  });

  it("holds one decodable PNG per feature, enlarged, with empty cells in the NaN colour", () => {
    const pngs = decodePngs(html);
    assert.equal(pngs.length, 2);
    for (const feature of input.rasters.map((r) => r.feature)) assert.ok(html.includes(`<h3>${feature}</h3>`), feature);
    for (const png of pngs) {
      // 4 x 3 cells enlarged by a whole factor (64) so the long side is 256 px.
      assert.deepEqual([png.width, png.height], [256, 192]);
      const cell = png.width / SMALL.width;
      const centre = (row: number, col: number): number[] => pixel(png, col * cell + cell / 2, row * cell + cell / 2);
      assert.deepEqual(centre(SMALL.nanRow, SMALL.nanCol), [...NAN_RGBA]);
      assert.equal(centre(0, 0)[3], 255);
      assert.notDeepEqual(centre(0, 0), centre(2, 3), "low and high values get different colours");
    }
    assert.match(html, /min 0, max 11/);
    assert.match(html, /min 0, max 22/);
  });

  it("draws the DAG as inline SVG: one box per step, the foreach frame with its item count, an arrow per dependency", () => {
    const svg = /<svg[\s\S]*?<\/svg>/.exec(html)?.[0];
    assert.ok(svg);
    const boxes = [...svg.matchAll(/<g class="step" data-step="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(boxes, graph.steps.map((s) => s.id));
    for (const step of graph.steps) assert.ok(svg.includes(`>${step.spec.uses}</text>`), step.spec.uses);
    assert.equal([...svg.matchAll(/class="foreach"/g)].length, 1);
    assert.match(svg, /stroke-dasharray/);
    assert.match(svg, /tiles: foreach 3 items/);
    const edges = dagEdges(graph).map((e) => `${e.from}->${e.to}`);
    for (const edge of ["split->load", "load->normalize", "features->export", "export->merge"]) assert.ok(edges.includes(edge), edge);
    assert.equal([...svg.matchAll(/class="edge"/g)].length, edges.length);
    assert.equal(renderDagSvg(graph, new Map([["tiles", 3]])), svg, "deterministic");
  });

  it("tabulates timings per step, and the columns add up", () => {
    const table = /<table class="timings"[\s\S]*?<\/table>/.exec(html)?.[0];
    assert.ok(table);
    const rows = [...table.matchAll(/<tr data-step="([^"]+)"><th>[^<]*<\/th>((?:<td>[^<]*<\/td>)+)<\/tr>/g)].map((m) => ({
      step: m[1]!,
      cells: [...m[2]!.matchAll(/<td>([^<]*)<\/td>/g)].map((c) => c[1]!),
    }));
    assert.deepEqual(rows.map((r) => r.step), graph.steps.map((s) => s.id));
    const load = rows.find((r) => r.step === "load")!.cells;
    // runs, cached, total, mean, max, retries: load is step 2, 0.25 + t seconds on tiles 0..2.
    assert.deepEqual(load, ["3", "1", "3.750", "1.250", "2.250", "1"]);
    const footer = /<tr class="total">((?:<t[hd]>[^<]*<\/t[hd]>)+)<\/tr>/.exec(table)?.[1];
    assert.ok(footer);
    const totals = [...footer.matchAll(/<td>([^<]*)<\/td>/g)].map((c) => c[1]!);
    const sum = (column: number): number => rows.reduce((acc, r) => acc + Number(r.cells[column]), 0);
    assert.equal(Number(totals[0]), sum(0));
    assert.equal(Number(totals[0]), input.steps.length);
    assert.equal(Number(totals[1]), sum(1));
    assert.ok(Math.abs(Number(totals[2]) - sum(2)) < 0.005, `total ${totals[2]} vs ${sum(2)}`);
    assert.ok(Math.abs(Number(totals[2]) - input.steps.reduce((acc, t) => acc + t.seconds, 0)) < 0.0005);
    assert.equal(Number(totals[5]), 1);
  });

  it("escapes everything that comes from the user", async () => {
    const hostile = `<script>alert("x")</script>&<img src=x onerror=1>`;
    const file = path.join(dir, "hostile", "report.html");
    await writeReport(file, { ...input, workflow: hostile, summary: { ...input.summary, params: { [hostile]: hostile } } });
    const text = fs.readFileSync(file, "utf8");
    assert.doesNotMatch(text, /<script|<img src=x/);
    assert.ok(text.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&lt;img src=x onerror=1&gt;"));
  });

  it("downscales a large raster to 1024 px on the long side, nearest neighbour", () => {
    const [width, height] = [2000, 1500];
    const values = new Float32Array(width * height).map((_, i) => (Math.floor(i / width) < 750 ? 1 : 2));
    values.fill(NaN, 0, width * 10);
    const preview = previewRaster(values, width, height);
    const png = PNG.sync.read(preview.png);
    assert.deepEqual([preview.width, preview.height, png.width, png.height], [1024, 768, 1024, 768]);
    assert.deepEqual([preview.min, preview.max, preview.low, preview.high], [1, 2, 1, 2]);
    assert.deepEqual(pixel(png, 500, 0), [...NAN_RGBA]);
    assert.notDeepEqual(pixel(png, 500, 100), pixel(png, 500, 700));
  });
});
