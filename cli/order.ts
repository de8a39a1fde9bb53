/** `crossborder order`: prints the first bring-up of the pair (stacks/bring-up.ts). */
import { bringUpSteps } from "../stacks/bring-up";
import { StackSources } from "../stacks/gitops-inputs";

export function bringUpOrder(stacksDir: string): string {
    const stacks = new StackSources({ stacksDir });
    const c = stacks.config("china");
    const lines = ["First bring-up of the pair (afterwards each stack can be updated on its own):", ""];
    bringUpSteps(stacks.config("global"), c).forEach((s, i) => {
        lines.push(`${i + 1}. ${s.run}`);
        for (const w of s.creates) lines.push(`     ${w}`);
        lines.push(`     waits for: ${s.waitsFor}`);
    });
    lines.push(
        "",
        `Cross-border links from mainland China must run over a licensed carrier${c.vpn.licensedCarrier ? `: ${c.vpn.licensedCarrier}` : ""}.`,
    );
    return lines.join("\n");
}
