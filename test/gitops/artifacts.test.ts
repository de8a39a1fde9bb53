/**
 * ArtifactGenerator copy operations staged as source-watcher stages them (internal/builder/builder.go at
 * fluxcd/source-watcher 825fa15): the cases below are the cp-like rules that code implements.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { stageArtifact } from "../../gitops/audit/artifacts";
import { tempDir } from "../helpers";

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
