import * as fs from "fs";
import { load } from "js-yaml";
import * as path from "path";
import { DEFAULT_ASSUMPTIONS, InputLocation, ModelAssumptions, Objective, OpenStackFlavor, PlanInputError, PlanRequest } from "./request";
import type { DataVolume } from "./volume";

/**
 * What a plan is asked with, before defaults: from flags, from a stack's `naaw:` config, or both
 * (a flag wins over config, config over the default). The Pulumi program reads the same keys.
 */
export interface PlanSettings {
  readonly workflow?: string;
  /** `naaw:dataVolume`: a size (16TB), a count (700e9points) or a LAS/LAZ path. */
  readonly data?: string;
  readonly budget?: number;
  readonly deadlineHours?: number;
  readonly objective?: Objective;
  readonly cloud?: "aws" | "openstack";
  readonly region?: string;
  readonly spot?: boolean;
  readonly inputLocation?: InputLocation;
  readonly tileSizes?: readonly number[];
  readonly instanceTypes?: readonly string[];
  /** `naaw:architectures`: what the images are built for (default x86_64, the build machine's). */
  readonly architectures?: readonly string[];
  readonly maxNodes?: number;
  readonly currency?: string;
  readonly pointDensity?: number;
  readonly openstackFlavors?: readonly OpenStackFlavor[];
  readonly assumptions?: Partial<ModelAssumptions>;
  /** `naaw:ebsGBPerNode`: a fixed root volume for the workflow nodes (GiB); unset, the plan sizes it. */
  readonly nodeVolumeGB?: number;
}

export const DEFAULT_REGION = "eu-west-1";
export const DEFAULT_MAX_NODES = 256;
/** Images are built for the build machine's architecture unless the stack says they are multi-arch. */
export const DEFAULT_ARCHITECTURES = ["x86_64"];
/** Tile edges tried besides the workflow's own: bigger tiles mean fewer pods (Argo's pod rate) but more memory each. */
export const DEFAULT_TILE_SIZES = [250, 500, 1000, 2000];

/** A positive number from a flag or config (Pulumi keeps config values as strings). */
export function positive(value: unknown, what: string, allowZero = false): number {
  const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new PlanInputError(`${what} must be a ${allowZero ? "non-negative" : "positive"} number, got '${String(value)}'`);
  return n;
}

/** A whole positive number (a volume size in GiB). */
function wholePositive(value: unknown, what: string): number {
  const n = positive(value, what);
  if (!Number.isInteger(n)) throw new PlanInputError(`${what} must be a whole number of GiB, got '${String(value)}'`);
  return n;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) throw new PlanInputError(`${what} must be ${allowed.join(" or ")}, got '${String(value)}'`);
  return value as T;
}

function bool(value: unknown, what: string): boolean {
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  throw new PlanInputError(`${what} must be true or false, got '${String(value)}'`);
}

function list(value: unknown, what: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === "string") return value.split(",").map((s) => s.trim()).filter(Boolean);
  throw new PlanInputError(`${what} must be a list, got '${String(value)}'`);
}

function flavors(value: unknown, where: string): OpenStackFlavor[] {
  return list(value, `${where} naaw:openstackFlavors`).map((f, i) => {
    const at = `${where} naaw:openstackFlavors[${i}]`;
    if (typeof f !== "object" || f === null) throw new PlanInputError(`${at} must be {name, vcpus, memoryGiB, pricePerHour}`);
    const o = f as Record<string, unknown>;
    if (typeof o.name !== "string" || o.name === "") throw new PlanInputError(`${at}.name must be the flavor's name`);
    const vcpus = positive(o.vcpus, `${at}.vcpus`);
    if (!Number.isInteger(vcpus)) throw new PlanInputError(`${at}.vcpus must be a whole number`);
    return { name: o.name, vcpus, memoryGiB: positive(o.memoryGiB, `${at}.memoryGiB`), pricePerHour: o.pricePerHour === undefined ? undefined : positive(o.pricePerHour, `${at}.pricePerHour`, true) };
  });
}

