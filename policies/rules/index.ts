/** Every rule of the crossborder policy pack, as plain objects (tests and the offline plan use these). */
import { chinaRules } from "./china";
import { readsPlainInputs, Rule } from "./common";
import { deployRules } from "./deploy";
import { securityRules } from "./security";

export const rules: Rule[] = [...chinaRules, ...securityRules, ...deployRules].map(readsPlainInputs);
export { chinaRules, deployRules, securityRules };
export type { Rule };
