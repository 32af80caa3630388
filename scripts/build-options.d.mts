import type { BuildOptions } from 'esbuild';

export declare const CLI_BUNDLE: string;
export declare const cliBundleOptions: BuildOptions;
