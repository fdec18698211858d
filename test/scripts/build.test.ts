import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bundleGateway, transpileProject } from "../../scripts/build.js";

/** A small project: src/ and gen/ with TypeScript, and a node_modules directory. */
function project(): string {
  const root = mkdtempSync(path.join(tmpdir(), "switchyard-build-src-"));
  mkdirSync(path.join(root, "src", "core"), { recursive: true });
  mkdirSync(path.join(root, "gen"), { recursive: true });
  mkdirSync(path.join(root, "node_modules"));
  writeFileSync(path.join(root, "src", "main.ts"), 'import { answer } from "./core/answer.js";\nconst text: string = String(answer());\nconsole.log(text);\n');
  writeFileSync(path.join(root, "src", "core", "answer.ts"), "export function answer(): number {\n  return 42;\n}\n");
  writeFileSync(path.join(root, "src", "core", "types.d.ts"), "export type Nothing = never;\n");
  writeFileSync(path.join(root, "gen", "schema.ts"), "export const NAME: string = \"schema\";\n");
  return root;
}

describe("transpileProject (npm run build)", () => {
  it("writes plain ESM JavaScript in the same layout, with package.json and a node_modules link outside the root", async () => {
    const root = project();
    const out = mkdtempSync(path.join(tmpdir(), "switchyard-build-out-"));
    await transpileProject(root, out);
    expect(readFileSync(path.join(out, "src", "core", "answer.js"), "utf8")).toContain("function answer()");
    expect(readFileSync(path.join(out, "src", "core", "answer.js"), "utf8")).not.toContain(": number");
    expect(readFileSync(path.join(out, "src", "main.js"), "utf8")).toContain('from "./core/answer.js"');
    expect(readFileSync(path.join(out, "gen", "schema.js"), "utf8")).toContain('"schema"');
    expect(readdirSync(path.join(out, "src", "core")).sort()).toEqual(["answer.js"]);
    expect(JSON.parse(readFileSync(path.join(out, "package.json"), "utf8"))).toEqual({ type: "module" });
    expect(statSync(path.join(out, "node_modules")).isDirectory()).toBe(true);
  });

  it("rebuilds in place: unchanged files are not rewritten, changed ones are replaced whole, nothing is left behind", async () => {
    const root = project();
    const out = path.join(root, "dist");
    await transpileProject(root, out);
    const mainBefore = statSync(path.join(out, "src", "main.js")).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(path.join(root, "src", "core", "answer.ts"), "export function answer(): number {\n  return 43;\n}\n");
    await transpileProject(root, out);
    expect(statSync(path.join(out, "src", "main.js")).mtimeMs).toBe(mainBefore);
    expect(readFileSync(path.join(out, "src", "core", "answer.js"), "utf8")).toContain("return 43");
    expect(readdirSync(path.join(out, "src", "core"))).toEqual(["answer.js"]);
    // Inside the root, node_modules is found by walking up: no link.
    expect(readdirSync(out).sort()).toEqual(["gen", "package.json", "src"]);
  });

  it("refuses an output directory that holds the sources", async () => {
    const root = project();
    await expect(transpileProject(root, root)).rejects.toThrow(/refusing to build into/);
    await expect(transpileProject(root, path.dirname(root))).rejects.toThrow(/refusing to build into/);
    expect(readFileSync(path.join(root, "src", "core", "answer.ts"), "utf8")).toContain("return 42");
  });
});

/** A project whose main imports a local module and a CommonJS package that requires a Node built-in. */
function projectWithPackage(): string {
  const root = project();
  mkdirSync(path.join(root, "node_modules", "cjs-pkg"));
  writeFileSync(path.join(root, "node_modules", "cjs-pkg", "package.json"), '{ "name": "cjs-pkg", "main": "index.js" }\n');
  writeFileSync(path.join(root, "node_modules", "cjs-pkg", "index.js"), 'const path = require("node:path");\nexports.tag = "cjs-pkg:" + path.basename("/a/b/inlined");\n');
  writeFileSync(
    path.join(root, "src", "main.ts"),
    'import { answer } from "./core/answer.js";\nimport { tag } from "cjs-pkg";\nconst text: string = `${answer()} ${tag as string}`;\nawait Promise.resolve();\nconsole.log(text);\n',
  );
  return root;
}

describe("bundleGateway (npm run build)", () => {
  it("writes one ES module with the project and its packages inlined, a source map and package.json: it runs without node_modules", async () => {
    const root = projectWithPackage();
    const out = mkdtempSync(path.join(tmpdir(), "switchyard-bundle-out-"));
    await bundleGateway(root, out);
    expect(readdirSync(path.join(out, "src")).sort()).toEqual(["main.js", "main.js.map"]);
    const bundle = readFileSync(path.join(out, "src", "main.js"), "utf8");
    expect(bundle).not.toMatch(/from "\.\/core\/answer\.js"|from "cjs-pkg"/);
    expect(bundle).toContain('"cjs-pkg:"');
    expect(bundle).toContain("//# sourceMappingURL=main.js.map");
    expect(JSON.parse(readFileSync(path.join(out, "src", "main.js.map"), "utf8")).sources).toContain(path.relative(path.join(out, "src"), path.join(root, "src", "core", "answer.ts")));
    expect(JSON.parse(readFileSync(path.join(out, "package.json"), "utf8"))).toEqual({ type: "module" });
    expect(readdirSync(out).sort()).toEqual(["package.json", "src"]);
    // Runs on plain node from a directory with no node_modules above it: the package is inside,
    // and its require() of a built-in works inside the ES module.
    expect(execFileSync(process.execPath, [path.join(out, "src", "main.js")], { encoding: "utf8" })).toBe("42 cjs-pkg:inlined\n");
  });

  it("rebuilds in place: an unchanged bundle is not rewritten, a changed one is replaced whole", async () => {
    const root = projectWithPackage();
    const out = path.join(root, "dist");
    await bundleGateway(root, out);
    const before = statSync(path.join(out, "src", "main.js")).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    await bundleGateway(root, out);
    expect(statSync(path.join(out, "src", "main.js")).mtimeMs).toBe(before);
    writeFileSync(path.join(root, "src", "core", "answer.ts"), "export function answer(): number {\n  return 43;\n}\n");
    await bundleGateway(root, out);
    expect(execFileSync(process.execPath, [path.join(out, "src", "main.js")], { encoding: "utf8" })).toBe("43 cjs-pkg:inlined\n");
    expect(readdirSync(out).sort()).toEqual(["package.json", "src"]);
    expect(readdirSync(path.join(out, "src")).sort()).toEqual(["main.js", "main.js.map"]);
  });

  it("refuses an output directory that holds the sources", async () => {
    const root = projectWithPackage();
    await expect(bundleGateway(root, root)).rejects.toThrow(/refusing to build into/);
    await expect(bundleGateway(root, path.dirname(root))).rejects.toThrow(/refusing to build into/);
    expect(readdirSync(path.join(root, "src")).sort()).toEqual(["core", "main.ts"]);
  });
});
