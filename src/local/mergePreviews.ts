/**
 * The report's previews of the rasters a merge writes, made from the rows as they are written
 * (PictureSampler) and coloured as soon as the main thread waits: a feature's picture is complete
 * when its last band of rows is, and while the next feature's tiles compress on libuv's threads the
 * main thread is idle. The report then takes them (madePreviews.ts) instead of decoding the files.
 */
import type { BandObserver } from "../lidar/merge";
import { rememberPreview } from "./madePreviews";
import { PictureSampler } from "./picture";
import { RasterPreview, renderPicture } from "./preview";

interface Made {
  readonly sampler: PictureSampler;
  preview?: RasterPreview;
}

export class MergePreviews {
  private readonly made = new Map<string, Made>();

  /** The observer of one feature's rows (mergeRasters' `observe`). */
  observe(feature: string, width: number, height: number): BandObserver {
    const made: Made = { sampler: new PictureSampler(width, height) };
    this.made.set(feature, made);
    return (band, rowCount) => {
      made.sampler.addRows(band, rowCount);
      if (made.sampler.complete) setImmediate(() => this.render(made));
    };
  }

  /** Remembers the preview of each feature's file, once the merge has written them all. */
  remember(features: readonly string[], files: readonly string[]): void {
    features.forEach((feature, i) => rememberPreview(files[i]!, this.render(this.made.get(feature)!)));
  }

  private render(made: Made): RasterPreview {
    made.preview ??= renderPicture(made.sampler.finish());
    return made.preview;
  }
}
