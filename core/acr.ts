/**
 * ACR EE endpoint names. An Enterprise Edition instance named N in region R serves
 * `N-registry.R.cr.aliyuncs.com` on the internet and `N-registry-vpc.R.cr.aliyuncs.com` inside Alibaba
 * VPCs (ACR EE documentation, "access an instance"). The real instance reports both; these are what the
 * offline paths (plan, render without stack outputs) assume.
 */
/** An ACR EE namespace name (lowercase letters, digits, - and _, starting and ending with a letter or digit, up to 120). */
export const ACR_NAMESPACE = /^[a-z0-9]([a-z0-9_-]{0,118}[a-z0-9])?$/;

export function acrEndpoints(instanceName: string, region: string): { readonly public: string; readonly vpc: string } {
    return {
        public: `${instanceName}-registry.${region}.cr.aliyuncs.com`,
        vpc: `${instanceName}-registry-vpc.${region}.cr.aliyuncs.com`,
    };
}
