/**
 * Every child process crossborder starts (gitops/engine/tools.ts runTool) is bounded in time, output and
 * memory, runs in a process group of its own, and dies with crossborder: after a timeout, after an
 * interrupt, and after crossborder itself is killed outright. The last two are checked from outside, on a
 * real crossborder-like process.
 */
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { locateTool, runTool, ToolError } from "../../gitops/engine/tools";
import { writeChart } from "../engine-fixtures";
import { ROOT, tempDir } from "../helpers";

const alive = (pid: number) => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};

async function gone(pid: number, withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
        // A zombie (reaped later by init) is gone for every purpose that matters; /proc says so.
        const state = fs.existsSync(`/proc/${pid}/stat`)
            ? fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2]
            : "X";
        if (!alive(pid) || state === "Z") return true;
        await new Promise((r) => setTimeout(r, 50));
    }
    return false;
}

/** A tool that starts a grandchild (recording its pid) and then waits: a process tree to kill. Or, `exec`, a
 * tool that becomes a single process (what helm and kubectl are). */
function forkingTool(dir: string, shape: "tree" | "exec" = "tree"): string {
    const file = path.join(dir, "tool.sh");
    const body =
        shape === "tree"
            ? `sleep 300 &\necho $! > ${dir}/grandchild\necho $$ > ${dir}/child\nwait\n`
            : `echo $$ > ${dir}/child\nexec sleep 300\n`;
    fs.writeFileSync(file, `#!/bin/sh\n${body}`, { mode: 0o755 });
    return file;
}

/**
 * The pid a tool wrote to `file`, once the whole line is there: `echo $$ > file` creates the file before it
 * writes, and an empty file read as pid 0 would name this very process group (which never dies).
 */
const pidIn = async (file: string): Promise<number> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
        const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
        if (/^[1-9]\d*\n$/.test(text)) return Number(text);
        if (Date.now() > deadline) throw new Error(`${file}: no pid within 20 s (read ${JSON.stringify(text)})`);
        await new Promise((r) => setTimeout(r, 20));
    }
};

describe("the Go collector of tool runs", () => {
    const env = (vars: NodeJS.ProcessEnv, limits?: { memoryBytes: number }) =>
        runTool("/bin/sh", ["-c", 'echo "GOGC=$GOGC GOMEMLIMIT=$GOMEMLIMIT"'], {
            purpose: "build",
            env: vars,
            limits,
        }).then((r) => r.stdout.trim());

    it("runs Go tools with GOGC=400 and a memory limit of a quarter of the run's bound", async () => {
        assert.strictEqual(await env({ PATH: process.env.PATH }), "GOGC=400 GOMEMLIMIT=1024MiB");
        assert.strictEqual(
            await env({ PATH: process.env.PATH }, { memoryBytes: 512 * 1024 ** 2 }),
            "GOGC=400 GOMEMLIMIT=128MiB",
        );
    });

    it("keeps a collector setting of the caller's own", async () => {
        assert.strictEqual(await env({ PATH: process.env.PATH, GOGC: "50" }), "GOGC=50 GOMEMLIMIT=");
        assert.strictEqual(await env({ PATH: process.env.PATH, GOMEMLIMIT: "2GiB" }), "GOGC= GOMEMLIMIT=2GiB");
    });
});

