// The demo workflow (workflows/lidar.yaml) with its one `split` replaced by the split in parallel:
// builtin/inputs, a foreach over the input files running builtin/split_pieces, builtin/plan_tiles,
// and builtin/join as each tile's first step. Derived from lidar.yaml's text, so the two stay the same
// workflow but for the split; written to <dir>/workflows/ beside a link to the repository's notebooks.
import * as fs from "fs";
import * as path from "path";

const PARALLEL_SPLIT = `  - id: inputs
    uses: builtin/inputs
    with:
      input: \${{ params.input }}
      crs: \${{ params.crs }}
  - id: parts
    foreach: \${{ steps.inputs.outputs.files }}
    steps:
      - id: split
        uses: builtin/split_pieces
        with:
          input: \${{ item }}
          tile_size: \${{ params.tile_size }}
          cell_size: \${{ params.cell_size }}
          norm_cell_size: \${{ params.norm_cell_size }}
        resources:
          cpu: 1
          memory: 2Gi
  - id: plan
    uses: builtin/plan_tiles
    with:
      pieces: \${{ steps.split.outputs.pieces }}
`;

const JOIN = `      - id: join
        uses: builtin/join
        with:
          plan: \${{ item }}
          crs: \${{ steps.inputs.outputs.crs }}
`;

function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`workflows/lidar.yaml no longer has exactly one ${JSON.stringify(from)}: update test/helpers/parallelWorkflow.ts`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** Writes the parallel-split variant of `lidarYaml` into `<dir>/workflows/lidar-parallel.yaml`; its path. */
export function writeParallelSplitWorkflow(lidarYaml: string, notebooksDir: string, dir: string): string {
  let text = fs.readFileSync(lidarYaml, "utf8");
  const start = text.indexOf("  - id: split\n");
  const end = text.indexOf("  - id: tiles\n");
  if (start < 0 || end < start) throw new Error("workflows/lidar.yaml no longer starts with a split step and a tiles foreach: update test/helpers/parallelWorkflow.ts");
  text = text.slice(0, start) + PARALLEL_SPLIT + text.slice(end);
  text = replaceOnce(text, "foreach: ${{ steps.split.outputs.tiles }}\n    steps:\n", "foreach: ${{ steps.plan.outputs.tiles }}\n    steps:\n" + JOIN);
  text = replaceOnce(text, "          tile: ${{ item }}\n", "          tile: ${{ steps.join.outputs.tile }}\n");
  fs.mkdirSync(path.join(dir, "workflows"), { recursive: true });
  if (!fs.existsSync(path.join(dir, "notebooks"))) fs.symlinkSync(notebooksDir, path.join(dir, "notebooks"), "dir");
  const file = path.join(dir, "workflows", "lidar-parallel.yaml");
  fs.writeFileSync(file, text);
  return file;
}
