/**
 * The `crossborder` command. Exit codes: 0 clean, 1 findings (policy violations, cross-border pulls),
 * 2 usage or configuration errors. User mistakes print a message naming the file, key or line and the
 * fix, never a stack trace.
 */
import { Command, CommanderError } from "commander";
import { CrossborderError, EXIT_OK, EXIT_USAGE } from "../core/errors";
import { auditCommand } from "./commands/audit";
import { chartsCommand } from "./commands/charts";
import { diffCommand } from "./commands/diff";
import { exampleCommand } from "./commands/example";
import { adoptCommand } from "./commands/adopt";
import { bundleCommand } from "./commands/bundle";
import { imagesCommand } from "./commands/images";
import { orderCommand } from "./commands/order";
import { planCommand } from "./commands/plan";
import { policyConfigCommand } from "./commands/policy-config";
import { promoteCommand } from "./commands/promote";
import { publishCommand } from "./commands/publish";
import { renderCommand } from "./commands/render";
import { verifyMirrorCommand } from "./commands/verify-mirror";

/**
 * A file-system refusal on a path the user gave (a file where a folder must be, a name too long, no
 * permission, a read-only or full disk): the user's to fix, so exit 2 with the path and the reason.
 */
const FS_CODES: Record<string, string> = {
    ENOENT: "does not exist",
    ENOTDIR: "a part of it is a file, not a folder",
    EISDIR: "is a folder, not a file",
    EEXIST: "already exists",
    ENAMETOOLONG: "the name is too long for the file system",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    ELOOP: "too many symbolic links",
    EMFILE: "too many open files",
};

function fsProblem(e: unknown): string | undefined {
    const err = e as NodeJS.ErrnoException;
    if (!err || typeof err.code !== "string" || !(err.code in FS_CODES) || typeof err.path !== "string")
        return undefined;
    return `${err.path}: ${FS_CODES[err.code]} (${err.code}${err.syscall ? ` in ${err.syscall}` : ""}); check the path and its permissions`;
}

/** The commands, in the order `crossborder --help` lists them. */
const COMMANDS: readonly (() => Command)[] = [
    planCommand,
    exampleCommand,
    verifyMirrorCommand,
    orderCommand,
    publishCommand,
    diffCommand,
    promoteCommand,
    policyConfigCommand,
    imagesCommand,
    renderCommand,
    chartsCommand,
    auditCommand,
    adoptCommand,
    bundleCommand,
];

export function buildCli(): Command {
    const program = new Command("crossborder")
        .description(
            "Paired global and china Kubernetes stacks, and a Flux GitOps tree that never pulls across the border",
        )
        .version(require("../package.json").version, "--version", "print crossborder's version")
        .exitOverride()
        .configureOutput({ writeErr: (s) => process.stderr.write(s) });
    for (const command of COMMANDS) program.addCommand(inherit(command(), program));
    return program;
}

/**
 * A command built on its own takes the program's settings (exitOverride, output) as `.command()` would
 * give them, and passes them on to its own subcommands: else commander would exit the process itself on
 * a usage mistake, with its own code.
 */
function inherit(command: Command, parent: Command): Command {
    command.copyInheritedSettings(parent);
    for (const sub of command.commands) inherit(sub, command);
    return command;
}

export async function run(argv: readonly string[]): Promise<number> {
    const program = buildCli();
    try {
        await program.parseAsync([...argv], { from: "user" });
        return process.exitCode === undefined ? EXIT_OK : Number(process.exitCode);
    } catch (e) {
        if (e instanceof CommanderError) {
            // Help and version are not errors; everything else commander reports is a usage mistake.
            return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
        }
        if (e instanceof CrossborderError) {
            process.stderr.write(`crossborder: ${e.message}\n`);
            return e.exitCode;
        }
        const fsError = fsProblem(e);
        if (fsError) {
            process.stderr.write(`crossborder: ${fsError}\n`);
            return EXIT_USAGE;
        }
        process.stderr.write(`crossborder: internal error: ${(e as Error)?.message ?? String(e)}\n`);
        if (process.env.CROSSBORDER_DEBUG) process.stderr.write(`${(e as Error)?.stack}\n`);
        else process.stderr.write("(set CROSSBORDER_DEBUG=1 for the stack trace, and report it: it is a bug)\n");
        return 70;
    }
}

if (require.main === module) {
    run(process.argv.slice(2)).then((code) => process.exit(code));
}
