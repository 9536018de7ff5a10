import * as fs from "fs";
import * as path from "path";

/** One row of an instance catalog, in SkyPilot's layout. Prices in USD per hour. */
export interface InstanceOffer {
  readonly instanceType: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly price: number;
  readonly spotPrice: number;
  readonly region: string;
  readonly availabilityZone: string;
  readonly arch: string;
}

/** The fixed and usage prices of one region, USD. */
export interface RegionalPrices {
  readonly region: string;
  readonly controlPlaneStandardPerHour: number;
  readonly controlPlaneExtendedPerHour: number;
  readonly natGatewayPerHour: number;
  readonly natGatewayPerGB: number;
  readonly s3StoragePerGBMonth: number;
  readonly s3PutPer1000: number;
  readonly s3GetPer1000: number;
  readonly ebsGp3PerGBMonth: number;
  readonly egressPerGB: number;
}

/** Where the prices came from and when they were compiled (the `# Source:` and `# Compiled:` lines). */
export interface PriceProvenance {
  readonly source: string;
  readonly date: string;
}

export interface AwsPrices {
  readonly offers: readonly InstanceOffer[];
  readonly regional: ReadonlyMap<string, RegionalPrices>;
  readonly provenance: PriceProvenance;
}

/** A malformed price file, with the file and line to fix. */
export class PriceCatalogError extends Error {}

export const INSTANCE_COLUMNS = ["InstanceType", "vCPUs", "MemoryGiB", "Price", "SpotPrice", "Region", "AvailabilityZone", "Arch"] as const;
const REGIONAL_COLUMNS = ["Region", "Item", "Unit", "Price"] as const;

/** Each regional item, its unit and the field it fills. */
const REGIONAL_ITEMS: Readonly<Record<string, { unit: string; field: Exclude<keyof RegionalPrices, "region"> }>> = {
  "eks-control-plane-standard": { unit: "hour", field: "controlPlaneStandardPerHour" },
  "eks-control-plane-extended": { unit: "hour", field: "controlPlaneExtendedPerHour" },
  "nat-gateway": { unit: "hour", field: "natGatewayPerHour" },
  "nat-gateway-data": { unit: "GB", field: "natGatewayPerGB" },
  "s3-standard-storage": { unit: "GB-month", field: "s3StoragePerGBMonth" },
  "s3-put": { unit: "1000 requests", field: "s3PutPer1000" },
  "s3-get": { unit: "1000 requests", field: "s3GetPer1000" },
  "ebs-gp3": { unit: "GB-month", field: "ebsGp3PerGBMonth" },
  "egress-internet": { unit: "GB", field: "egressPerGB" },
};

interface CsvRow {
  readonly line: number;
  readonly cells: readonly string[];
}

/** Rows of a simple CSV (no quoting: none of our fields needs it) after its `#` comment lines and header. */
function csvRows(text: string, file: string, columns: readonly string[]): { rows: CsvRow[]; comments: string[] } {
  const comments: string[] = [];
  const rows: CsvRow[] = [];
  let header = false;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "") return;
    if (trimmed.startsWith("#")) {
      comments.push(trimmed.replace(/^#\s?/, ""));
      return;
    }
    const cells = trimmed.split(",").map((c) => c.trim());
    if (!header) {
      if (cells.join(",") !== columns.join(",")) throw new PriceCatalogError(`${file}:${line}: expected the header ${columns.join(",")}, found ${trimmed}`);
      header = true;
      return;
    }
    if (cells.length !== columns.length) throw new PriceCatalogError(`${file}:${line}: expected ${columns.length} columns (${columns.join(",")}), found ${cells.length}`);
    rows.push({ line, cells });
  });
  if (!header) throw new PriceCatalogError(`${file}: no header line (${columns.join(",")})`);
  return { rows, comments };
}

function positiveNumber(text: string, what: string, file: string, line: number, allowZero = false): number {
  const value = Number(text);
  if (text === "" || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new PriceCatalogError(`${file}:${line}: ${what} must be a ${allowZero ? "non-negative" : "positive"} number, found '${text}'`);
  }
  return value;
}

