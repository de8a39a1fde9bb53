/**
 * A fault-injecting TCP proxy for tests: between a client and a registry it resets a share of the
 * connections and stalls another share before forwarding. Deterministic for a given seed.
 */
import * as net from "net";

export interface FaultProxyOptions {
    readonly target: { host: string; port: number };
    /** Share of connections reset at once. */
    readonly resetRate: number;
    /** Share of connections held this long before forwarding. */
    readonly stallRate: number;
    readonly stallMs: number;
    readonly seed?: number;
}

export interface FaultProxy {
    readonly host: string;
    readonly stats: { connections: number; resets: number; stalls: number };
    close(): Promise<void>;
}

/** mulberry32: a small seeded generator, so a failing run can be repeated. */
function random(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
    const rnd = random(opts.seed ?? 42);
    const stats = { connections: 0, resets: 0, stalls: 0 };
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
        sockets.add(client);
        client.on("close", () => sockets.delete(client));
        client.on("error", () => undefined);
        stats.connections++;
        const roll = rnd();
        if (roll < opts.resetRate) {
            stats.resets++;
            client.resetAndDestroy();
            return;
        }
        const forward = () => {
            if (client.destroyed) return;
            const upstream = net.connect(opts.target.port, opts.target.host);
            sockets.add(upstream);
            upstream.on("close", () => sockets.delete(upstream));
            upstream.on("error", () => client.destroy());
            client.on("error", () => upstream.destroy());
            client.pipe(upstream).pipe(client);
        };
        if (roll < opts.resetRate + opts.stallRate) {
            stats.stalls++;
            client.pause();
            setTimeout(() => {
                client.resume();
                forward();
            }, opts.stallMs);
        } else {
            forward();
        }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    return {
        host: `127.0.0.1:${port}`,
        stats,
        close: () =>
            new Promise((resolve) => {
                for (const s of sockets) s.destroy();
                server.close(() => resolve());
            }),
    };
}
