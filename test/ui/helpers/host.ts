/**
 * Starts the NaaW UI test host (test/ui/host: a minimal JupyterLab 4 page on Debian's
 * jupyter_server 1.23 + jupyterlab_server 2.16) and drives it with headless Chromium.
 *
 *   const host = await startUiHost({ rootDir, labextensions: [built], serverExtensions: ['naaw_jupyter'] });
 *   await host.openNotebook('lidar.ipynb');
 *   await host.screenshot('lidar-open');
 *   await host.stop();
 *
 * Jupyter's config, data and runtime directories (and IPYTHONDIR) point into a temporary
 * directory, so no user configuration, kernelspec or extension of this machine leaks in; the
 * kernel is Debian's python3 kernelspec (/usr/bin/python3 -m ipykernel_launcher). The repo's
 * jupyter/server is put on PYTHONPATH, so `naaw_jupyter` can be enabled by name.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { Browser, chromium, Page } from 'playwright-core';

const REPO = path.resolve(__dirname, '..', '..', '..');
const HOST_DIR = path.join(REPO, 'test', 'ui', 'host');
const SERVE_PY = path.join(HOST_DIR, 'serve.py');
const BUNDLE = path.join(HOST_DIR, 'build', 'static', 'bundle.js');
export const SCREENSHOT_DIR = path.join(REPO, 'test', 'ui', 'screenshots');
export const PYTHON = '/usr/bin/python3';
export const CHROMIUM = '/usr/bin/chromium';
export const HOST_BUILD_COMMAND = 'npx webpack --config test/ui/host/webpack.config.js';
const APT_INSTALL =
  'apt-get install -y --no-install-recommends python3-jupyterlab-server python3-ipykernel chromium';

/** The sources the host bundle is built from: a bundle older than any of them is stale. */
const HOST_SOURCES = [
  path.join(HOST_DIR, 'bootstrap.js'),
  path.join(HOST_DIR, 'index.js'),
  path.join(HOST_DIR, 'webpack.config.js'),
  path.join(REPO, 'jupyter', 'labextension', 'core', 'package.json')
];

export interface UiHostOptions {
  /** The server's contents root: notebooks are opened by paths relative to it. */
  rootDir: string;
  /** Built federated extensions: directories with package.json (with jupyterlab._build) and static/. */
  labextensions?: string[];
  /** jupyter_server extensions to enable, by module name (e.g. 'naaw_jupyter'). */
  serverExtensions?: string[];
  /** Extra environment of the server (and so of its kernels and server extensions). */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the server, the app and a kernel; default 60 s. */
  timeoutMs?: number;
}

export interface UiHost {
  page: Page;
  browser: Browser;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  token: string;
  /** Console errors and uncaught page errors seen so far. */
  pageErrors: string[];
  /** Opens /lab and waits until the application has started and restored; throws if it failed. */
  openLab(): Promise<void>;
  /** Opens /lab (once), then the notebook at `notebookPath`; resolves when its kernel is idle. */
  openNotebook(notebookPath: string): Promise<void>;
  /** What the host page reports: federated extensions loaded or failed, plugins skipped. */
  hostReport(): Promise<HostReport>;
  /** Saves test/ui/screenshots/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  /** The server's output so far (for failure messages). */
  serverLog(): string;
  /** Closes the browser, shuts the kernels down and stops the server. Idempotent. */
  stop(): Promise<void>;
}

/** What bootstrap.js/index.js of the host report on window.naawHost. */
export interface HostReport {
  started: boolean;
  error: string;
  failed: { name: string; error: string }[];
  federated: { name: string; module: string }[];
  skipped: { id: string; missing: string[] }[];
}