/** Plan settings from config values (keys without the `naaw:` prefix); unknown plan keys are left to other readers. */
export function settingsFromConfig(config: Readonly<Record<string, unknown>>, where: string): PlanSettings {
  const at = (key: string) => `${where} naaw:${key}`;
  const get = <T>(key: string, parse: (v: unknown) => T): T | undefined => (config[key] === undefined ? undefined : parse(config[key]));
  const assumptions: Record<string, unknown> = {};
  for (const [key, fallback] of Object.entries(DEFAULT_ASSUMPTIONS)) {
    if (config[key] === undefined) continue;
    assumptions[key] = typeof fallback === "number" ? positive(config[key], at(key), true) : typeof fallback === "boolean" ? bool(config[key], at(key)) : key === "controlPlaneSupport" ? oneOf(config[key], ["standard", "extended"], at(key)) : String(config[key]);
  }
  return {
    workflow: get("workflow", String),
    data: get("dataVolume", String),
    budget: get("budget", (v) => positive(v, at("budget"))),
    deadlineHours: get("deadlineHours", (v) => positive(v, at("deadlineHours"))),
    objective: get("objective", (v) => oneOf(v, ["time", "cost"], at("objective"))),
    cloud: get("cloud", (v) => oneOf(v, ["aws", "openstack"], at("cloud"))),
    region: get("region", String),
    spot: get("spot", (v) => bool(v, at("spot"))),
    inputLocation: get("inputLocation", (v) => oneOf(v, ["s3", "internet"], at("inputLocation"))),
    tileSizes: get("tileSizes", (v) => list(v, at("tileSizes")).map((t) => positive(t, at("tileSizes")))),
    instanceTypes: get("instanceTypes", (v) => list(v, at("instanceTypes")).map(String)),
    architectures: get("architectures", (v) => list(v, at("architectures")).map((a) => oneOf(a, ["x86_64", "arm64"], at("architectures")))),
    maxNodes: get("maxNodes", (v) => positive(v, at("maxNodes"))),
    currency: get("currency", String),
    pointDensity: get("pointDensity", (v) => positive(v, at("pointDensity"))),
    openstackFlavors: get("openstackFlavors", (v) => flavors(v, where)),
    assumptions: assumptions as Partial<ModelAssumptions>,
    nodeVolumeGB: get("ebsGBPerNode", (v) => wholePositive(v, at("ebsGBPerNode"))),
  };
}

/** `stacks/Pulumi.<name>.yaml`'s `naaw:` keys as plan settings. */
export function readStackSettings(name: string, dir = "stacks"): PlanSettings {
  const file = path.join(dir, `Pulumi.${name}.yaml`);
  let doc: unknown;
  try {
    doc = load(fs.readFileSync(file, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      const known = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice(7, -5)) : [];
      throw new PlanInputError(`no stack '${name}': ${file} does not exist${known.length ? `; the stacks are ${known.join(", ")}` : ""}`);
    }
    throw new PlanInputError(`${file}: ${(error as Error).message.split("\n")[0]}`);
  }
  const config = (doc as { config?: Record<string, unknown> } | undefined)?.config ?? {};
  const naaw = Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith("naaw:")).map(([k, v]) => [k.slice(5), v]));
  return settingsFromConfig(naaw, file);
}

/** Flags over stack config; defined values only. */
export function mergeSettings(config: PlanSettings, flags: PlanSettings): PlanSettings {
  const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  return { ...config, ...defined, assumptions: { ...config.assumptions, ...flags.assumptions } };
}

/** The request the planner takes, defaults filled in and checked. */
export function buildRequest(settings: PlanSettings, volume: DataVolume, defaultTileSize: number): PlanRequest {
  const cloud = settings.cloud ?? (settings.openstackFlavors ? "openstack" : "aws");
  const maxNodes = settings.maxNodes ?? DEFAULT_MAX_NODES;
  if (!Number.isInteger(maxNodes)) throw new PlanInputError(`the most nodes must be a whole number, got ${maxNodes}`);
  if (settings.budget !== undefined) positive(settings.budget, "--budget");
  if (settings.deadlineHours !== undefined) positive(settings.deadlineHours, "--deadline");
  const eviction = settings.assumptions?.diskEvictionFraction;
  if (eviction !== undefined && eviction >= 1) throw new PlanInputError(`naaw:diskEvictionFraction must be below 1 (the share of a node's disk the kubelet keeps free), got ${eviction}`);
  return {
    cloud,
    region: settings.region ?? (cloud === "aws" ? DEFAULT_REGION : "openstack"),
    volume,
    budget: settings.budget,
    deadlineHours: settings.deadlineHours,
    objective: settings.objective ?? "time",
    spot: cloud === "aws" ? (settings.spot ?? true) : false,
    inputLocation: settings.inputLocation ?? "s3",
    tileSizes: settings.tileSizes && settings.tileSizes.length > 0 ? settings.tileSizes : [...new Set([...DEFAULT_TILE_SIZES, defaultTileSize])].sort((a, b) => a - b),
    instanceTypes: settings.instanceTypes,
    architectures: settings.architectures && settings.architectures.length > 0 ? settings.architectures : DEFAULT_ARCHITECTURES,
    maxNodes,
    currency: cloud === "aws" ? "USD" : (settings.currency ?? "credits"),
    assumptions: { ...DEFAULT_ASSUMPTIONS, ...settings.assumptions },
    nodeVolumeGB: settings.nodeVolumeGB,
  };
}
