import * as fs from "fs";
import * as path from "path";
import { compareText } from "../textOrder";

/** Import names whose distribution on PyPI is called something else. */
const DISTRIBUTION_OF: Readonly<Record<string, string>> = {
  attr: "attrs",
  bs4: "beautifulsoup4",
  Bio: "biopython",
  cv2: "opencv-python",
  Crypto: "pycryptodome",
  dateutil: "python-dateutil",
  docx: "python-docx",
  dotenv: "python-dotenv",
  fitz: "PyMuPDF",
  gi: "PyGObject",
  git: "GitPython",
  jwt: "PyJWT",
  magic: "python-magic",
  mpl_toolkits: "matplotlib",
  MySQLdb: "mysqlclient",
  OpenGL: "PyOpenGL",
  osgeo: "GDAL",
  PIL: "Pillow",
  pkg_resources: "setuptools",
  pptx: "python-pptx",
  serial: "pyserial",
  skimage: "scikit-image",
  sklearn: "scikit-learn",
  usb: "pyusb",
  yaml: "PyYAML",
  zmq: "pyzmq",
};

/** PEP 503 normalisation: `Scikit_Learn` and `scikit-learn` are one distribution. */
export function normalizeDistribution(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

export function distributionOf(module: string): string {
  return DISTRIBUTION_OF[module] ?? module;
}

/** Pins from a requirements.txt beside the notebook, by normalised distribution name. */
export function readPins(notebookPath: string): Map<string, string> {
  const file = path.join(path.dirname(notebookPath), "requirements.txt");
  const pins = new Map<string, string>();
  if (!fs.existsSync(file)) return pins;
  for (const raw of fs.readFileSync(file, "utf8").split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (!line || line.startsWith("#") || line.startsWith("-")) continue;
    const name = /^[A-Za-z0-9][A-Za-z0-9._-]*/.exec(line);
    if (name) pins.set(normalizeDistribution(name[0]), line);
  }
  return pins;
}

/** Local modules: a `helpers.py` or `helpers/` package beside the notebook is not a PyPI distribution. */
export function isLocalModule(module: string, notebookPath: string): boolean {
  const dir = path.dirname(notebookPath);
  return fs.existsSync(path.join(dir, `${module}.py`)) || fs.existsSync(path.join(dir, module, "__init__.py"));
}

/**
 * The pip requirements of a component: its third-party modules as distributions, pinned where the
 * notebook's requirements.txt pins them, plus numpy, which the runtime itself needs.
 */
export function requirementsFor(modules: readonly string[], stdlib: ReadonlySet<string>, pins: ReadonlyMap<string, string>): string[] {
  const distributions = new Set<string>(["numpy"]);
  for (const module of modules) {
    if (stdlib.has(module) || module === "__future__") continue;
    distributions.add(distributionOf(module));
  }
  const byName = new Map<string, string>();
  for (const d of distributions) byName.set(normalizeDistribution(d), pins.get(normalizeDistribution(d)) ?? d);
  return [...byName.entries()].sort(([a], [b]) => compareText(a, b)).map(([, line]) => line);
}
