import * as fs from "fs";

/**
 * Open descriptors for files written in many small appends, at most `limit` at once: the least
 * recently used is closed to make room. Each file is written at its own position, so a descriptor can
 * also rewrite the file's start (no O_APPEND).
 */
export class OpenFiles {
  private readonly open = new Map<string, number>();
  private readonly sizes = new Map<string, number>();
  /** Files this has created, or been told exist: reopened without truncating. */
  private readonly existing = new Set<string>();

  constructor(private readonly limit = 512) {}

  /** Appends `length` bytes of `buffer`; the first write to a path creates (truncates) the file. */
  append(file: string, buffer: Uint8Array, length: number): void {
    const position = this.sizes.get(file) ?? 0;
    this.write(file, buffer, length, position);
    this.sizes.set(file, position + length);
  }

  /** Writes `length` bytes of `buffer` at `position` of a file that exists (it is not truncated). */
  writeAt(file: string, buffer: Uint8Array, length: number, position: number): void {
    this.existing.add(file);
    this.write(file, buffer, length, position);
  }

  /** Overwrites bytes from the start of a file already written. */
  overwriteStart(file: string, buffer: Uint8Array): void {
    this.write(file, buffer, buffer.length, 0);
  }

  isOpen(file: string): boolean {
    return this.open.has(file);
  }

  closeAll(): void {
    for (const fd of this.open.values()) fs.closeSync(fd);
    this.open.clear();
  }

  private write(file: string, buffer: Uint8Array, length: number, position: number): void {
    const fd = this.descriptor(file);
    for (let written = 0; written < length; ) written += fs.writeSync(fd, buffer, written, length - written, position + written);
  }

  private descriptor(file: string): number {
    let fd = this.open.get(file);
    if (fd !== undefined) {
      // Re-insert: a Map iterates in insertion order, so its first entry is the least recently used.
      this.open.delete(file);
    } else {
      if (this.open.size >= this.limit) {
        const [oldest, oldestFd] = this.open.entries().next().value as [string, number];
        fs.closeSync(oldestFd);
        this.open.delete(oldest);
      }
      fd = fs.openSync(file, this.existing.has(file) ? "r+" : "w");
      this.existing.add(file);
    }
    this.open.set(file, fd);
    return fd;
  }
}
