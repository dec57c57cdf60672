/**
 * What a language suite (`test/interop/<lang>/suite.ts`, exported as `suite`) gives the runner.
 */
export interface SuiteResult {
  /** The test's name in its own language's runner (TestConnect, test_history, …). */
  name: string;
  ok: boolean;
  /** What to print when it failed. */
  output?: string;
}

export interface Suite {
  /** "go", "python", … */
  name: string;
  /**
   * Installs what the suite needs (modules, a venv) and checks the toolchain; throws an Error
   * whose message is one line naming what to install when the toolchain is missing.
   */
  prepare(): Promise<void>;
  /** Runs every test (or those whose name contains a filter) against the server in `env`. */
  run(env: Record<string, string>, filters: string[]): Promise<SuiteResult[]>;
}
