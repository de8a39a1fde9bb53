/**
 * The Flux release table (core/flux-releases.ts) against the engines and the corpus: the chart the
 * default release installs carries exactly that release's CRD schemas, the bootstrap's values pin every
 * controller it renders to the release's images, each release's CRDs differ where the table says they do,
 * and the validator refuses what the API server would prune.
 */
import * as assert from "assert";
import * as fs from "fs";
import { parse } from "yaml";
import {
    DEFAULT_FLUX_VERSION,
    effectivePostRenderStrategy,
    FLUX_RELEASES,
    fluxImages,
    fluxRelease,
    fluxValues,
} from "../../core/flux-releases";
import { crdSchemas, crdsIn, refusingUnknownFields } from "../../gitops/engine/flux-crds";
import { parseNormalizedNamed } from "../../core/reference";
import { corpusFile, requireCorpus } from "../corpus";
import { helmTemplate } from "../engine-fixtures";
import { fluxValidator } from "../flux-schema";

type Obj = Record<string, any>;

/** A CRD's schemas with every description removed: what the API server validates and prunes with. */
function withoutDescriptions(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(withoutDescriptions);
    if (!v || typeof v !== "object") return v;
    return Object.fromEntries(
        Object.entries(v as Obj)
            .filter(([k]) => k !== "description")
            .map(([k, x]) => [k, withoutDescriptions(x)]),
    );
}

function corpusCrds(version: string): Obj[] {
    const dir = corpusFile("flux-crds", `flux-v${version}`);
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => parse(fs.readFileSync(`${dir}/${f}`, "utf8")));
}

describe("the Flux releases crossborder installs", () => {
    it("knows a corpus CRD set for every release it can pin", function () {
        requireCorpus(this);
        for (const r of FLUX_RELEASES) assert.ok(corpusCrds(r.version).length >= 6, r.version);
    });

    it("installs, with the default release's chart, exactly that release's CRD schemas", function () {
        requireCorpus(this);
        const release = fluxRelease(DEFAULT_FLUX_VERSION)!;
        assert.deepStrictEqual(release.chart, {
            repository: "https://fluxcd-community.github.io/helm-charts",
            name: "flux2",
            version: "2.18.3",
        });
        const images = new Map(
            fluxImages(release).map((i) => {
                const ref = parseNormalizedNamed(i);
                return [ref.path.split("/").pop()!, { repository: `ghcr.io/${ref.path}`, tag: ref.tag! }];
            }),
        );
        const rendered = helmTemplate(
            corpusFile("charts", "flux2", "flux2-2.18.3.tgz"),
            "flux2",
            "flux-system",
            fluxValues(images),
        );
        const installed = new Map(crdsIn(rendered).map((c) => [c.metadata.name, c]));
        for (const crd of corpusCrds(release.version)) {
            const got = installed.get(crd.metadata.name);
            assert.ok(got, `the chart installs ${crd.metadata.name}`);
            assert.deepStrictEqual(
                withoutDescriptions(got.spec.versions),
                withoutDescriptions(crd.spec.versions),
                crd.metadata.name,
            );
        }
        // Every controller the chart runs is the release's image, nothing else.
        const running = [...rendered.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1].replace(/"/g, "")).sort();
        assert.deepStrictEqual(running, fluxImages(release));
    });

    it("has postRenderStrategy exactly in the releases whose HelmRelease CRD defines it", function () {
        requireCorpus(this);
        for (const r of FLUX_RELEASES) {
            const hr = corpusCrds(r.version).find((c) => c.spec.names.kind === "HelmRelease")!;
            const spec = hr.spec.versions.find((v: Obj) => v.name === "v2").schema.openAPIV3Schema.properties.spec;
            assert.strictEqual("postRenderStrategy" in spec.properties, r.postRenderStrategyField, r.version);
        }
        assert.strictEqual(effectivePostRenderStrategy(fluxRelease("2.8.8")!, "combined"), "nohooks");
        assert.strictEqual(effectivePostRenderStrategy(fluxRelease("2.9.4")!, undefined), "combined");
        assert.strictEqual(effectivePostRenderStrategy(fluxRelease("2.9.4")!, "nohooks"), "nohooks");
    });

    it("refuses, with one release's CRDs, the field only the other release has", function () {
        requireCorpus(this);
        const hr = {
            apiVersion: "helm.toolkit.fluxcd.io/v2",
            kind: "HelmRelease",
            metadata: { name: "x", namespace: "x" },
            spec: {
                interval: "10m",
                chartRef: { kind: "OCIRepository", name: "x" },
                postRenderStrategy: "combined",
                values: { anything: { goes: [1, 2] } },
            },
        };
        assert.deepStrictEqual(fluxValidator("2.9.4")(hr), []);
        assert.deepStrictEqual(fluxValidator("2.8.8")(hr), [
            "/spec/postRenderStrategy: not a field of HelmRelease in Flux 2.8.8 (the API server prunes it)",
        ]);
    });

    it("prunes as the API server does: fixed properties refuse strangers, maps and preserved fields do not", () => {
        const schema = {
            type: "object",
            properties: {
                spec: {
                    type: "object",
                    properties: {
                        a: { type: "string" },
                        labels: { type: "object", additionalProperties: { type: "string" } },
                        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                        list: { type: "array", items: { type: "object", properties: { n: { type: "string" } } } },
                    },
                },
            },
        };
        const crd = {
            spec: {
                group: "x.io",
                names: { kind: "X" },
                versions: [{ name: "v1", schema: { openAPIV3Schema: schema } }],
            },
        };
        const v = crdSchemas([crd], "test");
        const doc = (spec: Obj) => ({ apiVersion: "x.io/v1", kind: "X", metadata: { name: "x" }, spec });
        assert.deepStrictEqual(v.validate(doc({ a: "1", labels: { k: "v" }, free: { z: { y: 1 } } })), []);
        assert.deepStrictEqual(v.validate(doc({ b: 1 })), [
            "/spec/b: not a field of X in test (the API server prunes it)",
        ]);
        assert.deepStrictEqual(v.validate(doc({ list: [{ n: "1", m: "2" }] })), [
            "/spec/list/0/m: not a field of X in test (the API server prunes it)",
        ]);
        assert.strictEqual(v.validate({ apiVersion: "y.io/v1", kind: "Y" }), undefined);
        // The transform leaves the input schema alone.
        refusingUnknownFields(schema);
        assert.strictEqual((schema as Obj).additionalProperties, undefined);
    });
});
