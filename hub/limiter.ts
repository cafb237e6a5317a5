/**
 * A counting semaphore: at most `limit` holders at once; the rest wait in arrival order. The hub
 * uses it to bound concurrent pod spawns, so a class signing in at 9:00 does not flood the API
 * server and the nodes' image pulls at once.
 */
export class Limiter {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`A spawn limit must be a whole number ≥ 1, not ${limit}`);
    this.#limit = limit;
  }

  /** How many hold a slot now, and how many wait for one. */
  get load(): { active: number; waiting: number } {
    return { active: this.#active, waiting: this.#waiting.length };
  }

  /** Runs `work` once a slot is free, and frees the slot when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active += 1;
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so #active stays counted.
      if (next) next();
      else this.#active -= 1;
    }
  }
}
