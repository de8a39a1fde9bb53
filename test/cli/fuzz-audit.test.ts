/** The fuzz of the tree files the border audit reads (test/cli/fuzz.ts). */
import * as fs from "fs";
import * as path from "path";
import { FuzzTarget, fuzzSuite } from "./fuzz";

const TARGETS: FuzzTarget[] = [
    {
        input: "a tree's file (audit)",
        name: "clusters/china/apps.yaml",
        seed: () =>
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  interval: 1m\n  path: ./apps\n  sourceRef: {kind: GitRepository, name: flux-system}\n  images: [{name: nginx, newName: docker.io/library/nginx}]\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: 'ghcr.io/acme/app:1'}]}\n",
        argv: (dir) => {
            fs.mkdirSync(path.join(dir, "apps"), { recursive: true });
            fs.writeFileSync(
                path.join(dir, "apps", "pod.yaml"),
                "apiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec: {containers: [{name: c, image: nginx:1.25}]}\n",
            );
            return ["audit", dir, "--no-render"];
        },
    },
    {
        input: "a kustomize patch file (audit)",
        name: "apps/patch.yaml",
        runs: 200,
        seed: () =>
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: 'ghcr.io/acme/web:2'}]\n",
        argv: (dir) => {
            fs.mkdirSync(path.join(dir, "clusters", "china"), { recursive: true });
            fs.writeFileSync(
                path.join(dir, "clusters", "china", "apps.yaml"),
                "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  interval: 1m\n  path: ./apps\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
            );
            fs.writeFileSync(
                path.join(dir, "apps", "kustomization.yaml"),
                "resources: [web.yaml]\npatches:\n  - path: patch.yaml\n",
            );
            fs.writeFileSync(
                path.join(dir, "apps", "web.yaml"),
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      containers: [{name: c, image: 'ghcr.io/acme/web:1'}]\n",
            );
            return ["audit", dir, "--no-render"];
        },
    },
];

fuzzSuite("tree files, audit", TARGETS);
