/**
 * Real registries for tests: Debian's docker-registry on loopback, small images written by hand as OCI
 * layouts and pushed with skopeo. No Docker engine involved.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import * as tar from "tar";
import { DEFAULT_FLUX_VERSION, fluxImages, fluxRelease } from "../../core/flux-releases";
import { parseNormalizedNamed } from "../../core/reference";

export function toolsAvailable(): string[] {
    const missing: string[] = [];
    if (spawnSync("docker-registry", ["--version"], { encoding: "utf8" }).error) missing.push("docker-registry");
    if (spawnSync("skopeo", ["--version"], { encoding: "utf8" }).error) missing.push("skopeo");
    return missing;
}

/** Fail under CI=true, skip loudly elsewhere, when docker-registry or skopeo is missing. */
export function requireRegistryTools(ctx: Mocha.Context): void {
    const missing = toolsAvailable();
    if (missing.length === 0) return;
    if (process.env.CI === "true")
        throw new Error(`missing ${missing.join(", ")}: .ci/run installs docker-registry and skopeo`);
    console.warn(`  SKIPPED (registry tests): missing ${missing.join(", ")}; apt-get install docker-registry skopeo`);
    ctx.skip();
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once("error", reject);
        srv.listen(0, host, () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

export interface Registry {
    readonly host: string;
    stop(): void;
}

export async function startRegistry(dir: string, host = "127.0.0.1", port?: number): Promise<Registry> {
    const p = port ?? (await freePort(host));
    fs.mkdirSync(path.join(dir, "data"), { recursive: true });
    const config = path.join(dir, "config.yml");
    fs.writeFileSync(
        config,
        `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, "data")}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}:${p}\n`,
    );
    const child: ChildProcess = spawn("docker-registry", ["serve", config], { stdio: "ignore" });
    const address = `${host}:${p}`;
    const deadline = Date.now() + 15_000;
    for (;;) {
        try {
            const res = await fetch(`http://${address}/v2/`);
            if (res.status === 200) break;
        } catch {
            // not up yet
        }
        if (Date.now() > deadline || child.exitCode !== null)
            throw new Error(`docker-registry did not start on ${address}`);
        await new Promise((r) => setTimeout(r, 50));
    }
    return { host: address, stop: () => child.kill("SIGTERM") };
}

function blob(layout: string, data: Buffer): { digest: string; size: number } {
    const hex = createHash("sha256").update(data).digest("hex");
    fs.mkdirSync(path.join(layout, "blobs", "sha256"), { recursive: true });
    fs.writeFileSync(path.join(layout, "blobs", "sha256", hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
}

function imageManifest(layout: string, content: string, arch: string): { digest: string; size: number } {
    const src = fs.mkdtempSync(path.join(layout, "..", "layer-"));
    fs.writeFileSync(path.join(src, "hello.txt"), content);
    const tgz = path.join(src, "..", `${path.basename(src)}.tgz`);
    tar.c({ gzip: true, file: tgz, cwd: src, sync: true, portable: true, mtime: new Date(0) }, ["hello.txt"]);
    const layerBuf = fs.readFileSync(tgz);
    const diffId = createHash("sha256").update(require("zlib").gunzipSync(layerBuf)).digest("hex");
    const layer = blob(layout, layerBuf);
    const config = blob(
        layout,
        Buffer.from(
            JSON.stringify({
                architecture: arch,
                os: "linux",
                config: {},
                rootfs: { type: "layers", diff_ids: [`sha256:${diffId}`] },
            }),
        ),
    );
    const manifest = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
    };
    return blob(layout, Buffer.from(JSON.stringify(manifest)));
}

/** An OCI image layout holding one image (or a multi-arch index) under `tag`. Returns the layout dir. */
export function ociImage(dir: string, tag: string, content: string, multiArch = false): string {
    const layout = fs.mkdtempSync(path.join(dir, "oci-"));
    fs.writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    let top: { digest: string; size: number; mediaType: string };
    if (multiArch) {
        const amd = imageManifest(layout, `${content} amd64`, "amd64");
        const arm = imageManifest(layout, `${content} arm64`, "arm64");
        const index = {
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.index.v1+json",
            manifests: [
                {
                    mediaType: "application/vnd.oci.image.manifest.v1+json",
                    ...amd,
                    platform: { architecture: "amd64", os: "linux" },
                },
                {
                    mediaType: "application/vnd.oci.image.manifest.v1+json",
                    ...arm,
                    platform: { architecture: "arm64", os: "linux" },
                },
            ],
        };
        top = {
            ...blob(layout, Buffer.from(JSON.stringify(index))),
            mediaType: "application/vnd.oci.image.index.v1+json",
        };
    } else {
        top = { ...imageManifest(layout, content, "amd64"), mediaType: "application/vnd.oci.image.manifest.v1+json" };
    }
    fs.writeFileSync(
        path.join(layout, "index.json"),
        JSON.stringify({
            schemaVersion: 2,
            manifests: [{ ...top, annotations: { "org.opencontainers.image.ref.name": tag } }],
        }),
    );
    return layout;
}

/** Push an OCI layout's tag to `docker://ref`; returns the manifest digest in the registry. */
export function push(layout: string, tag: string, ref: string): string {
    const r = spawnSync(
        "skopeo",
        ["copy", "--all", "--preserve-digests", "--dest-tls-verify=false", `oci:${layout}:${tag}`, `docker://${ref}`],
        { encoding: "utf8" },
    );
    if (r.status !== 0) throw new Error(`skopeo copy to ${ref} failed: ${r.stderr}`);
    return digestOf(ref);
}

export function digestOf(ref: string): string {
    const r = spawnSync("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`], {
        encoding: "buffer",
    });
    if (r.status !== 0) throw new Error(`skopeo inspect ${ref} failed: ${r.stderr}`);
    return `sha256:${createHash("sha256").update(r.stdout).digest("hex")}`;
}

const ACCEPT = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** Copy one manifest (an index's children first) and its blobs between plain-HTTP registries, bytes unchanged. */
async function copyManifest(from: string, to: string, repo: string, reference: string, tag?: string): Promise<void> {
    const res = await fetch(`http://${from}/v2/${repo}/manifests/${reference}`, { headers: { accept: ACCEPT } });
    if (!res.ok) throw new Error(`GET ${from}/${repo}:${reference}: ${res.status}`);
    const type = res.headers.get("content-type")!;
    const bytes = Buffer.from(await res.arrayBuffer());
    const m = JSON.parse(bytes.toString("utf8"));
    for (const child of m.manifests ?? []) await copyManifest(from, to, repo, child.digest);
    for (const b of [m.config, ...(m.layers ?? [])].filter(Boolean)) {
        if ((await fetch(`http://${to}/v2/${repo}/blobs/${b.digest}`, { method: "HEAD" })).status === 200) continue;
        const data = Buffer.from(await (await fetch(`http://${from}/v2/${repo}/blobs/${b.digest}`)).arrayBuffer());
        const start = await fetch(`http://${to}/v2/${repo}/blobs/uploads/`, { method: "POST" });
        const url = new URL(start.headers.get("location")!, `http://${to}/`);
        url.searchParams.set("digest", b.digest);
        const put = await fetch(url, {
            method: "PUT",
            body: data,
            headers: { "content-type": "application/octet-stream" },
        });
        if (put.status !== 201) throw new Error(`PUT blob ${b.digest} to ${to}/${repo}: ${put.status}`);
    }
    const put = await fetch(`http://${to}/v2/${repo}/manifests/${tag ?? reference}`, {
        method: "PUT",
        body: bytes,
        headers: { "content-type": type },
    });
    if (put.status !== 201) throw new Error(`PUT manifest ${repo}:${tag ?? reference} to ${to}: ${put.status}`);
}

/**
 * What ACR EE's namespace replication does, for the tests: every repository of `from` under `namespace/`, every
 * tag, copied to `to` with the same digests (the origin's state at the moment it runs).
 */
export async function replicate(from: string, to: string, namespace: string): Promise<void> {
    const catalog = (await (await fetch(`http://${from}/v2/_catalog?n=1000`)).json()) as { repositories: string[] };
    for (const repo of catalog.repositories.filter((r) => r.startsWith(`${namespace}/`))) {
        const tags =
            ((await (await fetch(`http://${from}/v2/${repo}/tags/list`)).json()) as { tags: string[] | null }).tags ??
            [];
        for (const tag of tags) await copyManifest(from, to, repo, tag, tag);
    }
}

/** Flux's own images, which the china bootstrap installs, pushed to `host/fluxcd` (catalog flux.registry). */
export function seedFlux(work: string, host: string): Record<string, string> {
    const seeded: Record<string, string> = {};
    for (const image of fluxImages(fluxRelease(DEFAULT_FLUX_VERSION)!, `${host}/fluxcd`)) {
        const ref = parseNormalizedNamed(image);
        const name = ref.path.split("/").pop()!;
        seeded[name] = push(ociImage(work, ref.tag!, name), ref.tag!, image);
    }
    return seeded;
}
