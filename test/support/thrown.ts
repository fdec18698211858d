/**
 * Capturing what a call threw, so a test can assert on the error itself.
 */
import { GatewayError } from "../../src/core/errors.js";

/** Runs `call` and returns what it threw (failing when it does not throw). */
export async function thrown(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

/** Runs `run` (synchronous) and returns the GatewayError it threw; fails on no throw or another error. */
export function thrownGatewayError(run: () => unknown): GatewayError {
  try {
    run();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error("expected a GatewayError");
}

/** Awaits `promise` and returns the GatewayError it rejected with; fails on success or another error. */
export async function rejectedGatewayError(promise: Promise<unknown>): Promise<GatewayError> {
  const error = await thrown(() => promise);
  if (error instanceof GatewayError) return error;
  throw error;
}