/** Throws an error saying what to install or build when something the host needs is missing. */
export function checkUiHostPrerequisites(): void {
  if (!isExecutable(CHROMIUM)) {
    throw new Error(`The UI tests need Chromium at ${CHROMIUM}; install it with: ${APT_INSTALL}`);
  }
  if (!isExecutable(PYTHON)) {
    throw new Error(`The UI tests need Debian's ${PYTHON}; install it with: ${APT_INSTALL}`);
  }
  const probe = spawnSync(
    PYTHON,
    [
      '-c',
      'import importlib.util as u\n' +
        'print(" ".join(m for m in ("jupyter_server", "jupyterlab_server", "ipykernel") if u.find_spec(m) is None))'
    ],
    { encoding: 'utf8' }
  );
  const missing = (probe.stdout || '').trim();
  if (probe.status !== 0 || missing) {
    throw new Error(
      `The UI tests need the Python modules ${missing || 'jupyter_server jupyterlab_server ipykernel'} for ${PYTHON}` +
        ` (${(probe.stderr || '').trim() || 'missing'}); install them with: ${APT_INSTALL}`
    );
  }
  if (!fs.existsSync(BUNDLE)) {
    throw new Error(`The UI test host is not built (${path.relative(REPO, BUNDLE)} is missing); build it with: ${HOST_BUILD_COMMAND}`);
  }
  const built = fs.statSync(BUNDLE).mtimeMs;
  const newer = HOST_SOURCES.filter(source => fs.statSync(source).mtimeMs > built);
  if (newer.length > 0) {
    throw new Error(
      `The UI test host build is older than ${newer.map(s => path.relative(REPO, s)).join(', ')}; rebuild it with: ${HOST_BUILD_COMMAND}`
    );
  }
}

export async function startUiHost(options: UiHostOptions): Promise<UiHost> {
  checkUiHostPrerequisites();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const rootDir = path.resolve(options.rootDir);
  if (!fs.statSync(rootDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`startUiHost: rootDir ${rootDir} is not a directory`);
  }
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const baseUrl = `http://127.0.0.1:${port}`;
  const jupyterHome = fs.mkdtempSync(path.join(os.tmpdir(), 'naaw-ui-jupyter-'));

  const args = [SERVE_PY, '--port', String(port), '--token', token, '--root-dir', rootDir];
  for (const dir of options.labextensions ?? []) {
    args.push('--labextension', path.resolve(dir));
  }
  for (const name of options.serverExtensions ?? []) {
    args.push('--server-extension', name);
  }
  if (process.getuid?.() === 0) {
    args.push('--allow-root');
  }
  const pythonPath = [path.join(REPO, 'jupyter', 'server'), options.env?.PYTHONPATH ?? process.env.PYTHONPATH]
    .filter(Boolean)
    .join(path.delimiter);
  const server = spawn(PYTHON, args, {
    cwd: rootDir,
    // Its own process group, so that stop() can end whatever it left behind.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      JUPYTER_CONFIG_DIR: path.join(jupyterHome, 'config'),
      JUPYTER_DATA_DIR: path.join(jupyterHome, 'data'),
      JUPYTER_RUNTIME_DIR: path.join(jupyterHome, 'runtime'),
      IPYTHONDIR: path.join(jupyterHome, 'ipython'),
      // debugpy's warning about frozen modules, printed at every kernel start.
      PYDEVD_DISABLE_FILE_VALIDATION: '1',
      ...options.env,
      PYTHONPATH: pythonPath
    }
  });
  const log = captureOutput(server);

  let browser: Browser | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) {
      return;
    }
    stopped = true;
    await browser?.close().catch(() => undefined);
    await shutdownKernels(baseUrl, token).catch(() => undefined);
    await stopProcess(server);
    fs.rmSync(jupyterHome, { recursive: true, force: true });
  };

  try {
    await waitForServer(server, baseUrl, token, timeoutMs, log);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(timeoutMs);
    const pageErrors: string[] = [];
    page.on('console', message => {
      if (message.type() === 'error') {
        pageErrors.push(message.text());
      }
    });
    page.on('pageerror', error => pageErrors.push(String(error)));

    let labOpened = false;
    const openLab = async (): Promise<void> => {
      await page.goto(`${baseUrl}/lab?token=${token}`);
      const handle = await page.waitForFunction(
        () => {
          const report = (globalThis as any).naawHost;
          return report && (report.started || report.error) ? report : null;
        },
        null,
        { timeout: timeoutMs }
      );
      const report = (await handle.jsonValue()) as HostReport;
      if (report.error || report.failed.length > 0) {
        throw new Error(
          `The UI host page did not start cleanly: ${report.error || JSON.stringify(report.failed)}` +
            `\npage errors: ${pageErrors.join('\n')}`
        );
      }
      labOpened = true;
    };

    const openNotebook = async (notebookPath: string): Promise<void> => {
      if (!labOpened) {
        await openLab();
      }
      await page.evaluate(async p => {
        const app = (globalThis as any).jupyterapp;
        (globalThis as any).naawOpened = await app.commands.execute('docmanager:open', { path: p, factory: 'Notebook' });
      }, notebookPath);
      try {
        await page.waitForFunction(
          () => {
            const widget = (globalThis as any).naawOpened;
            const kernel = widget?.sessionContext?.session?.kernel;
            return (
              widget?.context?.isReady &&
              kernel?.connectionStatus === 'connected' &&
              widget.sessionContext.kernelDisplayStatus === 'idle'
            );
          },
          null,
          { timeout: timeoutMs }
        );
      } catch (error) {
        const status = await page.evaluate(() => {
          const w = (globalThis as any).naawOpened;
          return JSON.stringify({
            ready: w?.context?.isReady,
            kernel: w?.sessionContext?.session?.kernel?.name,
            connection: w?.sessionContext?.session?.kernel?.connectionStatus,
            status: w?.sessionContext?.kernelDisplayStatus
          });
        });
        throw new Error(
          `${notebookPath} did not open with an idle kernel within ${timeoutMs} ms (${status}): ${(error as Error).message}` +
            `\npage errors: ${pageErrors.join('\n')}\nserver log:\n${log.tail()}`
        );
      }
    };

    const screenshot = async (name: string): Promise<string> => {
      fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
      const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
      await page.screenshot({ path: file });
      return file;
    };

    const hostReport = async (): Promise<HostReport> =>
      (await page.evaluate(() => (globalThis as any).naawHost)) as HostReport;

    return {
      page,
      browser,
      baseUrl,
      token,
      pageErrors,
      openLab,
      openNotebook,
      hostReport,
      screenshot,
      serverLog: log.text,
      stop
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address() as net.AddressInfo;
      probe.close(() => resolve(address.port));
    });
  });
}

