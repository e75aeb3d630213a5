/**
 * lib/report — what a run shows and leaves behind: progress bars (`progress`), plotly figures shown
 * inline and written as HTML (`figures`) plus PNG/SVG through one headless Chromium per run
 * (`export`), the SER result tables and figures against the paper (`ser`), tables rendered in
 * notebooks with danfojs (`tables`), and headless notebook execution (`notebooks`).
 */
export * from '../show/progress';
export * from '../show/figures';
export * from '../show/export';
export * from './ser';
export * from './tables';
export * from './compare';
export * from './notebooks';
export * from './audio';
