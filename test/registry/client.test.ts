/** The registry client against an in-process HTTP server: auth challenges, retries and timeouts. */
import * as assert from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import * as fs from "fs";
import * as path from "path";
import { RegistryClient, RegistryError } from "../../gitops/registry/client";
import { runCliAsync, tempDir } from "../helpers";

const DIGEST = `sha256:${"a".repeat(64)}`;

async function serve(
    handler: http.RequestListener,
): Promise<{ host: string; close: () => Promise<void>; hits: string[] }> {
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

const client = (extra: ConstructorParameters<typeof RegistryClient>[0] = {}) =>
    new RegistryClient({ plainHttp: () => true, backoffMs: 1, maxBackoffMs: 5, ...extra });

describe("the registry client", () => {
    it("answers found with the digest, or missing", async () => {
        const s = await serve((req, res) => {
            if (req.url === "/v2/a/manifests/1")
                res.writeHead(200, {
                    "docker-content-digest": DIGEST,
                    "content-type": "application/vnd.oci.image.manifest.v1+json",
                }).end();
            else res.writeHead(404).end();
        });
        try {
            assert.deepStrictEqual(await client().checkManifest(s.host, "a", "1"), {
                found: true,
                digest: DIGEST,
                mediaType: "application/vnd.oci.image.manifest.v1+json",
            });
            assert.deepStrictEqual(await client().checkManifest(s.host, "a", "2"), { found: false });
            assert.match(s.hits[0], /^HEAD \/v2\/a\/manifests\/1/);
        } finally {
            await s.close();
        }
    });

    it("follows a Bearer challenge to the token service, with Basic credentials when given", async () => {
        const s: Awaited<ReturnType<typeof serve>> = await serve((req, res) => {
            if (req.url?.startsWith("/token")) {
                const url = new URL(req.url, "http://x");
                assert.strictEqual(url.searchParams.get("scope"), "repository:team/app:pull");
                assert.strictEqual(url.searchParams.get("service"), "registry.test");
                assert.strictEqual(req.headers.authorization, `Basic ${Buffer.from("u:p").toString("base64")}`);
                res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "T0KEN" }));
            } else if (req.headers.authorization === "Bearer T0KEN") {
                res.writeHead(200, { "docker-content-digest": DIGEST }).end();
            } else {
                res.writeHead(401, {
                    "www-authenticate": `Bearer realm="http://${s.host}/token",service="registry.test",scope="repository:team/app:pull"`,
                }).end();
            }
        });
        try {
            const c = client({ credentials: { host: s.host, username: "u", password: "p" } });
            assert.deepStrictEqual(await c.checkManifest(s.host, "team/app", "1"), {
                found: true,
                digest: DIGEST,
                mediaType: "",
            });
            await c.checkManifest(s.host, "team/app", "2");
            assert.strictEqual(s.hits.filter((h) => h.startsWith("GET /token")).length, 1, "the token is reused");
        } finally {
            await s.close();
        }
    });

    it("answers a Basic challenge, and says which variables to set when it has no credentials", async () => {
        const s = await serve((req, res) => {
            if (req.headers.authorization === `Basic ${Buffer.from("u:p").toString("base64")}`)
                res.writeHead(200, { "docker-content-digest": DIGEST }).end();
            else res.writeHead(401, { "www-authenticate": 'Basic realm="r"' }).end();
        });
        try {
            assert.strictEqual(
                (
                    (await client({ credentials: { host: s.host, username: "u", password: "p" } }).checkManifest(
                        s.host,
                        "a",
                        "1",
                    )) as any
                ).digest,
                DIGEST,
            );
            await assert.rejects(
                client().checkManifest(s.host, "a", "1"),
                /asks for Basic credentials; name it with --registry and set CROSSBORDER_REGISTRY_USERNAME and CROSSBORDER_REGISTRY_PASSWORD/,
            );
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
            await assert.rejects(
                client({ retries: 2 }).checkManifest(s.host, "a", "bad"),
                (e: Error) => e instanceof RegistryError && /HTTP 500 after 3 attempts/.test(e.message),
            );
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

    describe("a hostile or broken registry: every answer is a RegistryError naming it, never a crash", () => {
        const challenge = (header: string) => (_req: http.IncomingMessage, res: http.ServerResponse) =>
            res.writeHead(401, { "www-authenticate": header }).end();
        const cases: [string, (s: { host: string }) => http.RequestListener, RegExp][] = [
            [
                "a Bearer realm that is not a URL",
                () => challenge('Bearer realm="::not a url::"'),
                /its token service realm "::not a url::" is not a URL/,
            ],
            [
                "a challenge that is neither Basic nor Bearer",
                () => challenge("Negotiate abc"),
                /answered 401 with the challenge "Negotiate abc", which is neither Basic nor Bearer/,
            ],
            ...(["not json", "null", '{"token": 42}', ""] as const).map(
                (body): [string, (s: { host: string }) => http.RequestListener, RegExp] => [
                    `a token body of ${JSON.stringify(body)}`,
                    (s) => (req, res) =>
                        req.url?.startsWith("/token")
                            ? res.writeHead(200).end(body)
                            : challenge(`Bearer realm="http://${s.host}/token"`)(req, res),
                    body === "null" || body.startsWith("{")
                        ? /gave no token/
                        : /(answered something that is not JSON|gave no token)/,
                ],
            ),
            [
                "a manifest body that stalls",
                () => (req, res) =>
                    req.method === "HEAD"
                        ? res.writeHead(200).end()
                        : (res.writeHead(200, { "content-type": "application/json" }), res.write("{")),
                /the answer stopped arriving/,
            ],
            [
                "a manifest of 1 GB",
                () => (req, res) =>
                    req.method === "HEAD"
                        ? res.writeHead(200).end()
                        : res.writeHead(200, { "content-length": String(1024 ** 3) }).end(),
                /the answer is 1073741824 bytes, more than the 4194304 crossborder reads/,
            ],
            [
                "an endless manifest without a length",
                () => (req, res) => {
                    if (req.method === "HEAD") {
                        res.writeHead(200).end();
                        return;
                    }
                    res.writeHead(200);
                    const chunk = Buffer.alloc(64 * 1024, 32);
                    const pump = () => {
                        while (res.write(chunk)) {
                            /* until the socket pushes back */
                        }
                    };
                    res.on("drain", pump);
                    pump();
                },
                /the answer is more than the 4194304 bytes crossborder reads/,
            ],
            [
                "a manifest that is not JSON",
                () => (req, res) =>
                    req.method === "HEAD" ? res.writeHead(200).end() : res.writeHead(200).end("<html>"),
                /the manifest is not JSON/,
            ],
        ];
        for (const [name, handler, expected] of cases) {
            it(name, async () => {
                const s: Awaited<ReturnType<typeof serve>> = await serve((req, res) => handler(s)(req, res));
                try {
                    await assert.rejects(
                        client({ timeoutMs: 300, retries: 0 }).checkManifest(s.host, "a", "1"),
                        (e: Error) =>
                            e instanceof RegistryError && expected.test(e.message) && e.message.includes(s.host),
                    );
                } finally {
                    await s.close();
                }
            });
        }

        it("sends credentials only to the host they are bound to, never to a token service elsewhere", async () => {
            const seen: string[] = [];
            const elsewhere = await serve((req, res) => {
                seen.push(String(req.headers.authorization ?? ""));
                res.writeHead(200).end(JSON.stringify({ token: "T" }));
            });
            const s: Awaited<ReturnType<typeof serve>> = await serve((req, res) =>
                req.headers.authorization === "Bearer T"
                    ? res.writeHead(200, { "docker-content-digest": DIGEST }).end()
                    : challenge(`Bearer realm="http://${elsewhere.host}/token"`)(req, res),
            );
            const upstream = await serve((req, res) => {
                seen.push(String(req.headers.authorization ?? ""));
                res.writeHead(401, { "www-authenticate": 'Basic realm="r"' }).end();
            });
            try {
                const c = client({ credentials: { host: s.host, username: "u", password: "p" } });
                assert.strictEqual(((await c.checkManifest(s.host, "a", "1")) as any).digest, DIGEST);
                await assert.rejects(c.checkManifest(upstream.host, "a", "1"), /asks for Basic credentials/);
                assert.deepStrictEqual(
                    seen,
                    ["", ""],
                    "neither the foreign token service nor another registry saw them",
                );
            } finally {
                await Promise.all([s.close(), elsewhere.close(), upstream.close()]);
            }
        });

        it("verify-mirror without --registry sends the environment's credentials nowhere", async () => {
            const seen: string[] = [];
            const upstream = await serve((req, res) => {
                seen.push(String(req.headers.authorization ?? ""));
                res.writeHead(401, { "www-authenticate": 'Basic realm="r"' }).end();
            });
            const dir = tempDir("creds");
            const inventory = path.join(dir, "images.txt");
            fs.writeFileSync(inventory, `docker://${upstream.host}/lib/app:1 docker://${upstream.host}/mirror/app:1\n`);
            try {
                const r = await runCliAsync(
                    ["verify-mirror", "--inventory", inventory, "--plain-http", "--retries", "0"],
                    { env: { CROSSBORDER_REGISTRY_USERNAME: "alice", CROSSBORDER_REGISTRY_PASSWORD: "s3cret" } },
                );
                assert.strictEqual(r.status, 1);
                assert.match(r.stderr, /no --registry names the host they belong to: no credentials are sent anywhere/);
                assert.ok(seen.length > 0 && seen.every((h) => h === ""), JSON.stringify(seen));
            } finally {
                await upstream.close();
            }
        });

        it("says why a fetch failed", async () => {
            const port = await new Promise<number>((resolve) => {
                const srv = http.createServer().listen(0, "127.0.0.1", () => {
                    const p = (srv.address() as AddressInfo).port;
                    srv.close(() => resolve(p));
                });
            });
            await assert.rejects(
                client({ retries: 0 }).checkManifest(`127.0.0.1:${port}`, "a", "1"),
                /fetch failed: ECONNREFUSED/,
            );
        });
    });
});
