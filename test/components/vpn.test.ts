/**
 * The China endpoint's boot script and updown script, run by the real shells: bash parses the whole user
 * data, and the updown script runs against a recording `ip` for tunnel up and down events.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { endpointUserData, subnetRouter, updownScript } from "../../components/vpn";
import { tempDir } from "../helpers";
import { EXAMPLE_BOOT as BOOT } from "../vpn-fixtures";

/** Run the updown script for one event with `ip` replaced by a recorder; returns the recorded calls. */
function runUpdown(verb: string, ifId: string): string[] {
    const dir = tempDir("updown");
    const log = path.join(dir, "ip.log");
    fs.writeFileSync(path.join(dir, "ip"), `#!/bin/sh\necho "$*" >> '${log}'\n`, { mode: 0o755 });
    const script = path.join(dir, "updown");
    fs.writeFileSync(script, updownScript(["10.10.0.0/16", "10.40.0.0/16"]), { mode: 0o755 });
    const r = spawnSync("sh", [script], {
        encoding: "utf8",
        env: { PATH: `${dir}:/usr/bin:/bin`, PLUTO_VERB: verb, PLUTO_IF_ID_OUT: ifId },
    });
    assert.strictEqual(r.status, 0, r.stderr);
    return fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
}

describe("border VPN endpoint scripts", () => {
    it("routes the remote ranges through a tunnel's interface while it is up, preferring tunnel 1", () => {
        assert.deepStrictEqual(runUpdown("up-client", "1"), [
            "route replace 10.10.0.0/16 dev xfrm1 metric 100",
            "route replace 10.40.0.0/16 dev xfrm1 metric 100",
        ]);
        assert.deepStrictEqual(runUpdown("up-client", "2"), [
            "route replace 10.10.0.0/16 dev xfrm2 metric 200",
            "route replace 10.40.0.0/16 dev xfrm2 metric 200",
        ]);
    });

    it("removes a tunnel's routes when it goes down, so the other tunnel carries the traffic", () => {
        assert.deepStrictEqual(runUpdown("down-client", "1"), [
            "route del 10.10.0.0/16 dev xfrm1 metric 100",
            "route del 10.40.0.0/16 dev xfrm1 metric 100",
        ]);
        assert.deepStrictEqual(runUpdown("up-host", "1"), []);
    });

    it("boots in an order that works on a stock Ubuntu 24.04: the helper, then packages from China, then the interface", () => {
        const script = endpointUserData(BOOT);
        const dir = tempDir("userdata");
        fs.writeFileSync(path.join(dir, "boot.sh"), script);
        const parsed = spawnSync("bash", ["-n", path.join(dir, "boot.sh")], { encoding: "utf8" });
        assert.strictEqual(parsed.status, 0, parsed.stderr);
        const at = (needle: string) => {
            const i = script.indexOf(needle);
            assert.ok(i >= 0, `the boot script lacks ${needle}`);
            return i;
        };
        assert.ok(
            at("trap ") < at("apt-get update"),
            "a failure from the first package on marks the instance unhealthy",
        );
        assert.ok(at("apt-get update") < at("apt-get install"), "the package lists are fetched before installing");
        // Ubuntu 24.04 has no awscli package (only a snap): nothing installs or calls it.
        assert.doesNotMatch(script, /apt-get install[^\n]*awscli|^\s*aws (ec2|ssm|s3) /m);
        assert.ok(at("apt-get install") < at("/usr/local/sbin/crossborder-aws attach-eni"));
        assert.ok(at("/usr/local/sbin/crossborder-aws attach-eni") < at("/usr/local/sbin/crossborder-aws fill-secret"));
        // The key never passes through a command line (sed, echo): the helper writes it into the file.
        assert.doesNotMatch(script, /sed -i .*PSK|\$PSK/);
    });

    it("sends IKE from the Elastic IP's interface and builds one XFRM interface per tunnel", () => {
        const script = endpointUserData(BOOT);
        assert.match(script, /ip rule add from 10\.20\.128\.10 table 200/);
        assert.match(script, /ip route replace default via 10\.20\.128\.1 dev "\$DEV" table 200/);
        assert.match(script, /ip link add xfrm1 type xfrm dev "\$DEV" if_id 1/);
        assert.match(script, /ip link add xfrm2 type xfrm dev "\$DEV" if_id 2/);
        assert.match(script, /local_addrs = 10\.20\.128\.10/);
        assert.match(script, /02:ab:cd:00:00:01/);
        // The keys are read at boot, never written into the user data.
        assert.doesNotMatch(script, /secret = "k/);
        assert.strictEqual((script.match(/@PSK\d@/g) ?? []).length, 4);
    });

    it("finds a subnet's VPC router at its base address + 1", () => {
        assert.strictEqual(subnetRouter("10.20.128.0/19"), "10.20.128.1");
        assert.strictEqual(subnetRouter("172.16.0.0/24"), "172.16.0.1");
        assert.throws(() => subnetRouter("10.20.128.1/19"), /host bits/);
    });
});
