/**
 * ArtifactGenerator copy operations staged as source-watcher stages them (internal/builder/builder.go at
 * fluxcd/source-watcher 825fa15): the cases below are the cp-like rules that code implements.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { stageArtifact } from "../../gitops/audit/artifacts";
import { tempDir, writeFiles } from "../helpers";

function tree(files: readonly string[]): string {
    const dir = tempDir("artifact-tree");
    for (const f of files) {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.writeFileSync(path.join(dir, f), f);
    }
    return dir;
}

const TREE = [
    "apps/base/podinfo/kustomization.yaml",
    "apps/base/podinfo/release.yaml",
    "apps/production/kustomization.yaml",
    "apps/README.md",
    "deploy/a.yaml",
    "deploy/b.yml",
    "deploy/nested/c.yaml",
    "config/prod/configmap.yaml",
];

function staged(copy: unknown[]): Record<string, string> | string {
    const r = stageArtifact(tree(TREE), { name: "x", copy }, new Set(["repo"]));
    return "problem" in r ? r.problem : Object.fromEntries([...r.staged.files].sort());
}

describe("ArtifactGenerator staging", () => {
    it("dir/** copies the folder's contents below the destination (the prefix stripped)", () => {
        assert.deepEqual(staged([{ from: "@repo/apps/base/**", to: "@artifact/base/" }]), {
            "base/podinfo/kustomization.yaml": "apps/base/podinfo/kustomization.yaml",
            "base/podinfo/release.yaml": "apps/base/podinfo/release.yaml",
        });
    });

    it("another glob keeps the whole matched path, and ** is one segment as in Go's fs.Glob", () => {
        assert.deepEqual(staged([{ from: "@repo/deploy/*.yaml", to: "@artifact/app/" }]), {
            "app/deploy/a.yaml": "deploy/a.yaml",
        });
        // deploy/**/*.yaml: ** matches one folder name, so deploy/a.yaml is not matched, deploy/nested/c.yaml is.
        assert.deepEqual(staged([{ from: "@repo/deploy/**/*.yaml", to: "@artifact/" }]), {
            "deploy/nested/c.yaml": "deploy/nested/c.yaml",
        });
    });

    it("a file goes into a folder destination or is renamed; a folder goes below the destination by its name", () => {
        assert.deepEqual(staged([{ from: "@repo/config/prod/configmap.yaml", to: "@artifact/my-app/env.yaml" }]), {
            "my-app/env.yaml": "config/prod/configmap.yaml",
        });
        assert.deepEqual(staged([{ from: "@repo/config/prod/configmap.yaml", to: "@artifact/my-app/" }]), {
            "my-app/configmap.yaml": "config/prod/configmap.yaml",
        });
        assert.deepEqual(staged([{ from: "@repo/deploy", to: "@artifact/" }]), {
            "deploy/a.yaml": "deploy/a.yaml",
            "deploy/b.yml": "deploy/b.yml",
            "deploy/nested/c.yaml": "deploy/nested/c.yaml",
        });
    });

    it("excludes by file name and by path, and later operations overwrite earlier ones", () => {
        assert.deepEqual(
            staged([
                { from: "@repo/apps/**", to: "@artifact/", exclude: ["*.md", "base/**"] },
                { from: "@repo/deploy/a.yaml", to: "@artifact/production/kustomization.yaml" },
            ]),
            { "production/kustomization.yaml": "deploy/a.yaml" },
        );
    });

    it("names what it does not stage instead of guessing: Merge, Extract, another source, a missing path", () => {
        assert.match(
            String(staged([{ from: "@repo/deploy/**", to: "@artifact/", strategy: "Merge" }])),
            /Merge strategy/,
        );
        assert.match(String(staged([{ from: "@other/deploy/**", to: "@artifact/" }])), /alias other is not this tree/);
        assert.match(String(staged([{ from: "@repo/nope", to: "@artifact/" }])), /nope is not in the tree/);
        assert.match(String(staged([{ from: "@repo/../etc", to: "@artifact/" }])), /leaves the source/);
    });
});

