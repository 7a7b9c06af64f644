/**
 * Why Baton cannot start, and what to do about it: printed as one line (`main.ts`), never a stack.
 */
export class StartupError extends Error {
  constructor(
    readonly reason: string,
    readonly remedy: string,
  ) {
    super(`${reason}. ${remedy}`);
    this.name = "StartupError";
  }
}
