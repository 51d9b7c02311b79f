// Errors meant for the person at the terminal: printed as one line, never as a stack trace.

export class UserError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(message: string, code = 'E_USAGE', exitCode = 1) {
    super(message);
    this.name = 'UserError';
    this.code = code;
    this.exitCode = exitCode;
  }
}
