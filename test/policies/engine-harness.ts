/**
 * The Pulumi engine's side of the analyzer protocol, for tests: start the policy pack's real entry
 * (policies/index.ts, as `pulumi preview --policy-pack policies` does: it prints its gRPC port), connect with
 * @grpc/grpc-js and the analyzer protocol of @pulumi/pulumi/proto, configure it as the engine does, and send
 * resources encoded as the engine encodes them: unknowns as the unknown sentinel, secrets in the secret
 * envelope (or revealed), provider, parent, dependencies and property dependencies filled in.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as analyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import type { ResourceRecord } from "../../stacks/offline";
import { ROOT } from "../helpers";

/** The engine's wire forms (pulumi/sdk go/common/resource/plugin/rpc.go; @pulumi/pulumi runtime/rpc). */
export const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type SecretForm = "envelope" | "revealed";

/** What the engine learns from a pack for one resource or stack: its diagnostics and not-applicable reasons. */
export interface Verdicts {
    readonly diagnostics: { policy: string; level: string; message: string; urn: string }[];
    readonly notApplicable: { policy: string; reason: string }[];
}

const LEVELS = ["advisory", "mandatory", "disabled", "remediate"];

/** A recorded value on the wire: "[unknown]" as the sentinel, "[secret]" as a secret holding `revealed`. */
export function encode(value: unknown, secrets: SecretForm, revealed: string): unknown {
    if (value === "[unknown]") return UNKNOWN_STRING;
    if (value === "[secret]") return secrets === "envelope" ? { [SIG_KEY]: SECRET_SIG, value: revealed } : revealed;
    if (Array.isArray(value)) return value.map((v) => encode(v, secrets, revealed));
    if (value && typeof value === "object")
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v, secrets, revealed)]));
    return value;
}

export class PolicyPackProcess {
    private constructor(
        private readonly child: ChildProcess,
        readonly client: InstanceType<typeof analyzerRpc.AnalyzerClient>,
    ) {}

