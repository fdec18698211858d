/**
 * The gateway's build. `npm run build` bundles the gateway into one ES module,
 * `dist/src/main.js` (esbuild; its npm dependencies included, no type checking: `npm run
 * typecheck` does that), and `npm start` runs it on plain `node`. A running gateway therefore
 * carries neither tsx's loader thread (about 33 MB of resident memory per process, each cluster
 * worker included) nor the ~600 separate modules a file-per-file build loads (about 13 MB more,
 * bench/PROFILE.md, eleventh pass), and `dist/` runs without `node_modules`. The benchmark and
 * the process tests run the same bundle.
 *
 * Usage: `tsx scripts/build.ts [outDir]` (default `dist`, under the repository root).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, transform } from "esbuild";

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

/** Throws when `outDir` is `root` or contains it: a build must never write over the sources. */
function refuseSourceDir(root: string, outDir: string): void {
  const above = path.relative(outDir, root);
  if (above === "" || !(above.startsWith("..") || path.isAbsolute(above))) throw new Error(`refusing to build into ${outDir}: it holds the sources`);
}

/** Marks `outDir`'s JavaScript as ES modules (its `package.json`). */
function markModules(outDir: string): void {
  writeAtomically(path.join(outDir, "package.json"), '{ "type": "module" }\n');
}

/** When `outDir` lies outside `root`, links `root`'s `node_modules` into it, so imports of packages resolve from anywhere. */
function linkNodeModules(root: string, outDir: string): void {
  const inside = path.relative(root, outDir);
  if (inside.startsWith("..") || path.isAbsolute(inside)) {
    const link = path.join(outDir, "node_modules");
    if (!existsSync(link)) symlinkSync(path.join(root, "node_modules"), link, "dir");
  }
}

/**
 * Transpiles the `.ts` files of `dirs` (relative to `root`) into `outDir`, one file to one file,
 * keeping the layout (the benchmark's own processes run this way; the gateway is bundled by
 * {@link bundleGateway}). Files are replaced one by one and atomically, and nothing is
 * deleted, so a rebuild under a running process never takes a file from it. `outDir` gets a
 * `package.json` that marks the files as ES modules and, when it lies outside `root`, a
 * `node_modules` link to `root`'s, so the output runs from anywhere. Resolves when every file is
 * written; refuses an `outDir` that contains `root`.
 */
export async function transpileProject(root: string, outDir: string, dirs: readonly string[] = ["src", "gen"]): Promise<void> {
  refuseSourceDir(root, outDir);
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
  markModules(outDir);
  linkNodeModules(root, outDir);
}

/**
 * Bundles the gateway (`root/src/main.ts` and everything it imports, npm packages included) into
 * one ES module, `outDir/src/main.js`, with a linked source map beside it (`node
 * --enable-source-maps` then reports source lines). The output needs no `node_modules` at run
 * time: `outDir` alone is the deployable gateway. Files are replaced atomically and only when they
 * changed, so a rebuild under a running gateway is safe; an `outDir` that contains `root` is refused.
 */
export async function bundleGateway(root: string, outDir: string): Promise<void> {
  refuseSourceDir(root, outDir);
  const target = path.join(outDir, "src", "main.js");
  const { outputFiles } = await build({
    entryPoints: [path.join(root, "src", "main.ts")],
    outfile: target,
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "none",
    logLevel: "error",
    // The CommonJS packages inside the bundle call require() for Node's built-in modules.
    banner: { js: 'import { createRequire as __switchyardCreateRequire } from "node:module";\nconst require = __switchyardCreateRequire(import.meta.url);' },
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
  });
  mkdirSync(path.dirname(target), { recursive: true });
  for (const file of outputFiles) writeAtomically(file.path, file.text);
  markModules(outDir);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const outDir = path.resolve(REPO_ROOT, process.argv[2] ?? "dist");
  await bundleGateway(REPO_ROOT, outDir);
}