describe("child processes: bounded, and never left behind", function () {
    this.timeout(120_000);

    it("kills the whole process group when a run passes its time", async () => {
        const dir = tempDir("tools-timeout");
        await assert.rejects(
            runTool(forkingTool(dir), [], { purpose: "version", limits: { timeoutMs: 700 } }),
            (e: Error) => e instanceof ToolError && /no result within 0\.7 s/.test(e.message),
        );
        assert.ok(await gone(await pidIn(path.join(dir, "grandchild")), 3000), "the grandchild died too");
    });

    it("stops a run whose output passes its bound", async () => {
        await assert.rejects(
            runTool("/usr/bin/yes", [], { purpose: "version", limits: { maxOutputBytes: 1024 * 1024 } }),
            (e: Error) => e instanceof ToolError && /more than 1048576 bytes of output/.test(e.message),
        );
    });

    it("stops helm on a chart whose includes explode, naming the bound (the real engine)", async () => {
        const dir = tempDir("tools-bomb");
        // Each level includes the one below ten times: 10^9 copies of a line.
        const defs = Array.from(
            { length: 9 },
            (_, i) => `{{- define "l${i + 1}" }}${`{{ include "l${i}" . }}`.repeat(10)}{{- end }}`,
        ).join("\n");
        const chart = writeChart(dir, "bomb", {
            "templates/_bomb.tpl": `{{- define "l0" }}x: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n{{- end }}\n${defs}\n`,
            "templates/cm.yaml":
                'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  a: |\n{{ include "l9" . | indent 4 }}\n',
        });
        const started = Date.now();
        await assert.rejects(
            runTool(locateTool("helm"), ["template", "bomb", chart], {
                purpose: "render",
                limits: { timeoutMs: 20_000, memoryBytes: 768 * 1024 * 1024 },
            }),
            (e: Error) =>
                e instanceof ToolError &&
                /ran out of its 768 MiB of memory|no result within 20 s|more than/.test(e.message),
        );
        assert.ok(Date.now() - started < 30_000);
        const left = spawnSync("pgrep", ["-f", `template bomb ${chart}`], { encoding: "utf8" }).stdout.trim();
        assert.strictEqual(left, "", "no helm left running");
    });

    /** A crossborder-like process that runs the forking tool through runTool and waits. */
    function crossborderRunning(dir: string, shape: "tree" | "exec" = "tree"): { pid: number } {
        const script = path.join(dir, "runner.ts");
        fs.writeFileSync(
            script,
            `import { runTool } from ${JSON.stringify(path.join(ROOT, "gitops", "engine", "tools"))};\nrunTool(${JSON.stringify(forkingTool(dir, shape))}, [], { purpose: "render" }).catch(() => undefined);\nsetInterval(() => undefined, 1000);\n`,
        );
        const child = spawn(process.execPath, ["-r", path.join(ROOT, "bin", "register.js"), script], {
            stdio: "ignore",
        });
        return { pid: child.pid! };
    }

    for (const signal of ["SIGTERM", "SIGINT"] as const)
        it(`takes its tools with it when it is stopped (${signal})`, async () => {
            const dir = tempDir("tools-signal");
            const cb = crossborderRunning(dir);
            const [child, grandchild] = [
                await pidIn(path.join(dir, "child")),
                await pidIn(path.join(dir, "grandchild")),
            ];
            process.kill(cb.pid, signal);
            assert.ok(await gone(cb.pid, 5000), "crossborder exits");
            assert.ok(await gone(child, 3000), "the tool died");
            assert.ok(await gone(grandchild, 3000), "and what it started");
        });

    it("removes its temporary folders when it is stopped (SIGTERM), where no finally runs", async () => {
        const dir = tempDir("tools-temp");
        const script = path.join(dir, "runner.ts");
        const said = path.join(dir, "folder");
        // It says which folder it made (written whole, then renamed into place), then waits to be stopped.
        const tools = JSON.stringify(path.join(ROOT, "gitops", "engine", "tools"));
        fs.writeFileSync(
            script,
            [
                'import * as fs from "fs";',
                `import { temporaryFolder } from ${tools};`,
                'const d = temporaryFolder("crossborder-signal-");',
                'fs.writeFileSync(d + "/inside", "x");',
                `fs.writeFileSync(${JSON.stringify(`${said}.tmp`)}, d);`,
                `fs.renameSync(${JSON.stringify(`${said}.tmp`)}, ${JSON.stringify(said)});`,
                "setInterval(() => undefined, 1000);",
            ].join("\n"),
        );
        const child = spawn(process.execPath, ["-r", path.join(ROOT, "bin", "register.js"), script], {
            stdio: "ignore",
        });
        const deadline = Date.now() + 20_000;
        while (!fs.existsSync(said) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const folder = fs.readFileSync(said, "utf8");
        assert.ok(fs.existsSync(path.join(folder, "inside")), folder);
        process.kill(child.pid!, "SIGTERM");
        assert.ok(await gone(child.pid!, 5000), "crossborder exits");
        assert.ok(!fs.existsSync(folder), `${folder} was left behind`);
    });

    it("takes its tool with it when it is killed outright (SIGKILL: the parent-death signal)", async function () {
        if (!fs.existsSync("/usr/bin/setpriv")) {
            if (process.env.CI === "true") throw new Error("setpriv (util-linux) is missing");
            return this.skip();
        }
        const dir = tempDir("tools-kill");
        const cb = crossborderRunning(dir, "exec");
        const child = await pidIn(path.join(dir, "child"));
        process.kill(cb.pid, "SIGKILL");
        assert.ok(await gone(cb.pid, 5000));
        assert.ok(await gone(child, 3000), "the kernel killed the tool with its parent");
    });
});