    /** Start policies/index.ts the way the analyzer plugin does, in the pack's folder, and connect. */
    static async start(): Promise<PolicyPackProcess> {
        const child = spawn(
            process.execPath,
            ["-r", path.join(ROOT, "bin", "register.js"), path.join(ROOT, "policies", "index.ts")],
            {
                cwd: path.join(ROOT, "policies"),
                stdio: ["ignore", "pipe", "pipe"],
            },
        );
        let stderr = "";
        child.stderr!.on("data", (d) => (stderr += String(d)));
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            const timer = setTimeout(() => reject(new Error(`the pack printed no port in 60 s:\n${stderr}`)), 60_000);
            child.stdout!.on("data", (d) => {
                out += String(d);
                const m = /^(\d+)\s*$/m.exec(out);
                if (m) {
                    clearTimeout(timer);
                    resolve(Number(m[1]));
                }
            });
            child.once("exit", (code) =>
                reject(new Error(`the pack exited (${code}) before printing its port:\n${stderr}`)),
            );
        });
        const client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
        return new PolicyPackProcess(child, client);
    }

    stop(): void {
        this.client.close();
        this.child.kill("SIGTERM");
    }

    private call<Req, Res>(method: string, req: Req): Promise<Res> {
        return new Promise((resolve, reject) =>
            (
                this.client as unknown as Record<
                    string,
                    (r: Req, cb: (e: grpc.ServiceError | null, r: Res) => void) => void
                >
            )[method](req, (e, r) => (e ? reject(e) : resolve(r))),
        );
    }

    async info(): Promise<{ name: string; policies: { name: string; level: string }[] }> {
        const info = await this.call<unknown, analyzerPb.AnalyzerInfo>("getAnalyzerInfo", new Empty());
        return {
            name: info.getName(),
            policies: info
                .getPoliciesList()
                .map((p) => ({ name: p.getName(), level: LEVELS[p.getEnforcementlevel()] })),
        };
    }

    /**
     * Configure the pack as the engine does for `--policy-pack-config`: each configured policy with its
     * properties and the enforcement level the pack declares for it (the engine fills it in).
     */
    async configure(
        config: Record<string, Record<string, unknown>>,
        levels: ReadonlyMap<string, string>,
    ): Promise<void> {
        const req = new analyzerPb.ConfigureAnalyzerRequest();
        for (const [policy, props] of Object.entries(config)) {
            const pc = new analyzerPb.PolicyConfig();
            pc.setEnforcementlevel(LEVELS.indexOf(levels.get(policy) ?? "advisory"));
            pc.setProperties(Struct.fromJavaScript(props as Record<string, never>));
            req.getPolicyconfigMap().set(policy, pc);
        }
        await this.call("configure", req);
        const stack = new analyzerPb.AnalyzerStackConfigureRequest();
        stack.setProject("crossborder");
        stack.setStack("test");
        stack.setDryRun(true);
        await this.call("configureStack", stack);
    }

    private options(r: ResourceRecord): analyzerPb.AnalyzerResourceOptions {
        const o = new analyzerPb.AnalyzerResourceOptions();
        o.setProtect(r.protect);
        o.setAdditionalsecretoutputsList([...(r.additionalSecretOutputs ?? [])]);
        if (r.parent) o.setParent(r.parent);
        return o;
    }

    private provider(
        r: ResourceRecord,
        byUrn: ReadonlyMap<string, ResourceRecord>,
        secrets: SecretForm,
    ): analyzerPb.AnalyzerProviderResource | undefined {
        const p = byUrn.get(r.provider);
        if (!p) return undefined;
        const msg = new analyzerPb.AnalyzerProviderResource();
        msg.setType(p.type);
        msg.setUrn(p.urn);
        msg.setName(p.name);
        msg.setProperties(Struct.fromJavaScript(encode(p.inputs, secrets, "revealed") as Record<string, never>));
        return msg;
    }

    /** Analyze every resource, then the stack, as `pulumi preview` does; the verdicts of both. */
    async analyze(records: readonly ResourceRecord[], secrets: SecretForm, revealed: string): Promise<Verdicts> {
        const byUrn = new Map(records.map((r) => [r.urn, r]));
        const out: Verdicts = { diagnostics: [], notApplicable: [] };
        const collect = (res: analyzerPb.AnalyzeResponse) => {
            for (const d of res.getDiagnosticsList())
                out.diagnostics.push({
                    policy: d.getPolicyname(),
                    level: LEVELS[d.getEnforcementlevel()],
                    message: d.getMessage(),
                    urn: d.getUrn(),
                });
            for (const n of res.getNotApplicableList())
                out.notApplicable.push({ policy: n.getPolicyName(), reason: n.getReason() });
        };
        for (const r of records) {
            if (!r.custom) continue; // the engine analyzes custom resources, not components
            const req = new analyzerPb.AnalyzeRequest();
            req.setType(r.type);
            req.setUrn(r.urn);
            req.setName(r.name);
            req.setProperties(Struct.fromJavaScript(encode(r.inputs, secrets, revealed) as Record<string, never>));
            req.setOptions(this.options(r));
            const provider = this.provider(r, byUrn, secrets);
            if (provider) req.setProvider(provider);
            collect(await this.call("analyze", req));
        }
        const stack = new analyzerPb.AnalyzeStackRequest();
        stack.setResourcesList(
            records.map((r) => {
                const m = new analyzerPb.AnalyzerResource();
                m.setType(r.type);
                m.setUrn(r.urn);
                m.setName(r.name);
                m.setProperties(Struct.fromJavaScript(encode(r.inputs, secrets, revealed) as Record<string, never>));
                m.setOptions(this.options(r));
                const provider = this.provider(r, byUrn, secrets);
                if (provider) m.setProvider(provider);
                m.setParent(r.parent);
                m.setDependenciesList([...(r.dependencies ?? [])]);
                for (const [k, urns] of Object.entries(r.propertyDependencies ?? {})) {
                    const deps = new analyzerPb.AnalyzerPropertyDependencies();
                    deps.setUrnsList([...urns]);
                    m.getPropertydependenciesMap().set(k, deps);
                }
                return m;
            }),
        );
        collect(await this.call("analyzeStack", stack));
        return out;
    }
}
