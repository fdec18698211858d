/**
 * Capturing what a call threw, so a test can assert on the error itself.
 */

/** Runs `call` and returns what it threw (failing when it does not throw). */
export async function thrown(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}
