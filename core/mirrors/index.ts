/**
 * gitops/mirrors.yaml: where the China side pulls each upstream registry and chart repository from, and
 * which hosts count as inside China. The mapping from upstream repositories to China repositories is
 * injective (two upstream repositories never share a target), keeps tags and digests, and is idempotent
 * (a reference already inside China is left alone). model.ts is what the file says, read.ts reads it,
 * map.ts maps names through it.
 */
export * from "./model";
export * from "./read";
export * from "./map";
