/** A managed node group as the stack config describes it (validated in stacks/config). */
export interface NodeGroupSpec {
    /** Node group name, unique in the cluster. */
    readonly name: string;
    /** Instance types, each checked against the region's offerings before anything is created. */
    readonly instanceTypes: readonly string[];
    /** @default 2 */
    readonly minSize: number;
    /** @default minSize */
    readonly desiredSize: number;
    /** @default max(minSize, desiredSize, 3) */
    readonly maxSize: number;
    /** Root volume size. @default 50 */
    readonly diskSizeGiB: number;
    /** @default "ON_DEMAND" */
    readonly capacityType: "ON_DEMAND" | "SPOT";
}
