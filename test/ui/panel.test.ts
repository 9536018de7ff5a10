/**
 * The NaaW panel (jupyter/labextension, prebuilt by `npm run build:labextension`) in a real browser,
 * loaded as JupyterLab loads prebuilt extensions, on Debian's jupyter_server with the naaw_jupyter
 * server extension and a live Python kernel (test/ui/helpers/host.ts). Part of `npm run test:ui`;
 * each test saves a screenshot under test/ui/screenshots/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { notebookJson } from '../helpers/notebooks';
import { startUiHost, UiHost } from './helpers/host';

const REPO = path.resolve(__dirname, '..', '..');
const PREBUILT = path.join(REPO, 'jupyter', 'labextension', 'prebuilt');
const NAAW_CLI = `${process.execPath} ${path.join(REPO, 'bin', 'naaw.js')}`;
const DEMO_COMPONENTS = ['load', 'normalize', 'filter', 'neighbors', 'features', 'export'];

/** A scientist's project: the demo notebook and workflow, a broken workflow, a stack, small LAS input. */
function writeProject(dir: string): void {
  for (const sub of ['notebooks', 'workflows', 'stacks', path.join('data', 'lidar')]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'notebooks', 'lidar.ipynb'), path.join(dir, 'notebooks', 'lidar.ipynb'));
  for (const file of ['lidar.yaml', 'lidar.calibration.json']) fs.copyFileSync(path.join(REPO, 'workflows', file), path.join(dir, 'workflows', file));
  fs.copyFileSync(path.join(REPO, 'stacks', 'Pulumi.aws-lidar.yaml'), path.join(dir, 'stacks', 'Pulumi.aws-lidar.yaml'));
  fs.writeFileSync(path.join(dir, 'workflows', 'broken.yaml'), 'name: broken\nsteps:\n  - id: a\n    uses: lidar/nope\n');
  fs.writeFileSync(
    path.join(dir, 'notebooks', 'untagged.ipynb'),
    notebookJson([{ source: 'threshold = 3\n' }, { tags: ['component:pick'], source: 'values = [1, 5]\nkept = [v for v in values if v > threshold]\n' }])
  );
  const python = process.env.NAAW_PYTHON || 'python3';
  const args = [path.join(REPO, 'scripts', 'synthetic_forest.py'), '--las-dir', path.join(dir, 'data', 'lidar'), '--tiles', '1', '1', '--size', '60', '--density', '4'];
  const made = spawnSync(python, args, { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
}

describe('the NaaW panel in JupyterLab', function () {
  this.timeout(240_000);
  let host: UiHost;
  let root: string;

  before(async function () {
    assert.ok(
      fs.existsSync(path.join(PREBUILT, 'package.json')),
      'the prebuilt extension is missing: run `npm run build:labextension` (npm run test:ui does)'
    );
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'naaw-ui-panel-'));
    writeProject(root);
    host = await startUiHost({ rootDir: root, labextensions: [PREBUILT], serverExtensions: ['naaw_jupyter'], env: { NAAW_CLI } });
  });

  after(async function () {
    await host?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  /** Opens a notebook and the NaaW tab of the right side bar; waits for its analysis. */
  async function openWithPanel(notebook: string): Promise<void> {
    await host.openNotebook(notebook);
    const panel = host.page.locator('#naaw-panel');
    if (!(await panel.isVisible())) await host.page.locator('.jp-SideBar.jp-mod-right .lm-TabBar-tab', { hasText: 'NaaW' }).click();
    await host.page.waitForFunction(
      path => {
        const heading = (globalThis as any).document.querySelector('#naaw-panel .naaw-heading')?.textContent ?? '';
        return heading.startsWith(`${path}:`) && !heading.includes('analyzing');
      },
      notebook,
      { timeout: 60_000 }
    );
  }

  it('GIVEN the demo notebook THEN the panel lists its six components with their inputs, and a click selects a component\'s cells', async function () {
    await openWithPanel('notebooks/lidar.ipynb');
    const page = host.page;
    const names = await page.locator('#naaw-panel .naaw-component-name').allInnerTexts();
    assert.deepEqual(names, DEMO_COMPONENTS);
    assert.equal(await page.locator('#naaw-panel .naaw-component[data-component="normalize"] .naaw-inputs').innerText(), 'points: ndarray');
    assert.match(await page.locator('#naaw-panel .naaw-component[data-component="features"] .naaw-inputs').innerText(), /normalized_height: ndarray/);
    const spec = JSON.parse(
      spawnSync(process.execPath, [path.join(REPO, 'bin', 'naaw.js'), 'components', 'notebooks/lidar.ipynb', '--json'], { cwd: root, encoding: 'utf8' }).stdout
    );
    const features = spec.components.find((c: { name: string }) => c.name === 'features');
    await page.locator('#naaw-panel .naaw-component[data-component="features"] .naaw-component-name').click();
    const selected = await page.evaluate(() => {
      const notebook = (globalThis as any).naawOpened.content;
      return { active: notebook.activeCellIndex, selected: notebook.widgets.map((c: unknown, i: number) => (notebook.isSelectedOrActive(c) ? i : -1)).filter((i: number) => i >= 0) };
    });
    assert.deepEqual(selected, { active: features.cells[0], selected: features.cells });
    await host.screenshot('panel-components');
  });

  it('GIVEN the workflows using the notebook THEN the demo is valid with its DAG drawn, the broken one shows its line', async function () {
    const page = host.page;
    const demo = page.locator('#naaw-panel .naaw-workflow[data-workflow="workflows/lidar.yaml"]');
    await demo.waitFor();
    assert.match(await demo.locator('.naaw-workflow-name').innerText(), /^workflows\/lidar\.yaml: valid, 8 steps$/);
    const broken = page.locator('#naaw-panel .naaw-workflow[data-workflow="workflows/broken.yaml"]');
    assert.match(await broken.locator('.naaw-workflow-name').innerText(), /1 error$/);
    assert.match(await broken.locator('.naaw-diagnostic').innerText(), /^workflows\/broken\.yaml, line 4 error: step 'a': unknown component 'lidar\/nope'/);
    await demo.locator('button.naaw-draw').click();
    // JupyterLab's Mermaid draws an SVG picture (an <img>), or says why it could not (jp-mod-warning).
    const figure = demo.locator('.naaw-dag .jp-RenderedMermaid');
    await figure.waitFor({ timeout: 60_000 });
    assert.equal(await figure.evaluate(node => node.classList.contains('jp-mod-warning')), false, await figure.innerText());
    const svg = decodeURIComponent((await figure.locator('img').getAttribute('src')) ?? '');
    assert.match(svg, /^data:image\/svg\+xml,/);
    for (const step of ['split', 'merge', ...DEMO_COMPONENTS]) assert.ok(svg.includes(`>${step}<`), `the picture names ${step}`);
    await host.screenshot('panel-workflows');
  });

  it('GIVEN "Run locally" on the demo workflow with a small input THEN it ends with a link to the run report', async function () {
    const page = host.page;
    const demo = page.locator('#naaw-panel .naaw-workflow[data-workflow="workflows/lidar.yaml"]');
    await demo.locator('button.naaw-run').click();
    const link = demo.locator('a.naaw-report');
    await link.waitFor({ timeout: 180_000 });
    const href = await link.getAttribute('href');
    assert.match(href ?? '', /\/files\/out\/report\.html$/);
    assert.match(await demo.locator('.naaw-run-log').innerText(), /steps: \d+ run/);
    const report = await page.evaluate(async url => (await fetch(url)).text(), href!);
    assert.match(report, /NaaW run: lidar/);
    await link.scrollIntoViewIfNeeded();
    await host.screenshot('panel-run');
  });

  it('GIVEN a stack THEN "Price" shows the cost table of its plan', async function () {
    const page = host.page;
    await page.locator('#naaw-panel select.naaw-stack').selectOption('aws-lidar');
    await page.locator('#naaw-panel button.naaw-price').click();
    const table = page.locator('#naaw-panel table.naaw-cost');
    await table.waitFor({ timeout: 60_000 });
    const plan = JSON.parse(
      spawnSync(process.execPath, [path.join(REPO, 'bin', 'naaw.js'), 'plan', '--stack', 'aws-lidar', '--json'], { cwd: root, encoding: 'utf8' }).stdout
    );
    assert.match(await table.locator('tr').last().innerText(), new RegExp(`${plan.cost.total.toFixed(2)} USD`));
    assert.equal(await table.locator('tr').count(), plan.breakdown.length + 2);
    await table.scrollIntoViewIfNeeded();
    await host.screenshot('panel-cost');
  });

  it('GIVEN a name defined only in an untagged cell THEN the error is shown at that cell and in the panel', async function () {
    await openWithPanel('notebooks/untagged.ipynb');
    const page = host.page;
    const cell = page.locator('.jp-NotebookPanel:visible .jp-Cell').nth(1);
    await cell.locator('.naaw-cell-diagnostic').waitFor();
    assert.match(await cell.locator('.naaw-cell-diagnostic').innerText(), /NaaW error \(line 2\): component 'pick' reads 'threshold', which is defined only in cell 0/);
    assert.ok(await cell.evaluate(node => node.classList.contains('naaw-cell-problem')));
    assert.match(await page.locator('#naaw-panel .naaw-problems').innerText(), /cell 1, line 2 error/);
    await host.screenshot('panel-untagged-error');
  });

  it('GIVEN "Make component" on the selected untagged cell THEN it is tagged, the panel shows the new component and the error is gone', async function () {
    const page = host.page;
    const first = page.locator('.jp-NotebookPanel:visible .jp-Cell').nth(0);
    await first.locator('.jp-InputPrompt').click();
    await first.locator('.jp-InputPrompt').click({ button: 'right' });
    await page.locator('.lm-Menu-item', { hasText: 'Make component from selected cells' }).click();
    const input = page.locator('.jp-Dialog input');
    await input.fill('setup');
    await input.press('Enter');
    await page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('#naaw-panel .naaw-component-name')].map((n: any) => n.textContent).join(',') === 'setup,pick', null, {
      timeout: 60_000
    });
    assert.equal(await page.locator('.jp-NotebookPanel:visible .naaw-cell-diagnostic').count(), 0, 'the error at cell 1 is gone');
    assert.deepEqual(await page.evaluate(() => (globalThis as any).naawOpened.content.widgets[0].model.getMetadata('tags')), ['component:setup']);
    await host.screenshot('panel-make-component');
    // Saved as JupyterLab saves any metadata change.
    await page.evaluate(() => (globalThis as any).jupyterapp.commands.execute('docmanager:save'));
    await page.waitForFunction(() => !(globalThis as any).naawOpened.context.model.dirty);
    const saved = JSON.parse(fs.readFileSync(path.join(root, 'notebooks', 'untagged.ipynb'), 'utf8'));
    assert.deepEqual(saved.cells[0].metadata.tags, ['component:setup']);
  });
});
