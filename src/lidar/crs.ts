import type { Vlr } from "./lasHeader";

const PROJECTION_USER_ID = "LASF_Projection";
const GEOKEY_DIRECTORY_RECORD = 34735;
const OGC_WKT_RECORD = 2112;
const PROJECTED_CS_KEY = 3072;
const GEOGRAPHIC_TYPE_KEY = 2048;
/** GeoTIFF's "user-defined" code: the CRS is described by other keys, not by an EPSG code. */
const USER_DEFINED_CODE = 32767;

/** The CRS a file's (E)VLRs name as `EPSG:<code>`, or "" when they name none by EPSG code. */
export function crsOfVlrs(vlrs: readonly Vlr[]): string {
  const geoKeys = vlrs.find((v) => v.userId === PROJECTION_USER_ID && v.recordId === GEOKEY_DIRECTORY_RECORD);
  const fromKeys = geoKeys ? epsgFromGeoKeys(geoKeys.data) : undefined;
  if (fromKeys !== undefined) return `EPSG:${fromKeys}`;
  for (const vlr of vlrs) {
    if (vlr.userId !== PROJECTION_USER_ID || vlr.recordId !== OGC_WKT_RECORD) continue;
    const code = epsgFromWkt(vlr.data.toString("utf8").replace(/\0+$/, ""));
    if (code !== undefined) return `EPSG:${code}`;
  }
  return "";
}

/** ProjectedCSTypeGeoKey, else GeographicTypeGeoKey, when stored inline as a real code. */
export function epsgFromGeoKeys(data: Buffer): number | undefined {
  if (data.length < 8) return undefined;
  const keyCount = data.readUInt16LE(6);
  const values = new Map<number, number>();
  for (let i = 0; i < keyCount && 8 + i * 8 + 8 <= data.length; i++) {
    const entry = 8 + i * 8;
    const location = data.readUInt16LE(entry + 2);
    if (location === 0) values.set(data.readUInt16LE(entry), data.readUInt16LE(entry + 6));
  }
  for (const key of [PROJECTED_CS_KEY, GEOGRAPHIC_TYPE_KEY]) {
    const code = values.get(key);
    if (code !== undefined && code > 0 && code !== USER_DEFINED_CODE) return code;
  }
  return undefined;
}

interface WktNode {
  readonly keyword: string;
  readonly args: readonly (string | WktNode)[];
}

/**
 * The EPSG code of the outermost CRS of a WKT (1 or 2) string: its own AUTHORITY["EPSG","n"] or
 * ID["EPSG",n], not one of a nested datum, unit or axis. A compound CRS without one of its own takes
 * its horizontal (first) component's.
 */
export function epsgFromWkt(wkt: string): number | undefined {
  const root = parseWkt(wkt);
  return root ? epsgOfNode(root) : undefined;
}

function epsgOfNode(node: WktNode): number | undefined {
  for (const arg of node.args) {
    if (typeof arg === "string" || (arg.keyword !== "AUTHORITY" && arg.keyword !== "ID")) continue;
    const [authority, code] = arg.args;
    if (typeof authority === "string" && authority.toUpperCase() === "EPSG" && typeof code === "string" && /^\d+$/.test(code)) return Number(code);
  }
  if (/^COMPD_CS$|^COMPOUNDCRS$/.test(node.keyword)) {
    const first = node.args.find((a): a is WktNode => typeof a !== "string");
    return first ? epsgOfNode(first) : undefined;
  }
  return undefined;
}

/** A WKT tree; quoted strings and bare values both become strings. Undefined when it does not parse. */
function parseWkt(text: string): WktNode | undefined {
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const parseValue = (): string | WktNode => {
    skipSpace();
    if (text[i] === '"') {
      let value = "";
      for (i++; i < text.length; i++) {
        if (text[i] === '"') {
          if (text[i + 1] !== '"') break;
          i++;
        }
        value += text[i];
      }
      if (text[i] !== '"') throw new SyntaxError("unterminated string");
      i++;
      return value;
    }
    const start = i;
    while (i < text.length && !/[\s,[\]()]/.test(text[i]!)) i++;
    const word = text.slice(start, i);
    skipSpace();
    if (text[i] !== "[" && text[i] !== "(") {
      if (word === "") throw new SyntaxError(`unexpected '${text[i] ?? "end"}'`);
      return word;
    }
    i++;
    const args: (string | WktNode)[] = [];
    for (;;) {
      args.push(parseValue());
      skipSpace();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "]" || text[i] === ")") {
        i++;
        return { keyword: word.toUpperCase(), args };
      }
      throw new SyntaxError(`unexpected '${text[i] ?? "end"}'`);
    }
  };
  try {
    const root = parseValue();
    return typeof root === "string" ? undefined : root;
  } catch {
    return undefined;
  }
}

// ---- Writing: an "EPSG:<code>" string as the GeoKeys of a GeoTIFF (used by merge) ----

/** GTModelTypeGeoKey values. */
export const MODEL_PROJECTED = 1;
export const MODEL_GEOGRAPHIC = 2;

export interface CrsGeoKeys {
  readonly GTModelTypeGeoKey: typeof MODEL_PROJECTED | typeof MODEL_GEOGRAPHIC;
  readonly ProjectedCSTypeGeoKey?: number;
  readonly GeographicTypeGeoKey?: number;
}

/** Why a CRS string cannot be written as GeoKeys; the caller adds where it came from. */
export class CrsError extends Error {}

/** The EPSG code of "EPSG:<code>" (case and surrounding spaces do not matter). */
export function epsgCode(crs: string): number {
  const match = /^\s*EPSG\s*:\s*(\d+)\s*$/i.exec(crs);
  const code = match ? Number(match[1]) : NaN;
  // GeoKey values are TIFF SHORTs.
  if (!Number.isInteger(code) || code < 1 || code > 0xffff) throw new CrsError(`unsupported CRS '${crs}': expected EPSG:<code>, e.g. EPSG:28992`);
  return code;
}

/**
 * EPSG codes 4000–4999 are geographic CRSs (4326 is WGS 84); everything else met in LiDAR data is
 * projected (RD New 28992, UTM zones 326xx, national grids).
 */
export function isGeographicEpsg(code: number): boolean {
  return code >= 4000 && code <= 4999;
}

export function crsGeoKeys(crs: string): CrsGeoKeys {
  const code = epsgCode(crs);
  return isGeographicEpsg(code)
    ? { GTModelTypeGeoKey: MODEL_GEOGRAPHIC, GeographicTypeGeoKey: code }
    : { GTModelTypeGeoKey: MODEL_PROJECTED, ProjectedCSTypeGeoKey: code };
}
