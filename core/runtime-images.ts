/**
 * Images an operator pulls at runtime that no render of its chart shows: the default compiled into the
 * operator, used while a chart value is left empty. On the china cluster such a pull goes to the upstream
 * registry, so the value must name the image; these facts say which value, and (per chart version) which
 * image the operator would otherwise pull, so the generator can set it and copy the image into China.
 *
 * Each fact names its source. A chart listed here whose version has no known default still needs the value
 * set: the audit says so, and the generator asks for it instead of guessing.
 */
export interface RuntimeImageFact {
    /** The chart's name (Chart.yaml name). */
    readonly chart: string;
    /** The values path that names the image (dotted). */
    readonly value: string;
    /** What pulls it, for messages. */
    readonly what: string;
    /** Chart version → the image the operator pulls while the value is empty. */
    readonly defaults: Readonly<Record<string, string>>;
    readonly source: string;
}

export const RUNTIME_IMAGE_FACTS: readonly RuntimeImageFact[] = [
    {
        chart: "gateway-helm",
        value: "global.images.envoyProxy.image",
        what: "Envoy Gateway's operator, for the Envoy proxy Deployment of every Gateway",
        // envoyproxy/gateway v1.9.0 api/v1alpha1/shared_types.go DefaultEnvoyProxyImage; the chart's
        // values.yaml leaves global.images.envoyProxy.image "" ("If not specified, the default image built
        // into the control plane"), templates/_helpers.tpl eg.envoyProxy.image reads it.
        defaults: {
            "v1.9.0": "docker.io/envoyproxy/envoy:distroless-v1.39.0",
            "1.9.0": "docker.io/envoyproxy/envoy:distroless-v1.39.0",
        },
        source: "envoyproxy/gateway api/v1alpha1/shared_types.go (DefaultEnvoyProxyImage)",
    },
];

function valueAt(values: unknown, dotted: string): unknown {
    let node: unknown = values;
    for (const key of dotted.split(".")) {
        if (!node || typeof node !== "object" || Array.isArray(node)) return undefined;
        node = (node as Record<string, unknown>)[key];
    }
    return node;
}

function withValue(dotted: string, value: string): Record<string, unknown> {
    const keys = dotted.split(".");
    const top: Record<string, unknown> = {};
    let node = top;
    keys.forEach((k, i) => {
        if (i === keys.length - 1) node[k] = value;
        else node = node[k] = {} as Record<string, unknown>;
    });
    return top;
}

export interface RuntimeImageNeed {
    readonly fact: RuntimeImageFact;
    /** The image the operator pulls while the value is empty, when the chart version's default is known. */
    readonly image?: string;
    /** Values that name it (to merge over the release's), when it is known. */
    readonly values?: Record<string, unknown>;
    /** Why it matters, for messages. */
    readonly message: string;
}

/** The runtime images a release of `chart` `version` leaves to its operator's default with these values. */
export function runtimeImageNeeds(chart: string, version: string, values: unknown): RuntimeImageNeed[] {
    const out: RuntimeImageNeed[] = [];
    for (const fact of RUNTIME_IMAGE_FACTS) {
        if (fact.chart !== chart) continue;
        const set = valueAt(values, fact.value);
        if (typeof set === "string" && set.trim() !== "") continue;
        const image = fact.defaults[version];
        out.push({
            fact,
            ...(image ? { image, values: withValue(fact.value, image) } : {}),
            message: `${fact.what} pulls ${image ?? "the image compiled into it"} at runtime while values ${fact.value} is empty (${fact.source}); no render shows that pull. Set ${fact.value} to the image${image ? ` (${image})` : ` chart ${chart} ${version} runs`}, and it is rewritten and copied like every rendered image`,
        });
    }
    return out;
}
