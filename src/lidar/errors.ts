/**
 * A LAS/LAZ input (or a split option) that cannot be used. The message is one line, `<file>: <problem>`,
 * so the CLI can print `naaw: <message>` as is.
 */
export class LidarInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LidarInputError";
  }
}
