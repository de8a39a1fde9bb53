/**
 * The border audit as an attack table: each case is a small Flux tree (or a tree plus configuration) that
 * tries to make a china cluster pull from outside China, and the exit code and finding the real command
 * must give. Every shape here passed with exit 0 before the audit followed trees as Flux does. The table
 * grows with every shape anyone reports.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { archivePath, lockText, sha256File } from "../../gitops/engine/charts";
import { corpusAvailable, corpusFile, requireCorpus } from "../corpus";
import { packageChart, vars } from "../engine-fixtures";
import { copyStacks, runCliAsync, tempDir, variantStacks, writeFiles } from "../helpers";
import { runInProcess } from "../cli/in-process";

const CN = `${vars.chinaRegistry}/platform/app:1`;
const UP = "docker.io/library/nginx:1.25";

const yaml = (...docs: string[]) => docs.map((d) => `---\n${d.trim()}\n`).join("");
const deployment = (name: string, image: string, extra = "") => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: web}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: c
          image: ${image}${extra}`;
const fluxKustomization = (
    name: string,
    p: string,
    extra = "",
    source = "GitRepository",
    sourceName = "flux-system",
) => `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ${name}, namespace: flux-system}
spec:
  interval: 10m
  prune: true
  path: ${p}
  sourceRef: {kind: ${source}, name: ${sourceName}}${extra}`;

/** A china cluster whose apps pull only from inside China, and a chart in the tree for HelmReleases. */
const BASE: Record<string, string> = {
    "clusters/china/flux-system/gotk-sync.yaml": yaml(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {interval: 10m, url: 'https://codeup.aliyun.com/acme/fleet.git', ref: {branch: main}}",
        fluxKustomization("flux-system", "./clusters/china"),
    ),
    "clusters/china/apps.yaml": yaml(fluxKustomization("apps", "./apps")),
    "apps/kustomization.yaml":
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [web.yaml]\n",
    "apps/web.yaml": yaml(deployment("web", CN)),
    // What the global side copies into China: the app image the tree pulls from the China registry.
    "inventory/images.txt": "# inventory\ndocker://docker.io/acme/app:1 docker://origin.example.com/platform/app:1\n",
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    "charts/app/values.yaml": `image: ${CN}\nhookImage: ${CN}\n`,
    "charts/app/templates/deploy.yaml": deployment("app", "{{ .Values.image }}"),
    "charts/app/templates/hook.yaml":
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: app-migrate\n  annotations: {helm.sh/hook: pre-install}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: m, image: '{{ .Values.hookImage }}'}]\n",
};

const helmRelease = (spec: string) => `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app, namespace: web}
spec:
  interval: 10m
  chart:
    spec:
      chart: ./charts/app
      sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
${spec.replace(/^/gm, "  ")}`;

interface Case {
    readonly name: string;
    /** Files added to (or, as null, removed from) the base tree. */
    readonly files?: Record<string, string | null>;
    readonly args?: string[];
    /** Called with the tree folder before the audit (for what files cannot say: links); may add arguments. */
    readonly prepare?: (dir: string) => string[] | void;
    readonly code: 0 | 1 | 2;
    /** What the output (stdout + stderr) must say. */
    readonly says: RegExp;
    /** Start from an empty folder instead of the base tree. */
    readonly empty?: boolean;
    /** Needs ../shared/corpus (the flux2 chart whose CRDs are installed). */
    readonly needsCorpus?: boolean;
}

const withApp = (extra: string) => ({
    "apps/kustomization.yaml": "resources: [web.yaml, app.yaml]\n",
    "apps/app.yaml": extra,
});

/**
 * The tree's chart packaged as the upstream chart oci://ghcr.io/acme/charts/app 1.0.0, locked in a catalog
 * beside the tree as `crossborder charts pull` leaves it (with the corpus flux2 chart as Flux's, when the
 * corpus is there): the audit then identifies a china OCIRepository by its URL and tag through the lock.
 */
function lockedChart(dir: string): string[] {
    const work = tempDir("attack-lock");
    const cache = path.join(work, "charts");
    const ref = { repository: "oci://ghcr.io/acme/charts", name: "app", version: "1.0.0" };
    const archive = packageChart(path.join(dir, "charts", "app"), path.dirname(archivePath(cache, ref)));
    const entries = [{ ...ref, sha256: sha256File(archive) }];
    const catalog: Record<string, unknown> = { version: 1, releases: [] };
    if (corpusAvailable()) {
        const flux = { repository: "https://fluxcd-community.github.io/helm-charts", name: "flux2", version: "2.18.3" };
        const file = archivePath(cache, flux);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.copyFileSync(corpusFile("charts", "flux2", "flux2-2.18.3.tgz"), file);
        entries.push({ ...flux, sha256: sha256File(file) });
        catalog.flux = { version: "2.8.8", chart: flux };
    }
    fs.writeFileSync(path.join(work, "catalog.yaml"), stringify(catalog));
    fs.writeFileSync(path.join(work, "catalog.lock"), lockText(entries));
    return ["--catalog", path.join(work, "catalog.yaml"), "--charts", cache];
}

