/**
 * The gateway's build: `src/` and `gen/` transpiled to plain ESM JavaScript, one file to one file
 * (esbuild `transform`, the same transform tsx applies on load, without type checking: `npm run
 * typecheck` does that). `npm start` runs the result on plain `node`, so a running gateway carries
 * neither tsx's loader thread (about 33 MB of RSS per process, each cluster worker included) nor
 * its per-function naming helpers on the hot path. The benchmark and the process tests run the
 * same build.
 *
 * Usage: `tsx scripts/build.ts [outDir]` (default `dist`, under the repository root).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

/** The repository root (scripts/..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Writes `text` to `file` by renaming a finished temporary file over it, unless it already holds
 * exactly that: a gateway started from the same directory (a second instance, a cluster worker
 * forked later) reads each file whole, old or new, never half-written.
 */
function writeAtomically(file: string, text: string): void {
  if (existsSync(file) && readFileSync(file, "utf8") === text) return;
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/**
 * Transpiles the `.ts` files of `dirs` (relative to `root`) into `outDir`, keeping the layout, so
 * `outDir/src/main.js` is the gateway. Files are replaced one by one and atomically, and nothing is
 * deleted, so a rebuild under a running gateway never takes a file from it. `outDir` gets a
 * `package.json` that marks the files as ES modules and, when it lies outside `root`, a
 * `node_modules` link to `root`'s, so the output runs from anywhere. Resolves when every file is
 * written; refuses an `outDir` that contains `root`.
 */
export async function transpileProject(root: string, outDir: string, dirs: readonly string[] = ["src", "gen"]): Promise<void> {
  const above = path.relative(outDir, root);
  if (above === "" || !(above.startsWith("..") || path.isAbsolute(above))) throw new Error(`refusing to build into ${outDir}: it holds the sources`);
  const jobs: Promise<void>[] = [];
  for (const dir of dirs) {
    for (const entry of readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })) {
      if (!entry.endsWith(".ts") || entry.endsWith(".d.ts")) continue;
      const source = readFileSync(path.join(root, dir, entry), "utf8");
      const target = path.join(outDir, dir, entry.replace(/\.ts$/, ".js"));
      jobs.push(
        transform(source, { loader: "ts", format: "esm", target: "node20", sourcefile: path.join(dir, entry), tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } } }).then(({ code }) => {
          mkdirSync(path.dirname(target), { recursive: true });
          writeAtomically(target, code);
        }),
      );
    }
  }
  await Promise.all(jobs);
  writeAtomically(path.join(outDir, "package.json"), '{ "type": "module" }\n');
  const inside = path.relative(root, outDir);
  if (inside.startsWith("..") || path.isAbsolute(inside)) {
    const link = path.join(outDir, "node_modules");
    if (!existsSync(link)) symlinkSync(path.join(root, "node_modules"), link, "dir");
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const outDir = path.resolve(REPO_ROOT, process.argv[2] ?? "dist");
  await transpileProject(REPO_ROOT, outDir);
}
