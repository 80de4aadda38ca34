import type { FastifyBaseLogger } from 'fastify'

/**
 * Counts events an output had to drop. The first drop is logged at once, later ones at most once per
 * `everyMs` as a warn line with the count since the last one; close() logs the total.
 */
export class DropCounter {
  total = 0
  private unreported = 0
  private lastWarn = 0
  private timer: NodeJS.Timeout | null = null
  private reason = ''

  constructor(
    private readonly logger: FastifyBaseLogger,
    private readonly output: string,
    private readonly everyMs = 30_000,
  ) {}

  add(n: number, reason: string): void {
    if (n <= 0) return
    this.total += n
    this.unreported += n
    this.reason = reason
    const wait = this.lastWarn + this.everyMs - Date.now()
    if (wait <= 0) return this.report()
    this.timer ??= setTimeout(() => this.report(), wait).unref()
  }

  private report() {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (this.unreported === 0) return
    this.lastWarn = Date.now()
    this.logger.warn({ output: this.output, dropped: this.unreported, droppedTotal: this.total }, `${this.output}: dropped ${this.unreported} events (${this.reason}); the rows are in the database`)
    this.unreported = 0
  }

  /** Logs what was dropped since the last warn line. */
  close(): void {
    this.report()
  }
}
