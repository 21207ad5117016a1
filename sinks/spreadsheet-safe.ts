// Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection"); a leading single
// quote makes Excel, LibreOffice and Google Sheets show the text as it is.
const FORMULA_STARTS = new Set(['=', '+', '-', '@', '\t', '\r']);

/** Whether a spreadsheet would evaluate the cell text as a formula. */
export function isFormulaLike(cell: string): boolean {
  return FORMULA_STARTS.has(cell.charAt(0));
}

/** The cell text, prefixed with `'` when a spreadsheet would otherwise evaluate it. */
export function spreadsheetSafe(cell: string): string {
  return isFormulaLike(cell) ? `'${cell}` : cell;
}

/** The text spreadsheetSafe was given: a file authpipe wrote, read back (workos-csv), keeps no `'` of its making. */
export function withoutSpreadsheetQuote(cell: string): string {
  return cell.startsWith("'") && isFormulaLike(cell.slice(1)) ? cell.slice(1) : cell;
}
