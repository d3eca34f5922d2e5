/** A part of the node with a lifecycle. */
export interface Startable {
  start(): unknown
  stop(): unknown
}

/**
 * Parts started one after the other in list order and stopped in reverse. A part counts as started as soon as its
 * start begins, so a start that fails half-way (a host listening on one port of two) is still stopped.
 */
export class Lifecycle {
  private started: Startable[] = []

  async start(parts: readonly Startable[]): Promise<void> {
    for (const part of parts) {
      this.started.push(part)
      await part.start()
    }
  }

  /** Stops every started part, the last first; a part that fails to stop does not keep the others running. */
  async stop(onError: (err: unknown) => void): Promise<void> {
    const parts = this.started.reverse()
    this.started = []
    for (const part of parts) {
      try {
        await part.stop()
      } catch (err) {
        onError(err)
      }
    }
  }
}
