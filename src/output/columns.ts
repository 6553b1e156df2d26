/**
 * Rows of cells as aligned text lines, like `kubectl get`: each column padded to its widest cell
 * plus `gap` spaces, the last column unpadded, trailing spaces trimmed. The first row is usually
 * the header.
 */
export function alignColumns(rows: readonly (readonly string[])[], gap = 2): string[] {
  const columns = Math.max(0, ...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]! + gap)))
      .join('')
      .trimEnd(),
  );
}
