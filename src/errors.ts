/**
 * The one error base of the project: every error Contower throws names what went wrong with a string `code`
 * (stable, for callers and metrics labels), and its message says it for a person.
 */
export class ContowerError<Code extends string = string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** Whether `err` is a Contower error, and with this code when one is given. */
export function isContowerError(err: unknown, code?: string): err is ContowerError {
  return err instanceof ContowerError && (code === undefined || err.code === code)
}
