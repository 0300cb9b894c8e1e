/**
 * What a scenario hands back and how run-all prints it: one row per figure, ours beside the
 * target and, where it was measured in the same run, the reference script's figure and the ratio.
 */

export interface Target {
  /** The figure passes when it is at most this. */
  readonly max?: number;
  readonly min?: number;
}

export interface Figure {
  readonly metric: string;
  readonly value: number;
  readonly unit: 'ms' | 's' | 'MB' | 'count' | '%';
  readonly target?: Target;
  /** The same figure for orchestrate.py, measured in the same bench run. */
  readonly reference?: number;
}

export interface ScenarioReport {
  readonly id: string;
  readonly issue: number;
  readonly title: string;
  /** How it was measured: printed beside the figures. */
  readonly method: string;
  readonly figures: readonly Figure[];
  readonly durationMs: number;
  readonly error?: string;
}

function formatValue(value: number, unit: Figure['unit']): string {
  if (!Number.isFinite(value)) return 'n/a';
  switch (unit) {
    case 'ms':
      return `${value < 10 ? value.toFixed(2) : value.toFixed(0)} ms`;
    case 's':
      return `${value.toFixed(3)} s`;
    case 'MB':
      return `${value.toFixed(1)} MB`;
    case '%':
      return `${value.toFixed(1)} %`;
    default:
      return String(Math.round(value));
  }
}

function formatTarget(target: Target | undefined, unit: Figure['unit']): string {
  if (!target) return '';
  if (target.max !== undefined && target.min !== undefined && target.max === target.min)
    return `= ${formatValue(target.max, unit)}`;
  const parts: string[] = [];
  if (target.min !== undefined) parts.push(`>= ${formatValue(target.min, unit)}`);
  if (target.max !== undefined) parts.push(`<= ${formatValue(target.max, unit)}`);
  return parts.join(', ');
}

export function meetsTarget(figure: Figure): boolean | undefined {
  const { target, value } = figure;
  if (!target) return undefined;
  if (!Number.isFinite(value)) return false;
  return (target.max === undefined || value <= target.max) && (target.min === undefined || value >= target.min);
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells
    .map((cell, i) => cell.padEnd(widths[i] ?? 0))
    .join('  ')
    .trimEnd();
}

export function renderTable(reports: readonly ScenarioReport[]): string {
  const header = ['scenario', 'figure', 'hq-delegate', 'target', 'ok', 'orchestrate.py', 'ratio'];
  const rows: string[][] = [];
  for (const report of reports) {
    if (report.error) {
      const firstLine = report.error.split('\n', 1)[0] ?? '';
      const shown = firstLine.length > 48 ? `${firstLine.slice(0, 47)}…` : firstLine;
      rows.push([`${report.id} (#${report.issue})`, 'FAILED (below)', shown, '', '', '', '']);
      continue;
    }
    report.figures.forEach((figure, index) => {
      const ok = meetsTarget(figure);
      const ratio =
        figure.reference !== undefined && figure.value > 0 && Number.isFinite(figure.reference)
          ? `${(figure.reference / figure.value).toFixed(1)}x faster`
          : '';
      rows.push([
        index === 0 ? `${report.id} (#${report.issue})` : '',
        figure.metric,
        formatValue(figure.value, figure.unit),
        formatTarget(figure.target, figure.unit),
        ok === undefined ? '' : ok ? 'yes' : 'NO',
        figure.reference === undefined ? '' : formatValue(figure.reference, figure.unit),
        ratio,
      ]);
    });
  }
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length)));
  const lines = [
    pad(header, widths),
    pad(
      widths.map((w) => '-'.repeat(w)),
      widths,
    ),
    ...rows.map((row) => pad(row, widths)),
  ];
  const methods = reports.map(
    (report) => `  ${report.id}: ${report.title}. ${report.method} (${(report.durationMs / 1_000).toFixed(1)} s)`,
  );
  return [...lines, '', 'Method:', ...methods].join('\n');
}
