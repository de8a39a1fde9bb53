/**
 * Warnings the program wants a human to read (e.g. "run the global stack next"). On a real run they go
 * to the Pulumi engine's log; the offline plan installs a sink and prints them in its summary.
 */
import * as pulumi from "@pulumi/pulumi";

type Sink = (message: string) => void;
let sink: Sink | undefined;

export function setNoticeSink(s: Sink | undefined): void {
    sink = s;
}

export function notice(message: string): void {
    if (sink) sink(message);
    else void pulumi.log.warn(message);
}
