// Pulumi entry point: `pulumi up -s global` / `pulumi up -s china` run this. The exported function's
// result becomes the stack's outputs.
import { main } from "./stacks/program";

export = main;
