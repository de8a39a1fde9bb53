/**
 * `helm template` as a subprocess: the engine Flux's helm-controller renders with (Helm 4 since Flux 2.8).
 * Values go in on stdin as JSON (YAML's subset); the release name, namespace and Kubernetes version are
 * the ones the HelmRelease installs with. A failure names the release and quotes helm.
 */
import { InputError } from "../../core/errors";
import { firstLines, locateTool, runTool, ToolError, toolVersion } from "./tools";

/** The Helm major version Flux 2.8's helm-controller links. */
export const HELM_MAJOR = 4;

export interface HelmTemplateRequest {
    /** What to call it in messages, e.g. `release cert-manager (china)`. */
    readonly label: string;
    readonly release: string;
    readonly namespace: string;
    /** A chart archive (.tgz) or a chart directory. */
    readonly chart: string;
    readonly values: unknown;
    /** `--kube-version`: the cluster's Kubernetes version (Capabilities.KubeVersion). */
    readonly kubeVersion?: string;
}

/** A chart that helm refused to render with these values (exit 2: the user's to fix). */
export class HelmError extends InputError {
    constructor(message: string) {
        super(message);
        this.name = "HelmError";
    }
}

export interface Helm {
    readonly file: string;
    readonly version: string;
}

let located: Promise<Helm> | undefined;

/** The helm binary and its version; Helm 4 is required (Helm 3 renders hooks differently). */
export function helm(): Promise<Helm> {
    located ??= (async () => {
        const file = locateTool("helm");
        const version = await toolVersion("helm", file);
        const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
        if (major !== HELM_MAJOR) {
            throw new ToolError(
                `${file} is helm ${version}; crossborder renders with Helm ${HELM_MAJOR}, the engine of Flux 2.8's helm-controller. Run npm ci (it installs helm v4 into .tools/bin) or set CROSSBORDER_HELM to a Helm ${HELM_MAJOR} binary`,
            );
        }
        return { file, version };
    })();
    located.catch(() => (located = undefined));
    return located;
}

/** Forget the located binary (tests that change CROSSBORDER_HELM). */
export function resetHelm(): void {
    located = undefined;
}

export async function helmTemplate(req: HelmTemplateRequest): Promise<string> {
    const { file } = await helm();
    // --include-crds: helm-controller installs a chart's crds/ folder too (install.crds), so what it holds is
    // judged like everything else (parseManifests drops the CustomResourceDefinitions themselves).
    const args = ["template", req.release, req.chart, "--namespace", req.namespace, "--values", "-", "--include-crds"];
    if (req.kubeVersion) args.push("--kube-version", req.kubeVersion);
    let r;
    try {
        r = await runTool(file, args, { input: JSON.stringify(req.values ?? {}), purpose: "render" });
    } catch (e) {
        // A bound hit (time, output, memory): the chart's fault, named by its release.
        if (e instanceof ToolError && !/cannot run/.test(e.message)) throw new HelmError(`${req.label}: ${e.message}`);
        throw e;
    }
    if (r.code !== 0)
        throw new HelmError(`${req.label}: helm template failed:\n${firstLines(r.stderr, 12).replace(/^/gm, "  | ")}`);
    return r.stdout;
}