/** Parses an instance catalog; every row is checked, problems name the line. */
export function parseInstanceCatalog(text: string, file: string): { offers: InstanceOffer[]; comments: string[] } {
  const { rows, comments } = csvRows(text, file, INSTANCE_COLUMNS);
  const seen = new Set<string>();
  const offers = rows.map(({ line, cells }) => {
    const [instanceType, vcpus, memory, price, spot, region, zone, arch] = cells as [string, string, string, string, string, string, string, string];
    if (!/^[a-z0-9-]+\.[a-z0-9-]+$/.test(instanceType)) throw new PriceCatalogError(`${file}:${line}: '${instanceType}' is not an instance type (family.size)`);
    if (!/^[a-z]{2}-[a-z]+-\d$/.test(region)) throw new PriceCatalogError(`${file}:${line}: '${region}' is not a region name (like eu-west-1)`);
    const key = `${instanceType}@${region}`;
    if (seen.has(key)) throw new PriceCatalogError(`${file}:${line}: ${instanceType} in ${region} is listed twice`);
    seen.add(key);
    const offer: InstanceOffer = {
      instanceType,
      vcpus: positiveNumber(vcpus, "vCPUs", file, line),
      memoryGiB: positiveNumber(memory, "MemoryGiB", file, line),
      price: positiveNumber(price, "Price", file, line),
      spotPrice: positiveNumber(spot, "SpotPrice", file, line),
      region,
      availabilityZone: zone,
      arch,
    };
    if (!Number.isInteger(offer.vcpus)) throw new PriceCatalogError(`${file}:${line}: vCPUs must be a whole number, found '${vcpus}'`);
    if (offer.spotPrice > offer.price) throw new PriceCatalogError(`${file}:${line}: the spot price ${offer.spotPrice} is above the on-demand price ${offer.price}`);
    return offer;
  });
  return { offers, comments };
}

/** Parses a regional price file: every region must list every item, once, in its unit. */
export function parseRegionalPrices(text: string, file: string): { regional: Map<string, RegionalPrices>; comments: string[] } {
  const { rows, comments } = csvRows(text, file, REGIONAL_COLUMNS);
  const partial = new Map<string, Record<string, number>>();
  for (const { line, cells } of rows) {
    const [region, item, unit, price] = cells as [string, string, string, string];
    const known = REGIONAL_ITEMS[item];
    if (!known) throw new PriceCatalogError(`${file}:${line}: unknown item '${item}'; the items are ${Object.keys(REGIONAL_ITEMS).join(", ")}`);
    if (unit !== known.unit) throw new PriceCatalogError(`${file}:${line}: '${item}' is priced per ${known.unit}, found '${unit}'`);
    const fields = partial.get(region) ?? {};
    if (fields[known.field] !== undefined) throw new PriceCatalogError(`${file}:${line}: '${item}' in ${region} is listed twice`);
    fields[known.field] = positiveNumber(price, "Price", file, line, true);
    partial.set(region, fields);
  }
  const regional = new Map<string, RegionalPrices>();
  for (const [region, fields] of partial) {
    const missing = Object.entries(REGIONAL_ITEMS).filter(([, { field }]) => fields[field] === undefined).map(([item]) => item);
    if (missing.length > 0) throw new PriceCatalogError(`${file}: region ${region} has no price for ${missing.join(", ")}`);
    regional.set(region, { region, ...(fields as Omit<RegionalPrices, "region">) });
  }
  return { regional, comments };
}

/** The `Compiled: <date>` and `Source: ...` comment lines of a price file. */
function provenanceOf(comments: readonly string[], file: string): PriceProvenance {
  const date = comments.map((c) => /^Compiled:\s*(\d{4}-\d{2}-\d{2})/.exec(c)?.[1]).find((d) => d !== undefined);
  const source = comments.map((c) => /^Source:\s*(.+)$/.exec(c)?.[1]).find((s) => s !== undefined);
  if (!date || !source) throw new PriceCatalogError(`${file}: a price file must say when it was compiled ('# Compiled: YYYY-MM-DD') and where from ('# Source: ...')`);
  return { source, date };
}

export const PRICES_DIR = __dirname;

/** The AWS catalog shipped in src/plan/prices/, checked. Offers without regional prices are an error. */
export function loadAwsPrices(dir: string = PRICES_DIR): AwsPrices {
  const instancesFile = path.join(dir, "aws-instances.csv");
  const regionalFile = path.join(dir, "aws-regional.csv");
  const instances = parseInstanceCatalog(fs.readFileSync(instancesFile, "utf8"), instancesFile);
  const regional = parseRegionalPrices(fs.readFileSync(regionalFile, "utf8"), regionalFile);
  for (const offer of instances.offers) {
    if (!regional.regional.has(offer.region)) throw new PriceCatalogError(`${regionalFile}: no prices for region ${offer.region}, which ${instancesFile} lists`);
  }
  const a = provenanceOf(instances.comments, instancesFile);
  const b = provenanceOf(regional.comments, regionalFile);
  // The older of the two files dates the whole catalog.
  return { offers: instances.offers, regional: regional.regional, provenance: { source: "EC2 from SkyPilot's AWS catalog (AWS price list, EC2 spot price history; spot a snapshot), EKS, VPC, S3, data transfer from AWS's price lists", date: a.date < b.date ? a.date : b.date } };
}
