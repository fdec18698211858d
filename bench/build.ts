/**
 * Ahead-of-time transpile for the benchmark: src/, gen/ and bench/ to plain ESM JavaScript in a
 * temporary directory (esbuild `transform`, one file to one file, the same transform tsx applies on
 * load), so the measured processes run on plain `node` without tsx's loader thread (+~33 MB RSS
 * per process, and seconds of start-up). Set BENCH_RUNNER=tsx to measure under tsx instead.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";

interface EsbuildTransform {
  transform(source: string, options: { loader: "ts"; format: "esm"; target: string; tsconfigRaw: { compilerOptions: Record<string, boolean> } }): Promise<{ code: string }>;
}

/** Transpiles the project into `outDir`; resolves false when esbuild is not installed. */
export async function buildForBench(root: string, outDir: string): Promise<boolean> {
  let esbuild: EsbuildTransform;
  try {
    // esbuild is tsx's own dependency (tsx is a dependency of the project).
    esbuild = (await import("esbuild")) as unknown as EsbuildTransform;
  } catch {
    return false;
  }
  const jobs: Promise<void>[] = [];
  for (const dir of ["src", "gen", "bench"]) {
    for (const entry of readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })) {
      if (!entry.endsWith(".ts") || entry.endsWith(".d.ts")) continue;
      const source = readFileSync(path.join(root, dir, entry), "utf8");
      const target = path.join(outDir, dir, entry.replace(/\.ts$/, ".js"));
      jobs.push(
        esbuild
          .transform(source, { loader: "ts", format: "esm", target: "node20", tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } } })
          .then(({ code }) => {
            mkdirSync(path.dirname(target), { recursive: true });
            writeFileSync(target, code);
          }),
      );
    }
  }
  await Promise.all(jobs);
  writeFileSync(path.join(outDir, "package.json"), '{ "type": "module" }\n');
  symlinkSync(path.join(root, "node_modules"), path.join(outDir, "node_modules"), "dir");
  return true;
}
