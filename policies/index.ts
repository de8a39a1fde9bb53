// The CrossGuard policy pack: `pulumi preview --policy-pack policies`. This file is the only place that
// constructs the PolicyPack (constructing it starts the analyzer's gRPC server); everything else, tests
// and the offline plan included, imports the rules from ./rules.
import { PolicyPack } from "@pulumi/policy";
import { rules } from "./rules";

new PolicyPack("crossborder", { policies: rules });