interface CapturedOutput {
  text(): string;
  tail(): string;
}

/** Keeps the server's stdout and stderr (the last 200 kB). */
function captureOutput(child: ChildProcess): CapturedOutput {
  let text = '';
  const append = (chunk: Buffer): void => {
    text = (text + chunk.toString('utf8')).slice(-200_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return { text: () => text, tail: () => text.split('\n').slice(-40).join('\n') };
}

async function waitForServer(
  server: ChildProcess,
  baseUrl: string,
  token: string,
  timeoutMs: number,
  log: CapturedOutput
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`serve.py exited (${server.exitCode ?? server.signalCode}) before answering:\n${log.tail()}`);
    }
    try {
      const response = await fetch(`${baseUrl}/api/status`, { headers: { Authorization: `token ${token}` } });
      if (response.ok) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(200);
  }
  throw new Error(`serve.py did not answer on ${baseUrl} within ${timeoutMs} ms:\n${log.tail()}`);
}

/** Asks the server to shut each kernel down (the server would on SIGTERM too; this also waits for it). */
async function shutdownKernels(baseUrl: string, token: string): Promise<void> {
  const headers = { Authorization: `token ${token}` };
  const response = await fetch(`${baseUrl}/api/kernels`, { headers, signal: AbortSignal.timeout(5000) });
  if (!response.ok) {
    return;
  }
  const kernels = (await response.json()) as { id: string }[];
  await Promise.all(
    kernels.map(k =>
      fetch(`${baseUrl}/api/kernels/${k.id}`, { method: 'DELETE', headers, signal: AbortSignal.timeout(10_000) })
    )
  );
}

/** SIGTERM to the server's process group, SIGKILL after 15 s. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // Already gone.
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  // Anything of the group still alive (none expected) goes too.
  signal('SIGKILL');
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
