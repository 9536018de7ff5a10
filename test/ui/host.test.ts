/**
 * The UI test host itself (test/ui/host, test/ui/helpers/host.ts): a JupyterLab 4 page on
 * Debian's jupyter_server that opens notebooks with live kernels and loads prebuilt
 * (federated) extensions the way JupyterLab does.
 *
 * Needs: `npx webpack --config test/ui/host/webpack.config.js` (the host bundle) and Debian's
 * python3-jupyterlab-server, python3-ipykernel and chromium; the helper says which is missing.
 *
 *   npx mocha --config /tmp/mocha-helper.json test/ui/host.test.ts
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startUiHost, UiHost } from './helpers/host';

const REPO = path.resolve(__dirname, '..', '..');
const LIDAR = path.join(REPO, 'notebooks', 'lidar.ipynb');
const FIXTURE = path.join(REPO, 'test', 'ui', 'fixtures', 'hello-extension');
const CORE = path.join(REPO, 'jupyter', 'labextension', 'core');

function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'naaw-ui-root-'));
}

describe('UI test host', function () {
  this.timeout(180_000);

  describe('GIVEN a root dir with a copy of notebooks/lidar.ipynb', () => {
    let host: UiHost | undefined;
    let root: string;
    const notebook = JSON.parse(fs.readFileSync(LIDAR, 'utf8')) as { cells: { source: string | string[] }[] };

    before(async () => {
      root = tempRoot();
      fs.copyFileSync(LIDAR, path.join(root, 'lidar.ipynb'));
      host = await startUiHost({ rootDir: root, labextensions: [], serverExtensions: ['naaw_jupyter'] });
      await host.openNotebook('lidar.ipynb');
    });

    after(async () => {
      await host?.stop();
      fs.rmSync(root, { recursive: true, force: true });
    });

    it('THEN the page shows its cells with a live Python kernel', async () => {
      const page = host!.page;
      await page.locator('.jp-NotebookPanel .jp-Cell').first().waitFor();
      assert.equal(await page.locator('.jp-NotebookPanel .jp-Cell').count(), notebook.cells.length);
      const first = [notebook.cells[0].source].flat().join('').split('\n')[0].replace(/^#+\s*/, '');
      assert.match(await page.locator('.jp-NotebookPanel .jp-Cell').first().innerText(), new RegExp(first));

      // Live: the kernel runs code, in Debian's Python.
      const executable = await page.evaluate(async () => {
        const kernel = (globalThis as any).naawOpened.sessionContext.session.kernel;
        let out = '';
        const future = kernel.requestExecute({ code: 'import sys; print(sys.executable, end="")' });
        future.onIOPub = (msg: any) => {
          if (msg.header.msg_type === 'stream') {
            out += msg.content.text;
          }
        };
        await future.done;
        return out;
      });
      assert.equal(executable, '/usr/bin/python3');
      assert.equal(await page.locator('.jp-Toolbar-kernelName').innerText(), 'Python 3 (ipykernel)');
      await host!.screenshot('host-lidar-open');
    });

    it('THEN a clicked cell is selected, its tags edited and saved through the contents API', async () => {
      const page = host!.page;
      const cell = page.locator('.jp-NotebookPanel .jp-Cell').nth(1);
      await cell.locator('.jp-InputPrompt').click();
      assert.equal(await page.evaluate(() => (globalThis as any).naawOpened.content.activeCellIndex), 1);
      await page.evaluate(async () => {
        const panel = (globalThis as any).naawOpened;
        const model = panel.content.activeCell.model;
        model.setMetadata('tags', [...(model.getMetadata('tags') ?? []), 'ui-host-test']);
        await panel.context.save();
      });
      const saved = JSON.parse(fs.readFileSync(path.join(root, 'lidar.ipynb'), 'utf8'));
      assert.ok(saved.cells[1].metadata.tags.includes('ui-host-test'), JSON.stringify(saved.cells[1].metadata));

      // The cell context menu of the notebook extension (built from the settings schemas).
      await cell.click({ button: 'right' });
      const menu = page.locator('.lm-Menu').filter({ hasText: 'Cut Cell' });
      await menu.waitFor();
      await host!.screenshot('host-lidar-context-menu');
      await page.keyboard.press('Escape');
      assert.deepEqual(host!.pageErrors, []);
    });

    it('THEN the command palette and the Mermaid manager are there', async () => {
      const page = host!.page;
      await page.evaluate(() => (globalThis as any).jupyterapp.commands.execute('apputils:activate-command-palette'));
      await page.locator('.lm-CommandPalette').first().waitFor({ state: 'visible' });
      const mermaid = await page.evaluate(async () => {
        const app = (globalThis as any).jupyterapp;
        await app.activatePlugin('@jupyterlab/mermaid-extension:core');
        return app.isPluginActivated('@jupyterlab/mermaid-extension:core');
      });
      assert.equal(mermaid, true);
      await host!.screenshot('host-command-palette');
    });
  });

  describe('GIVEN a prebuilt federated extension that adds a widget to the right side bar', () => {
    let host: UiHost | undefined;
    let root: string;

    before(async () => {
      // build-labextension against the host's core: the same share scope as the real extension.
      const build = spawnSync(
        process.execPath,
        [require.resolve('@jupyterlab/builder/lib/build-labextension.js'), '--core-path', CORE, FIXTURE],
        { cwd: REPO, encoding: 'utf8' }
      );
      assert.equal(build.status, 0, `build-labextension failed:\n${build.stdout}\n${build.stderr}`);
      root = tempRoot();
      host = await startUiHost({ rootDir: root, labextensions: [path.join(FIXTURE, 'build')], serverExtensions: [] });
      await host.openLab();
    });

    after(async () => {
      await host?.stop();
      fs.rmSync(root, { recursive: true, force: true });
    });

    it('THEN the host loads it through module federation and its widget shows in the right side bar', async () => {
      const page = host!.page;
      const report = await host!.hostReport();
      assert.deepEqual(report.federated, [{ name: 'naaw-ui-hello-fixture', module: './extension' }]);
      assert.deepEqual(report.failed, []);
      assert.ok(!report.skipped.some(s => s.id.startsWith('naaw-ui-hello-fixture')), JSON.stringify(report.skipped));

      // Its tab is in the right side bar; a click shows the widget there.
      const tab = page.locator('.jp-SideBar.jp-mod-right .lm-TabBar-tab[title="Hello fixture"]');
      assert.equal(await tab.count(), 1);
      await tab.click();
      const widget = page.locator('#jp-right-stack #naaw-hello-fixture');
      await widget.waitFor({ state: 'visible' });
      assert.equal(await widget.innerText(), 'Hello from a prebuilt extension');

      // It used the host's singletons, not copies: one @jupyterlab/application in the share scope.
      const versions = await page.evaluate(() =>
        Object.keys((globalThis as any).__naawShareScope?.['@jupyterlab/application'] ?? {})
      );
      const installed = JSON.parse(
        fs.readFileSync(path.join(REPO, 'node_modules', '@jupyterlab', 'application', 'package.json'), 'utf8')
      ).version;
      assert.deepEqual(versions, [installed]);
      await host!.screenshot('host-federated-extension');
      assert.deepEqual(host!.pageErrors, []);
    });
  });
});
