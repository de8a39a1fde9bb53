/** crossborder:ingress and crossborder:s3 — what each side serves (components/storage, the ingress rules). */
import { key as k, Scope } from "./reader";

export interface IngressConfig {
    /** Open 80/443 to the internet. @default false */
    readonly publicHttp: boolean;
    /** The stack holds an ICP licence (required for publicHttp on china). @default false */
    readonly icpLicensed: boolean;
}

export interface S3Config {
    /** Global side: the only key prefix readable by the public. @default "downloads/" on global */
    readonly publicPrefix?: string;
}

export function readIngress(s: Scope): IngressConfig {
    const { r } = s;
    const raw = r.object(k("ingress"), s.top.ingress, ["publicHttp", "icpLicensed"]);
    const ingress = {
        publicHttp: r.bool(k("ingress.publicHttp"), raw.publicHttp, false),
        icpLicensed: r.bool(k("ingress.icpLicensed"), raw.icpLicensed, false),
    };
    if (s.china && ingress.publicHttp && !ingress.icpLicensed) {
        r.issue(
            k("ingress.publicHttp"),
            "opens ports 80/443 to the internet in mainland China without an ICP licence",
            "serving HTTP(S) publicly in China requires an ICP licence: set crossborder:ingress.icpLicensed: true once the licence is filed, or keep publicHttp: false (NodePort or an approved endpoint)",
        );
    }
    return ingress;
}

export function readS3(s: Scope): S3Config {
    const { r } = s;
    const raw = r.object(k("s3"), s.top.s3, ["publicPrefix"]);
    if (s.china) {
        if (raw.publicPrefix !== undefined) {
            r.issue(
                k("s3.publicPrefix"),
                "is set on the china side, whose bucket is private",
                "remove it: workloads in China read the bucket through their IRSA role; public downloads are served from the global side",
            );
        }
        return {};
    }
    return {
        publicPrefix: r.string(k("s3.publicPrefix"), raw.publicPrefix, {
            default: "downloads/",
            pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9._-]+)*\/$/,
            hint: 'a key prefix ending in "/", such as "downloads/"',
        }),
    };
}
