/*
 * The errors a run can end with besides a failed run (RunFailedError, in outcome.ts): bad input,
 * an API call that failed, an API that stayed away. Their messages hold no credential.
 */

/** An error in what the caller asked to run (a name, a kubeconfig, a context), found before anything is sent to the cluster. */
export class RunRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunRequestError";
  }
}

/** A failed API call. `transient`: the server could not be reached or was briefly unable (retrying may help). */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = "KubeApiError";
  }
}

/** The API stayed unreachable for longer than allowed; the run (if made) goes on on the cluster. */
export class ApiUnreachableError extends Error {
  constructor(
    message: string,
    readonly lastError: KubeApiError,
    readonly unreachableMs: number,
  ) {
    super(message);
    this.name = "ApiUnreachableError";
  }
}