/** A china OCIRepository for the locked chart, and a HelmRelease of it; `ref` is the source's ref. */
const chinaChart = (ref: string, url = `oci://${vars.chinaRegistry}/platform/app`) =>
    withApp(
        yaml(
            `apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: app, namespace: web}\nspec:\n  interval: 1m\n  url: ${url}\n  ref: ${ref}\n  layerSelector: {mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip, operation: copy}`,
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: app, namespace: web}\nspec: {interval: 1m, chartRef: {kind: OCIRepository, name: app}}",
        ),
    );

const CASES: Case[] = [
    { name: "the base tree is clean", code: 0, says: /^OK: china pulls nothing from outside China$/m },
    {
        name: "a HelmRelease rendered from the tree's own chart is clean",
        files: withApp(yaml(helmRelease(""))),
        code: 0,
        says: /1 of 1 HelmReleases rendered[\s\S]*^OK:/m,
    },
    {
        name: "HelmRelease valuesFrom a ConfigMap in the tree",
        files: withApp(
            yaml(
                `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-values, namespace: web}\ndata:\n  values.yaml: "image: ${UP}"`,
                helmRelease("valuesFrom: [{kind: ConfigMap, name: app-values}]"),
            ),
        ),
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 {3}\(apps\/app\.yaml: HelmRelease web\/app renders Deployment web\/app \/spec\/template\/spec\/containers\/0\/image\)/,
    },
    {
        name: "HelmRelease valuesFrom a Secret in the tree (base64)",
        files: withApp(
            yaml(
                `apiVersion: v1\nkind: Secret\nmetadata: {name: app-values, namespace: web}\ndata:\n  values.yaml: ${Buffer.from(`image: ${UP}`).toString("base64")}`,
                helmRelease("valuesFrom: [{kind: Secret, name: app-values}]"),
            ),
        ),
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 .*apps\/app\.yaml/,
    },
    {
        name: "HelmRelease post-renderer kustomize patches",
        files: withApp(
            yaml(
                helmRelease(
                    `postRenderers:\n  - kustomize:\n      patches:\n        - target: {kind: Deployment, name: app}\n          patch: |\n            - op: replace\n              path: /spec/template/spec/containers/0/image\n              value: ${UP}`,
                ),
            ),
        ),
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 .*renders Deployment web\/app/,
    },
    {
        name: "a HelmRelease whose hooks skip the post-renderer (postRenderStrategy: nohooks)",
        files: withApp(
            yaml(
                helmRelease(
                    `values: {hookImage: ${UP}}\npostRenderStrategy: nohooks\npostRenderers:\n  - kustomize:\n      images: [{name: docker.io/library/nginx, newName: ${vars.chinaRegistry}/platform/nginx}]`,
                ),
            ),
        ),
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 .*renders Job web\/app-migrate|CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 .*renders Job app-migrate/,
    },
    {
        name: "a kustomization.yaml without apiVersion and kind that carries images",
        files: {
            "apps/kustomization.yaml": `resources: [web.yaml]\nimages:\n  - {name: ${vars.chinaRegistry}/platform/app, newName: docker.io/library/nginx}\n`,
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1 {3}\(apps\/web\.yaml: Deployment web\/web/,
    },
    {
        name: "a kustomization's inline patches",
        files: {
            "apps/kustomization.yaml": `resources: [web.yaml]\npatches:\n  - target: {kind: Deployment, name: web}\n    patch: |\n      - op: replace\n        path: /spec/template/spec/containers/0/image\n        value: ${UP}\n`,
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 {3}\(apps\/web\.yaml/,
    },
    {
        name: "a Flux Kustomization's spec.images",
        files: {
            "clusters/china/apps.yaml": yaml(
                fluxKustomization(
                    "apps",
                    "./apps",
                    `\n  images: [{name: ${vars.chinaRegistry}/platform/app, newName: quay.io/evil/app}]`,
                ),
            ),
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}quay\.io\/evil\/app:1 {3}\(apps\/web\.yaml/,
    },
    {
        name: "a Flux Kustomization's spec.patches",
        files: {
            "clusters/china/apps.yaml": yaml(
                fluxKustomization(
                    "apps",
                    "./apps",
                    `\n  patches:\n    - target: {kind: Deployment}\n      patch: |\n        - op: replace\n          path: /spec/template/spec/containers/0/image\n          value: ${UP}`,
                ),
            ),
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 {3}\(apps\/web\.yaml/,
    },
    {
        name: "kind: List",
        files: withApp(
            `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: listed, namespace: web}\n    spec: {containers: [{name: c, image: ${UP}}]}\n`,
        ),
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 {3}\(apps\/app\.yaml: Pod web\/listed/,
    },
    {
        name: "a custom workload with a pod template (Argo Rollout)",
        files: withApp(
            `apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r, namespace: web}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: ${UP}}]\n`,
        ),
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 .*Rollout web\/r \/spec\/template\/spec\/containers\/0\/image/,
    },
    {
        name: "a container argument --image=…",
        files: { "apps/web.yaml": yaml(deployment("web", CN, `\n          args: ["--image=quay.io/evil/tool:2"]`)) },
        code: 1,
        says: /CROSS-BORDER {2}image {2}quay\.io\/evil\/tool:2 .*\/containers\/0\/args\/0/,
    },
    {
        name: "an env value RELATED_IMAGE_*",
        files: {
            "apps/web.yaml": yaml(
                deployment("web", CN, `\n          env: [{name: RELATED_IMAGE_DB, value: "ghcr.io/evil/db:3"}]`),
            ),
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}ghcr\.io\/evil\/db:3 .*\/env\/0\/value/,
    },
    {
        name: "a resource in a .json file the kustomization lists",
        files: {
            "apps/kustomization.yaml": "resources: [web.yaml, pod.json]\n",
            "apps/pod.json": JSON.stringify({
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "j", namespace: "web" },
                spec: { containers: [{ name: "c", image: UP }] },
            }),
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 {3}\(apps\/pod\.json/,
    },
    {
        name: "a resource in a .json file nothing lists (images no cluster reaches)",
        files: {
            "apps/pod.json": JSON.stringify({
                apiVersion: "v1",
                kind: "Pod",
                metadata: { name: "j" },
                spec: { containers: [{ name: "c", image: UP }] },
            }),
        },
        code: 1,
        says: /PROBLEM {7}apps\/pod\.json: holds 1 image reference\(s\) \(docker\.io\/library\/nginx:1\.25\) but no cluster's Kustomizations reach it/,
    },
    {
        name: "a resource in a hidden folder of a directory Flux generates a kustomization for",
        files: {
            "clusters/china/extra.yaml": yaml(fluxKustomization("extra", "./extra")),
            "extra/.hidden/pod.yaml": `apiVersion: v1\nkind: Pod\nmetadata: {name: hidden, namespace: web}\nspec: {containers: [{name: c, image: ${UP}}]}\n`,
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 {3}\(extra\/\.hidden\/pod\.yaml: Pod web\/hidden/,
    },
    {
        // Found by the fuzz (test/cli/fuzz-inputs.test.ts): Node refuses a path with a NUL byte outright, which
        // ended the audit and publish in an internal error instead of a finding naming the file.
        name: "a resource whose name holds a NUL byte",
        files: { "apps/kustomization.yaml": 'resources: [web.yaml, "\\0web.yaml"]\n' },
        code: 1,
        says: /UNREADABLE +Kustomization flux-system\/apps \(clusters\/china\/apps\.yaml\): apps\/kustomization\.yaml: "\\u0000web\.yaml" holds a NUL byte/,
    },
    {
        name: "a remote https:// resource",
        files: {
            "apps/kustomization.yaml":
                "resources: [web.yaml, https://raw.githubusercontent.com/evil/x/main/pod.yaml]\n",
        },
        code: 1,
        says: /UNREADABLE +Kustomization flux-system\/apps \(clusters\/china\/apps\.yaml\): apps\/kustomization\.yaml: the remote resource https:\/\/raw\.githubusercontent\.com\/evil\/x\/main\/pod\.yaml would be fetched at reconcile time/,
    },
    {
        name: "a Flux Kustomization with an absolute spec.path",
        files: {
            "clusters/china/apps.yaml": yaml(fluxKustomization("apps", "/apps/evil")),
            "apps/evil/pod.yaml": `apiVersion: v1\nkind: Pod\nmetadata: {name: evil, namespace: web}\nspec: {containers: [{name: c, image: ${UP}}]}\n`,
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 {3}\(apps\/evil\/pod\.yaml/,
    },
    // Flux joins spec.path to the source's root securely: "../../etc" is the tree's etc, which is not there.
    {
        name: "a spec.path that tries to leave the source",
        files: { "clusters/china/apps.yaml": yaml(fluxKustomization("apps", "../../etc")) },
        code: 1,
        says: /UNREADABLE +Kustomization flux-system\/apps \(clusters\/china\/apps\.yaml\): path "\.\.\/\.\.\/etc" is not a directory of the tree/,
    },
    {
        name: "postBuild substitution of an image",
        files: {
            "clusters/china/apps.yaml": yaml(
                fluxKustomization("apps", "./apps", "\n  postBuild:\n    substitute: {REGISTRY: docker.io/library}"),
            ),
            "apps/web.yaml": yaml(deployment("web", "${REGISTRY}/nginx:1.25")),
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 {3}\(apps\/web\.yaml/,
    },
    {
        name: "a Kustomization that reconciles another Git repository",
        files: {
            "clusters/china/apps.yaml": yaml(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: other, namespace: flux-system}\nspec: {interval: 1m, url: 'https://gitee.com/evil/fleet.git', ref: {branch: main}}",
                fluxKustomization("apps", "./", "", "GitRepository", "other"),
            ),
        },
        code: 1,
        says: /Kustomization flux-system\/apps \(clusters\/china\/apps\.yaml\): reconciles GitRepository flux-system\/other, which is not this tree \(flux-system\/flux-system\), so what it applies cannot be audited/,
    },
    {
        name: "a source URL whose query holds a China host",
        files: {
            "clusters/china/flux-system/gotk-sync.yaml": BASE["clusters/china/flux-system/gotk-sync.yaml"].replace(
                "https://codeup.aliyun.com/acme/fleet.git",
                "https://evil.example.com?x=@codeup.aliyun.com/a.git",
            ),
        },
        code: 1,
        says: /CROSS-BORDER {2}GitRepository {2}https:\/\/evil\.example\.com\?x=@codeup\.aliyun\.com\/a\.git/,
    },
    {
        name: "a source URL whose fragment holds a China host",
        files: withApp(
            yaml(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts, namespace: web}\nspec: {interval: 1m, url: 'https://charts.evil.example.com#@codeup.aliyun.com/'}",
            ),
        ),
        code: 1,
        says: /CROSS-BORDER {2}HelmRepository {2}https:\/\/charts\.evil\.example\.com#@codeup\.aliyun\.com\//,
    },
    {
        name: "a source URL with a China host as its user name",
        files: {
            "clusters/china/flux-system/gotk-sync.yaml": BASE["clusters/china/flux-system/gotk-sync.yaml"].replace(
                "https://codeup.aliyun.com/acme/fleet.git",
                "https://codeup.aliyun.com@evil.example.com/a.git",
            ),
        },
        code: 1,
        says: /CROSS-BORDER {2}GitRepository {2}https:\/\/codeup\.aliyun\.com@evil\.example\.com\/a\.git .*carries credentials or a user name before the host/,
    },
    {
        name: "a file that cannot be parsed (an alias bomb)",
        files: {
            "apps/bomb.yaml": `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
        },
        code: 1,
        says: /PROBLEM {7}apps\/bomb\.yaml: cannot be parsed/,
    },
    {
        name: "an alias bomb in a kustomize patch file (never handed to kustomize)",
        files: {
            "apps/kustomization.yaml": "resources: [web.yaml]\npatches:\n  - path: bomb-patch.yaml\n",
            "apps/bomb-patch.yaml": `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
        },
        code: 1,
        says: /apps\/bomb-patch\.yaml \(named by apps\/kustomization\.yaml\): cannot be read within the YAML limits/,
    },
    {
        name: "a post-renderer pointing at a China name the inventory does not copy",
        files: withApp(
            yaml(
                helmRelease(
                    `values: {image: ${UP}}\npostRenderers:\n  - kustomize:\n      images: [{name: docker.io/library/nginx, newName: ${vars.chinaRegistry}/platform/nginx}]`,
                ),
            ),
        ),
        code: 1,
        says: new RegExp(
            `PROBLEM {7}apps/app\\.yaml: HelmRelease web/app renders Deployment web/app /spec/template/spec/containers/0/image: ${vars.chinaRegistry.replace(/\./g, "\\.")}/platform/nginx:1\\.25 is pulled from the China registry, but inventory/images\\.txt copies no such image there`,
        ),
    },
    {
        name: "a tree that pulls from the China registry and has no inventory at all",
        files: { "inventory/images.txt": null },
        code: 1,
        says: /PROBLEM {7}inventory\/images\.txt: missing, so nothing says the 1 image\(s\) the china cluster pulls from \S+ are copied there/,
    },
    {
        name: "a symbolic link in the tree",
        prepare: (dir) => fs.symlinkSync("/etc/passwd", path.join(dir, "apps", "passwd.yaml")),
        code: 1,
        says: /PROBLEM {7}apps\/passwd\.yaml: a symbolic link/,
    },
    {
        // The tree is read in place (gitops/audit/view.ts): a build reads only what the artifact holds.
        name: "a symbolic link a kustomization lists, to a file outside the tree",
        files: { "apps/kustomization.yaml": "resources: [web.yaml, link.yaml]\n" },
        prepare: (dir) => {
            const outside = tempDir("attack-outside");
            fs.writeFileSync(path.join(outside, "pod.yaml"), yaml(deployment("linked", UP)));
            fs.symlinkSync(path.join(outside, "pod.yaml"), path.join(dir, "apps", "link.yaml"));
        },
        code: 1,
        says: /kustomize could not build apps[\s\S]*PROBLEM {7}apps\/link\.yaml: a symbolic link/,
    },
    {
        name: "a folder Flux leaves out of its artifact (.github) that a kustomization lists",
        files: {
            "apps/kustomization.yaml": "resources: [web.yaml, ../.github/pod.yaml]\n",
            ".github/pod.yaml": yaml(deployment("hidden", UP)),
        },
        code: 1,
        says: /kustomize could not build apps/,
    },
    {
        name: "a named pipe a kustomization lists (never read: reading one waits for a writer)",
        files: { "apps/kustomization.yaml": "resources: [web.yaml, pipe.yaml]\n" },
        prepare: (dir) => {
            const r = spawnSync("mkfifo", [path.join(dir, "apps", "pipe.yaml")]);
            assert.strictEqual(r.status, 0, "mkfifo");
        },
        code: 1,
        says: /kustomize could not build apps/,
    },
    {
        name: "an empty folder",
        empty: true,
        code: 1,
        says: /no china cluster found \(looked for clusters\/china\); nothing was checked for the border[\s\S]*^checked 0 cluster\(s\) \(none\)[\s\S]*^FAIL: 1 problem\(s\) with the tree$/m,
    },
    {
        name: "a china OCIRepository whose URL and tag the lock identifies renders on the engine",
        files: chinaChart("{tag: 1.0.0}"),
        prepare: lockedChart,
        code: 0,
        says: /1 of 1 HelmReleases rendered[\s\S]*^OK:/m,
    },
    {
        name: "… with the tag bumped past what the lock holds: not proven, FAIL under --strict",
        files: chinaChart("{tag: 1.0.1}"),
        prepare: lockedChart,
        args: ["--strict"],
        code: 1,
        says: /not rendered {2}HelmRelease web\/app: no chart of \S+catalog\.lock is served as oci:\/\/\S+\/platform\/app 1\.0\.1[\s\S]*^FAIL \(--strict\)/m,
    },
    {
        name: '… with semver "*": which version Flux installs is the registry\'s choice',
        files: chinaChart('{semver: "*"}'),
        prepare: lockedChart,
        args: ["--strict"],
        code: 1,
        says: /not rendered {2}HelmRelease web\/app: its OCIRepository app asks for semver "\*"[\s\S]*^FAIL \(--strict\)/m,
    },
    {
        name: "… with the URL moved to another repository of the China registry",
        files: chinaChart("{tag: 1.0.0}", `oci://${vars.chinaRegistry}/other/app`),
        prepare: lockedChart,
        args: ["--strict"],
        code: 1,
        says: /not rendered {2}HelmRelease web\/app: no chart of \S+ is served as oci:\/\/\S+\/other\/app 1\.0\.0[\s\S]*^FAIL \(--strict\)/m,
    },
    {
        name: "… pinned to a digest that is no chart of the tree",
        files: chinaChart(`{tag: 1.0.0, digest: "sha256:${"b".repeat(64)}"}`),
        prepare: lockedChart,
        args: ["--strict"],
        code: 1,
        says: /its OCIRepository app is pinned to sha256:b{64}, which is no chart of this tree[\s\S]*^FAIL \(--strict\)/m,
    },
    {
        name: "a chart annotation that names an upstream chart is not trusted",
        files: chinaChart("{tag: 9.9.9}"),
        prepare: (dir) => {
            const f = path.join(dir, "apps", "app.yaml");
            fs.writeFileSync(
                f,
                fs
                    .readFileSync(f, "utf8")
                    .replace(
                        "metadata: {name: app, namespace: web}\nspec:\n  interval: 1m",
                        "metadata: {name: app, namespace: web, annotations: {crossborder/upstream-chart: 'oci://ghcr.io/acme/charts/app@1.0.0'}}\nspec:\n  interval: 1m",
                    ),
            );
            return lockedChart(dir);
        },
        args: ["--strict"],
        code: 1,
        says: /is served as oci:\/\/\S+\/platform\/app 9\.9\.9[\s\S]*^FAIL \(--strict\)/m,
    },
    {
        name: "a Flux Kustomization's spec.components that patch in an upstream image",
        files: {
            "clusters/china/apps.yaml": yaml(
                fluxKustomization("apps", "./apps", "\n  components: [../components/evil]"),
            ),
            "components/evil/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nimages:\n  - {name: ${vars.chinaRegistry}/platform/app, newName: quay.io/evil/app}\n`,
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}quay\.io\/evil\/app:1 {3}\(apps\/web\.yaml/,
    },
    {
        name: "a Flux Kustomization's remote spec.components",
        files: {
            "clusters/china/apps.yaml": yaml(
                fluxKustomization("apps", "./apps", "\n  components: [https://github.com/evil/x//component]"),
            ),
        },
        code: 1,
        says: /spec\.components: the remote component https:\/\/github\.com\/evil\/x\/\/component would be fetched at reconcile time/,
    },
    {
        name: "a Kustomization in another namespace whose sourceRef names flux-system there",
        files: {
            "clusters/china/apps.yaml": yaml(
                fluxKustomization("apps", "./apps").replace("namespace: flux-system", "namespace: apps"),
            ),
        },
        code: 1,
        says: /Kustomization apps\/apps \(clusters\/china\/apps\.yaml\): reconciles GitRepository apps\/flux-system, which is not this tree/,
    },
    {
        name: "a Kustomization that applies to another cluster with spec.kubeConfig",
        files: {
            "clusters/china/apps.yaml": yaml(
                fluxKustomization("apps", "./apps", "\n  kubeConfig: {secretRef: {name: far-away}}"),
            ),
        },
        code: 1,
        says: /spec\.kubeConfig sends what it applies to another cluster/,
    },
    {
        name: "a HelmRelease that installs into another cluster with spec.kubeConfig",
        files: withApp(yaml(helmRelease("kubeConfig: {secretRef: {name: far-away}}"))),
        code: 1,
        says: /HelmRelease web\/app \(apps\/app\.yaml\): spec\.kubeConfig installs the release into another cluster/,
    },
    {
        name: "an object in a chart's crds/ folder (installed as written, never post-rendered)",
        files: {
            ...withApp(
                yaml(
                    helmRelease(
                        `postRenderers:\n  - kustomize:\n      images: [{name: docker.io/library/nginx, newName: ${vars.chinaRegistry}/platform/nginx}]`,
                    ),
                ),
            ),
            "charts/app/crds/pod.yaml": `apiVersion: v1\nkind: Pod\nmetadata: {name: from-crds, namespace: web}\nspec: {containers: [{name: c, image: ${UP}}]}\n`,
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 .*renders Pod web\/from-crds/,
    },
    {
        name: "a hostless image in a --image= flag",
        files: { "apps/web.yaml": yaml(deployment("web", CN, `\n          args: ["--image=nginx:1.25"]`)) },
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 .*\/containers\/0\/args\/0/,
    },
    {
        name: "a hostless image in an env variable named for one",
        files: {
            "apps/web.yaml": yaml(
                deployment("web", CN, `\n          env: [{name: SIDECAR_IMAGE, value: "library/redis:7"}]`),
            ),
        },
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/redis:7 .*\/env\/0\/value/,
    },
    {
        name: "postRenderStrategy: combined on Flux 2.8, whose helm-controller prunes it and applies hooks as rendered",
        files: withApp(
            yaml(
                helmRelease(
                    `values: {hookImage: ${UP}}\npostRenderStrategy: combined\npostRenderers:\n  - kustomize:\n      images: [{name: docker.io/library/nginx, newName: ${vars.chinaRegistry}/platform/nginx}]`,
                ),
            ),
        ),
        code: 1,
        says: /CROSS-BORDER {2}image {2}docker\.io\/library\/nginx:1\.25 .*renders Job (web\/)?app-migrate[\s\S]*spec\.postRenderStrategy is not a field of Flux 2\.8\.8's HelmRelease/,
    },
    {
        name: "… the same tree judged as Flux 2.9.4, which post-renders hooks",
        files: {
            "inventory/images.txt": `# inventory\ndocker://docker.io/acme/app:1 docker://origin.example.com/platform/app:1\ndocker://${UP} docker://origin.example.com/platform/nginx:1.25\n`,
            ...withApp(
                yaml(
                    helmRelease(
                        `values: {hookImage: ${UP}}\npostRenderStrategy: combined\npostRenderers:\n  - kustomize:\n      images: [{name: docker.io/library/nginx, newName: ${vars.chinaRegistry}/platform/nginx}]`,
                    ),
                ),
            ),
        },
        args: ["--flux-version", "2.9.4"],
        code: 0,
        says: /as Flux 2\.9\.4 runs them[\s\S]*^OK:/m,
    },
    {
        name: "a Flux object field the installed Flux's CRDs do not define (pruned by the API server)",
        files: {
            "clusters/china/apps.yaml": yaml(fluxKustomization("apps", "./apps", "\n  healthCheckExprs2: []")),
        },
        prepare: lockedChart,
        needsCorpus: true,
        code: 1,
        says: /Kustomization flux-system\/apps \(clusters\/china\/apps\.yaml\): \/spec\/healthCheckExprs2: not a field of Kustomization in flux2 2\.18\.3/,
    },
    {
        name: "a HelmRelease whose chart archive is not at hand: not proven, exit 0",
        files: withApp(
            yaml(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: app, namespace: web}\nspec: {interval: 1m, url: 'oci://" +
                    vars.chinaRegistry +
                    "/platform/app', ref: {tag: 1.0.0}}",
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: app, namespace: web}\nspec: {interval: 1m, chartRef: {kind: OCIRepository, name: app}}",
            ),
        ),
        code: 0,
        says: /not rendered {2}HelmRelease web\/app: no chart lock to identify oci:\/\/\S+\/platform\/app 1\.0\.0 by[\s\S]*^NOT PROVEN:/m,
    },
    {
        name: "… and FAIL under --strict",
        files: withApp(
            yaml(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: app, namespace: web}\nspec: {interval: 1m, url: 'oci://" +
                    vars.chinaRegistry +
                    "/platform/app', ref: {tag: 1.0.0}}",
                "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: app, namespace: web}\nspec: {interval: 1m, chartRef: {kind: OCIRepository, name: app}}",
            ),
        ),
        args: ["--strict"],
        code: 1,
        says: /^FAIL \(--strict\): 1 china HelmRelease\(s\) not rendered/m,
    },
];

function mirrorsWith(host: string): string {
    return fs
        .readFileSync(path.join(__dirname, "..", "..", "gitops", "mirrors.yaml"), "utf8")
        .replace('chinaHosts:\n  - "{{ chinaRegistry }}"', `chinaHosts:\n  - "{{ chinaRegistry }}"\n  - "${host}"`);
}

describe("the border audit's attack table (crossborder audit, in process)", function () {
    this.timeout(300_000);

    for (const c of CASES) {
        it(`${c.name}: exit ${c.code}`, async function () {
            if (c.needsCorpus) requireCorpus(this);
            const dir = tempDir("attack");
            if (!c.empty) {
                const files: Record<string, string | null> = { ...BASE, ...c.files };
                writeFiles(
                    dir,
                    Object.entries(files).filter((e): e is [string, string] => e[1] !== null),
                );
            }
            const extra = c.prepare?.(dir) ?? [];
            const r = await runInProcess(["audit", dir, ...(c.args ?? []), ...extra]);
            const output = r.stdout + r.stderr;
            assert.strictEqual(r.status, c.code, output);
            assert.match(output, c.says);
            assert.match(
                r.stdout,
                /^checked \d+ cluster\(s\) \(.*\), \d+ files, \d+ image references, \d+ sources; \d+ of \d+ HelmReleases rendered/m,
                "says what it checked",
            );
        });
    }

    describe("configuration that would declare the outside world to be China (exit 2)", () => {
        for (const [host, says] of [
            ["*.io", /"\*\.io" is a wildcard over io, which is not operated only inside mainland China/],
            ["*.com", /"\*\.com" is a wildcard over com/],
            ["*.hk", /"\*\.hk" is a wildcard over hk/],
            [
                "*.aliyuncs.com",
                /"\*\.aliyuncs\.com" is a wildcard over aliyuncs\.com, which is not operated only inside mainland China/,
            ],
            [
                "*.cn-hongkong.cr.aliyuncs.com",
                /"\*\.cn-hongkong\.cr\.aliyuncs\.com" is a wildcard over cn-hongkong\.cr\.aliyuncs\.com/,
            ],
            ["docker.io", /"docker\.io" covers docker\.io, which is outside China/],
            ["*.github.io", /"\*\.github\.io" is a wildcard over github\.io/],
            ["charts.github.io", /"charts\.github\.io" covers \*\.github\.io, which is outside China/],
            ["mcr.microsoft.com", /"mcr\.microsoft\.com" covers mcr\.microsoft\.com/],
        ] as const) {
            it(`refuses chinaHosts ${host}`, async () => {
                const dir = tempDir("mirrors");
                fs.writeFileSync(path.join(dir, "mirrors.yaml"), mirrorsWith(host));
                for (const cmd of [
                    ["audit", dir],
                    ["render", "--out", path.join(dir, "out")],
                ]) {
                    const r = await runCliAsync([...cmd, "--mirrors", path.join(dir, "mirrors.yaml")]);
                    assert.strictEqual(r.status, 2, r.stdout + r.stderr);
                    assert.match(r.stderr, new RegExp(`mirrors\\.yaml:\\d+: chinaHosts\\[\\d+\\]: ${says.source}`));
                }
                assert.ok(!fs.existsSync(path.join(dir, "out")));
            });
        }

        it("accepts a wildcard under a suffix operated inside mainland China", async () => {
            const dir = tempDir("mirrors-ok");
            fs.writeFileSync(path.join(dir, "mirrors.yaml"), mirrorsWith("*.harbor.cn-shanghai.cr.aliyuncs.com"));
            const r = await runCliAsync([
                "images",
                "--values",
                path.join(__dirname, "..", "..", "gitops", "charts", "crossborder-demo", "values.yaml"),
                "--mirrors",
                path.join(dir, "mirrors.yaml"),
            ]);
            assert.strictEqual(r.status, 0, r.stderr);
        });

        it("refuses stack outputs whose China registry is in Hong Kong", async () => {
            const dir = tempDir("hk-outputs");
            fs.writeFileSync(
                path.join(dir, "china.json"),
                JSON.stringify({
                    registryEndpoint: "acme-registry.cn-hongkong.cr.aliyuncs.com",
                    registryNamespace: "platform",
                }),
            );
            const r = await runCliAsync([
                "render",
                "--stack-outputs",
                path.join(dir, "china.json"),
                "--out",
                path.join(dir, "out"),
            ]);
            assert.strictEqual(r.status, 2);
            assert.match(
                r.stderr,
                /china\.json: the china stack's registryEndpoint "acme-registry\.cn-hongkong\.cr\.aliyuncs\.com" is in cn-hongkong, outside mainland China/,
            );
            assert.ok(!fs.existsSync(path.join(dir, "out")));
        });

        it("takes a site registry from stack outputs only when the china stack file names it (registry.site)", async () => {
            const dir = tempDir("site-outputs");
            const outputs = path.join(dir, "china.json");
            fs.writeFileSync(
                outputs,
                JSON.stringify({ registryEndpoint: "registry.site.example:5000", registryNamespace: "platform" }),
            );
            const refused = await runCliAsync(["render", "--stack-outputs", outputs, "--out", path.join(dir, "a")]);
            assert.strictEqual(refused.status, 2);
            assert.match(refused.stderr, /not an ACR EE endpoint .* or the site registry the china stack file names/);
            const stacks = variantStacks({ china: [[["crossborder:registry", "site"], "registry.site.example:5000"]] });
            const r = await runCliAsync([
                "render",
                "--stack-outputs",
                outputs,
                "--stacks-dir",
                stacks,
                "--out",
                path.join(dir, "b"),
            ]);
            assert.strictEqual(r.status, 0, r.stderr);
            const release = fs.readFileSync(path.join(dir, "b", "apps", "china", "podinfo-release.yaml"), "utf8");
            assert.match(release, /newName: registry\.site\.example:5000\/platform\/ghcr\.io_s_stefanprodan_s_podinfo/);
            const judged = await runCliAsync(["audit", path.join(dir, "b"), "--stacks-dir", stacks]);
            assert.doesNotMatch(judged.stdout, /CROSS-BORDER/, judged.stdout);
        });

        it("refuses a china stack whose gitops.url is on github.com, in plan and render alike", async () => {
            const dir = tempDir("gh-stacks");
            // Git delivery on china (the example delivers over the registry), from a host outside China.
            copyStacks(dir, {
                file: "china",
                from: "    delivery: oci\n    path: clusters/china\n    artifact:\n      repository: fleet       # <registry namespace>/fleet on the China instance\n      tag: china              # Flux follows this tag; set digest: sha256:... to pin one publish\n",
                to: "    delivery: git\n    url: https://github.com/acme/fleet.git\n    path: clusters/china\n",
            });
            for (const cmd of [
                ["plan", "--stacks-dir", dir, "--out", path.join(dir, "plan")],
                ["render", "--stacks-dir", dir, "--out", path.join(dir, "out")],
            ]) {
                const r = await runCliAsync(cmd);
                assert.strictEqual(r.status, 2, r.stdout + r.stderr);
                assert.match(
                    r.stderr,
                    /Pulumi\.china\.yaml:\d+: crossborder:gitops\.url: github\.com is not a host inside China; the china cluster's Flux pulls its tree from this URL/,
                );
            }
        });
    });
});

describe("the copy the audit builds in", () => {
    it("is made on a worker thread as copyTree makes it: hard links, without what Flux leaves out or links", async () => {
        const { copyTree, copyTreeAside } =
            require("../../gitops/audit/copy") as typeof import("../../gitops/audit/copy");
        const d = tempDir("copy");
        const from = path.join(d, "tree");
        writeFiles(from, {
            "apps/a.yaml": "a: 1\n",
            "apps/.sops.yaml": "creation_rules: []\n",
            ".github/workflows/ci.yaml": "on: push\n",
            "README.md": "x\n",
        });
        fs.symlinkSync(path.join(from, "apps", "a.yaml"), path.join(from, "apps", "link.yaml"));
        const listing = (dir: string) =>
            fs
                .readdirSync(dir, { recursive: true, withFileTypes: true })
                .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
                .sort();
        copyTree(from, path.join(d, "sync"));
        await copyTreeAside(from, path.join(d, "aside"));
        assert.deepStrictEqual(listing(path.join(d, "aside")), ["README.md", "apps", "apps/a.yaml"]);
        assert.deepStrictEqual(listing(path.join(d, "aside")), listing(path.join(d, "sync")));
        assert.strictEqual(
            fs.statSync(path.join(d, "aside", "apps", "a.yaml")).ino,
            fs.statSync(path.join(from, "apps", "a.yaml")).ino,
        );
        await assert.rejects(copyTreeAside(path.join(d, "missing"), path.join(d, "none")), /ENOENT|missing/);
    });

    it("is not made when every build of the tree is kept in the render cache", async () => {
        const dir = tempDir("no-copy");
        writeFiles(dir, Object.entries(BASE));
        const cache = tempDir("no-copy-cache");
        // Every private folder the audit makes, by its prefix and where it is.
        const made: { prefix: string; dir: string }[] = [];
        const fsModule = require("fs") as typeof fs;
        const mkdtemp = fsModule.mkdtempSync;
        fsModule.mkdtempSync = ((prefix: string, options?: unknown) => {
            const dir = (mkdtemp as (p: string, o?: unknown) => string)(prefix, options);
            made.push({ prefix: path.basename(prefix), dir });
            return dir;
        }) as typeof fs.mkdtempSync;
        const copies = () => made.filter((m) => m.prefix === "crossborder-audit-");
        const audit = () => runInProcess(["audit", dir, "--no-render"]);
        const savedCache = process.env.CROSSBORDER_CACHE;
        process.env.CROSSBORDER_CACHE = cache;
        try {
            const first = await audit();
            assert.strictEqual(first.status, 0, first.stdout + first.stderr);
            assert.strictEqual(copies().length, 1, "the first audit builds, in a copy");
            const again = await audit();
            assert.strictEqual(again.status, 0, again.stdout + again.stderr);
            assert.strictEqual(again.stdout, first.stdout);
            assert.strictEqual(copies().length, 1, "the builds are kept: no copy");
            // An edit the kept builds did not read builds again, in a copy.
            fs.appendFileSync(path.join(dir, "apps", "web.yaml"), "# edited\n");
            const edited = await audit();
            assert.strictEqual(edited.status, 0, edited.stdout + edited.stderr);
            assert.strictEqual(copies().length, 2, "an edited file builds again");
        } finally {
            fsModule.mkdtempSync = mkdtemp;
            if (savedCache === undefined) delete process.env.CROSSBORDER_CACHE;
            else process.env.CROSSBORDER_CACHE = savedCache;
        }
        for (const c of copies()) assert.ok(!fs.existsSync(c.dir), `${c.dir}: the copy is removed`);
    });

    it("keeps one worker for the copies of a process, which still ends on its own when they are done", () => {
        const d = tempDir("copy-worker");
        writeFiles(path.join(d, "tree"), { "apps/a.yaml": "a: 1\n" });
        const script = [
            `const { copyTreeAside } = require(${JSON.stringify(path.resolve(__dirname, "../../gitops/audit/copy.ts"))});`,
            `const { threadId } = require("worker_threads");`,
            `const d = ${JSON.stringify(d)};`,
            // Two at once, then a third after they are done: each is answered, and the process exits by itself.
            `Promise.all([copyTreeAside(d + "/tree", d + "/one"), copyTreeAside(d + "/tree", d + "/two")])`,
            `  .then(() => copyTreeAside(d + "/tree", d + "/three"))`,
            `  .then(() => console.log("copied", threadId));`,
        ].join("\n");
        const r = spawnSync(process.execPath, ["-r", path.resolve(__dirname, "../../bin/register.js"), "-e", script], {
            encoding: "utf8",
            timeout: 30_000,
        });
        assert.strictEqual(r.signal, null, "the idle copying worker must not hold the process open");
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, /^copied 0$/m);
        for (const c of ["one", "two", "three"]) assert.ok(fs.existsSync(path.join(d, c, "apps", "a.yaml")), c);
    });
});
