/** A bound on how many subprocesses run at once: the CPUs, by default. */
import * as os from "os";

export type Limit = <T>(task: () => Promise<T>) => Promise<T>;

export function limit(concurrency = Math.max(1, os.availableParallelism?.() ?? os.cpus().length)): Limit {
    let active = 0;
    const waiting: (() => void)[] = [];
    const next = () => {
        if (active >= concurrency) return;
        const start = waiting.shift();
        if (start) {
            active++;
            start();
        }
    };
    return <T>(task: () => Promise<T>) =>
        new Promise<T>((resolve, reject) => {
            waiting.push(() =>
                task()
                    .then(resolve, reject)
                    .finally(() => {
                        active--;
                        next();
                    }),
            );
            next();
        });
}
