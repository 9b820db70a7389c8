let generation = 0;

/**
 * A part made on first use and kept for the container's life, or until the host starts afresh
 * (`resetLazyParts`). Calls are side-effect free, so a bundle leaves out the parts its function
 * never touches, and the AWS SDK packages only they import.
 */
export function lazy<T>(make: () => T): () => T {
  let value: T;
  let madeIn = -1;
  return () => {
    if (madeIn !== generation) {
      value = make();
      madeIn = generation;
    }
    return value;
  };
}

/** For hosts that change the environment between runs (the local runtime, tests). */
export function resetLazyParts(): void {
  generation++;
}
