/*
 * Webpack config of the NaaW UI test host: a minimal JupyterLab front end
 * bundled from the @jupyterlab/* packages in node_modules.
 *
 *   npx webpack --config test/ui/host/webpack.config.js
 *
 * Output (never committed; `build/` is in .gitignore):
 *   test/ui/host/build/static/   the bundle, served by serve.py at /static/naaw_ui_host/
 *   test/ui/host/build/schemas/  the core plugins' settings schemas (/lab/api/settings)
 *   test/ui/host/build/themes/   the light theme's CSS (/lab/api/themes)
 *   test/ui/host/build/style.js  generated CSS imports of the core packages
 *
 * Like JupyterLab's dev_mode/webpack.config.js, the host is the container
 * "CORE_FEDERATION" and shares every package of the core package.json
 * (jupyter/labextension/core/package.json) in webpack's "default" share scope;
 * the packages of `jupyterlab.singletonPackages` are singletons. That is the
 * scope `build-labextension --core-path jupyter/labextension/core` compiles an
 * extension against, so a prebuilt extension consumes these very modules.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const webpack = require('webpack');
const { merge } = require('webpack-merge');
const { Build } = require('@jupyterlab/builder');
const baseConfig = require('@jupyterlab/builder/lib/webpack.config.base');

const hostDir = __dirname;
const buildDir = path.join(hostDir, 'build');
const nodeModules = path.resolve(hostDir, '../../../node_modules');
const core = require('../../../jupyter/labextension/core/package.json');

/** The core extensions whose plugins index.js registers (see CORE_EXTENSIONS there). */
const coreExtensions = [
  '@jupyterlab/application-extension',
  '@jupyterlab/apputils-extension',
  '@jupyterlab/codemirror-extension',
  '@jupyterlab/docmanager-extension',
  '@jupyterlab/mainmenu-extension',
  '@jupyterlab/markedparser-extension',
  '@jupyterlab/mermaid-extension',
  '@jupyterlab/notebook-extension',
  '@jupyterlab/rendermime-extension',
  '@jupyterlab/services-extension',
  '@jupyterlab/theme-light-extension',
  '@jupyterlab/translation-extension',
  '@jupyterlab/ui-components-extension'
];

/**
 * The share config: each core dependency with its required version; webpack
 * reads the provided version from the installed package.json. A package is
 * only provided if the host bundle imports it, as in JupyterLab.
 */
function sharedPackages() {
  const singletons = new Set(core.jupyterlab.singletonPackages);
  const shared = {};
  for (const [name, requiredVersion] of Object.entries(core.dependencies)) {
    // Read the file directly: some packages (@codemirror/*) do not export ./package.json.
    const installed = JSON.parse(
      fs.readFileSync(path.join(nodeModules, name, 'package.json'), 'utf8')
    ).version;
    shared[name] = { requiredVersion, singleton: singletons.has(name) };
    // A stale core package.json would make extensions and host disagree
    // silently at runtime; fail the build instead.
    if (requiredVersion.replace(/^[~^]/, '') !== installed) {
      throw new Error(
        `jupyter/labextension/core/package.json pins ${name} ${requiredVersion} but node_modules has ${installed}; update the core package.json`
      );
    }
  }
  return shared;
}

// Copies the core schemas to build/schemas, writes build/style.js and returns
// one extra webpack config per theme (build/themes/<package>/index.css).
const themeConfigs = Build.ensureAssets({
  packageNames: coreExtensions,
  output: buildDir,
  schemaOutput: buildDir,
  themeOutput: buildDir
});

module.exports = [
  merge(baseConfig, {
    mode: 'development',
    devtool: false,
    context: hostDir,
    entry: { bundle: path.join(hostDir, 'bootstrap.js') },
    output: {
      path: path.join(buildDir, 'static'),
      // bootstrap.js sets __webpack_public_path__ from PageConfig.
      publicPath: 'auto',
      filename: '[name].js',
      chunkFilename: '[name].[contenthash].js',
      library: { type: 'var', name: ['_JUPYTERLAB', 'CORE_OUTPUT'] },
      clean: true
    },
    resolve: {
      // test/ui/host lives inside the project: resolve from its node_modules.
      modules: [nodeModules, 'node_modules']
    },
    performance: { hints: false },
    plugins: [
      new webpack.container.ModuleFederationPlugin({
        library: { type: 'var', name: ['_JUPYTERLAB', 'CORE_LIBRARY_FEDERATION'] },
        name: 'CORE_FEDERATION',
        shared: sharedPackages()
      })
    ]
  })
].concat(themeConfigs);
