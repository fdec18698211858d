/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the top frames by self time and by total
 * (inclusive) time, with file:line, as a Markdown table. Used to write bench/PROFILE.md.
 *
 * Usage: node --import tsx bench/cpu-profile.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** One frame's share of the profile. */
export interface FrameCost {
  readonly frame: string;
  readonly selfPct: number;
  readonly totalPct: number;
}

function frameName(node: ProfileNode, root: string): string {
  const { functionName, url, lineNumber } = node.callFrame;
  let file = url.replace(/^file:\/\//, "");
  const modules = file.lastIndexOf("node_modules/");
  if (modules !== -1) file = file.slice(modules + "node_modules/".length);
  else if (/\/(?:src|gen|bench)\//.test(file)) file = /\/((?:src|gen|bench)\/.*)$/.exec(file)?.[1] ?? file;
  else if (file.startsWith(root)) file = file.slice(root.length + 1);
  return `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
}

/** Self and inclusive time per frame (merged by name and location), as percentages of all samples. */
export function summarise(profile: CpuProfile, root: string): FrameCost[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfTime = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    selfTime.set(id, (selfTime.get(id) ?? 0) + delta);
    total += delta;
  });
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, time] of selfTime) {
    const node = byId.get(id);
    if (!node) continue;
    const name = frameName(node, root);
    self.set(name, (self.get(name) ?? 0) + time);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const ancestor = byId.get(at);
      if (!ancestor) break;
      const ancestorName = frameName(ancestor, root);
      if (seen.has(ancestorName)) continue;
      seen.add(ancestorName);
      inclusive.set(ancestorName, (inclusive.get(ancestorName) ?? 0) + time);
    }
  }
  return [...inclusive.keys()].map((frame) => ({ frame, selfPct: (100 * (self.get(frame) ?? 0)) / total, totalPct: (100 * (inclusive.get(frame) ?? 0)) / total }));
}

function ownerOf(node: ProfileNode, root: string): string | undefined {
  const url = node.callFrame.url.replace(/^file:\/\//, "");
  const modules = url.lastIndexOf("node_modules/");
  if (modules !== -1) {
    const rest = url.slice(modules + "node_modules/".length).split("/");
    return `pkg ${rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  return /\/((?:src|gen)\/.*)$/.exec(url)?.[1];
}

/**
 * Self time grouped by owner: each sample goes to the nearest frame (the leaf or an ancestor) that
 * belongs to a project file or an npm package, so Node internals are charged to whoever called them.
 */
export function byOwner(profile: CpuProfile, root: string): { owner: string; pct: number }[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const totals = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    total += delta;
    const leaf = byId.get(id);
    let owner = leaf && leaf.callFrame.functionName.startsWith("(") ? leaf.callFrame.functionName : undefined;
    for (let at: number | undefined = id; owner === undefined && at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node) owner = ownerOf(node, root);
    }
    owner ??= "node internals (no project caller)";
    totals.set(owner, (totals.get(owner) ?? 0) + delta);
  });
  return [...totals].map(([owner, time]) => ({ owner, pct: (100 * time) / total })).sort((a, b) => b.pct - a.pct);
}

/** Markdown tables of the top frames by self and by total time. */
export function markdown(costs: readonly FrameCost[], top: number): string {
  const row = (cost: FrameCost) => `| ${cost.selfPct.toFixed(1)} | ${cost.totalPct.toFixed(1)} | \`${cost.frame}\` |`;
  const bySelf = [...costs].sort((a, b) => b.selfPct - a.selfPct).slice(0, top);
  const byTotal = [...costs].filter((cost) => !cost.frame.startsWith("(")).sort((a, b) => b.totalPct - a.totalPct).slice(0, top);
  return [
    "By self time:",
    "",
    "| self % | total % | frame |",
    "|---:|---:|---|",
    ...bySelf.map(row),
    "",
    "By total (inclusive) time:",
    "",
    "| self % | total % | frame |",
    "|---:|---:|---|",
    ...byTotal.map(row),
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: cpu-profile.ts <file.cpuprofile> [top]\n");
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const top = Number(process.argv[3] ?? 25);
  const owners = byOwner(profile, root).slice(0, top).map((entry) => `| ${entry.pct.toFixed(1)} | \`${entry.owner}\` |`);
  process.stdout.write(`${markdown(summarise(profile, root), top)}\n\nBy owner (self time charged to the nearest project file or npm package):\n\n| % | owner |\n|---:|---|\n${owners.join("\n")}\n`);
}
