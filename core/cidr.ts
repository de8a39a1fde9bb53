/** IPv4 CIDR arithmetic for config validation and subnet planning. */

export interface Cidr {
    /** The network address as an unsigned 32-bit number. */
    readonly base: number;
    readonly prefix: number;
    /** The canonical text form, e.g. `10.10.0.0/16`. */
    readonly text: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(text: string): number | undefined {
    const m = IPV4.exec(text);
    if (!m) return undefined;
    const octets = m.slice(1).map(Number);
    if (octets.some((o, i) => o > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith("0")))) return undefined;
    return ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
}

export function formatIpv4(n: number): string {
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function mask(prefix: number): number {
    return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export type CidrParse = { ok: true; cidr: Cidr } | { ok: false; reason: string; canonical?: string };

/** Parse `a.b.c.d/n`; host bits must be zero (the reason names the canonical form when they are not). */
export function parseCidr(text: string): CidrParse {
    const slash = text.indexOf("/");
    if (slash < 0) return { ok: false, reason: "has no /prefix length" };
    const addr = parseIpv4(text.slice(0, slash));
    const prefixText = text.slice(slash + 1);
    if (addr === undefined) return { ok: false, reason: "is not an IPv4 address with a prefix length" };
    if (!/^\d{1,2}$/.test(prefixText) || Number(prefixText) > 32) {
        return { ok: false, reason: "has a prefix length outside 0-32" };
    }
    const prefix = Number(prefixText);
    const base = (addr & mask(prefix)) >>> 0;
    const canonical = `${formatIpv4(base)}/${prefix}`;
    if (base !== addr) return { ok: false, reason: "has host bits set", canonical };
    return { ok: true, cidr: { base, prefix, text: canonical } };
}

export function overlaps(a: Cidr, b: Cidr): boolean {
    const p = Math.min(a.prefix, b.prefix);
    return (a.base & mask(p)) >>> 0 === (b.base & mask(p)) >>> 0;
}

export function contains(outer: Cidr, inner: Cidr): boolean {
    return outer.prefix <= inner.prefix && overlaps(outer, inner);
}

/** The private ranges a VPC may use: RFC 1918 and the shared address space of RFC 6598. */
export const PRIVATE_RANGES: readonly Cidr[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"].map(
    (t) => (parseCidr(t) as { ok: true; cidr: Cidr }).cidr,
);

export function isPrivate(c: Cidr): boolean {
    return PRIVATE_RANGES.some((r) => contains(r, c));
}

/** The `index`-th subnet of `newPrefix` inside `parent` (like Terraform's cidrsubnet). */
export function subnet(parent: Cidr, newPrefix: number, index: number): Cidr {
    if (newPrefix < parent.prefix || newPrefix > 32)
        throw new Error(`subnet: /${newPrefix} does not fit in ${parent.text}`);
    const count = 2 ** (newPrefix - parent.prefix);
    if (!Number.isInteger(index) || index < 0 || index >= count) {
        throw new Error(`subnet: ${parent.text} has ${count} subnets of /${newPrefix}, not ${index + 1}`);
    }
    const base = (parent.base + index * 2 ** (32 - newPrefix)) >>> 0;
    return { base, prefix: newPrefix, text: `${formatIpv4(base)}/${newPrefix}` };
}
