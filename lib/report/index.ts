/**
 * lib/report — what a run shows and leaves behind: progress bars (`progress`), plotly figures shown
 * inline and written as HTML (`figures`) plus PNG/SVG through one headless Chromium per run
 * (`export`), the SER result tables and figures against the paper (`ser`), tables rendered in
 * notebooks with danfojs (`tables`), and headless notebook execution (`notebooks`).
 */
export * from './progress';
export * from './figures';
export * from './export';
export * from './ser';
export * from './tables';
export * from './compare';
export * from './notebooks';
export * from './audio';