describe("kustomize builds, kept by the content they read", () => {
    const pod = (image: string) =>
        `apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: web}\nspec: {containers: [{name: c, image: "${image}"}]}\n`;

    it("builds again when a file two folders down, a patch file or a folder's entries change", async () => {
        const { auditTree } = require("../../gitops/audit") as typeof import("../../gitops/audit");
        const { mirrors, vars } = require("../engine-fixtures") as typeof import("../engine-fixtures");
        const dir = tempDir("build-cache");
        const inside = `${vars.chinaRegistry}/platform/app:1`;
        writeFiles(dir, {
            "clusters/china/kustomization.yaml": "resources: [../../apps]\n",
            "apps/kustomization.yaml": "resources: [base]\npatches: [{path: patch.yaml}]\n",
            "apps/patch.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: web}\n",
            "apps/base/kustomization.yaml": "resources: [pod.yaml]\n",
            "apps/base/pod.yaml": pod(inside),
        });
        const outside = async () =>
            (await auditTree(dir, { mirrors, render: false })).clusters
                .find((c) => c.name === "china")!
                .images.filter((i) => !i.inChina)
                .map((i) => i.reference);
        assert.deepEqual(await outside(), []);
        writeFiles(dir, { "apps/base/pod.yaml": pod("docker.io/library/nginx:1.25") });
        assert.deepEqual(await outside(), ["docker.io/library/nginx:1.25"], "a file two folders down");
        writeFiles(dir, {
            "apps/base/pod.yaml": pod(inside),
            "apps/patch.yaml": `apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: web}\nspec: {initContainers: [{name: i, image: "quay.io/acme/init:2"}]}\n`,
        });
        assert.deepEqual(await outside(), ["quay.io/acme/init:2"], "a patch file");
        writeFiles(dir, {
            "apps/patch.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: web}\n",
            "apps/base/kustomization.yaml": "resources: [pod.yaml, more]\n",
            "apps/base/more/kustomization.yaml": "resources: [pod2.yaml]\n",
            "apps/base/more/pod2.yaml": pod("ghcr.io/acme/more:3").replace("name: p,", "name: p2,"),
        });
        assert.deepEqual(await outside(), ["ghcr.io/acme/more:3"], "a folder that gained a kustomization");
    });
});

describe("the audit's build copy", () => {
    it("never writes into the tree it audits, though its copy's files are hard links to the tree's", async () => {
        const { auditTree } = require("../../gitops/audit") as typeof import("../../gitops/audit");
        const { mirrors } = require("../engine-fixtures") as typeof import("../engine-fixtures");
        const dir = tempDir("audit-links");
        const files: Record<string, string> = {
            "clusters/china/apps.yaml":
                'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  interval: 1m\n  path: ./apps\n  sourceRef: {kind: GitRepository, name: flux-system}\n  targetNamespace: web\n  images: [{name: nginx, newName: docker.io/library/nginx}]\n  patches: [{patch: \'[{"op": "add", "path": "/metadata/labels", "value": {"a": "b"}}]\', target: {kind: Pod}}]\n',
            "apps/kustomization.yaml": "resources: [pod.yaml]\n",
            "apps/pod.yaml":
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx:1.25}]}\n",
        };
        writeFiles(dir, files);
        const before = Object.keys(files).map((f) => fs.statSync(path.join(dir, f)));
        const report = await auditTree(dir, { mirrors, render: false });
        // The build saw the merged kustomization: the Kustomization's images entry rewrote the pod's image.
        const china = report.clusters.find((c) => c.name === "china")!;
        assert.deepEqual(
            china.images.map((i) => i.reference),
            ["docker.io/library/nginx:1.25"],
            JSON.stringify([china.problems, report.problems]),
        );
        for (const [i, rel] of Object.keys(files).entries()) {
            const after = fs.statSync(path.join(dir, rel));
            assert.equal(fs.readFileSync(path.join(dir, rel), "utf8"), files[rel], `${rel} unchanged`);
            assert.equal(after.mtimeMs, before[i].mtimeMs, `${rel} not written`);
            assert.equal(after.nlink, 1, `${rel}: the copy's link is gone with the copy`);
        }
        assert.deepEqual(fs.readdirSync(path.join(dir, "apps")).sort(), ["kustomization.yaml", "pod.yaml"]);
    });
});
