/**
 * Vitest settings shared by the projects that test the product from the user's side (`consumer`, `readme`,
 * `runtimes`): they spend most of their time packing, in npm installs and in child processes, not on this process's
 * CPU, so their files run three at a time, in a group of their own (`groupOrder` 1), apart from the projects whose
 * files run one at a time on real threads.
 */
export const productSide = { maxWorkers: 3, sequence: { groupOrder: 1 } } as const
