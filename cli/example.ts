/**
 * `crossborder example` (what `npm start` runs): the embedded example end to end, offline. The offline plan
 * of both stacks with the policy pack, the Flux tree, its border audit and the china artifact (built, not
 * pushed), each told in a line or two, then what was built, where it went, the border verdict, and the next
 * command.
 */
import * as path from "path";
import { runPlan } from "./plan";
import { PublishRefused } from "../gitops/publish";
import { publishTree } from "./publish";
import { runAudit } from "./audit";
import { renderSummary } from "./render";

export async function runExample(
    out = "out",
    write: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
    const PLAN_DIR = path.join(out, "plan");
    const TREE_DIR = path.join(out, "gitops");
    write("crossborder example: the embedded example, offline (no cloud account, no Pulumi CLI)\n\n");

    const plan = await runPlan({ stacks: ["global", "china"], stacksDir: "stacks", outDir: PLAN_DIR });
    const violations = [...plan.violations.values()].flat();
    write(
        `1. plan    ${plan.runs.map((r) => `${r.stack}: ${r.resources.length} resources`).join(", ")}; policy pack: ${violations.length ? `${violations.length} violation(s)` : "no violations"}\n`,
    );
    write(
        `          -> ${plan.files.join(", ")} (an offline plan: Pulumi's mock runtime, cloud facts from core/cloud-facts.yaml)\n`,
    );
    for (const v of violations) write(`          POLICY VIOLATION [${v.policy}] ${v.message}\n`);

    const render = await renderSummary({ out: TREE_DIR });
    write(
        `2. render  ${render.files} files -> ${TREE_DIR}; ${render.rendered.length} release(s) rendered on ${render.engine}${render.unrendered.length ? `, ${render.unrendered.length} not rendered (their chart archives are not at hand)` : ""}\n`,
    );
    write(
        `          inventory: ${render.images} images and ${render.charts} charts for the global side to copy into the origin registry\n`,
    );

    const audit = await runAudit({ dir: TREE_DIR });
    for (const c of audit.report.clusters) {
        const rendered = c.releases.filter((r) => r.rendered).length;
        write(
            c.china
                ? `3. audit   ${c.name}: ${c.images.length} images and ${c.sources.length} sources checked, ${c.crossBorder} cross-border; ${rendered} of ${c.releases.length} HelmReleases rendered on the engine\n`
                : `          ${c.name}: ${c.images.length} images from upstream registries, as expected outside China\n`,
        );
    }
    const unproven = audit.report.clusters
        .filter((c) => c.china)
        .flatMap((c) => c.releases.filter((r) => !r.rendered)).length;
    const verdictLine =
        audit.code !== 0
            ? `FAIL: the china cluster would pull from outside China, or a part could not be read; see crossborder audit ${TREE_DIR}`
            : unproven
              ? `NOT PROVEN: nothing cross-border in what was read, but ${unproven} china release(s) were judged on their values only`
              : "OK: the china cluster pulls nothing from outside China";
    write(`          ${verdictLine}\n`);

    // The china tree as the OCI artifact China would reconcile (built, never pushed: no registry here).
    let refused = false;
    try {
        const art = await publishTree({ tree: TREE_DIR, cluster: "china", stacksDir: "stacks", dryRun: true });
        write(
            `4. publish ${art.result.files} files of the china tree -> ${art.repository}:${art.tag}@${art.result.digest}\n` +
                `          (--dry-run: built, not pushed; crossborder publish pushes it to the origin, ACR EE replicates it to China)\n\n`,
        );
    } catch (e) {
        if (!(e instanceof PublishRefused)) throw e;
        refused = true;
        write(`4. publish REFUSED: the china tree ${e.message.replace(/^refusing to publish:/, "holds secrets:")}\n\n`);
    }

    const next: [string, string][] = [
        ...(render.unrendered.length
            ? ([
                  [
                      "npx crossborder charts pull && npm start",
                      "fetch the chart archives (needs the internet), so that every release renders on the engine",
                  ],
              ] as [string, string][])
            : []),
        [`npx crossborder audit ${TREE_DIR} --verbose`, "every image and source of both clusters"],
        ['README "Use it for real"', "pulumi up per stack, the policy pack in pull requests, Flux"],
    ];
    const width = Math.max(...next.map(([cmd]) => cmd.length));
    write(`Next:\n${next.map(([cmd, why]) => `  ${cmd.padEnd(width)}   ${why}\n`).join("")}`);
    return plan.failed || audit.code !== 0 || refused ? 1 : 0;
}
