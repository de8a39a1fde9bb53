/**
 * The errors a command ends with on purpose, and the exit code each class stands for: 0 clean, 1 findings
 * (the check looked and found something), 2 usage or configuration errors (the user's to fix). Their
 * messages are for the user: they name the file, key or line, what is wrong and how to fix it. Anything
 * else that reaches the command's top is a bug, reported as one.
 */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

/** An error whose message is for the user; its class says the exit code. */
export abstract class CrossborderError extends Error {
    abstract readonly exitCode: typeof EXIT_FINDINGS | typeof EXIT_USAGE;
}

/** Input the user must fix: a usage mistake, a file that cannot be used, a tool that cannot run (exit 2). */
export class InputError extends CrossborderError {
    readonly exitCode = EXIT_USAGE;
}

/** The check looked and found something wrong (exit 1). */
export class FindingsError extends CrossborderError {
    readonly exitCode = EXIT_FINDINGS;
}
