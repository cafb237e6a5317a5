/** An error with an HTTP status and a fix, turned into an {@link ApiError} JSON answer. */
export class HttpError extends Error {
  readonly status: number;
  readonly fix: string | undefined;

  constructor(status: number, message: string, fix?: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.fix = fix;
  }
}
