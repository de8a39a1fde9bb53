/**
 * The registry facts derived from a stack's config (stacks/config/derived.ts): the endpoints of the
 * stack's instance, the mirror variables, and the prefix namespaces both stacks must agree on.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_MIRRORS_FILE, loadMirrors, prefixNamespaces } from "../../core/mirrors";
import { chinaPrefixNamespaces, mirrorVarsOf, registryEndpoints } from "../../stacks/config/derived";
import { StackSources } from "../../stacks/gitops-inputs";
import { ROOT, tempDir } from "../helpers";

describe("derived registry facts", () => {
    const china = new StackSources({ stacksDir: path.join(ROOT, "stacks") }).config("china");

    it("names the china stack's instance endpoints from its name and region", () => {
        assert.deepStrictEqual(registryEndpoints(china), {
            public: `${china.registry.instanceName}-registry.${china.alicloud.region}.cr.aliyuncs.com`,
            vpc: `${china.registry.instanceName}-registry-vpc.${china.alicloud.region}.cr.aliyuncs.com`,
        });
        assert.deepStrictEqual(mirrorVarsOf(china), {
            chinaRegistry: "crossborder-china-registry.cn-hangzhou.cr.aliyuncs.com",
            registryNamespace: china.registry.namespace,
        });
    });

    it("gives the global stack the prefix namespaces the china stack creates, without the China endpoint", () => {
        const dir = tempDir("derived");
        const file = path.join(dir, "mirrors.yaml");
        fs.writeFileSync(
            file,
            fs.readFileSync(DEFAULT_MIRRORS_FILE, "utf8") +
                "\nprefixes:\n  docker.io/istio: {target: china-acr, namespace: istio}\n  docker.elastic.co/elasticsearch: {target: china-acr, namespace: elasticsearch}\n",
        );
        const vars = mirrorVarsOf(china);
        const onChina = prefixNamespaces(loadMirrors(file, vars), vars.chinaRegistry);
        assert.deepStrictEqual(onChina.slice().sort(), ["elasticsearch", "istio"]);
        assert.deepStrictEqual(chinaPrefixNamespaces(china.registry.namespace, file), onChina);
        assert.deepStrictEqual(chinaPrefixNamespaces(china.registry.namespace), []);
    });
});
