/** The CLI's output streams; tests pass in-memory ones. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
}

export const processIo: CliIo = { stdout: process.stdout, stderr: process.stderr };
