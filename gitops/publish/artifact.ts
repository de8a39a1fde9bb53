/**
 * A Flux OCI artifact, built reproducibly: the same files give the same bytes and so the same digest.
 *
 * Layout, as `flux push artifact` writes it and source-controller's OCIRepository reads it:
 *   config  application/vnd.cncf.flux.config.v1+json      (the empty JSON object)
 *   layer   application/vnd.cncf.flux.content.v1.tar+gzip (the files, tar in gzip)
 *   manifest annotations org.opencontainers.image.{created,source,revision}
 *
 * Reproducible: entries sorted by path, regular files only (the reader creates the folders), mode 0644,
 * owner 0:0 with no names, modification time 0, long or non-ASCII paths in a PAX header holding only the
 * path, and gzip with no name and time 0 (Node's zlib writes MTIME 0 and no FNAME).
 */
import * as zlib from "zlib";
import { Header, Pax } from "tar";
import { stableJson } from "../engine/cache";
import { sha256Digest } from "../registry/client";

export const FLUX_CONFIG_MEDIA_TYPE = "application/vnd.cncf.flux.config.v1+json";
export const FLUX_CONTENT_MEDIA_TYPE = "application/vnd.cncf.flux.content.v1.tar+gzip";
export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";

export interface ArtifactMeta {
    /** Where the content comes from (org.opencontainers.image.source). */
    readonly source: string;
    /** Which revision of it (org.opencontainers.image.revision). */
    readonly revision: string;
    /** RFC 3339 time (org.opencontainers.image.created); fixed, so the digest depends on the files only. */
    readonly created: string;
}

export interface Blob {
    readonly mediaType: string;
    readonly digest: string;
    readonly bytes: Buffer;
}

export interface Artifact {
    readonly config: Blob;
    readonly layer: Blob;
    readonly manifest: Blob;
}

function blob(mediaType: string, bytes: Buffer): Blob {
    return { mediaType, bytes, digest: sha256Digest(bytes) };
}

/** A POSIX ustar stream of `files` (path → bytes), deterministic. */
export function reproducibleTar(files: ReadonlyMap<string, Buffer>): Buffer {
    const chunks: Buffer[] = [];
    for (const p of [...files.keys()].sort()) {
        if (p.startsWith("/") || p.split("/").includes(".."))
            throw new Error(`artifact: ${p} is not a relative path inside the tree`);
        const data = files.get(p)!;
        const header = new Header({
            path: p,
            mode: 0o644,
            uid: 0,
            gid: 0,
            uname: "",
            gname: "",
            size: data.length,
            mtime: new Date(0),
            type: "File",
        });
        const block = Buffer.alloc(512);
        header.encode(block, 0);
        // A path over ustar's 100 (+155 prefix) bytes, or not ASCII, goes in a PAX extended header before the
        // entry (POSIX.1-2001), as helm, GNU tar and source-controller read it; with only the path in it, and
        // the entry's own fields fixed, the bytes stay the same for the same files.
        if (header.needPax) chunks.push(new Pax({ path: p }).encode());
        chunks.push(block, data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
    chunks.push(Buffer.alloc(1024));
    return Buffer.concat(chunks);
}

export function buildArtifact(files: ReadonlyMap<string, Buffer>, meta: ArtifactMeta): Artifact {
    const layer = blob(FLUX_CONTENT_MEDIA_TYPE, zlib.gzipSync(reproducibleTar(files), { level: 9 }));
    const config = blob(FLUX_CONFIG_MEDIA_TYPE, Buffer.from("{}"));
    return assemble(config, layer, {
        "org.opencontainers.image.created": meta.created,
        "org.opencontainers.image.revision": meta.revision,
        "org.opencontainers.image.source": meta.source,
    });
}

export const HELM_CONFIG_MEDIA_TYPE = "application/vnd.cncf.helm.config.v1+json";
export const HELM_CONTENT_MEDIA_TYPE = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/**
 * A chart directory (relative path → bytes, as the tree carries it) as a Helm OCI chart, built reproducibly:
 * the layer is a chart archive `helm` and helm-controller load (`<name>/Chart.yaml`, …), the config is the
 * chart's metadata as JSON (Helm's config media type), no annotations. The same files give the same digest,
 * so a tree can pin it, and the audit can recompute it from the tree.
 */
export function buildChartArtifact(name: string, files: ReadonlyMap<string, Buffer>, metadata: unknown): Artifact {
    const prefixed = new Map([...files].map(([p, b]) => [`${name}/${p}`, b]));
    const layer = blob(HELM_CONTENT_MEDIA_TYPE, zlib.gzipSync(reproducibleTar(prefixed), { level: 9 }));
    const config = blob(HELM_CONFIG_MEDIA_TYPE, Buffer.from(stableJson(metadata)));
    return assemble(config, layer);
}

function assemble(config: Blob, layer: Blob, annotations?: Record<string, string>): Artifact {
    const manifest = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST_MEDIA_TYPE,
        config: { mediaType: config.mediaType, digest: config.digest, size: config.bytes.length },
        layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.bytes.length }],
        ...(annotations ? { annotations } : {}),
    };
    return { config, layer, manifest: blob(OCI_MANIFEST_MEDIA_TYPE, Buffer.from(JSON.stringify(manifest))) };
}
