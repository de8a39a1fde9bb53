/** The FluxBootstrap component alone: chart, images and timings as given; the tree source and its credentials. */
import * as assert from "assert";
import { FluxBootstrap } from "../../components/flux";
import { SLOW_LINK } from "../../core/slow-link";
import { MASK } from "../../stacks/offline";
import { ofType, oneOf, recordComponent } from "../component-harness";

const CHINA = "crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com";

function bootstrap(withCredentials: boolean) {
    return () =>
        new FluxBootstrap(
            "flux",
            {
                chart: { archive: "/cache/flux2-2.18.3.tgz" },
                chartVersion: "2.18.3",
                images: new Map([
                    [
                        "source-controller",
                        { repository: `${CHINA}/platform/fluxcd_s_source-controller`, tag: "v1.8.5" },
                    ],
                    ["helm-controller", { repository: `${CHINA}/platform/fluxcd_s_helm-controller`, tag: "v1.5.5" }],
                ]),
                source: {
                    kind: "oci",
                    url: `oci://${CHINA}/platform/fleet`,
                    ref: { tag: "china" },
                    ...(withCredentials ? { secretName: "crossborder-registry" } : {}),
                },
                path: "clusters/china",
                profile: SLOW_LINK.china,
                registryCredentials: withCredentials
                    ? {
                          secretName: "crossborder-registry",
                          dockerConfigJson: '{"auths":{}}',
                          username: "puller",
                          password: "pw-not-in-the-plan",
                          namespaces: ["apps", "flux-system"],
                      }
                    : undefined,
            },
            {},
        );
}

describe("FluxBootstrap", () => {
    it("installs the chart from the archive with the given images and the slow link's timeout", async () => {
        const records = await recordComponent(bootstrap(false), { stack: "china" });
        const release = oneOf(records, "kubernetes:helm.sh/v3:Release").inputs;
        assert.strictEqual(release.chart, "/cache/flux2-2.18.3.tgz");
        const values = release.values as Record<string, { image?: string; tag?: string; create?: boolean }>;
        assert.deepStrictEqual(
            [values.sourceController.image, values.sourceController.tag],
            [`${CHINA}/platform/fluxcd_s_source-controller`, "v1.8.5"],
        );
        assert.strictEqual(values.imageAutomationController.create, false);
        assert.ok(Number(release.timeout) >= 600, `timeout ${release.timeout}s for a slow link`);
    });

    it("follows the tree as an OCIRepository with the slow link's timings and the pull Secret in each namespace", async () => {
        const records = await recordComponent(bootstrap(true), { stack: "china" });
        const crs = records.filter((r) => r.type.includes(".toolkit.fluxcd.io/")).map((r) => r.inputs);
        const repo = crs.find((c) => c.kind === "OCIRepository") as Record<string, any>;
        assert.ok(repo, JSON.stringify(crs.map((c) => c.kind)));
        assert.strictEqual(repo.spec.url, `oci://${CHINA}/platform/fleet`);
        assert.deepStrictEqual(repo.spec.ref, { tag: "china" });
        assert.strictEqual(repo.spec.timeout, SLOW_LINK.china.sourceTimeout);
        assert.deepStrictEqual(repo.spec.secretRef, { name: "crossborder-registry" });
        const root = crs.find((c) => c.kind === "Kustomization") as Record<string, any>;
        assert.strictEqual(root.spec.path, "./clusters/china");
        const secrets = ofType(records, "kubernetes:core/v1:Secret").map((s) => s.inputs as Record<string, any>);
        assert.deepStrictEqual(secrets.map((s) => s.metadata.namespace).sort(), ["apps", "flux-system"]);
        for (const s of secrets)
            assert.ok(s.stringData === MASK || Object.values(s.stringData).every((v) => v === MASK), JSON.stringify(s));
        assert.ok(!JSON.stringify(records).includes("pw-not-in-the-plan"), "the password stays a secret");
    });
});
