/** The registry client against an in-process HTTP server: auth challenges, retries and timeouts. */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import { RegistryClient, RegistryError } from "../../gitops/registry";

const DIGEST = `sha256:${"a".repeat(64)}`;

async function serve(handler: http.RequestListener): Promise<{ host: string; close: () => Promise<void>; hits: string[] }> {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
        hits.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`);
        handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    return {
        host: `127.0.0.1:${port}`,
        hits,
        close: () =>
            new Promise((r) => {
                server.closeAllConnections();
                server.close(() => r());
            }),
    };
}

const client = (extra: ConstructorParameters<typeof RegistryClient>[0] = {}) => new RegistryClient({ plainHttp: () => true, backoffMs: 1, maxBackoffMs: 5, ...extra });

describe("the registry client", () => {
    it("answers found with the digest, or missing", async () => {
        const s = await serve((req, res) => {
            if (req.url === "/v2/a/manifests/1") res.writeHead(200, { "docker-content-digest": DIGEST, "content-type": "application/vnd.oci.image.manifest.v1+json" }).end();
            else res.writeHead(404).end();
        });
        try {
            assert.deepStrictEqual(await client().checkManifest(s.host, "a", "1"), { found: true, digest: DIGEST, mediaType: "application/vnd.oci.image.manifest.v1+json" });
            assert.deepStrictEqual(await client().checkManifest(s.host, "a", "2"), { found: false });
            assert.match(s.hits[0], /^HEAD \/v2\/a\/manifests\/1/);
        } finally {
            await s.close();
        }
    });

    it("follows a Bearer challenge to the token service, with Basic credentials when given", async () => {
        let s: Awaited<ReturnType<typeof serve>>;
        s = await serve((req, res) => {
            if (req.url?.startsWith("/token")) {
                const url = new URL(req.url, "http://x");
                assert.strictEqual(url.searchParams.get("scope"), "repository:team/app:pull");
                assert.strictEqual(url.searchParams.get("service"), "registry.test");
                assert.strictEqual(req.headers.authorization, `Basic ${Buffer.from("u:p").toString("base64")}`);
                res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "T0KEN" }));
            } else if (req.headers.authorization === "Bearer T0KEN") {
                res.writeHead(200, { "docker-content-digest": DIGEST }).end();
            } else {
                res.writeHead(401, { "www-authenticate": `Bearer realm="http://${s.host}/token",service="registry.test",scope="repository:team/app:pull"` }).end();
            }
        });
        try {
            const c = client({ credentials: () => ({ username: "u", password: "p" }) });
            assert.deepStrictEqual(await c.checkManifest(s.host, "team/app", "1"), { found: true, digest: DIGEST, mediaType: "" });
            await c.checkManifest(s.host, "team/app", "2");
            assert.strictEqual(s.hits.filter((h) => h.startsWith("GET /token")).length, 1, "the token is reused");
        } finally {
            await s.close();
        }
    });

    it("answers a Basic challenge, and says which variables to set when it has no credentials", async () => {
        const s = await serve((req, res) => {
            if (req.headers.authorization === `Basic ${Buffer.from("u:p").toString("base64")}`) res.writeHead(200, { "docker-content-digest": DIGEST }).end();
            else res.writeHead(401, { "www-authenticate": 'Basic realm="r"' }).end();
        });
        try {
            assert.strictEqual(((await client({ credentials: () => ({ username: "u", password: "p" }) }).checkManifest(s.host, "a", "1")) as any).digest, DIGEST);
            await assert.rejects(client().checkManifest(s.host, "a", "1"), /asks for Basic credentials; set CROSSBORDER_REGISTRY_USERNAME and CROSSBORDER_REGISTRY_PASSWORD/);
        } finally {
            await s.close();
        }
    });

    it("retries 5xx and 429, then gives up with the attempts counted", async () => {
        let n = 0;
        const s = await serve((req, res) => {
            n++;
            if (n === 1) res.writeHead(503).end();
            else if (n === 2) res.writeHead(429, { "retry-after": "0" }).end();
            else if (req.url === "/v2/a/manifests/ok") res.writeHead(200, { "docker-content-digest": DIGEST }).end();
            else res.writeHead(500).end();
        });
        try {
            const c = client({ retries: 3 });
            assert.strictEqual(((await c.checkManifest(s.host, "a", "ok")) as any).digest, DIGEST);
            assert.strictEqual(c.requests, 3);
            await assert.rejects(client({ retries: 2 }).checkManifest(s.host, "a", "bad"), (e: Error) => e instanceof RegistryError && /HTTP 500 after 3 attempts/.test(e.message));
        } finally {
            await s.close();
        }
    });

    it("times out a stalled request and retries it", async () => {
        let n = 0;
        const s = await serve((_req, res) => {
            if (++n === 1) return; // never answers
            res.writeHead(200, { "docker-content-digest": DIGEST }).end();
        });
        try {
            const c = client({ timeoutMs: 200, retries: 2 });
            assert.strictEqual(((await c.checkManifest(s.host, "a", "1")) as any).digest, DIGEST);
            assert.strictEqual(c.requests, 2);
        } finally {
            await s.close();
        }
    });

    it("hashes the manifest when a registry leaves the digest out of HEAD", async () => {
        const body = '{"schemaVersion":2}';
        const s = await serve((req, res) => {
            if (req.method === "HEAD") res.writeHead(200).end();
            else res.writeHead(200).end(body);
        });
        try {
            const expected = `sha256:${require("crypto").createHash("sha256").update(body).digest("hex")}`;
            assert.strictEqual(((await client().checkManifest(s.host, "a", "1")) as any).digest, expected);
        } finally {
            await s.close();
        }
    });
});
