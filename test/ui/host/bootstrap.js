/*
 * Entry of the NaaW UI test host bundle, modelled on JupyterLab's
 * dev_mode/bootstrap.js: load every federated extension's remoteEntry and
 * initialise its container with our share scope BEFORE any shared package is
 * imported, so that webpack can pick one version of each shared module across
 * the host and all extensions. Only then import index.js (an async chunk) and
 * start the application.
 *
 * This file must not import anything that is shared: it runs eagerly.
 */

/** PageConfig.getOption, re-implemented: @jupyterlab/coreutils is shared. */
function getOption(name) {
  const el = document.getElementById('jupyter-config-data');
  const config = el ? JSON.parse(el.textContent || '{}') : {};
  return config[name] || '';
}

// eslint-disable-next-line no-undef
__webpack_public_path__ = getOption('fullStaticUrl') + '/';

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.onerror = () => reject(new Error(`Failed to load ${url}`));
    script.onload = resolve;
    script.async = true;
    script.src = url;
    document.head.appendChild(script);
  });
}

async function loadFederated(data, baseUrl) {
  await loadScript(`${baseUrl}/${data.name}/${data.load}`);
  // https://webpack.js.org/concepts/module-federation/#dynamic-remote-containers
  // eslint-disable-next-line no-undef
  await __webpack_init_sharing__('default');
  const container = window._JUPYTERLAB && window._JUPYTERLAB[data.name];
  if (!container) {
    throw new Error(
      `${data.name}: ${data.load} did not define window._JUPYTERLAB[${JSON.stringify(data.name)}]`
    );
  }
  // eslint-disable-next-line no-undef
  await container.init(__webpack_share_scopes__.default);
}

/** What the host did, for tests (window.naawHost). */
const report = { federated: [], failed: [], skipped: [], started: false, error: '' };
window.naawHost = report;

void (async function bootstrap() {
  const extensions = getOption('federated_extensions') || [];
  const baseUrl = getOption('fullLabextensionsUrl');
  const loaded = [];
  const results = await Promise.allSettled(
    extensions.map(data => loadFederated(data, baseUrl))
  );
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') {
      loaded.push(extensions[i]);
    } else {
      report.failed.push({ name: extensions[i].name, error: String(result.reason) });
      console.error(result.reason);
    }
  });
  const fail = error => {
    report.error = String((error && error.stack) || error);
    console.error(error);
  };
  try {
    const { main } = await import('./index.js');
    const start = () => main(loaded, report).catch(fail);
    if (document.readyState === 'complete') {
      await start();
    } else {
      window.addEventListener('load', () => void start());
    }
  } catch (error) {
    fail(error);
  }
})();
