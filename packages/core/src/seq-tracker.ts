/**
 * Which sequence numbers of one document this node already has. Entries can arrive out of order
 * (this node's own appends come back with seqs past entries it has not received yet), so it keeps
 * a watermark — every seq up to it is here — plus the seqs held beyond it.
 */
export class SeqTracker {
  private mark: number;
  private readonly ahead = new Set<number>();

  /** A tracker holding every seq up to `watermark`. */
  constructor(watermark = 0) {
    this.mark = watermark;
  }

  /** Every seq up to this one is here. */
  get watermark(): number {
    return this.mark;
  }

  /** The highest seq held. */
  get highest(): number {
    let highest = this.mark;
    for (const seq of this.ahead) highest = Math.max(highest, seq);
    return highest;
  }

  /** True when this node has the entry `seq`. */
  has(seq: number): boolean {
    return seq <= this.mark || this.ahead.has(seq);
  }

  /** Records that `seq` is here. */
  add(seq: number): void {
    if (seq <= this.mark) return;
    this.ahead.add(seq);
    while (this.ahead.delete(this.mark + 1)) this.mark++;
  }

  /** The first missing seq below `seq`, if any (a gap to fill from the log). */
  firstMissingBelow(seq: number): number | undefined {
    return this.mark + 1 < seq ? this.mark + 1 : undefined;
  }
}
