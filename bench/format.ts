/**
 * How the bench prints: numbers with thousands separators, and markdown tables whose first column is left-aligned and
 * the others right-aligned. Shared by `run.ts` and `curves.ts`.
 */

/** A number with `digits` decimals and thousands separators; "n/a" when it is not finite. */
export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a"

/** A markdown table. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(" | ")} |`
  return [
    line(header),
    `|${widths.map((w, i) => i === 0 ? ":" + "-".repeat(w + 1) : "-".repeat(w + 1) + ":").join("|")}|`
  ]
    .concat(rows.map(line))
    .join("\n")
}
